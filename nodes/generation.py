"""What the generator nodes share: a model input with a path override, placing a pipeline the way ComfyUI's memory
management wants it, the first image of a batch, and the result with its notes."""

from __future__ import annotations

import os

import torch

import comfy.model_management

from ..unflicker.errors import UnflickerError
from .comfy_bridge import image_frames

NONE = "(none: use path)"


def model_path(source, choice: str, path: str) -> str:
    """The model a loader loads: ``path`` when given (anywhere on disk), else ``choice`` in ``source``'s folders."""
    if path.strip():
        return os.path.expanduser(path.strip())
    if choice == NONE:
        raise UnflickerError("model: pick a model from the list or give a path")
    return source.resolve(choice)


def validate_model(source, model, path) -> bool | str:
    """``VALIDATE_INPUTS`` of a loader with a path override."""
    if model == NONE or (isinstance(path, str) and path.strip()):
        return True
    return source.validate(model)


def pipeline_device(dtype: str, prefer: tuple[str, str]):
    """(device, dtype) for a large pipeline: ComfyUI's device; ``auto`` is ``prefer``'s first precision this GPU
    does well, else its second, else fp32 (ComfyUI knows which, and honours --force-fp32 etc.). On a GPU ComfyUI's
    own models are unloaded first to make room."""
    mm = comfy.model_management
    device = mm.get_torch_device()
    if device.type != "cpu":
        if dtype == "auto":
            does = {"fp16": mm.should_use_fp16, "bf16": mm.should_use_bf16}
            dtype = next((name for name in prefer if does[name](device, prioritize_performance=False)), "fp32")
        mm.unload_all_models()
        mm.soft_empty_cache()
    return device, dtype


def first_frame(image):
    """The first image of an IMAGE batch as uint8 RGB, or None without one."""
    return None if image is None else next(image_frames(image, "image"))


def video_result(frames, fps: float, messages, *extra) -> dict:
    """A generator's outputs (IMAGE, fps, ..., notes) with the notes, its messages or "ok", shown on the node."""
    notes = "\n".join(messages) if messages else "ok"
    return {"ui": {"text": [notes]}, "result": (torch.from_numpy(frames), fps, *extra, notes)}

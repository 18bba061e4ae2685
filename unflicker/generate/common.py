"""What every generator shares: the first image as the pipeline wants it, seeded noise, step progress that can
interrupt, and the clean-up an interrupted offloaded pipeline needs. Device, dtype and the model cache are
:mod:`unflicker.runtime`'s (the torch interpolation uses them too)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Optional

import numpy as np
import torch

from ..errors import UnflickerError
from ..media.video import to_uint8
from ..operation import Source, check_source
from ..progress import ProgressFn, report

# Files a single-file model may come as.
WEIGHT_EXTENSIONS = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin")


def starts_text(starts) -> str:
    """Frames where a new segment starts, as the deflicker's ``segment_starts`` input takes them ("25, 49"; ""
    for one segment)."""
    return ", ".join(str(int(t)) for t in starts)


def cpu_generator(seed: int) -> torch.Generator:
    """Noise drawn on the CPU: a seed gives the same video on any device."""
    return torch.Generator(device="cpu").manual_seed(int(seed))


def step_callback(progress: Optional[ProgressFn], total: int, offset: int = 0):
    """diffusers' ``callback_on_step_end``: reports step ``offset + step + 1`` of ``total``. ``progress`` may
    raise (ComfyUI's interrupt): the pipeline then stops between denoising steps."""
    def on_step_end(pipe, step, timestep, callback_kwargs):
        report(progress, offset + step + 1, total)
        return callback_kwargs

    return on_step_end


@contextmanager
def offload_cleanup(pipe, offloaded: bool):
    """An interrupted run skips the pipeline's own clean-up: put offloaded models back on the CPU."""
    try:
        yield
    finally:
        if offloaded:
            pipe.maybe_free_model_hooks()


def image_source(image, name: str = "image") -> Source:
    """The first image as a checked :class:`Source` (one H x W x 3 frame; any size of at least 1x1)."""
    shape = np.shape(image)
    if len(shape) != 3 or shape[2] not in (3, 4):
        raise UnflickerError(f"{name} must be one H x W x 3 frame, got shape {tuple(shape)}")
    return check_source(Source(shape[1], shape[0], 1, name=name), what="a first image")


def to_pil(image, width: int, height: int):
    """First frame (HxWx3 uint8, or float 0..1) -> PIL RGB at width x height, centre-cropped to that aspect."""
    from PIL import Image

    image_source(image)
    arr = to_uint8(np.asarray(image)[..., :3])
    h, w = arr.shape[:2]
    # Crop to the target aspect first so the subject is not squashed.
    if w * height > h * width:
        crop_width = max(1, round(h * width / height))
        left = (w - crop_width) // 2
        arr = arr[:, left:left + crop_width]
    elif w * height < h * width:
        crop_height = max(1, round(w * height / width))
        top = (h - crop_height) // 2
        arr = arr[top:top + crop_height]
    img = Image.fromarray(np.ascontiguousarray(arr))
    if img.size != (width, height):
        img = img.resize((width, height), Image.LANCZOS)
    return img

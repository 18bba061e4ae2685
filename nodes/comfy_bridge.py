"""The few places where nodes touch ComfyUI beyond the node contract: IMAGE tensors, progress, interrupt.
Model folders live in model_folders."""

from __future__ import annotations

from typing import Iterable, Iterator

import cv2
import numpy as np
import torch

import comfy.model_management
import comfy.utils

from ..unflicker.operation import Source


def node_progress(total: int):
    """A ProgressFn for engine loops: drives the node's progress bar and raises on ComfyUI's interrupt."""
    bar = comfy.utils.ProgressBar(max(1, total))

    def callback(done: int, total_: int) -> None:
        comfy.model_management.throw_exception_if_processing_interrupted()
        bar.update_absolute(done, max(1, total_ or total))

    return callback


# IMAGE <-> uint8 with OpenCV/numpy rather than torch: torch's intra-op thread pool keeps spinning after each
# parallel op and, interleaved with ffmpeg or ncnn working beside it, slows them down (measured: up to 1.8x).
def image_frames(images: torch.Tensor, name: str = "images") -> Iterator[np.ndarray]:
    """IMAGE (B, H, W, C) float 0-1 -> uint8 RGB frames, one at a time (no uint8 copy of the whole batch).
    ``name`` is the node input the batch came from, for the error message."""
    check_image(name, images)
    for frame in images:
        pixels = np.ascontiguousarray(frame[..., :3].detach().cpu().numpy(), dtype=np.float32)
        h, w = pixels.shape[:2]
        # one pass: scale, round and saturate to 0..255 (a 2-D view so the scalar applies to every value)
        yield cv2.multiply(pixels.reshape(h, w * 3), 255.0, dtype=cv2.CV_8U).reshape(h, w, 3)


def frames_to_image(frames: Iterable[np.ndarray], count: int | None = None) -> torch.Tensor:
    """uint8 RGB frames -> IMAGE float32 (B, H, W, 3). With ``count`` known, fills one preallocated tensor."""
    if count is None:
        frames = list(frames)
        count = len(frames)
    out = view = None
    i = 0
    for frame in frames:
        if out is None:
            out = torch.empty((count, *frame.shape), dtype=torch.float32)
            view = out.numpy()  # shares memory with the tensor
        if i >= count:
            raise RuntimeError(f"got more frames than the {count} expected")
        # cast and scale in one pass; x / 255 exactly as ComfyUI's own loaders compute it
        np.divide(frame, np.float32(255.0), out=view[i], casting="unsafe")
        i += 1
    if out is None:
        raise ValueError("no frames were produced")
    return out[:i]


def check_image(name: str, images) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[-1] not in (3, 4):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name} must be an IMAGE batch (frames, height, width, 3); got {shape}")
    if images.shape[0] < 1:
        raise ValueError(f"{name} is empty: it needs at least one frame")
    return images


def image_source(name: str, images, fps=None) -> Source:
    """An IMAGE input as the operations see it (checked first): its size, frame count and the fps socket's value."""
    count, height, width = check_image(name, images).shape[:3]
    return Source(width, height, count, fps, name)


# ComfyUI's AUDIO: {"waveform": float tensor (batch, channels, samples), "sample_rate": int}; None = no sound
def audio_output(pcm):
    """An engine PcmAudio (or None) as ComfyUI's AUDIO (None when the clip has no sound, as core's nodes give)."""
    if pcm is None:
        return None
    return {"waveform": torch.from_numpy(pcm.waveform).unsqueeze(0), "sample_rate": int(pcm.sample_rate)}


def audio_input(audio, name: str = "audio"):
    """ComfyUI's AUDIO (or None) as an engine PcmAudio; the first item of a batch."""
    from ..unflicker.media.audio import PcmAudio

    if audio is None:
        return None
    try:
        wave, rate = audio["waveform"], int(audio["sample_rate"])
    except (TypeError, KeyError) as exc:
        raise ValueError(f"{name} must be ComfyUI's AUDIO ({{'waveform': (1, channels, samples), 'sample_rate': int}})") from exc
    wave = wave.detach().cpu().float().numpy() if isinstance(wave, torch.Tensor) else np.asarray(wave, np.float32)
    if wave.ndim == 3:
        wave = wave[0]
    if wave.ndim != 2:
        raise ValueError(f"{name}: waveform must be (batch, channels, samples); got shape {tuple(wave.shape)}")
    return PcmAudio(wave, rate)


"""Stable Video Diffusion through diffusers: offline loading, a stability guard, and long videos by chaining.

Everything here runs without ComfyUI. The device is always passed in (ComfyUI's nodes hand over the one its
model management picked); loading reads local files only, from a diffusers-format folder or from a single-file
checkpoint in the original Stability layout (converted by :mod:`unflicker.generate.svd_convert` with configs shipped in
``unflicker/generate/configs/svd``).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from ..errors import UnflickerError, check_choice
from ..progress import ProgressFn, report
from ..settings import MAX_SEED, SVDExtendSettings, SVDSettings
from ..media.video import to_uint8

log = logging.getLogger(__name__)

DTYPES = ("auto", "fp16", "bf16", "fp32")
_TORCH_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
# Above this, SVD re-samples every frame from a noisier conditioning image and the video flickers.
SAFE_NOISE_AUG = 0.05
SINGLE_FILE_EXTENSIONS = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin")


@dataclass
class SVDModel:
    """A loaded pipeline plus what generation needs to know about how it was loaded."""

    pipe: object  # diffusers.StableVideoDiffusionPipeline
    source: str
    device: torch.device
    dtype: torch.dtype
    cpu_offload: bool = False
    forward_chunking: bool = False
    messages: list = field(default_factory=list)

    @property
    def default_frames(self) -> int:
        return int(self.pipe.unet.config.num_frames)


@dataclass
class SVDResult:
    """frames: float32 (N, H, W, 3) in 0..1; messages: what the guard/loader want the user to know."""

    frames: np.ndarray
    fps: float
    noise_aug_strength: float
    messages: list = field(default_factory=list)


# --------------------------------------------------------------------------------------------- loading

def resolve_dtype(name: str, device) -> torch.dtype:
    """auto: fp16 on an accelerator (the precision SVD is published in), fp32 on CPU (half is slow or missing)."""
    check_choice("dtype", name, DTYPES)
    if name != "auto":
        return _TORCH_DTYPES[name]
    return torch.float32 if torch.device(device).type == "cpu" else torch.float16


def _folder_variant(folder: str) -> Optional[str]:
    """'fp16' when the UNet folder holds only fp16-variant weights (as the Hub's fp16 download does)."""
    unet = os.path.join(folder, "unet")
    if not os.path.isdir(unet):
        return None
    names = os.listdir(unet)
    plain = [n for n in names if n.startswith("diffusion_pytorch_model") and n.count(".") == 1]
    fp16 = [n for n in names if ".fp16." in n]
    return "fp16" if fp16 and not plain else None


def _build_from_folder(folder: str, dtype: torch.dtype):
    from diffusers import StableVideoDiffusionPipeline

    index = os.path.join(folder, "model_index.json")
    if not os.path.isfile(index):
        raise UnflickerError(f"model: {folder} is not a diffusers-format folder (no model_index.json); "
                             "pick a folder from models/diffusers or a single-file checkpoint")
    with open(index, encoding="utf-8") as f:
        kind = json.load(f).get("_class_name")
    if kind != "StableVideoDiffusionPipeline":
        raise UnflickerError(f"model: {os.path.basename(folder)} holds a {kind}, not Stable Video Diffusion "
                             "(StableVideoDiffusionPipeline)")
    with warnings.catch_warnings():
        # diffusers >= 0.36 renames torch_dtype to dtype; the old name still works and older releases need it.
        warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
        return StableVideoDiffusionPipeline.from_pretrained(folder, torch_dtype=dtype, local_files_only=True,
                                                            variant=_folder_variant(folder))


_cache: dict = {}


def load_pipeline(path: str, device, dtype: str = "auto", cpu_offload: bool = False, forward_chunking: bool = False,
                  config: str = "auto", cache: bool = True) -> SVDModel:
    """Build a StableVideoDiffusionPipeline from local files only.

    ``path`` is a diffusers-format folder (model_index.json, unet/, vae/, image_encoder/, ...) or a single-file
    checkpoint in the original layout (svd.safetensors, svd_xt.safetensors, ...). ``config`` picks the shipped
    component configs for a single file ("svd", "svd_xt" or "auto" from the file name). The last loaded pipeline
    is kept for the next call with the same arguments (``cache=False``: not kept, and a kept copy is handed over
    and dropped from the cache); :func:`free_pipeline` drops it.
    """
    if not path or not os.path.exists(path):
        raise UnflickerError(f"model: {path!r} does not exist")
    device = torch.device(device)
    torch_dtype = resolve_dtype(dtype, device)
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_mtime_ns, str(device), torch_dtype, bool(cpu_offload),
           bool(forward_chunking), config)
    if key in _cache:
        return _cache[key] if cache else _cache.pop(key)
    free_pipeline()  # one SVD at a time: they are large

    if os.path.isdir(path):
        pipe = _build_from_folder(path, torch_dtype)
    elif path.lower().endswith(SINGLE_FILE_EXTENSIONS):
        from .svd_convert import pipeline_from_single_file

        pipe = pipeline_from_single_file(path, torch_dtype, config=config)
    else:
        raise UnflickerError(f"model: {path} is neither a diffusers folder nor a checkpoint file "
                             f"({', '.join(SINGLE_FILE_EXTENSIONS)})")
    pipe.set_progress_bar_config(disable=True)

    messages = []
    if forward_chunking:
        # Feed-forward layers run in slices: lower peak memory for a little speed.
        pipe.unet.enable_forward_chunking()
    if cpu_offload and device.type != "cpu":
        pipe.enable_model_cpu_offload(device=device)
    else:
        if cpu_offload:
            messages.append("cpu_offload ignored: the model already runs on the CPU")
        pipe.to(device)
    model = SVDModel(pipe, path, device, torch_dtype, bool(cpu_offload and device.type != "cpu"),
                     bool(forward_chunking), messages)
    if cache:
        _cache[key] = model
    return model


def empty_pipeline_cache(cache: dict) -> bool:
    """Drop the pipelines held in ``cache`` (returns whether there were any) and give their memory back; the
    generation engines (SVD here, CogVideoX/Wan in videogen) each keep such a cache."""
    had = bool(cache)
    cache.clear()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return had


def free_pipeline() -> bool:
    """Drop the cached pipeline (returns whether there was one) and give its memory back."""
    return empty_pipeline_cache(_cache)


# --------------------------------------------------------------------------------------------- generation

def guard_noise_aug(noise_aug_strength: float, stability_guard: bool = True) -> tuple[float, list[str]]:
    """Apply the stability guard: clamp noise_aug_strength to SAFE_NOISE_AUG (on) or warn (off)."""
    if noise_aug_strength <= SAFE_NOISE_AUG:
        return noise_aug_strength, []
    if stability_guard:
        msg = (f"stability guard: noise_aug_strength {noise_aug_strength:g} clamped to {SAFE_NOISE_AUG:g} "
               f"(above {SAFE_NOISE_AUG:g} every frame re-samples the conditioning image and the video flickers; "
               "switch the guard off to keep your value)")
        log.warning(msg)
        return SAFE_NOISE_AUG, [msg]
    msg = (f"warning: noise_aug_strength {noise_aug_strength:g} is above {SAFE_NOISE_AUG:g}: expect flicker "
           "(the stability guard is off, so the value is used as given)")
    log.warning(msg)
    return noise_aug_strength, [msg]


GenerateSettings = SVDSettings  # one pipeline call's settings: defaults, ranges and checks in unflicker.settings


def _settings(model: SVDModel, settings: Optional[SVDSettings], changes: dict) -> SVDSettings:
    """``settings`` (default: SVDSettings with the model's own frame count) with ``changes`` applied, validated.
    ``num_frames=None`` means the model's own (14 for SVD, 25 for XT)."""
    if changes.get("num_frames", 0) is None:
        changes = {k: v for k, v in changes.items() if k != "num_frames"}
        settings = dataclasses.replace(settings or SVDSettings(), num_frames=model.default_frames)
    base = settings or SVDSettings(num_frames=model.default_frames)
    return dataclasses.replace(base, **changes).validated()


def to_pil(image, width: int, height: int):
    """First frame (HxWx3 uint8, or float 0..1) -> PIL RGB at width x height, centre-cropped to that aspect."""
    from PIL import Image

    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise UnflickerError(f"image must be one H x W x 3 frame, got shape {arr.shape}")
    arr = to_uint8(arr[..., :3])
    h, w = arr.shape[:2]
    # Crop to the target aspect first so the subject is not squashed.
    if w * height > h * width:
        cw = max(1, round(h * width / height))
        x0 = (w - cw) // 2
        arr = arr[:, x0:x0 + cw]
    elif w * height < h * width:
        ch = max(1, round(w * height / width))
        y0 = (h - ch) // 2
        arr = arr[y0:y0 + ch]
    img = Image.fromarray(np.ascontiguousarray(arr))
    if img.size != (width, height):
        img = img.resize((width, height), Image.LANCZOS)
    return img


def _step_callback(progress: Optional[ProgressFn], offset: int, total: int):
    def on_step_end(pipe, step, timestep, callback_kwargs):
        # May raise (ComfyUI's interrupt): the pipeline stops between denoising steps.
        report(progress, offset + step + 1, total)
        return callback_kwargs

    return on_step_end


def run_pipeline(model: SVDModel, image, s: GenerateSettings, progress: Optional[ProgressFn] = None,
                 progress_offset: int = 0, progress_total: int = 0) -> np.ndarray:
    """One pipeline call with already validated/guarded settings -> float32 (F, H, W, 3) frames in 0..1."""
    pipe = model.pipe
    generator = torch.Generator(device="cpu").manual_seed(int(s.seed))  # CPU noise: same video on any device
    try:
        out = pipe(
            image=to_pil(image, s.width, s.height),
            height=s.height,
            width=s.width,
            num_frames=s.num_frames,
            num_inference_steps=s.steps,
            min_guidance_scale=s.min_guidance,
            max_guidance_scale=s.max_guidance,
            fps=s.fps,
            motion_bucket_id=s.motion_bucket_id,
            noise_aug_strength=s.noise_aug_strength,
            decode_chunk_size=min(s.decode_chunk_size, s.num_frames),
            generator=generator,
            output_type="np",
            callback_on_step_end=_step_callback(progress, progress_offset, progress_total or s.steps),
        )
    finally:
        if model.cpu_offload:
            # An interrupted run skips the pipeline's own clean-up: put offloaded models back on the CPU.
            pipe.maybe_free_model_hooks()
    return np.asarray(out.frames[0], dtype=np.float32)


def generate(model: SVDModel, image, settings: Optional[SVDSettings] = None, *, stability_guard: bool = True,
             progress: Optional[ProgressFn] = None, **changes) -> SVDResult:
    """Image -> video frames with ``settings`` (an SVDSettings) and/or its fields as keywords (``steps=20``).
    Without ``num_frames`` the model's own default is used (14 for SVD, 25 for XT)."""
    settings = _settings(model, settings, changes)
    noise, messages = guard_noise_aug(settings.noise_aug_strength, stability_guard)
    settings = dataclasses.replace(settings, noise_aug_strength=noise)
    frames = run_pipeline(model, image, settings, progress)
    return SVDResult(frames, float(settings.fps), settings.noise_aug_strength, messages)


# --------------------------------------------------------------------------------------------- long videos

def channel_stats(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over all pixels of one frame (H,W,3) or many (N,H,W,3)."""
    flat = np.asarray(frames, dtype=np.float32).reshape(-1, frames.shape[-1])
    return flat.mean(axis=0), flat.std(axis=0)


def _affine(src_mean, src_std, dst_mean, dst_std, max_gain: float = 2.0):
    gain = np.clip(dst_std / np.maximum(src_std, 1e-4), 1.0 / max_gain, max_gain)
    return gain, dst_mean - gain * src_mean


def correct_drift(segment: np.ndarray, seed_frame: np.ndarray, reference: tuple[np.ndarray, np.ndarray],
                  strength: float = 1.0) -> np.ndarray:
    """Colour/brightness drift correction for one chained segment (float32 (F,H,W,3), frame 0 = regenerated seed).

    Two per-channel mean/std matches, blended by a ramp along the segment: at the seam the segment is mapped so
    its first frame matches ``seed_frame`` (the previous segment's last frame, so the cut does not jump); by the
    end it is mapped so the segment's overall statistics match ``reference`` (the first segment's), so drift does
    not build up from segment to segment. ``strength`` 0 leaves the frames as generated.
    """
    seg = np.asarray(segment, dtype=np.float32)
    if strength <= 0 or len(seg) == 0:
        return seg
    seam_gain, seam_off = _affine(*channel_stats(seg[0]), *channel_stats(seed_frame))
    ref_gain, ref_off = _affine(*channel_stats(seg), *reference)
    n = len(seg)
    out = np.empty_like(seg)
    for j in range(n):
        w = j / (n - 1) if n > 1 else 1.0
        gain = (1.0 - w) * seam_gain + w * ref_gain
        off = (1.0 - w) * seam_off + w * ref_off
        gain = 1.0 + strength * (gain - 1.0)
        off = strength * off
        out[j] = np.clip(seg[j] * gain + off, 0.0, 1.0)
    return out


def extend(model: SVDModel, image, settings: Optional[SVDSettings] = None,
           chain: SVDExtendSettings = SVDExtendSettings(), *, stability_guard: bool = True,
           progress: Optional[ProgressFn] = None, **changes) -> SVDResult:
    """A longer video from chained segments: the last frame of segment N seeds segment N+1.

    ``chain`` holds segments and drift_correction (also accepted as keywords); the rest is as :func:`generate`.
    The first frame of every later segment re-creates its seed frame, so it is dropped: the result has
    ``num_frames + (segments - 1) * (num_frames - 1)`` frames. Segment k uses seed ``seed + k``.
    """
    chain_fields = {k: changes.pop(k) for k in ("segments", "drift_correction") if k in changes}
    chain = dataclasses.replace(chain, **chain_fields).validated()
    segments, drift_correction = chain.segments, chain.drift_correction
    settings = _settings(model, settings, changes)
    noise, messages = guard_noise_aug(settings.noise_aug_strength, stability_guard)
    settings = dataclasses.replace(settings, noise_aug_strength=noise)
    width, height, seed, fps = settings.width, settings.height, settings.seed, settings.fps
    f = settings.num_frames
    total_steps = segments * settings.steps
    out = np.empty((f + (segments - 1) * (f - 1), height, width, 3), dtype=np.float32)

    first = run_pipeline(model, image, settings, progress, 0, total_steps)
    out[:f] = first
    reference = channel_stats(first)
    filled = f
    for k in range(1, segments):
        seed_frame = out[filled - 1].copy()
        settings = dataclasses.replace(settings, seed=(int(seed) + k) % (MAX_SEED + 1))
        seg = run_pipeline(model, seed_frame, settings, progress, k * settings.steps, total_steps)
        seg = correct_drift(seg, seed_frame, reference, drift_correction)
        out[filled:filled + f - 1] = seg[1:]
        filled += f - 1
    return SVDResult(out, float(fps), settings.noise_aug_strength, messages)

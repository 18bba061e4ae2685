"""Stable Video Diffusion through diffusers: offline loading, a stability guard, and long videos by chaining.

Everything here runs without ComfyUI. The device is always passed in (ComfyUI's nodes hand over the one its
model management picked); loading reads local files only, from a diffusers-format folder or from a single-file
checkpoint in the original Stability layout (converted by :mod:`unflicker.generate.svd_convert` with configs shipped in
``unflicker/generate/configs/svd``).

The operation: :func:`plan` (settings, the model's own frame count, the stability guard, segments -> frame count,
steps and rate) and :func:`run` (one pipeline call per segment, drift-corrected seams); :func:`generate` and
:func:`extend` are the two in one call.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from ..errors import UnflickerError
from ..progress import ProgressFn
from ..runtime import ModelCache, torch_dtype
from ..settings import MAX_SEED, SVDExtendSettings, SVDSettings
from ..settings.generate import SVD_DTYPES as DTYPES
from .common import WEIGHT_EXTENSIONS, cpu_generator, offload_cleanup, step_callback, to_pil

log = logging.getLogger(__name__)

# Above this, SVD re-samples every frame from a noisier conditioning image and the video flickers.
SAFE_NOISE_AUG = 0.05
SINGLE_FILE_EXTENSIONS = WEIGHT_EXTENSIONS


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
    segment_starts: tuple = ()  # frames where each chained segment after the first begins (the deflicker's input)


# --------------------------------------------------------------------------------------------- loading

def resolve_dtype(name: str, device) -> torch.dtype:
    """auto: fp16 on an accelerator (the precision SVD is published in), fp32 on CPU (half is slow or missing)."""
    return torch_dtype(name, device, DTYPES, "fp16")


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


_pipelines = ModelCache()  # one SVD at a time: they are large


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
    dtype = resolve_dtype(dtype, device)
    key = (os.path.realpath(path), os.stat(path).st_mtime_ns, str(device), dtype, bool(cpu_offload),
           bool(forward_chunking), config)
    return _pipelines.get(key, lambda: _load(path, device, dtype, cpu_offload, forward_chunking, config), cache)


def _load(path: str, device: torch.device, dtype: torch.dtype, cpu_offload: bool, forward_chunking: bool,
          config: str) -> SVDModel:
    if os.path.isdir(path):
        pipe = _build_from_folder(path, dtype)
    elif path.lower().endswith(SINGLE_FILE_EXTENSIONS):
        from .svd_convert import pipeline_from_single_file

        pipe = pipeline_from_single_file(path, dtype, config=config)
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
    return SVDModel(pipe, path, device, dtype, bool(cpu_offload and device.type != "cpu"), bool(forward_chunking),
                    messages)


def free_pipeline() -> bool:
    """Drop the cached pipeline (returns whether there was one) and give its memory back."""
    return _pipelines.clear()


# --------------------------------------------------------------------------------------------- the operation

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


@dataclass(frozen=True)
class SVDPlan:
    """Everything decided before the first step: the pipeline settings as they run (the model's frame count
    filled in, noise_aug_strength guarded), the chain, and what comes out."""

    settings: SVDSettings
    segments: int
    drift_correction: float
    frame_count: int  # num_frames + (segments - 1) x (num_frames - 1): each later segment re-creates its seed
    progress_steps: int  # denoising steps over all segments (the progress total)
    fps: float  # the rate the model is conditioned on is the output's
    width: int
    height: int
    messages: tuple = ()

    @property
    def segment_starts(self) -> tuple:
        """Frames of the output where each chained segment after the first begins: its re-created seed frame is
        dropped, so segment k's own frames start at num_frames + (k - 1) x (num_frames - 1). The segments meet
        with a hard cut (no overlap): the deflicker matches each one's look to its predecessor's there."""
        frames = self.settings.num_frames
        return tuple(frames + k * (frames - 1) for k in range(self.segments - 1))


def plan(model: SVDModel, settings: SVDSettings, chain: Optional[SVDExtendSettings] = None, *,
         stability_guard: bool = True) -> SVDPlan:
    """Decide a generation (``chain`` None: one segment). ``settings.num_frames=None`` is the model's own (14 for
    SVD, 25 for XT). The first image needs no planning: any size is cropped and scaled to width x height."""
    chain = chain or SVDExtendSettings(segments=1)
    if settings.num_frames is None:
        settings = dataclasses.replace(settings, num_frames=model.default_frames)
    settings = settings.validated()
    chain = chain.validated()
    noise, messages = guard_noise_aug(settings.noise_aug_strength, stability_guard)
    settings = dataclasses.replace(settings, noise_aug_strength=noise)
    frames = settings.num_frames
    return SVDPlan(settings, chain.segments, chain.drift_correction, frames + (chain.segments - 1) * (frames - 1),
                   chain.segments * settings.steps, float(settings.fps), settings.width, settings.height,
                   tuple(messages))


def run_pipeline(model: SVDModel, image, s: SVDSettings, progress: Optional[ProgressFn] = None,
                 progress_offset: int = 0, progress_steps: int = 0) -> np.ndarray:
    """One pipeline call with already validated/guarded settings -> float32 (F, H, W, 3) frames in 0..1."""
    pipe = model.pipe
    with offload_cleanup(pipe, model.cpu_offload):
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
            generator=cpu_generator(s.seed),
            output_type="np",
            callback_on_step_end=step_callback(progress, progress_steps or s.steps, progress_offset),
        )
    return np.asarray(out.frames[0], dtype=np.float32)


def run(model: SVDModel, image, plan: SVDPlan, progress: Optional[ProgressFn] = None) -> np.ndarray:
    """The planned video: float32 (plan.frame_count, H, W, 3) in 0..1. The last frame of segment k seeds
    segment k+1 (with seed ``seed + k``); its re-created first frame is dropped and its drift pulled back."""
    settings, per_segment = plan.settings, plan.settings.num_frames
    first = run_pipeline(model, image, settings, progress, 0, plan.progress_steps)
    if plan.segments == 1:
        return first
    out = np.empty((plan.frame_count, plan.height, plan.width, 3), dtype=np.float32)
    out[:per_segment] = first
    reference = channel_stats(first)
    for k, start in enumerate(plan.segment_starts, 1):
        seed_frame = out[start - 1].copy()
        settings = dataclasses.replace(settings, seed=(int(plan.settings.seed) + k) % (MAX_SEED + 1))
        segment = run_pipeline(model, seed_frame, settings, progress, k * settings.steps, plan.progress_steps)
        segment = correct_drift(segment, seed_frame, reference, plan.drift_correction)
        out[start:start + per_segment - 1] = segment[1:]
    return out




def generate(model: SVDModel, image, settings: Optional[SVDSettings] = None, *, stability_guard: bool = True,
             progress: Optional[ProgressFn] = None, **changes) -> SVDResult:
    """Image -> video frames with ``settings`` (an SVDSettings) and/or its fields as keywords (``steps=20``).
    Without ``num_frames`` the model's own default is used (14 for SVD, 25 for XT)."""
    return extend(model, image, settings, SVDExtendSettings(segments=1), stability_guard=stability_guard,
                  progress=progress, **changes)


def extend(model: SVDModel, image, settings: Optional[SVDSettings] = None,
           chain: SVDExtendSettings = SVDExtendSettings(), *, stability_guard: bool = True,
           progress: Optional[ProgressFn] = None, **changes) -> SVDResult:
    """A longer video from chained segments (:func:`plan` + :func:`run`); ``chain`` holds segments and
    drift_correction (also accepted as keywords), the rest is as :func:`generate`."""
    chain = dataclasses.replace(chain, **{k: changes.pop(k) for k in ("segments", "drift_correction") if k in changes})
    settings = dataclasses.replace(settings or SVDSettings(num_frames=None), **changes)  # None: the model's own
    decided = plan(model, settings, chain, stability_guard=stability_guard)
    frames = run(model, image, decided, progress)
    return SVDResult(frames, decided.fps, decided.settings.noise_aug_strength, list(decided.messages),
                     decided.segment_starts)


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

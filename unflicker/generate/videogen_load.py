"""Loading CogVideoX and Wan 2.1/2.2 through diffusers, from local files only: a diffusers-format folder
(``models/diffusers``), or for Wan ComfyUI's split files (see :mod:`unflicker.generate.wan_convert`); what a
loaded model was made for (:class:`ModelInfo`). The device is always passed in."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Optional

import torch

from ..errors import UnflickerError, check_choice
from ..runtime import ModelCache, torch_dtype
from ..settings.generate import OFFLOAD_MODES as OFFLOAD, VIDEO_DTYPES as DTYPES
PIPELINES = {
    "CogVideoXPipeline": ("cogvideox", False),
    "CogVideoXImageToVideoPipeline": ("cogvideox", True),
    "WanPipeline": ("wan", False),
    "WanImageToVideoPipeline": ("wan", True),
}


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model was made for: native size/length/fps and the longest clip it was trained on."""

    family: str
    variant: str
    image_to_video: bool  # needs a first image
    accepts_image: bool  # takes a first image (Wan 2.2 TI2V 5B: optional)
    frames: int
    max_trained_frames: int
    width: int
    height: int
    fps: int
    frame_step: int = 4  # valid counts are frame_step * k + 1 (the VAE's temporal compression)
    size_multiple: int = 16  # the VAE's spatial factor x the transformer's patch size
    max_frames: Optional[int] = None  # a hard limit (learned positional embeddings), None: none
    fixed_size: bool = False  # learned positional embeddings also fix width x height to the native size


@dataclass
class VideoModel:
    pipe: object  # a diffusers CogVideoX*/Wan* pipeline
    info: ModelInfo
    source: str
    device: torch.device
    dtype: torch.dtype
    offload: str = "none"
    messages: list = field(default_factory=list)
    image_pipe: object = None  # Wan 2.2 TI2V: the image-to-video pipeline over the same components


# --------------------------------------------------------------------------------------------- loading

def resolve_dtype(name: str, device) -> torch.dtype:
    """auto: bf16 on an accelerator (the recipe's precision; CogVideoX 5b and Wan are published in bf16), fp32 on CPU."""
    return torch_dtype(name, device, DTYPES, "bf16")


def pipeline_kind(folder: str) -> Optional[tuple[str, bool]]:
    """(family, image_to_video) of a diffusers folder, or None when it is not CogVideoX/Wan."""
    try:
        with open(os.path.join(folder, "model_index.json"), encoding="utf-8") as f:
            return PIPELINES.get(json.load(f).get("_class_name"))
    except (OSError, ValueError, AttributeError):
        return None


def describe(pipe, family: str, image_to_video: bool) -> ModelInfo:
    tr = pipe.transformer if getattr(pipe, "transformer", None) is not None else pipe.transformer_2
    cfg = tr.config
    patch = cfg.patch_size[-1] if isinstance(cfg.patch_size, (list, tuple)) else cfg.patch_size
    multiple = int(pipe.vae_scale_factor_spatial * patch)
    if family == "cogvideox":
        v15 = cfg.get("patch_size_t") is not None
        scale = pipe.vae_scale_factor_spatial
        learned = bool(cfg.get("use_learned_positional_embeddings"))
        trained = int(cfg.sample_frames)  # 49 for 1.0, 81 for 1.5
        return ModelInfo(
            "cogvideox", ("CogVideoX 1.5" if v15 else "CogVideoX") + (" image-to-video" if image_to_video else ""),
            image_to_video, image_to_video, trained, 161 if v15 else trained, int(cfg.sample_width) * scale,
            # The VAE packs 4 frames per latent after the first and decodes an odd number of latents unchanged
            # (an even count comes back padded), so CogVideoX makes 8k+1 frames.
            int(cfg.sample_height) * scale, 16 if v15 else 8, 2 * pipe.vae_scale_factor_temporal, multiple,
            # Learned positional embeddings (5b-I2V) exist for the trained length and size only.
            trained if learned and not v15 else None, learned and not v15)
    z = pipe.vae.config.z_dim
    ti2v = bool(pipe.config.get("expand_timesteps")) or z == 48
    a14b = getattr(pipe, "transformer_2", None) is not None
    variant = "Wan 2.2 TI2V 5B" if ti2v else ("Wan 2.2 A14B" if a14b else "Wan") + (
        " image-to-video" if image_to_video else " text-to-video")
    if ti2v:  # 5B: 1280x704, 121 frames at 24 fps
        return ModelInfo("wan", variant, False, True, 121, 121, 1280, 704, 24, pipe.vae_scale_factor_temporal,
                         multiple)
    return ModelInfo("wan", variant, image_to_video, image_to_video, 81, 81, 832, 480, 16,
                     pipe.vae_scale_factor_temporal, multiple)


def _from_folder(folder: str, dtype: torch.dtype):
    if not os.path.isfile(os.path.join(folder, "model_index.json")):
        raise UnflickerError(f"model: {folder} is not a diffusers-format folder (no model_index.json); pick a "
                             "folder from models/diffusers (for Wan also split files: transformer, vae, text encoder)")
    kind = pipeline_kind(folder)
    if kind is None:
        with open(os.path.join(folder, "model_index.json"), encoding="utf-8") as f:
            name = json.load(f).get("_class_name")
        raise UnflickerError(f"model: {os.path.basename(folder)} holds a {name}, not CogVideoX or Wan "
                             f"({', '.join(PIPELINES)})")
    import diffusers

    family, i2v = kind
    with open(os.path.join(folder, "model_index.json"), encoding="utf-8") as f:
        cls = getattr(diffusers, json.load(f)["_class_name"])
    extra = {}
    if family == "wan":
        # Wan's VAE runs in fp32, as Wan's own code and diffusers' Wan examples load it; it is small (0.13 B).
        extra["vae"] = diffusers.AutoencoderKLWan.from_pretrained(folder, subfolder="vae", torch_dtype=torch.float32,
                                                                  local_files_only=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
        pipe = cls.from_pretrained(folder, torch_dtype=dtype, local_files_only=True, **extra)
    return pipe, family, i2v


@dataclass(frozen=True)
class WanFiles:
    """ComfyUI's Wan split files (full paths). transformer_2: Wan 2.2 A14B's low-noise expert."""

    transformer: str
    vae: str
    text_encoder: str
    transformer_2: str = ""
    tokenizer: str = ""  # a folder with the UMT5 tokenizer; "" = the one embedded in the text-encoder file
    config_dir: str = ""  # component configs instead of the shipped ones (tests: tiny models)
    clip_vision: str = ""  # Wan 2.1 image-to-video: CLIP ViT-H (clip_vision_h.safetensors)


_pipelines = ModelCache()  # one video model at a time: they are large


def _source_key(source) -> tuple:
    paths = [source] if isinstance(source, str) else [p for p in (source.transformer, source.vae, source.text_encoder,
                                                                   source.transformer_2, source.tokenizer,
                                                                   source.clip_vision) if p]
    for p in paths:
        if not p or not os.path.exists(p):
            raise UnflickerError(f"model: {p!r} does not exist")
    return tuple((os.path.realpath(p), os.stat(p).st_mtime_ns) for p in paths) + (
        (source.config_dir,) if isinstance(source, WanFiles) else ())


def load_pipeline(source, device, dtype: str = "auto", offload: str = "none", vae_tiling: bool = False,
                  vae_slicing: bool = False, cache: bool = True) -> VideoModel:
    """A CogVideoX/Wan pipeline from local files only.

    ``source``: a diffusers folder (CogVideoXPipeline, CogVideoXImageToVideoPipeline, WanPipeline,
    WanImageToVideoPipeline) or :class:`WanFiles`. ``offload``: "model" keeps only the running component on the GPU
    (text encoder, transformer, VAE in turn); "sequential" streams weights layer by layer (least VRAM, much slower).
    The last loaded pipeline is kept for the next call with the same arguments (``cache=False``: not kept, and a
    kept copy is handed over and dropped from the cache); :func:`free_pipeline` drops it.
    """
    check_choice("offload", offload, OFFLOAD)
    device = torch.device(device)
    dtype = resolve_dtype(dtype, device)
    key = (_source_key(source), str(device), dtype, offload, bool(vae_tiling), bool(vae_slicing))
    return _pipelines.get(key, lambda: _load(source, device, dtype, offload, vae_tiling, vae_slicing), cache)


def _build(source, dtype: torch.dtype) -> tuple:
    """(pipeline, family, image_to_video, name, messages) from a diffusers folder or WanFiles."""
    if isinstance(source, WanFiles):
        from .wan_convert import pipeline_from_split_files

        pipe, variant = pipeline_from_split_files(source.transformer, source.vae, source.text_encoder, dtype,
                                                  source.transformer_2, source.tokenizer, source.config_dir,
                                                  source.clip_vision)
        return (pipe, "wan", type(pipe).__name__ == "WanImageToVideoPipeline", os.path.basename(source.transformer),
                [f"loaded from split files as {variant}"])
    if os.path.isdir(source):
        pipe, family, i2v = _from_folder(source, dtype)
        return pipe, family, i2v, os.path.basename(os.path.normpath(source)), []
    raise UnflickerError(f"model: {source} is not a folder; CogVideoX and Wan load from a diffusers folder "
                         "(Wan also from ComfyUI's split files)")


def _place(pipe, device: torch.device, offload: str, messages: list) -> str:
    """Put the pipeline on ``device`` as ``offload`` says; returns the offload in effect."""
    if offload != "none" and device.type == "cpu":
        messages.append(f"{offload} offload ignored: the model already runs on the CPU")
        offload = "none"
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    return offload


def _image_pipe(pipe):
    """Wan 2.2 TI2V 5B: one set of weights does both; the image-to-video pipeline shares them."""
    from diffusers import WanImageToVideoPipeline

    image_pipe = WanImageToVideoPipeline(
        tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, vae=pipe.vae, scheduler=pipe.scheduler,
        transformer=pipe.transformer, transformer_2=getattr(pipe, "transformer_2", None), image_encoder=None,
        image_processor=None, boundary_ratio=pipe.config.get("boundary_ratio"), expand_timesteps=True)
    image_pipe.set_progress_bar_config(disable=True)
    return image_pipe


def _load(source, device: torch.device, dtype: torch.dtype, offload: str, vae_tiling: bool,
          vae_slicing: bool) -> VideoModel:
    pipe, family, i2v, name, messages = _build(source, dtype)
    pipe.set_progress_bar_config(disable=True)
    info = describe(pipe, family, i2v)
    if vae_tiling:
        pipe.vae.enable_tiling()
    if vae_slicing:
        pipe.vae.enable_slicing()
    offload = _place(pipe, device, offload, messages)
    image_pipe = _image_pipe(pipe) if family == "wan" and info.accepts_image and not i2v else None
    return VideoModel(pipe, info, name, device, dtype, offload, messages, image_pipe)


def free_pipeline() -> bool:
    """Drop the cached pipeline (returns whether there was one) and give its memory back."""
    return _pipelines.clear()

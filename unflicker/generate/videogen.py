"""CogVideoX and Wan 2.1/2.2 text/image-to-video through diffusers: offline loading, coherence settings, memory options.

The flicker recipe for these models: bf16, 49 frames (CogVideoX; Wan's native 81), ``guidance_scale=7.5`` ("higher =
more prompt adherence, less frame drift"; Wan's own default is 5.0), ``num_inference_steps=40`` ("don't go under
35; temporal coherence degrades") and a locked seed. :func:`coherence_notes` says when settings leave that recipe.

Loading reads local files only: a diffusers-format folder (``models/diffusers``), or for Wan ComfyUI's split files
(see :mod:`unflicker.generate.wan_convert`). The device is always passed in. Nothing here imports ComfyUI.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np
import torch

from ..errors import UnflickerError, check_choice, check_range
from ..progress import ProgressFn, report
from ..settings import MAX_SEED, CogVideoXSettings, WanSettings
from .svd import empty_pipeline_cache, to_pil

log = logging.getLogger(__name__)

DTYPES = ("auto", "bf16", "fp16", "fp32")
OFFLOAD = ("none", "model", "sequential")
_TORCH_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
PIPELINES = {
    "CogVideoXPipeline": ("cogvideox", False),
    "CogVideoXImageToVideoPipeline": ("cogvideox", True),
    "WanPipeline": ("wan", False),
    "WanImageToVideoPipeline": ("wan", True),
}
FAMILY_NAMES = {"cogvideox": "CogVideoX", "wan": "Wan"}
# The recipe's coherence floor; the defaults are the node settings' (unflicker.settings).
MIN_COHERENT_STEPS = 35
SETTINGS = {"cogvideox": CogVideoXSettings, "wan": WanSettings}
DEFAULT_STEPS = CogVideoXSettings.default("steps")
DEFAULT_GUIDANCE = {family: cls.default("guidance") for family, cls in SETTINGS.items()}
# Below this guidance the prompt barely holds the content from frame to frame.
LOW_GUIDANCE = {"cogvideox": 4.0, "wan": 3.0}
DEFAULT_FPS = {family: cls.default("fps") for family, cls in SETTINGS.items()}
WAN_FLOW_SHIFT = {"480p": WanSettings.default("flow_shift"), "720p": 5.0}


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


@dataclass
class VideoResult:
    """frames: float32 (N, H, W, 3) in 0..1; messages: the loader's and the coherence guard's notes."""

    frames: np.ndarray
    fps: float
    messages: list = field(default_factory=list)


# --------------------------------------------------------------------------------------------- loading

def resolve_dtype(name: str, device) -> torch.dtype:
    """auto: bf16 on an accelerator (the recipe's precision; CogVideoX 5b and Wan are published in bf16), fp32 on CPU."""
    check_choice("dtype", name, DTYPES)
    if name != "auto":
        return _TORCH_DTYPES[name]
    return torch.float32 if torch.device(device).type == "cpu" else torch.bfloat16


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


_cache: dict = {}


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
    torch_dtype = resolve_dtype(dtype, device)
    key = (_source_key(source), str(device), torch_dtype, offload, bool(vae_tiling), bool(vae_slicing))
    if key in _cache:
        return _cache[key] if cache else _cache.pop(key)
    free_pipeline()  # one video model at a time: they are large

    messages = []
    if isinstance(source, WanFiles):
        from .wan_convert import pipeline_from_split_files

        pipe, variant = pipeline_from_split_files(source.transformer, source.vae, source.text_encoder, torch_dtype,
                                                  source.transformer_2, source.tokenizer, source.config_dir,
                                                  source.clip_vision)
        family, i2v = "wan", type(pipe).__name__ == "WanImageToVideoPipeline"
        messages.append(f"loaded from split files as {variant}")
        name = os.path.basename(source.transformer)
    elif os.path.isdir(source):
        pipe, family, i2v = _from_folder(source, torch_dtype)
        name = os.path.basename(os.path.normpath(source))
    else:
        raise UnflickerError(f"model: {source} is not a folder; CogVideoX and Wan load from a diffusers folder "
                             "(Wan also from ComfyUI's split files)")
    pipe.set_progress_bar_config(disable=True)
    info = describe(pipe, family, i2v)

    if vae_tiling:
        pipe.vae.enable_tiling()
    if vae_slicing:
        pipe.vae.enable_slicing()
    if offload != "none" and device.type == "cpu":
        messages.append(f"{offload} offload ignored: the model already runs on the CPU")
        offload = "none"
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    image_pipe = None
    if family == "wan" and info.accepts_image and not i2v:
        # Wan 2.2 TI2V 5B: one set of weights does both; the image-to-video pipeline shares them.
        from diffusers import WanImageToVideoPipeline

        image_pipe = WanImageToVideoPipeline(
            tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, vae=pipe.vae, scheduler=pipe.scheduler,
            transformer=pipe.transformer, transformer_2=getattr(pipe, "transformer_2", None), image_encoder=None,
            image_processor=None, boundary_ratio=pipe.config.get("boundary_ratio"), expand_timesteps=True)
        image_pipe.set_progress_bar_config(disable=True)
    model = VideoModel(pipe, info, name, device, torch_dtype, offload, messages, image_pipe)
    if cache:
        _cache[key] = model
    return model


def free_pipeline() -> bool:
    """Drop the cached pipeline (returns whether there was one) and give its memory back."""
    return empty_pipeline_cache(_cache)


# --------------------------------------------------------------------------------------------- settings

def nearest_valid_frames(n: int, step: int = 4) -> list[int]:
    """The step*k+1 counts either side of ``n`` (just ``n`` when it is one)."""
    low = (n - 1) // step * step + 1
    return [low] if low == n else [low, low + step]


@dataclass(frozen=True)
class GenerateSettings:
    """One generation's settings; ``None`` means the model's native value. ``validated`` checks ranges."""

    prompt: str = ""
    negative_prompt: str = ""
    num_frames: Optional[int] = None
    width: Optional[int] = None
    height: Optional[int] = None
    steps: int = DEFAULT_STEPS
    guidance: Optional[float] = None
    flow_shift: Optional[float] = None  # Wan only: 3.0 for 480p, 5.0 for 720p; None: by the frame size
    seed: int = 0
    fps: Optional[int] = None

    def resolved(self, info: ModelInfo) -> "GenerateSettings":
        """The settings with the model's native values filled in, validated for that model."""
        def native(value, default):
            return default if value is None else value

        w = native(self.width, info.width)
        h = native(self.height, info.height)
        shift = self.flow_shift
        if info.family == "wan" and shift is None:
            shift = WAN_FLOW_SHIFT["720p"] if (w or 0) * (h or 0) >= 1280 * 704 else WAN_FLOW_SHIFT["480p"]
        return replace(self, num_frames=native(self.num_frames, info.frames), width=w, height=h, flow_shift=shift,
                       guidance=DEFAULT_GUIDANCE[info.family] if self.guidance is None else self.guidance,
                       fps=native(self.fps, info.fps)).validated(info)

    def validated(self, info: Optional[ModelInfo] = None) -> "GenerateSettings":
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise UnflickerError("prompt must not be empty: it is what the video shows")
        step = info.frame_step if info else 4
        multiple = info.size_multiple if info else 16
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is None:
                continue
            check_range(name, value, 32, 4096)
            if value % multiple:
                raise UnflickerError(f"{name} must be a multiple of {multiple} (the VAE's blocks times the "
                                     f"transformer's patches), got {value}")
        if self.num_frames is not None:
            check_range("num_frames", self.num_frames, 1, 1025)
            if self.num_frames % step != 1 % step:
                near = " or ".join(map(str, nearest_valid_frames(self.num_frames, step)))
                model = info.variant if info else "the model"
                raise UnflickerError(f"num_frames {self.num_frames} cannot be generated: {model} makes {step}k+1 "
                                     f"frames (its VAE packs 4 frames per latent after the first); nearest valid: "
                                     f"{near}")
            if info and info.max_frames and self.num_frames > info.max_frames:
                raise UnflickerError(f"num_frames {self.num_frames} is more than {info.variant} can take: its "
                                     f"positional embeddings cover {info.max_frames} frames")
        if info and info.fixed_size and (self.width, self.height) != (info.width, info.height):
            raise UnflickerError(f"width x height {self.width}x{self.height}: {info.variant} generates at "
                                 f"{info.width}x{info.height} only (its positional embeddings are learned at that size)")
        check_range("steps", self.steps, 1, 200)
        if self.guidance is not None:
            check_range("guidance", self.guidance, 0.0, 30.0)
        if self.flow_shift is not None:
            check_range("flow_shift", self.flow_shift, 0.5, 20.0)
        check_range("seed", self.seed, 0, MAX_SEED)
        if self.fps is not None:
            check_range("fps", self.fps, 1, 120)
        return self


def coherence_notes(s: GenerateSettings, info: ModelInfo) -> list[str]:
    """Lines for settings known to cost temporal coherence (resolved settings)."""
    notes = []
    name = FAMILY_NAMES[info.family]
    if s.steps < MIN_COHERENT_STEPS:
        notes.append(f"coherence: steps {s.steps} is under {MIN_COHERENT_STEPS}: temporal coherence degrades with "
                     f"fewer denoising steps (the recipe: {DEFAULT_STEPS}, \"don't go under {MIN_COHERENT_STEPS}\")")
    if s.guidance < LOW_GUIDANCE[info.family]:
        notes.append(f"coherence: guidance {s.guidance:g} is very low for {name}: less prompt adherence, more frame "
                     f"drift (the recipe: {DEFAULT_GUIDANCE[info.family]:g}; higher = less drift)")
    if s.num_frames > info.max_trained_frames:
        notes.append(f"coherence: {s.num_frames} frames is beyond the {info.max_trained_frames} {info.variant} was "
                     "trained on: expect content to morph in the later frames (generate shorter and interpolate, "
                     "or chain clips)")
    if info.family == "wan" and s.flow_shift is not None:
        hd = s.width * s.height >= 1280 * 704
        want = WAN_FLOW_SHIFT["720p" if hd else "480p"]
        if abs(s.flow_shift - want) > 1.0:
            notes.append(f"coherence: flow_shift {s.flow_shift:g} at {s.width}x{s.height}: Wan uses {want:g} for "
                         f"{'720p' if hd else '480p'} (3.0 for 480p, 5.0 for 720p)")
    return notes


# --------------------------------------------------------------------------------------------- generation

def _step_callback(progress: Optional[ProgressFn], total: int):
    def on_step_end(pipe, step, timestep, callback_kwargs):
        report(progress, step + 1, total)  # may raise (ComfyUI's interrupt): stops between denoising steps
        return callback_kwargs

    return on_step_end


def _set_flow_shift(pipe, shift: float):
    config = pipe.scheduler.config
    for name in ("flow_shift", "shift"):
        if name in config:
            if config[name] != shift:
                pipe.scheduler = type(pipe.scheduler).from_config(config, **{name: shift})
            return


def pipeline_kwargs(model: VideoModel, s: GenerateSettings, image=None) -> tuple[object, dict]:
    """(pipeline, keyword arguments) for one call with resolved settings: what :func:`run` passes to diffusers."""
    info = model.info
    pipe = model.pipe
    kwargs = dict(prompt=s.prompt, negative_prompt=s.negative_prompt or None, num_frames=s.num_frames,
                  width=s.width, height=s.height, num_inference_steps=s.steps, guidance_scale=s.guidance,
                  generator=torch.Generator(device="cpu").manual_seed(int(s.seed)),  # CPU noise: same video anywhere
                  output_type="np")
    if image is not None:
        if not info.accepts_image:
            raise UnflickerError(f"image: {info.variant} is text-to-video and takes no first image; load an "
                                 "image-to-video model (CogVideoX 5b-I2V, Wan I2V, Wan 2.2 TI2V 5B) or unplug it")
        kwargs["image"] = to_pil(image, s.width, s.height)
        if model.image_pipe is not None:
            pipe = model.image_pipe
    elif info.image_to_video:
        raise UnflickerError(f"image: {info.variant} needs a first image (plug one into image)")
    if info.family == "cogvideox":
        # The text length the transformer's positional embeddings were built for (226 in the published models).
        kwargs["max_sequence_length"] = int(pipe.transformer.config.max_text_seq_length)
    if info.family == "wan":
        _set_flow_shift(pipe, s.flow_shift)
        if model.image_pipe is not None:
            model.image_pipe.scheduler = model.pipe.scheduler = pipe.scheduler
    return pipe, kwargs


def run(model: VideoModel, s: GenerateSettings, image=None, progress: Optional[ProgressFn] = None) -> np.ndarray:
    pipe, kwargs = pipeline_kwargs(model, s, image)
    try:
        out = pipe(**kwargs, callback_on_step_end=_step_callback(progress, s.steps))
    finally:
        if model.offload != "none":
            # An interrupted run skips the pipeline's own clean-up: put offloaded models back on the CPU.
            pipe.maybe_free_model_hooks()
    return np.clip(np.asarray(out.frames[0], dtype=np.float32), 0.0, 1.0)


def generate(model: VideoModel, prompt: str, negative_prompt: str = "", image=None, num_frames: Optional[int] = None,
             width: Optional[int] = None, height: Optional[int] = None, steps: int = DEFAULT_STEPS,
             guidance: Optional[float] = None, flow_shift: Optional[float] = None, seed: int = 0,
             fps: Optional[int] = None, progress: Optional[ProgressFn] = None) -> VideoResult:
    """Text (and optionally a first image) -> video frames. None = the model's native value (frames, size,
    guidance 7.5 CogVideoX / 5.0 Wan, flow shift by size, fps 8 CogVideoX / 16 Wan)."""
    settings = GenerateSettings(prompt, negative_prompt, num_frames, width, height, steps, guidance, flow_shift,
                                seed, fps).resolved(model.info)
    notes = coherence_notes(settings, model.info)
    for line in notes:
        log.warning(line)
    frames = run(model, settings, image, progress)
    return VideoResult(frames, float(settings.fps), list(model.messages) + notes)

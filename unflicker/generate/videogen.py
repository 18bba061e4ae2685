"""CogVideoX and Wan 2.1/2.2 text/image-to-video through diffusers: coherence settings, the plan, the run.

The flicker recipe for these models: bf16, 49 frames (CogVideoX; Wan's native 81), ``guidance_scale=7.5`` ("higher =
more prompt adherence, less frame drift"; Wan's own default is 5.0), ``num_inference_steps=40`` ("don't go under
35; temporal coherence degrades") and a locked seed. :func:`coherence_notes` says when settings leave that recipe.

The operation: :func:`plan` fills the model's native values into the settings (a field left None), checks them
against the loaded model (CogVideoX makes 8k+1 frames, Wan 4k+1; sizes in the model's blocks; learned positional
embeddings fix length and size) and the first image against what the model takes; :func:`run` generates.
Loading is :mod:`unflicker.generate.videogen_load`'s (re-exported here). Nothing here imports ComfyUI.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from ..errors import UnflickerError
from ..operation import Source
from ..progress import ProgressFn
from ..settings import CogVideoXSettings, WanSettings
from .common import cpu_generator, image_source, offload_cleanup, step_callback, to_pil
from .videogen_load import (DTYPES, OFFLOAD, PIPELINES, ModelInfo, VideoModel, WanFiles, describe,  # noqa: F401
                            free_pipeline, load_pipeline, pipeline_kind, resolve_dtype)

log = logging.getLogger(__name__)

FAMILY_NAMES = {"cogvideox": "CogVideoX", "wan": "Wan"}
# The recipe's coherence floor; the defaults are the node settings' (unflicker.settings).
MIN_COHERENT_STEPS = 35
SETTINGS = {"cogvideox": CogVideoXSettings, "wan": WanSettings}
DEFAULT_STEPS = CogVideoXSettings.default("steps")
DEFAULT_GUIDANCE = {family: cls.default("guidance") for family, cls in SETTINGS.items()}
# Below this guidance the prompt barely holds the content from frame to frame.
LOW_GUIDANCE = {"cogvideox": 4.0, "wan": 3.0}
WAN_FLOW_SHIFT = {"480p": WanSettings.default("flow_shift"), "720p": 5.0}
VideoSettings = Union[CogVideoXSettings, WanSettings]


@dataclass
class VideoResult:
    """frames: float32 (N, H, W, 3) in 0..1; messages: the loader's and the coherence guard's notes."""

    frames: np.ndarray
    fps: float
    messages: list = field(default_factory=list)


# --------------------------------------------------------------------------------------------- the plan

def nearest_valid_frames(n: int, step: int = 4) -> list[int]:
    """The step*k+1 counts either side of ``n`` (just ``n`` when it is one)."""
    low = (n - 1) // step * step + 1
    return [low] if low == n else [low, low + step]


def _wan_shift(width: int, height: int) -> float:
    return WAN_FLOW_SHIFT["720p"] if width * height >= 1280 * 704 else WAN_FLOW_SHIFT["480p"]


NATIVE_FIELDS = ("num_frames", "width", "height", "guidance", "fps", "flow_shift")


def native_settings(prompt: str, **fields) -> WanSettings:
    """Settings that leave what ``fields`` does not set to the model: every field of NATIVE_FIELDS is None
    unless given (the node's defaults are one family's natives; a request for any model needs these)."""
    return WanSettings(prompt=prompt, **{**dict.fromkeys(NATIVE_FIELDS), **fields})


def resolve_settings(info: ModelInfo, settings) -> VideoSettings:
    """``settings`` as the model's family's class with the model's native values where a field is None (frames,
    size, guidance 7.5 CogVideoX / 5.0 Wan, flow shift by size, fps), checked for that model."""
    cls = SETTINGS[info.family]
    values = {f.name: getattr(settings, f.name, None) for f in dataclasses.fields(cls)}
    native = {"num_frames": info.frames, "width": info.width, "height": info.height,
              "guidance": DEFAULT_GUIDANCE[info.family], "fps": info.fps}
    values.update({name: value for name, value in native.items() if values[name] is None})
    if info.family == "wan" and values["flow_shift"] is None:
        values["flow_shift"] = _wan_shift(values["width"], values["height"])
    resolved = cls(**values).validated()
    _check_for_model(resolved, info)
    return resolved


def _check_for_model(s: VideoSettings, info: ModelInfo) -> None:
    """What the loaded model can make: sizes in its blocks, step*k+1 frames, learned embeddings' limits."""
    for name in ("width", "height"):
        if getattr(s, name) % info.size_multiple:
            raise UnflickerError(f"{name} must be a multiple of {info.size_multiple} (the VAE's blocks times the "
                                 f"transformer's patches), got {getattr(s, name)}")
    step = info.frame_step
    if s.num_frames % step != 1 % step:
        near = " or ".join(map(str, nearest_valid_frames(s.num_frames, step)))
        raise UnflickerError(f"num_frames {s.num_frames} cannot be generated: {info.variant} makes {step}k+1 "
                             f"frames (its VAE packs 4 frames per latent after the first); nearest valid: {near}")
    if info.max_frames and s.num_frames > info.max_frames:
        raise UnflickerError(f"num_frames {s.num_frames} is more than {info.variant} can take: its "
                             f"positional embeddings cover {info.max_frames} frames")
    if info.fixed_size and (s.width, s.height) != (info.width, info.height):
        raise UnflickerError(f"width x height {s.width}x{s.height}: {info.variant} generates at "
                             f"{info.width}x{info.height} only (its positional embeddings are learned at that size)")


def _check_image(info: ModelInfo, image: Optional[Source]) -> None:
    if image is not None and not info.accepts_image:
        raise UnflickerError(f"image: {info.variant} is text-to-video and takes no first image; load an "
                             "image-to-video model (CogVideoX 5b-I2V, Wan I2V, Wan 2.2 TI2V 5B) or unplug it")
    if image is None and info.image_to_video:
        raise UnflickerError(f"image: {info.variant} needs a first image (plug one into image)")


def coherence_notes(s, info: ModelInfo) -> list[str]:
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
        want = _wan_shift(s.width, s.height)
        hd = want == WAN_FLOW_SHIFT["720p"]
        if abs(s.flow_shift - want) > 1.0:
            notes.append(f"coherence: flow_shift {s.flow_shift:g} at {s.width}x{s.height}: Wan uses {want:g} for "
                         f"{'720p' if hd else '480p'} (3.0 for 480p, 5.0 for 720p)")
    return notes


@dataclass(frozen=True)
class VideoPlan:
    """One generation, decided: the settings as they run (natives filled in), what comes out, and the notes
    (the loader's and the coherence guard's)."""

    settings: VideoSettings
    frame_count: int
    width: int
    height: int
    fps: float
    with_image: bool
    messages: tuple = ()

    @property
    def progress_steps(self) -> int:
        """What ``run`` reports progress against: one per denoising step."""
        return self.settings.steps


def plan(model: VideoModel, settings, image: Optional[Source] = None) -> VideoPlan:
    """Decide a generation with ``model``; ``image`` is the first image's :class:`Source` (or the image), None
    for text-to-video."""
    if image is not None and not isinstance(image, Source):
        image = image_source(image)
    info = model.info
    resolved = resolve_settings(info, settings)
    notes = coherence_notes(resolved, info)
    for line in notes:
        log.warning(line)
    _check_image(info, image)
    return VideoPlan(resolved, resolved.num_frames, resolved.width, resolved.height, float(resolved.fps),
                     image is not None, tuple(model.messages) + tuple(notes))


# --------------------------------------------------------------------------------------------- the run

def _set_flow_shift(pipe, shift: float):
    config = pipe.scheduler.config
    for name in ("flow_shift", "shift"):
        if name in config:
            if config[name] != shift:
                pipe.scheduler = type(pipe.scheduler).from_config(config, **{name: shift})
            return


def pipeline_kwargs(model: VideoModel, plan: VideoPlan, image=None) -> tuple[object, dict]:
    """(pipeline, keyword arguments) for one planned call: what :func:`run` passes to diffusers."""
    info, s = model.info, plan.settings
    pipe = model.pipe
    kwargs = dict(prompt=s.prompt, negative_prompt=s.negative_prompt or None, num_frames=s.num_frames,
                  width=s.width, height=s.height, num_inference_steps=s.steps, guidance_scale=s.guidance,
                  generator=cpu_generator(s.seed), output_type="np")
    if plan.with_image:
        kwargs["image"] = to_pil(image, s.width, s.height)
        if model.image_pipe is not None:
            pipe = model.image_pipe
    if info.family == "cogvideox":
        # The text length the transformer's positional embeddings were built for (226 in the published models).
        kwargs["max_sequence_length"] = int(pipe.transformer.config.max_text_seq_length)
    if info.family == "wan":
        _set_flow_shift(pipe, s.flow_shift)
        if model.image_pipe is not None:
            model.image_pipe.scheduler = model.pipe.scheduler = pipe.scheduler
    return pipe, kwargs


def run(model: VideoModel, plan: VideoPlan, image=None, progress: Optional[ProgressFn] = None) -> np.ndarray:
    """The planned video: float32 (plan.frame_count, H, W, 3) in 0..1; ``image`` the first image when planned."""
    pipe, kwargs = pipeline_kwargs(model, plan, image)
    with offload_cleanup(pipe, model.offload != "none"):
        out = pipe(**kwargs, callback_on_step_end=step_callback(progress, plan.settings.steps))
    return np.clip(np.asarray(out.frames[0], dtype=np.float32), 0.0, 1.0)


def generate(model: VideoModel, prompt: str, negative_prompt: str = "", image=None, num_frames: Optional[int] = None,
             width: Optional[int] = None, height: Optional[int] = None, steps: int = DEFAULT_STEPS,
             guidance: Optional[float] = None, flow_shift: Optional[float] = None, seed: int = 0,
             fps: Optional[int] = None, progress: Optional[ProgressFn] = None) -> VideoResult:
    """Text (and optionally a first image) -> video frames: :func:`plan` + :func:`run`. None = the model's
    native value (frames, size, guidance 7.5 CogVideoX / 5.0 Wan, flow shift by size, fps 8 CogVideoX / 16 Wan)."""
    settings = native_settings(prompt, negative_prompt=negative_prompt, num_frames=num_frames, width=width,
                               height=height, steps=steps, guidance=guidance, seed=seed, fps=fps, flow_shift=flow_shift)
    decided = plan(model, settings, image)
    return VideoResult(run(model, decided, image, progress), decided.fps, list(decided.messages))

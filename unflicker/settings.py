"""Settings users set, each defined once: default, range, step and help live on the field.

A settings class is a frozen dataclass of :func:`setting` fields deriving from :class:`Settings`.
``validated()`` checks every field against its declared range or choices (the error names the setting) plus the
class's own cross-field rules (``_check``), and returns the instance unchanged; ``dataclasses.replace`` makes a
changed copy. The engines take a settings object (or keywords that become one), the nodes build their
INPUT_TYPES entries from the fields (``nodes/inputs.py``: ``setting_input``), and the CLI takes its defaults and
help from ``default()`` / ``spec()``.

This module imports nothing heavy (no torch, no OpenCV), so ``python -m unflicker --help`` stays fast; the
settings of the torch- and OpenCV-based engines live here and are re-exported by them::

    @dataclass(frozen=True)
    class Example(Settings):
        window: int = setting(9, 3, 31, step=2, help="Frames compared around each frame.")

    Example(window=11).validated()      # -> Example(window=11)
    Example.default("window")           # -> 9
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .errors import UnflickerError, check_choice, check_range

MAX_SEED = 0xFFFFFFFFFFFFFFFF
SEED_HELP = "Kept as set: the same seed gives the same video."


def setting(default, low=None, high=None, *, step=None, choices=None, label: str | None = None, help: str = ""):
    """A settings field: ``default``, inclusive range ``low``..``high`` or ``choices``, UI ``step``, ``help``
    (the node tooltip and CLI help); ``label`` names the setting in errors when it differs from the field."""
    meta = {"low": low, "high": high, "step": step, "choices": tuple(choices) if choices is not None else None,
            "label": label, "help": help}
    return dataclasses.field(default=default, metadata=meta)


class Settings:
    """Base of the settings dataclasses (subclasses are ``@dataclass(frozen=True)``)."""

    def validated(self):
        for f in dataclasses.fields(self):
            meta = f.metadata
            if not meta:
                continue
            name, value = meta["label"] or f.name, getattr(self, f.name)
            if meta["choices"] is not None:
                check_choice(name, value, meta["choices"])
            elif meta["low"] is not None:
                check_range(name, value, meta["low"], meta["high"])
        self._check()
        return self

    def _check(self) -> None:
        """Rules across fields (override)."""

    @classmethod
    def spec(cls, name: str) -> dict[str, Any]:
        """default, low, high, step, choices, label, help of one field."""
        for f in dataclasses.fields(cls):
            if f.name == name:
                return {"default": f.default, **f.metadata}
        raise KeyError(f"{cls.__name__} has no setting {name!r}")

    @classmethod
    def default(cls, name: str):
        return cls.spec(name)["default"]


def check_multiple(name: str, value: int, of: int, why: str) -> None:
    if value % of:
        raise UnflickerError(f"{name} must be a multiple of {of} ({why}), got {value}")


# ---------------------------------------------------------------- Stable Video Diffusion (unflicker.generate.svd)
@dataclass(frozen=True)
class SVDSettings(Settings):
    width: int = setting(1024, 64, 4096, step=8)
    height: int = setting(576, 64, 4096, step=8)
    num_frames: int = setting(14, 2, 128, help="14 for SVD, 25 for SVD-XT (what each was trained on).")
    steps: int = setting(25, 1, 200)
    min_guidance: float = setting(1.0, 0.0, 30.0, step=0.1,
                                  help="Guidance on the first frame; it rises linearly to max_guidance on the last.")
    max_guidance: float = setting(3.0, 0.0, 30.0, step=0.1)
    motion_bucket_id: int = setting(127, 1, 255, help="More = more motion.")
    fps: int = setting(7, 1, 60, help="Frame rate the model is conditioned on, and the fps output.")
    noise_aug_strength: float = setting(0.02, 0.0, 1.0, step=0.01, help=(
        "Noise added to the first frame. Above 0.05 every frame re-samples and the video flickers."))
    decode_chunk_size: int = setting(8, 1, 128, help="Frames decoded together: more = steadier decode, more VRAM.")
    seed: int = setting(0, 0, MAX_SEED, help=SEED_HELP)

    def _check(self) -> None:
        for name in ("width", "height"):
            check_multiple(name, getattr(self, name), 8, "the VAE works on 8x8 blocks")
        if self.min_guidance > self.max_guidance:
            raise UnflickerError(f"min_guidance ({self.min_guidance}) must not exceed max_guidance "
                                 f"({self.max_guidance})")


@dataclass(frozen=True)
class SVDExtendSettings(Settings):
    segments: int = setting(2, 1, 64, help="Total frames = num_frames + (segments - 1) x (num_frames - 1).")
    drift_correction: float = setting(1.0, 0.0, 1.0, step=0.05, help=(
        "How strongly later segments are matched (per-channel mean/std) to the seam and the first segment; "
        "0 = off."))


# ---------------------------------------------------------------- flow-guided deflicker (unflicker.fix.deflicker)
DEFLICKER_MODES = ("auto", "brightness", "regional", "colour", "texture", "all")


@dataclass(frozen=True)
class DeflickerSettings(Settings):
    mode: str = setting("auto", choices=DEFLICKER_MODES, help=(
        "auto: each kind only where it is measured (a steady clip passes through unchanged). "
        "brightness: one gain and offset per frame. regional: a smooth gain field. colour: a gain and offset per "
        "channel. "
        "texture: flow-aligned temporal averaging of fine grain. all: everything."))
    strength: float = setting(1.0, 0.0, 1.0, step=0.05, help="1 removes the measured flicker fully; 0 returns the input.")
    window: int = setting(9, 3, 31, step=2, help=(
        "Brightness changes slower than this many frames (and never faster than 2 s) count as real, like a "
        "fade; faster ones as flicker. Longer removes slower flicker but follows quick real lighting changes "
        "less closely."))


# ---------------------------------------------------------------- AnimateDiff (unflicker.generate.animatediff)
@dataclass(frozen=True)
class AnimateDiffSettings(Settings):
    num_frames: int = setting(16, 1, 4096)
    width: int = setting(512, 8, 8192, step=8)
    height: int = setting(512, 8, 8192, step=8)
    steps: int = setting(20, 1, 1000)
    guidance: float = setting(7.5, 0.0, 100.0, step=0.1)
    seed: int = setting(0, 0, MAX_SEED, help=SEED_HELP)
    context_length: int = setting(16, 1, 128, help="Frames the motion module sees at once (16 for most SD 1.5 modules).")
    context_overlap: int = setting(4, 0, 127, help="Frames shared by neighbouring windows; more = smoother joins, slower.")
    controlnet_scale: float = setting(1.0, 0.0, 2.0, step=0.05, help="How strongly the control frames steer each frame.")

    def _check(self) -> None:
        check_range("context_overlap", self.context_overlap, 0, self.context_length - 1)
        for name in ("width", "height"):
            check_multiple(name, getattr(self, name), 8, "the VAE works on 8x8 blocks")


# ---------------------------------------------------------------- frame interpolation (unflicker.fix.interpolate)
@dataclass(frozen=True)
class InterpolateSettings(Settings):
    multiplier: int = setting(2, choices=(2, 4, 8), help=(
        "Frames out = n + (n-1)(multiplier-1) for n frames in (8 frames x4 -> 29); originals stay at positions "
        "0, m, 2m, ... Ignored when target_fps is set."))
    backend: str = setting("auto", choices=("auto", "ncnn", "flow", "torch"), help=(
        "auto: torch for a weight file, ncnn for a model folder (flow if ncnn cannot run, the reason is reported), "
        "flow without a model. ncnn / torch: that one only, errors if it cannot run. flow: weight-free optical "
        "flow."))
    scene_threshold: float = setting(0.5, 0.0, 1.0, step=0.01, help=(
        "Cut score at or above which a pair is a scene cut: the earlier frame is held instead of blending two "
        "shots. Lower finds more cuts; 1.0 turns detection off."))
    gpu_id: int = setting(0, -1, 63, help="Vulkan device for ncnn; -1 runs ncnn on the CPU.")
    threads: int = setting(4, 1, 64, help="ncnn worker threads.")
    uhd: bool = setting(False, help="RIFE UHD mode: flow at half scale, for 4K input.")
    tta: bool = setting(False, help="RIFE test-time augmentation: slower, a bit cleaner.")
    # added later: optional node inputs whose defaults keep the earlier behaviour
    target_fps: float = setting(0.0, 0.0, 1000.0, step=0.001, help=(
        "Output frame rate (8 -> 60, 23.976 -> 59.94); 0 uses the multiplier. Output frame k is at exactly "
        "k / target_fps s; the clip's duration is kept."))
    loop: bool = setting(False, help="Also interpolate from the last frame back to the first, for clips that loop.")
    batch_size: int = setting(4, 1, 64, help=(
        "torch: frames rendered per network call (halved automatically on out-of-memory)."))
    max_side: int = setting(0, 0, 8192, step=16, help=(
        "torch: above this long side, flow is estimated at a smaller scale (RIFE) or FILM runs on a resized copy; "
        "1280 keeps FILM within memory on full HD. 0 = off."))


# ---------------------------------------------------------------- OpenPose (unflicker.generate.pose)
@dataclass(frozen=True)
class PoseSettings(Settings):
    detect_resolution: int = setting(512, 64, 2048, step=64, help=(
        "Frames are scaled so their short side is this; the skeleton images come out at that size."))
    smoothing: bool = setting(True, help="Steady the keypoints over time.")
    smoothing_strength: float = setting(0.5, 0.0, 1.0, step=0.05, help=(
        "Higher = steadier when still; fast movements keep up at any strength (One-Euro filter)."))
    hold_missing: int = setting(2, 0, 10, help=(
        "With smoothing on, keep a keypoint that vanishes for up to this many frames, so limbs do not blink on "
        "and off."))


# ---------------------------------------------------------------- side by side (unflicker.analysis.side_by_side)
@dataclass(frozen=True)
class SideBySideSettings(Settings):
    slow_motion: float = setting(1.0, 1.0, 16.0, step=0.5, label="slow",
                                 help="Playback slow-down factor; 4 shows flicker best (1/4 speed).")


# ---------------------------------------------------------------- CogVideoX / Wan (unflicker.generate.videogen)
# The flicker recipe: 40 steps ("don't go under 35; temporal coherence degrades"), guidance 7.5 ("higher = more
# prompt adherence, less frame drift"; Wan's own default is 5.0), the model's native length, a locked seed.
VIDEOGEN_STEPS_HELP = "40 per the recipe; under 35 temporal coherence degrades (a note says so)."
VIDEOGEN_SEED_HELP = "Kept as set: the noise is drawn on the CPU, so a seed gives the same video on any GPU."


@dataclass(frozen=True)
class CogVideoXSettings(Settings):
    """The CogVideoX Generate node's widgets (the engine checks frames and size against the loaded model)."""

    prompt: str = setting("", help="What the video shows. Describe motion and camera: these models were trained "
                                   "on long, detailed captions.")
    negative_prompt: str = setting("", help="What to avoid (used when guidance > 1).")
    num_frames: int = setting(49, 1, 1025, step=8, help=(
        "49 is CogVideoX's native length. CogVideoX makes 8k+1 frames (CogVideoX 1.5: 81 or 161); other counts are "
        "refused with the nearest valid ones."))
    width: int = setting(720, 32, 4096, step=16, help="Native: 720x480 (CogVideoX 1.5: 1360x768).")
    height: int = setting(480, 32, 4096, step=16)
    steps: int = setting(40, 1, 200, help=VIDEOGEN_STEPS_HELP)
    guidance: float = setting(7.5, 0.0, 30.0, step=0.1, help=(
        "Higher = more prompt adherence, less frame drift; 7.5 per the recipe."))
    seed: int = setting(0, 0, MAX_SEED, help=VIDEOGEN_SEED_HELP)
    fps: int = setting(8, 1, 120, help="Frame rate of the output: 8 is CogVideoX's (CogVideoX 1.5: 16).")


@dataclass(frozen=True)
class WanSettings(CogVideoXSettings):
    """The Wan Generate node's widgets."""

    num_frames: int = setting(81, 1, 1025, step=4, help=(
        "81 is Wan's native length. Wan makes 4k+1 frames (TI2V 5B: 121); other counts are refused with the "
        "nearest valid ones."))
    width: int = setting(832, 32, 4096, step=16, help="Native: 832x480 (14B also 1280x720; TI2V 5B 1280x704).")
    height: int = setting(480, 32, 4096, step=16)
    guidance: float = setting(5.0, 0.0, 30.0, step=0.1, help=(
        "Higher = more prompt adherence, less frame drift; 5.0 is Wan's own setting."))
    flow_shift: float = setting(3.0, 0.5, 20.0, step=0.5, help=(
        "Noise schedule shift: 3.0 for 480p, 5.0 for 720p (Wan's settings)."))
    fps: int = setting(16, 1, 120, help="Frame rate of the output: 16 is Wan's (TI2V 5B: 24).")

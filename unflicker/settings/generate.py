"""Settings of the generators: Stable Video Diffusion, AnimateDiff, CogVideoX / Wan, OpenPose."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import UnflickerError, check_range
from .base import MAX_SEED, SEED_HELP, Settings, check_multiple, setting


# Loader choices (the nodes' combos, the CLI's options): precisions in the order each generator lists them.
SVD_DTYPES = ("auto", "fp16", "bf16", "fp32")
VIDEO_DTYPES = ("auto", "bf16", "fp16", "fp32")
OFFLOAD_MODES = ("none", "model", "sequential")


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


# ---------------------------------------------------------------- AnimateDiff (unflicker.generate.animatediff)
@dataclass(frozen=True)
class AnimateDiffSettings(Settings):
    prompt: str = setting("a corgi running on a beach, best quality", help=(
        "One prompt, or a schedule with one 'frame: prompt' per line."))
    negative_prompt: str = setting("worst quality, low quality")
    num_frames: int = setting(16, 1, 4096)
    width: int = setting(512, 8, 8192, step=8)
    height: int = setting(512, 8, 8192, step=8)
    steps: int = setting(20, 1, 1000)
    guidance: float = setting(7.5, 0.0, 100.0, step=0.1)
    seed: int = setting(0, 0, MAX_SEED, help=SEED_HELP)
    context_length: int = setting(16, 1, 128, help="Frames the motion module sees at once (16 for most SD 1.5 modules).")
    context_overlap: int = setting(4, 0, 127, help="Frames shared by neighbouring windows; more = smoother joins, slower.")
    controlnet_scale: float = setting(1.0, 0.0, 2.0, step=0.05, help="How strongly the control frames steer each frame.")
    fps: float = setting(8.0, 0.01, 1000.0, step=0.01, help=(
        "Frame rate of the clip (the fps output; AnimateDiff itself has no frame rate)."))

    def fitted(self) -> "AnimateDiffSettings":
        """The overlap cut to fit the window (a node's widgets allow any overlap up to 127)."""
        return dataclasses.replace(self, context_overlap=min(self.context_overlap, self.context_length - 1))

    def _check(self) -> None:
        check_range("context_overlap", self.context_overlap, 0, self.context_length - 1)
        for name in ("width", "height"):
            check_multiple(name, getattr(self, name), 8, "the VAE works on 8x8 blocks")


@dataclass(frozen=True)
class ImageLoraSettings(Settings):
    """One SD 1.5 image LoRA on an AnimateDiff model (the Image LoRA node, the CLI's ``--image-lora``)."""
    strength: float = setting(1.0, -10.0, 10.0, step=0.01, help=(
        "How strongly the LoRA changes the UNet and the text encoder: 0 = no change, 1 = as trained, "
        "about 0.8 for the AnimateLCM LoRA; negative pushes away from it."))


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

    def _check(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise UnflickerError("prompt must not be empty: it is what the video shows")


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

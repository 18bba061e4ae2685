"""Settings of frame interpolation."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Settings, setting


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

"""Settings of the flow-guided deflicker and of FFmpeg's deflicker + deband."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

from ..errors import UnflickerError, check_range
from ..kinds import DEFLICKER_MODES
from .base import Settings, setting


# ---------------------------------------------------------------- flow-guided deflicker (unflicker.fix.deflicker)


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
    # the seam stage (unflicker.fix.deflicker.seams); the defaults leave a clip without seams as it was
    segment_length: int = setting(0, 0, 100000, help=(
        "Frames per generated segment (SVD extend, context windows, Wan/VACE extend): the look of each segment is "
        "matched to the one before at every boundary. 0: none given (auto still finds seams)."))
    overlap: int = setting(0, 0, 100000, help=(
        "Frames two segments share (cross-faded by the generator): a boundary every segment_length - overlap "
        "frames, the correction blended in over the overlap."))
    segment_starts: str = setting("", help=(
        "Frames where a new segment starts, e.g. \"24, 48, 72\" (from a generator or the analyzer's seams). "
        "Segments given here or by segment_length are the only boundaries corrected."))
    drift: str = setting("keep", choices=("keep", "hold"), help=(
        "keep: the slow change of look within segments stays. hold: the first segment's look (or the reference "
        "image's) holds on persisting content; fades and exposure changes common to all channels stay."))

    def _check(self) -> None:
        if self.segment_length and self.overlap >= self.segment_length:
            raise UnflickerError(f"overlap must be under segment_length ({self.segment_length}), got {self.overlap}")


# ---------------------------------------------------------------- FFmpeg deflicker + deband (unflicker.fix.ffmpeg_fix)
# FFmpeg's deflicker modes, minus "median": its implementation is known broken (it sorts the running window
# in place, so later frames are corrected against a scrambled window).
FFMPEG_DEFLICKER_MODES = ("am", "gm", "hm", "qm", "cm", "pm")


@dataclass(frozen=True)
class FFmpegFixSettings(Settings):
    deflicker: bool = setting(True)
    size: int = setting(5, 2, 129, help="Frames in the deflicker window.")  # FFmpeg's own range
    mode: str = setting("am", choices=FFMPEG_DEFLICKER_MODES, help=(
        "How the window's brightness is averaged (am = arithmetic mean). FFmpeg's median mode is left out: it is "
        "broken."))
    deband: bool = setting(True)
    threshold: float = setting(0.02, 0.00003, 0.5, step=0.001, label="deband threshold",
                               help="deband 1thr/2thr/3thr: higher smooths stronger steps.")  # FFmpeg's range
    deband_range: int = setting(16, 1, 64, label="deband range")  # search radius in pixels (we allow 1-64)
    blur: bool = setting(False, help="deband blur (off keeps detail).")

    def validated(self) -> "FFmpegFixSettings":
        if self.mode == "median":
            raise UnflickerError("mode 'median' is left out: FFmpeg's deflicker median mode is known broken; use am (the default), gm, hm, qm, cm or pm")
        if not isinstance(self.size, Integral):  # numpy's integers count as whole numbers too
            check_range("size", self.size, 2, 129)  # an out-of-range value says so first
            raise UnflickerError(f"size must be a whole number of frames, got {self.size!r}")
        return super().validated()

    def _check(self) -> None:
        if not (self.deflicker or self.deband):
            raise UnflickerError("both deflicker and deband are switched off: enable at least one stage")

"""Settings of diagnosis and verification: the flicker analyzer and side by side."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnflickerError
from .base import Settings, setting

# optical flow (OpenCV DIS) needs frames of this many pixels on the longer side (and 8 on the shorter one)
FLOW_MIN_LONG_SIDE = 12


# ---------------------------------------------------------------- analyzer (unflicker.analysis)
@dataclass(frozen=True)
class AnalysisSettings(Settings):
    long_side: int = setting(256, 0, 4096, help="Flow and photometric measures run at this size (0 = full size).")
    flow_preset: str = setting("fast", choices=("ultrafast", "fast", "medium"), help="DIS optical flow preset.")
    cut_threshold: float = setting(0.5, 0.0, 1.0, help="Scene-cut score at which a pair counts as a cut.")
    window: int = setting(5, 3, 31, help="Frames in the centred moving median that defines slow change.")

    def _check(self) -> None:
        if 0 < self.long_side < FLOW_MIN_LONG_SIDE:
            raise UnflickerError(f"long_side must be 0 (full size) or at least {FLOW_MIN_LONG_SIDE} (optical flow "
                                 f"needs that many pixels), got {self.long_side}")


# ---------------------------------------------------------------- side by side (unflicker.analysis.side_by_side)
@dataclass(frozen=True)
class SideBySideSettings(Settings):
    slow_motion: float = setting(1.0, 1.0, 16.0, step=0.5, label="slow",
                                 help="Playback slow-down factor; 4 shows flicker best (1/4 speed).")
    label_a: str = setting("before")
    label_b: str = setting("after")
    gap: int = setting(4, 0, 64, help="Black pixels between the two pictures.")

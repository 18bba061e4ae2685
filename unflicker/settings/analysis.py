"""Settings of diagnosis and verification: side by side."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Settings, setting


# ---------------------------------------------------------------- side by side (unflicker.analysis.side_by_side)
@dataclass(frozen=True)
class SideBySideSettings(Settings):
    slow_motion: float = setting(1.0, 1.0, 16.0, step=0.5, label="slow",
                                 help="Playback slow-down factor; 4 shows flicker best (1/4 speed).")

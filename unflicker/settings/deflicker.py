"""Settings of the flow-guided deflicker."""

from __future__ import annotations

from dataclasses import dataclass

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

"""Settings of media I/O: which frames of a file are read (Load Video, the file readers)."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Settings, setting


@dataclass(frozen=True)
class ReadOptions(Settings):
    """The Load Video selection, applied in this order: force_rate, skip_first_frames, select_every_nth, cap."""

    force_rate: float = setting(0.0, 0.0, 240.0, step=0.5, help="Resample to this fps (0 keeps the source rate).")
    skip_first_frames: int = setting(0, 0, 1_000_000)
    select_every_nth: int = setting(1, 1, 1000, help="Keep one frame in n; the output fps is divided by n.")
    frame_load_cap: int = setting(0, 0, 1_000_000, help="Most frames to load (0 = all).")

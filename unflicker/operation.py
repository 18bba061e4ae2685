"""One operation per capability, the shape every front-end drives.

An operation is three things, and only the engine decides any of them:

- its **Settings** (``unflicker.settings``): the one place for defaults, ranges, help and validation;
- ``plan(source, settings)``: everything decided before a frame is touched — the input checked once for every
  front-end (``check_source``: size, frame count), output rate, frame count and times, the kinds to fix, the
  backend — returned as a frozen plan object;
- ``run(frames, plan, progress)``: streams frames through, as the plan says.

The plans of the video-to-video operations (deflicker, FFmpeg fix, interpolation) also say what a stream
needs to write their output: ``rate`` (the exact output frame rate) and ``progress_steps`` (what ``run``
reports progress against).

The IMAGE node, the VIDEO node and the CLI translate their inputs into a :class:`Source` and a settings object,
call ``plan`` and ``run``, and read rates and counts off the plan; none computes a rate, a count or a kind list.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from .errors import UnflickerError


@dataclass(frozen=True)
class Source:
    """What a front-end knows of its input before reading it. ``frame_count`` None: not known (a stream);
    ``fps`` None: the input carries no rate. ``fps`` is the rate as the front-end has it (a FLOAT widget's value,
    a file's nominal rate), which time scales are computed from; ``exact`` the exact rational where the source
    knows it (a file's 24000/1001), else :attr:`rate` snaps ``fps``. ``name`` is how the user knows the input (a
    node input's name, a file's path) and is what errors say. :func:`file_source` builds one for a file."""

    width: int
    height: int
    frame_count: Optional[int] = None
    fps: Optional[float | Fraction] = None
    name: str = "images"
    exact: Optional[Fraction] = None

    @property
    def rate(self) -> Optional[Fraction]:
        """The exact frame rate, or None when the input carries none."""
        if self.exact is not None:
            return self.exact
        return None if self.fps is None else exact_rate(self.fps)


def exact_rate(fps) -> Fraction:
    """The exact frame rate a number stands for: 23.976 -> 24000/1001, 25 -> 25 (``ffmpeg.exact_fps``)."""
    from .media.ffmpeg import exact_fps

    return exact_fps(fps)


def check_source(source: Source, *, min_frames: int = 1, min_width: int = 1, min_height: int = 1,
                 what: str = "this operation") -> Source:
    """Refuse a source ``what`` cannot take, naming the input, what it is and what is allowed."""
    if source.width < min_width or source.height < min_height:
        raise UnflickerError(f"{source.name} is {source.width}x{source.height} pixels; {what} needs frames of at "
                             f"least {min_width}x{min_height}")
    if source.frame_count is not None and source.frame_count < min_frames:
        frames = "frame" if source.frame_count == 1 else "frames"
        raise UnflickerError(f"{source.name} has {source.frame_count} {frames}; {what} needs at least {min_frames}")
    return source


def file_source(info, name: str) -> Source:
    """The Source of a media file from its ``media.video.VideoInfo``: the nominal fps, the exact rate and the
    frame count the file declares (0 -> not known)."""
    return Source(info.width, info.height, info.frame_count or None, info.fps, name, info.exact_rate)

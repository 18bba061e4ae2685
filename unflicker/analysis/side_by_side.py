"""The side-by-side operation: two clips stacked left/right with labels, optionally slowed down for viewing.

``plan(left, right, settings)`` checks both sources and decides the output size, the slowed rate, the sound's
tempo and the frame count; ``run(left_frames, right_frames, plan)`` streams the stacked frames."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Iterator, Optional

import numpy as np

from ..errors import UnflickerError
from ..operation import Source, check_source
from ..progress import ProgressFn, report
from ..settings import SideBySideSettings


@dataclass(frozen=True)
class SideBySidePlan:
    """What a side-by-side of two clips gives, decided before a frame is read."""

    width: int          # output frame size: the left picture, the gap, the right one scaled to the left's height
    height: int
    frame_count: int    # the longer clip's (the shorter holds its last frame); 0: not known (estimates only)
    rate: Fraction      # playback rate, exact: the left clip's rate slowed by slow_motion
    fps: float          # the same rate as a float, as a FLOAT output carries it (fps / slow_motion)
    tempo: float        # the sound's speed, so it stays in sync with the slowed pictures
    settings: SideBySideSettings

    @property
    def progress_steps(self) -> int:
        """What ``run`` reports progress against: one per output frame."""
        return self.frame_count


def plan(left: Source, right: Source, settings: SideBySideSettings = SideBySideSettings(),
         expected_frames: tuple[int, int] = (0, 0)) -> SideBySidePlan:
    """Check both clips (any size, at least one frame each) and decide the output. The rate is the left
    clip's; ``expected_frames``: the clips' estimated lengths where their frame_count is None (streams)."""
    settings = settings.validated()
    for source in (left, right):
        check_source(source, min_frames=1, what="side by side")
    if left.fps is None:
        raise UnflickerError(f"{left.name}: side by side needs the clip's frame rate")
    counts = [s.frame_count if s.frame_count is not None else guess for s, guess in zip((left, right), expected_frames)]
    right_width = _fitted_width(right.width, right.height, left.height)
    slow = settings.slow_motion
    return SideBySidePlan(left.width + settings.gap + right_width, left.height, max(counts),
                          _slowed(left.rate, slow), _slowed(float(left.fps), slow), 1 / slow, settings)


def run(left: Iterable[np.ndarray], right: Iterable[np.ndarray], plan: SideBySidePlan,
        progress: Optional[ProgressFn] = None) -> Iterator[np.ndarray]:
    s = plan.settings
    return side_by_side(left, right, s.label_a, s.label_b, s.gap, progress, plan.frame_count)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def draw_label(frame: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner on a dark band; plain pixels, no ffmpeg drawtext involved."""
    from PIL import Image, ImageDraw

    if not text:
        return frame
    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    size = max(10, frame.shape[0] // 18)
    font = _font(size)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    pad = max(2, size // 4)
    draw.rectangle((0, 0, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), fill=(0, 0, 0))
    draw.text((pad - x0, pad - y0), text, fill=(255, 255, 255), font=font)
    return np.asarray(img)


def _fitted_width(width: int, height: int, to_height: int) -> int:
    return width if height == to_height else max(1, round(width * to_height / height))


def _fit_height(frame: np.ndarray, height: int) -> np.ndarray:
    if frame.shape[0] == height:
        return frame
    import cv2

    width = _fitted_width(frame.shape[1], frame.shape[0], height)
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def side_by_side(left: Iterable[np.ndarray], right: Iterable[np.ndarray], label_left: str = "before",
                 label_right: str = "after", gap: int = 4, progress: Optional[ProgressFn] = None,
                 total: int = 0) -> Iterator[np.ndarray]:
    """Yield hstacked frames. The right clip is scaled to the left one's height; the shorter clip holds its
    last frame until the longer one ends, so clips of different lengths still line up from frame 0."""
    left_it, right_it = iter(left), iter(right)
    last_l = last_r = None
    done = 0
    while True:
        l = next(left_it, None)
        r = next(right_it, None)
        if l is None and r is None:
            break
        last_l = l if l is not None else last_l
        last_r = r if r is not None else last_r
        if last_l is None or last_r is None:
            raise ValueError("both clips need at least one frame")
        a = draw_label(last_l, label_left)
        b = draw_label(_fit_height(last_r, a.shape[0]), label_right)
        spacer = np.zeros((a.shape[0], gap, 3), np.uint8)
        done += 1
        report(progress, done, total)
        yield np.concatenate([a, spacer, b], axis=1)


def _slowed(fps, slow: float):
    """The frames stay, the rate drops (1/4 speed = fps / 4); an exact rate stays exact (24000/1001 / 4 =
    6000/1001), a float stays the float division a FLOAT output has always carried."""
    if isinstance(fps, Fraction):
        return fps / Fraction(slow).limit_denominator(1000)
    return fps / slow

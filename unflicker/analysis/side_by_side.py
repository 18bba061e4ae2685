"""Side-by-side comparison: two clips stacked left/right with labels, optionally slowed down for viewing."""

from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Iterator, Optional

import numpy as np

from ..errors import check_range
from ..progress import ProgressFn, report
from ..settings import SideBySideSettings


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


def _fit_height(frame: np.ndarray, height: int) -> np.ndarray:
    if frame.shape[0] == height:
        return frame
    import cv2

    width = max(1, round(frame.shape[1] * height / frame.shape[0]))
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def side_by_side(left: Iterable[np.ndarray], right: Iterable[np.ndarray], label_left: str = "before",
                 label_right: str = "after", gap: int = 4, progress: Optional[ProgressFn] = None,
                 total: int = 0) -> Iterator[np.ndarray]:
    """Yield hstacked frames. The right clip is scaled to the left one's height; the shorter clip holds its
    last frame until the longer one ends, so clips of different lengths still line up from frame 0."""
    check_range("gap", gap, 0, 64)
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


def slowed_fps(fps: float, slow: float) -> float:
    """Playback rate for a slow-motion comparison: the frames stay, the rate drops (1/4 speed = fps / 4)."""
    SideBySideSettings(slow_motion=slow).validated()
    if isinstance(fps, Fraction):  # an exact rate stays exact: 24000/1001 / 4 = 6000/1001
        return fps / Fraction(slow).limit_denominator(1000)
    return fps / slow

"""The side-by-side operation: two clips stacked left/right with labels, aligned by time, optionally slowed down.

``plan(left, right, settings)`` checks both sources and decides the output timeline (the higher of the two frame
rates, over the longer clip's duration), the output size, the slowed rate, the sound's tempo and the frame count;
``run(left_frames, right_frames, plan)`` streams both clips and stacks, at each output time, the frame of each clip
that is on screen then (frame i of a clip at ``rate`` is on screen during [i / rate, (i + 1) / rate)): the slower
clip's frames repeat, a clip that has ended holds its last frame. Equal rates pair frame i with frame i."""

from __future__ import annotations

import itertools
import math
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
    frame_count: int    # output frames over the longer clip's duration; 0: not known (estimates only)
    rate: Fraction      # playback rate, exact: the timeline's rate slowed by slow_motion
    fps: float          # the same rate as a float, as a FLOAT output carries it (fps / slow_motion)
    tempo: float        # the sound's speed, so it stays in sync with the slowed pictures
    settings: SideBySideSettings
    timeline_rate: Fraction                 # output frames per second of clip time: the higher clip rate
    clip_rates: tuple[Fraction, Fraction]   # the left and the right clip's own exact rates

    @property
    def progress_steps(self) -> int:
        """What ``run`` reports progress against: one per output frame."""
        return self.frame_count

    def frames_on_screen(self, k: int) -> tuple[int, int]:
        """The frame of the left and of the right clip on screen at output frame ``k``'s time, k / timeline_rate
        (an index past a clip's end: that clip has ended and holds its last frame)."""
        left_rate, right_rate = self.clip_rates
        return (math.floor(k * left_rate / self.timeline_rate), math.floor(k * right_rate / self.timeline_rate))


def plan(left: Source, right: Source, settings: SideBySideSettings = SideBySideSettings(),
         expected_frames: tuple[int, int] = (0, 0)) -> SideBySidePlan:
    """Check both clips (any size, at least one frame each) and decide the output. The timeline runs at the
    higher of the two exact rates (the left clip's on a tie, a right clip without a rate is taken at the left's)
    until the longer clip ends; ``expected_frames``: the clips' estimated lengths where their frame_count is None
    (streams)."""
    settings = settings.validated()
    for source in (left, right):
        check_source(source, min_frames=1, what="side by side")
    if left.fps is None:
        raise UnflickerError(f"{left.name}: side by side needs the clip's frame rate")
    rates = (left.rate, right.rate if right.rate is not None else left.rate)
    faster = right if rates[1] > rates[0] else left
    timeline = max(rates)
    counts = [s.frame_count if s.frame_count is not None else guess for s, guess in zip((left, right), expected_frames)]
    # frame k exists while some clip still has the frame on screen at k / timeline: k < count * timeline / rate
    frame_count = max(math.ceil(count * timeline / rate) for count, rate in zip(counts, rates))
    right_width = _fitted_width(right.width, right.height, left.height)
    slow = settings.slow_motion
    return SideBySidePlan(left.width + settings.gap + right_width, left.height, frame_count,
                          _slowed(timeline, slow), _slowed(float(faster.fps), slow), 1 / slow, settings,
                          timeline, rates)


def run(left: Iterable[np.ndarray], right: Iterable[np.ndarray], plan: SideBySidePlan,
        progress: Optional[ProgressFn] = None) -> Iterator[np.ndarray]:
    """Stream both clips (only the frame each has on screen is held) into the stacked frames of the plan's
    timeline; ends when both clips have ended."""
    s = plan.settings
    shown = _OnScreen(left), _OnScreen(right)
    for k in itertools.count():
        on = [clip.move_to(index) for clip, index in zip(shown, plan.frames_on_screen(k))]
        if not any(on):
            break  # both clips have ended before this output time
        if shown[0].frame is None or shown[1].frame is None:
            raise ValueError("both clips need at least one frame")
        a = shown[0].picture(lambda frame: draw_label(frame, s.label_a))
        # the right clip scaled to the left picture's height
        b = shown[1].picture(lambda frame: draw_label(_fit_height(frame, a.shape[0]), s.label_b))
        spacer = np.zeros((a.shape[0], s.gap, 3), np.uint8)
        report(progress, k + 1, plan.frame_count)
        yield np.concatenate([a, spacer, b], axis=1)


class _OnScreen:
    """One clip's frame on screen, read from its stream as the timeline moves on; its labelled picture is made
    once per frame, however often the frame repeats."""

    def __init__(self, frames: Iterable[np.ndarray]):
        self._frames = iter(frames)
        self._picture = None
        self.index = -1      # the frame held (-1: none read yet)
        self.frame = None
        self.ended = False

    def move_to(self, index: int) -> bool:
        """Read on to frame ``index`` (the timeline never goes back); whether the clip has it (else it holds its
        last frame)."""
        while self.index < index and not self.ended:
            frame = next(self._frames, None)
            if frame is None:
                self.ended = True
            else:
                self.frame, self.index, self._picture = frame, self.index + 1, None
        return self.index == index

    def picture(self, prepare) -> np.ndarray:
        """``prepare(frame)`` (label, scale) of the frame held, made once however often the frame is shown."""
        if self._picture is None:
            self._picture = prepare(self.frame)
        return self._picture


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


def _slowed(fps, slow: float):
    """The frames stay, the rate drops (1/4 speed = fps / 4); an exact rate stays exact (24000/1001 / 4 =
    6000/1001), a float stays the float division a FLOAT output has always carried."""
    if isinstance(fps, Fraction):
        return fps / Fraction(slow).limit_denominator(1000)
    return fps / slow

"""Streaming a plan: frames in pairs, scene cuts held, near-duplicates repeated, model work batched; only the
current pairs are in flight, so memory does not grow with the clip."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Iterator, Optional

import cv2
import numpy as np

from ...errors import UnflickerError
from ...measure import scenecut
from ...progress import ProgressFn, report
from .backends import PairRenderer, open_backend
from .timing import DUPLICATE_MAD, InterpolationPlan

# a pair is a near-duplicate only when almost no pixel changed by more than a codec's noise: a small object moving
# over a still background has a tiny mean difference, but its pixels change a lot, and it must be interpolated
_CHANGED_LEVEL, _CHANGED_FRACTION = 12, 1e-4
# an interpolated frame whose mean colour strays more than this (levels, any channel) from the time-weighted blend of
# its two originals' means is a visible brightness pulse (RIFE's known complaint): it is shifted back to the blend;
# frames within it stay bit-identical
BRIGHTNESS_TOLERANCE = 0.5


@dataclass
class InterpolationRun:
    """What ran: the backend line and counts of how each pair was handled, filled in while streaming."""

    backend: str
    multiplier: int
    pairs: int = 0
    interpolated: int = 0
    cuts: list[int] = field(default_factory=list)  # index of the first frame of each new shot
    duplicates: int = 0
    target_fps: float = 0.0
    loop: bool = False
    frames_out: int = 0
    notes: list[str] = field(default_factory=list)  # out-of-memory retries, flow scale

    def summary(self) -> str:
        rate = f"{self.target_fps:g} fps" if self.target_fps else f"x{self.multiplier}"
        return (f"{self.backend}; {rate}{', loop' if self.loop else ''}; {self.pairs} pairs: "
                f"{self.interpolated} interpolated, "
                f"{len(self.cuts)} scene cut(s) held{' at ' + str(self.cuts) if self.cuts else ''}, "
                f"{self.duplicates} near-duplicate(s) repeated"
                + ("; " + "; ".join(self.notes) if self.notes else ""))


def run(frames: Iterable[np.ndarray], plan: InterpolationPlan, progress: Optional[ProgressFn] = None,
        interpolator=None) -> tuple[InterpolationRun, Iterator[tuple[np.ndarray, dict]]]:
    """Stream ``frames`` (uint8 RGB) as ``plan`` says; ``interpolator``: one already prepared (the node's
    ComfyUI-managed network), else the plan's backend is opened here, before any frame is read.

    Returns (run, iterator of (frame, meta)); meta: {"index": output index, "source": k, "t": timestep in 0..1
    from frame k (a Fraction), "time": position in input frames, "kind": "original" | "interpolated" |
    "held_cut" | "repeated_duplicate" | "held_end"}. ``progress`` is called per input pair."""
    if interpolator is None:
        interpolator, line = open_backend(plan)
    else:
        line = interpolator.description
    renderer = interpolator if hasattr(interpolator, "render") else PairRenderer(interpolator)
    settings = plan.settings
    result = InterpolationRun(line, settings.multiplier, target_fps=float(settings.target_fps), loop=plan.loop)
    return result, _Stream(plan, renderer, result, progress).frames(iter(frames))


class _Stream:
    """Queues the outputs of each pair in order; model work is rendered a batch at a time (torch renders several
    pairs per batch; ncnn and flow one pair at a time)."""

    def __init__(self, plan: InterpolationPlan, renderer, result: InterpolationRun, progress):
        self.plan, self.step, self.renderer, self.result, self.progress = plan, plan.step, renderer, result, progress
        threshold = plan.settings.scene_threshold
        self.cuts = scenecut.PairChecker(threshold) if threshold < 1.0 else None
        self.per_flush = getattr(renderer, "batch", 1)
        self.pending: list = []  # (frame or None, meta, job index) in output order
        self.jobs: list = []  # (pair id, frame a, frame b, t) for the renderer
        self.next_index = 0  # next output index

    def frames(self, frames: Iterator[np.ndarray]) -> Iterator[tuple[np.ndarray, dict]]:
        first = prev = _check_frame(next(frames, None), 0, None)
        if prev is None:
            raise UnflickerError("interpolation needs at least 2 frames; got none")
        last = 0  # index of ``prev``
        for index, cur in enumerate(frames, start=1):
            cur = _check_frame(cur, index, prev.shape)
            self.pair(prev, cur, last, last + 1)
            if len(self.jobs) >= self.per_flush or not self.jobs:  # (held and repeated frames go out at once)
                yield from self.flush()
            report(self.progress, index, max(self.plan.progress_steps, index))
            prev, last = cur, index
        if last == 0:
            raise UnflickerError("interpolation needs at least 2 frames; got 1")
        self.result.frames_out = count = self.plan.count_for(last + 1)
        if self.plan.loop:
            self.pair(prev, first, last, Fraction(last + 1), limit=count)
        else:
            self.hold_end(prev, last, count)
        yield from self.flush()

    def pair(self, a, b, src: int, upto, limit: Optional[int] = None) -> None:
        """Queue the outputs in [src, upto) for the pair (a, b) that starts at input frame src."""
        kind = None
        while self.next_index * self.step < upto and (limit is None or self.next_index < limit):
            position = self.next_index * self.step
            t = position - src
            meta = {"index": self.next_index, "source": src, "t": t, "time": position}
            if t == 0:
                self.pending.append((a, dict(meta, kind="original"), None))
            else:
                if kind is None:
                    kind = self.pair_kind(a, b)
                    if kind == "held_cut":
                        self.result.cuts.append(src + 1)  # with loop, n for the last -> first pair
                if kind == "interpolated":
                    self.pending.append((None, dict(meta, kind=kind), len(self.jobs)))
                    self.jobs.append((src, a, b, t))
                else:
                    self.pending.append((a, dict(meta, kind=kind), None))
            self.next_index += 1
        self.result.pairs += 1
        if kind == "interpolated":
            self.result.interpolated += 1
        elif kind == "repeated_duplicate":
            self.result.duplicates += 1

    def hold_end(self, last_frame, src: int, count: int) -> None:
        """The last frame, and by rate its display time up to the clip's end."""
        while self.next_index < count:
            position = self.next_index * self.step
            t = position - src
            meta = {"index": self.next_index, "source": src, "t": t, "time": position,
                    "kind": "original" if t == 0 else "held_end"}
            self.pending.append((last_frame, meta, None))
            self.next_index += 1

    def pair_kind(self, a: np.ndarray, b: np.ndarray) -> str:
        if is_near_duplicate(a, b, self.plan.duplicate_mad):
            return "repeated_duplicate"
        if self.cuts is not None and self.cuts.is_cut(a, b):
            return "held_cut"
        return "interpolated"

    def flush(self) -> Iterator[tuple[np.ndarray, dict]]:
        rendered = self.renderer.render(self.jobs)
        for frame, meta, job in self.pending:
            if frame is None:
                _, a, b, t = self.jobs[job]
                frame = keep_blend_brightness(rendered[job], a, b, float(t))
            yield frame, meta
        self.pending.clear()
        self.jobs.clear()
        for note in getattr(self.renderer, "notes", ()):
            if note not in self.result.notes:
                self.result.notes.append(note)


def keep_blend_brightness(frame: np.ndarray, a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """``frame`` made at time t between a and b, its per-channel mean brought to (1-t) mean(a) + t mean(b) by an
    offset when any channel is off by more than BRIGHTNESS_TOLERANCE; otherwise ``frame`` itself, untouched."""
    def means(x):
        return x.reshape(-1, 3).mean(axis=0, dtype=np.float64)

    error = (1 - t) * means(a) + t * means(b) - means(frame)
    if np.abs(error).max() <= BRIGHTNESS_TOLERANCE:
        return frame
    shifted = frame.astype(np.float32) + error.astype(np.float32)
    return np.clip(np.rint(shifted), 0, 255).astype(np.uint8)


def is_near_duplicate(a: np.ndarray, b: np.ndarray, mad: float = DUPLICATE_MAD) -> bool:
    if float(cv2.norm(a, b, cv2.NORM_L1)) / a.size > mad:
        return False
    changed = cv2.countNonZero((cv2.absdiff(a, b).max(axis=2) > _CHANGED_LEVEL).view(np.uint8))
    return changed <= _CHANGED_FRACTION * a.shape[0] * a.shape[1]


def _check_frame(frame, index: int, shape) -> Optional[np.ndarray]:
    return None if frame is None else check_frame(frame, index, shape)


def check_frame(frame, index: int, shape) -> np.ndarray:
    """Frame ``index`` of a stream as uint8 RGB of the earlier frames' ``shape`` (None: the first), or an error
    naming it (interpolation and Repair Frames read frames alike)."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise UnflickerError(f"frame {index}: expected uint8 RGB (H, W, 3), got {frame.dtype} {frame.shape}")
    if shape is not None and frame.shape != shape:
        raise UnflickerError(f"frame {index} is {frame.shape[1]}x{frame.shape[0]} but earlier frames are "
                             f"{shape[1]}x{shape[0]}: all frames must have one size (resize them first)")
    return frame

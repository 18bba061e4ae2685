"""The streaming engines that turn frames into corrected frames, in order, holding only the frames they still
need: ``OnePass`` (a one-shot iterator: measures and solves as it goes, with a short look-ahead), ``TwoPass``
(pass 2 of a re-openable source: applies pass 1's solution, then the texture stage), ``LowOnly`` (pass 2 when no
frame needs its neighbours) and ``Passthrough`` (nothing to correct)."""

from __future__ import annotations

import numpy as np

from ...errors import UnflickerError
from .apply import Correction, apply_correction
from .basics import to_u8
from .field import full_field
from .grain import TEXTURE_MIN_NOISE, probe_grain_fine
from .solve import LOW_KINDS, Solution, solve
from .stats import PAIR_REACH, measure
from .texture import TEXTURE_RADIUS, TextureStage
from .window import AlignedWindow


class _Streamer:
    """The low-frequency stage then the texture stage over an aligned window; subclasses say where a frame's
    correction comes from (``_correction``) and whether its texture is averaged (``_texture_wanted``)."""

    lookahead = 0  # frames the low-frequency stage waits for beyond the one it corrects

    def __init__(self, kinds: frozenset, strength: float):
        self.strength = strength
        self.window = AlignedWindow()
        self.texture = TextureStage(self.window, TEXTURE_RADIUS if "texture" in kinds and strength > 0 else 0,
                                    strength)
        self.next_low = 0  # next frame for the low-frequency stage
        self.next_tex = 0  # next frame for the texture stage
        self.texture_on: dict[int, bool] = {}
        self.corrected: set[str] = set()

    def flush(self) -> list[np.ndarray]:
        return self._run(final=True)

    def _correction(self, rec) -> Correction:
        raise NotImplementedError

    def _texture_wanted(self, rec, offsets: list[int]) -> bool:
        return True

    def _forget(self) -> None:
        """Drop what the frames already handed on no longer need (beyond the window's own frames)."""

    def _shot_ended(self, t: int) -> bool:
        return self.window.get(self.window.count - 1).shot != self.window.get(t).shot

    def _shot_ended_before(self, t: int) -> bool:
        return self.window.get(self.next_low - 1).shot != self.window.get(t).shot

    def _run(self, final: bool) -> list[np.ndarray]:
        out = []
        count = self.window.count
        while self.next_low < count and (final or count - 1 >= self.next_low + self.lookahead
                                         or self._shot_ended(self.next_low)):
            rec = self.window.get(self.next_low)
            corr = self._correction(rec)
            rec.corrected = apply_correction(rec.full, corr, full_field(corr.field, self.window.size))
            self.texture_on[rec.index] = corr.texture
            rec.full = None
            self.next_low += 1
        radius = self.texture.radius
        while self.next_tex < self.next_low and (final or self.next_tex + radius < self.next_low
                                                  or self._shot_ended_before(self.next_tex)):
            rec = self.window.get(self.next_tex)
            out.append(self._texture_output(rec))
            rec.chained.clear()
            rec.tex_flow.clear()
            self.next_tex += 1
        self.window.evict(min(self.next_low - PAIR_REACH, self.next_tex - radius))
        for i, rec in self.window.frames.items():
            if i < self.next_tex - radius:
                rec.corrected = rec.detail = rec.tex_gray = None
                rec.tex_flow.clear()
        self._forget()
        return out

    def _texture_output(self, rec) -> np.ndarray:
        if not self.texture.radius or not self.texture_on.get(rec.index):
            return to_u8(rec.corrected)
        offsets = self.texture.offsets(rec)
        if not offsets or not self._texture_wanted(rec, offsets):
            return to_u8(rec.corrected)
        return self.texture.average(rec, offsets)


class OnePass(_Streamer):
    """A one-shot stream: each frame's curve is solved over the statistics seen so far in its shot (the last
    ``history`` frames) and ``lookahead`` frames ahead; texture is gated per frame against a corrected
    neighbour."""

    def __init__(self, kinds: frozenset, auto: bool, strength: float, lookahead: int, period: float,
                 history: int):
        super().__init__(kinds, strength)
        self.kinds, self.auto, self.period = kinds, auto, period
        self.lookahead, self.history = lookahead, history
        self.low = bool(kinds & LOW_KINDS) and strength > 0
        self.stats: dict = {}

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        rec = self.window.add(frame, keep_full=True)
        if self.low or self.texture.radius:
            self.stats[rec.index] = measure(self.window, rec, self.kinds, False)
        return self._run(final=False)

    def _correction(self, rec) -> Correction:
        texture = bool(self.texture.radius)
        first = max(rec.shot_start, rec.index - self.history)
        seg = [self.stats[i] for i in range(first, self.window.count)
               if i in self.stats and self.stats[i].shot == rec.shot]
        if not self.low or len(seg) < 3:
            return Correction(None, None, texture)
        corr, done = solve(seg, self.kinds - {"texture"}, self.auto, self.strength, self.period)
        self.corrected |= done
        got = corr[rec.index - seg[0].index]
        got.texture = texture
        return got

    def _texture_wanted(self, rec, offsets: list[int]) -> bool:
        if self.auto:
            nb = self.window.get(rec.index + offsets[0])
            grain, _ = probe_grain_fine(to_u8(rec.corrected), to_u8(nb.corrected), np.eye(3, 4, dtype=np.float32))
            if grain < TEXTURE_MIN_NOISE:
                return False  # no grain measured: leave the frame's detail alone
        self.corrected.add("texture")
        return True

    def _forget(self) -> None:
        for i in [i for i in self.stats if i < self.next_low - self.history]:
            del self.stats[i]


def _check_count(index: int, solution: Solution) -> None:
    if index >= len(solution.corrections):
        raise UnflickerError(f"the frame source gave more frames on its second read than the {index} of the first")


class TwoPass(_Streamer):
    """Pass 2 of a re-openable source: each frame's correction is pass 1's; the texture stage averages it with
    its neighbours (its own flow, no statistics)."""

    def __init__(self, kinds: frozenset, strength: float, solution: Solution):
        super().__init__(kinds, strength)
        self.solution = solution
        self.corrected = set(solution.corrected)

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        _check_count(self.window.count, self.solution)
        self.window.add(frame, keep_full=True, with_flow=False)  # the texture stage makes its own flow
        return self._run(final=False)

    def _correction(self, rec) -> Correction:
        return self.solution.corrections[rec.index]


class LowOnly:
    """Pass 2 when no frame's texture stage runs: each frame corrected and handed on at once."""

    def __init__(self, solution: Solution):
        self.solution = solution
        self.window = AlignedWindow()  # only for the frame size
        self.corrected = set(solution.corrected)

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        i = self.window.count
        _check_count(i, self.solution)
        self.window.check_size(frame)
        self.window.count += 1
        corr = self.solution.corrections[i]
        return [to_u8(apply_correction(frame, corr, full_field(corr.field, self.window.size)))]

    def flush(self) -> list[np.ndarray]:
        return []


class Passthrough:
    """Nothing to correct (no kind chosen, or strength 0): the frames come back as they are (checked)."""

    def __init__(self):
        self.window = AlignedWindow()  # only for the frame size
        self.corrected: set[str] = set()

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        self.window.check_size(frame)
        self.window.count += 1
        return [frame.copy()]

    def flush(self) -> list[np.ndarray]:
        return []

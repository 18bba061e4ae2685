"""The deflicker as an operation: ``plan(source, settings, diagnosis)`` decides everything before a frame is
read (the kinds to fix from the mode or an Analyze Flicker diagnosis, the trend period from the frame rate,
whether there is anything to do), ``run(frames, plan, progress)`` streams."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Optional, Union

import cv2
import numpy as np

from ...errors import UnflickerError
from ...kinds import FIXABLE, FIXED_BY, kinds_from_json
from ...operation import Source, check_source
from ...progress import ProgressFn, report
from ...settings import DeflickerSettings
from .basics import check_frame
from .seams import SeamPlan, composed, parse_starts, reference_look, solve_seams, without_boundary_pairs
from .solve import solve_clip
from .stats import Measurer
from .stream import LowOnly, OnePass, Passthrough, TwoPass

TREND_SECONDS = 2.0  # cut-off period of the trend (at least ``window`` frames): real fades are slower than this
HISTORY_SECONDS = 4.0  # one-shot streams: statistics of the past kept for each frame's solve


@dataclass(frozen=True)
class DeflickerPlan:
    kinds: frozenset  # the deflicker kinds to fix (of unflicker.kinds.FIXABLE)
    auto: bool  # each kind only where it is measured
    strength: float
    window: int
    period: float  # the trend's cut-off period, frames: max(window, TREND_SECONDS of video)
    history: int  # one-shot streams: frames of statistics kept for each frame's solve
    lookahead: int  # one-shot streams: frames read ahead of the one corrected
    frame_count: int  # frames in the source, 0 where not known
    passthrough: bool  # a diagnosis found nothing to fix: the input is the output
    rate: Optional[Fraction] = None  # the exact frame rate, the output's as the source's
    seams: SeamPlan = SeamPlan()  # the seam stage (segments matched, drift held); re-openable sources only

    @property
    def acts(self) -> bool:
        """Whether any frame can change (some kind chosen, strength above 0)."""
        return (bool(self.kinds) or self.seams.acts) and self.strength > 0

    @property
    def progress_steps(self) -> int:
        """Progress steps of a run over a re-openable source: two per frame (measure, then correct)."""
        return 2 * self.frame_count


def kinds_to_fix(mode: str, diagnosis=None) -> tuple[frozenset, bool]:
    """(deflicker kinds, auto) for a mode, or, with mode auto, for the kinds a diagnosis found (Analyze Flicker's
    json text, or its kind names): "codec" is fixed as texture, "steady" and "scene_cuts" add nothing."""
    if mode == "auto" and diagnosis is not None:
        if isinstance(diagnosis, str):
            diagnosis = kinds_from_json(diagnosis)
        chosen: set[str] = set()
        for name in diagnosis:
            if name not in FIXED_BY:
                raise UnflickerError(f"diagnosis kinds must be names from {', '.join(FIXED_BY)}; got {name!r}")
            chosen.update(FIXED_BY[name])
        return frozenset(chosen), False
    if mode in ("auto", "all"):
        return frozenset(FIXABLE), mode == "auto"
    return frozenset((mode,)), False


def plan(source: Source, settings: DeflickerSettings = DeflickerSettings(), diagnosis=None,
         reference=None) -> DeflickerPlan:
    """The run decided: ``settings`` validated, the kinds from ``settings.mode`` (with mode auto and a
    ``diagnosis``, exactly the kinds it found), the time scale from ``source.fps``, the seam stage (segments
    given, seams looked for by auto and all, drift; ``reference``: an RGB image whose look drift hold holds).
    Any frame size >= 1x1."""
    settings = settings.validated()
    check_source(source, min_frames=0, what="the deflicker")
    fps = source.fps
    if not fps or fps <= 0:
        raise UnflickerError(f"fps must be positive, got {fps!r}")
    kinds, auto = kinds_to_fix(settings.mode, diagnosis)
    seams = _seam_plan(settings, kinds, auto, reference)
    kinds = kinds - {"seams"}  # the seam stage is planned on its own
    window = int(settings.window)
    period = max(float(window), TREND_SECONDS * float(fps))
    return DeflickerPlan(kinds, auto, float(settings.strength), window, period,
                         max(int(round(HISTORY_SECONDS * float(fps))), 2 * int(period)), window // 2,
                         source.frame_count or 0,
                         diagnosis is not None and settings.mode == "auto" and not kinds and not seams.acts,
                         source.rate, seams)


def _seam_plan(settings: DeflickerSettings, kinds: frozenset, auto: bool, reference) -> SeamPlan:
    """Boundaries given, or else seams looked for: by auto without a diagnosis, by all, or where a diagnosis found
    them. Given boundaries (the user's, or a generator's report) are the clip's segments: nothing is added to them,
    since a real change of light can step like a seam."""
    if reference is not None and settings.drift != "hold":
        raise UnflickerError("reference: a reference image sets the look that drift hold holds; set drift to hold")
    starts = parse_starts(settings.segment_starts)
    find = not (starts or settings.segment_length) and ("seams" in kinds or auto or settings.mode == "all")
    return SeamPlan(starts, int(settings.segment_length), int(settings.overlap),
                    find, settings.drift, None if reference is None else reference_look(reference))


class DeflickerRun:
    """The deflickered frames, one uint8 RGB frame per input frame, in order (an iterator).

    ``corrected`` holds the kinds actually corrected once the frames have been produced ("auto" leaves out what it
    did not measure)."""

    def __init__(self):
        self._frames: Iterator[np.ndarray] = iter(())
        self.corrected: set[str] = set()
        self.seams = None  # the seam stage's SeamFix (boundaries corrected, seams found), once pass 1 is done

    def __iter__(self):
        return self

    def __next__(self) -> np.ndarray:
        return next(self._frames)


def run(frames, fix_plan: DeflickerPlan, progress: Optional[ProgressFn] = None) -> DeflickerRun:
    """Deflicker ``frames`` as planned. An array / list of frames or a function returning a fresh iterator of them
    is read twice (pass 1 measures the whole clip, each shot is solved at once, pass 2 corrects; progress counts
    ``fix_plan.progress_steps``); a one-shot iterator is read once with ``fix_plan.lookahead`` frames of look-ahead."""
    if callable(frames):
        opener = frames
    elif isinstance(frames, (np.ndarray, list, tuple)):
        opener = lambda: iter(frames)  # noqa: E731
    else:
        opener = None
    result = DeflickerRun()
    if opener is None:
        if fix_plan.seams.given:
            raise UnflickerError("segments, drift hold and a reference need the clip twice (measure, then correct): "
                                 "pass the frames as an array, a list or a function returning a fresh iterator")
        engine = (OnePass(fix_plan.kinds, fix_plan.auto, fix_plan.strength, fix_plan.lookahead, fix_plan.period,
                          fix_plan.history) if fix_plan.acts else Passthrough())
        result._frames = _stream(engine, iter(frames), progress, 0, fix_plan.frame_count, result)
    else:
        result._frames = _two_pass(opener, fix_plan, progress, result)
    return result


def _two_pass(opener, fix_plan: DeflickerPlan, progress, result: DeflickerRun) -> Iterator[np.ndarray]:
    steps, total = fix_plan.progress_steps, fix_plan.frame_count
    engine: Union[Passthrough, LowOnly, TwoPass] = Passthrough()
    if fix_plan.acts:
        stats = _measure_all(opener(), fix_plan, progress)
        seams = solve_seams(stats, fix_plan.seams, fix_plan.strength) if fix_plan.seams.acts else None
        if seams is not None:
            stats = without_boundary_pairs(stats, seams.boundaries)
        solution = solve_clip(stats, fix_plan.kinds, fix_plan.auto, fix_plan.strength, fix_plan.period)
        if seams is not None:
            _add_seams(solution, seams)
            result.seams = seams
        engine = (TwoPass(fix_plan.kinds, fix_plan.strength, solution) if solution.texture
                  else LowOnly(solution))
    yield from _stream(engine, iter(opener()), progress, steps - total if total else 0, steps, result)


def _add_seams(solution, seams) -> None:
    """The seam stage's transforms composed after each frame's flicker correction."""
    solution.corrections = [composed(c, a) for c, a in zip(solution.corrections, seams.transforms)]
    if seams.boundaries:
        solution.corrected.add("seams")
    if seams.held:
        solution.corrected.add("drift")


def _measure_all(frames, fix_plan: DeflickerPlan, progress) -> list:
    """Pass 1: every frame's statistics."""
    done = 0
    # two workers beside this thread (the grain probe's alignment, the further pair fits) where OpenCV is
    # allowed more than one thread; the figures are the same either way
    worker = ThreadPoolExecutor(2, thread_name_prefix="deflicker-measure") if cv2.getNumThreads() > 1 else None
    try:
        measurer = Measurer(fix_plan.kinds, worker)
        for frame in frames:
            measurer.add(check_frame(frame))
            done += 1
            report(progress, done, fix_plan.progress_steps)
    finally:
        if worker is not None:
            worker.shutdown(wait=True, cancel_futures=True)
    return measurer.stats


def _stream(engine, frames, progress, start: int, total: int, result: DeflickerRun) -> Iterator[np.ndarray]:
    done = start
    for frame in frames:
        for out in engine.push(check_frame(frame)):
            done += 1
            report(progress, done, total)
            yield out
    for out in engine.flush():
        done += 1
        report(progress, done, total)
        yield out
    result.corrected = set(engine.corrected)

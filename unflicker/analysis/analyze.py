"""The analyze operation: ``plan`` checks the clip and decides how it is measured, ``run`` streams it into a
FlickerReport. ``analyze_frames`` / ``analyze_file`` are the two in one call."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Iterable, Optional

import numpy as np

from ..errors import UnflickerError, check_range
from .. import operation
from ..operation import Source, check_source
from ..progress import ProgressFn
from ..settings import AnalysisSettings
from .diagnosis import diagnose
from .measures import FLOW_MIN_SIDES, checked_frame, collect, flow_size
from .report import FlickerReport

_WHAT = "flicker analysis"


@dataclass(frozen=True)
class AnalysisPlan:
    """How one clip is analysed, decided before a frame is read."""

    name: str                       # how the user knows the clip, for errors
    width: int                      # every frame of the clip has this size
    height: int
    fps: float                      # the clip's rate as given: the report states it
    flow_size: tuple[int, int]      # (width, height) the flow and photometric measures run at
    progress_steps: int             # frames the progress bar counts to (0: unknown)
    settings: AnalysisSettings


def plan(source: Source, settings: AnalysisSettings = AnalysisSettings(), expected_frames: int = 0) -> AnalysisPlan:
    """Check ``source`` (at least two frames; frames optical flow can line up) and decide the measuring size.
    ``expected_frames``: a stream's estimated length (``source.frame_count`` None), for progress only."""
    if source.fps is None:
        raise UnflickerError(f"{source.name}: {_WHAT} needs the clip's frame rate")
    fps = float(check_range("fps", float(source.fps), 0.01, 1000))
    settings = settings.validated()
    check_source(source, min_frames=2, what=_WHAT)
    size = flow_size(source.width, source.height, settings.long_side)
    shorter, longer = FLOW_MIN_SIDES
    if min(size) < shorter or max(size) < longer:
        raise UnflickerError(f"{source.name} is {source.width}x{source.height} pixels; {_WHAT} needs frames of at "
                             f"least {shorter}x{shorter} pixels, {longer} on the longer side (optical flow)")
    total = source.frame_count if source.frame_count is not None else expected_frames
    return AnalysisPlan(source.name, source.width, source.height, fps, size, total, settings)


def run(frames: Iterable[np.ndarray], plan: AnalysisPlan, progress: Optional[ProgressFn] = None) -> FlickerReport:
    """Measure the clip (any iterable of uint8 RGB frames of the plan's size, consumed once, frame pairs only in
    memory) and diagnose it."""
    series = collect(frames, plan.settings, progress, plan.progress_steps, (plan.height, plan.width))
    return diagnose(series, plan.fps, plan.settings)


def file_source(info, name: str) -> Source:
    """The Source of a file opened with ``media.video.iter_frames``: its length is an estimate, so not checked
    up front; the rate is kept as read (``info.fps``), as the report states it."""
    return replace(operation.file_source(info, name), frame_count=None)


def analyze_frames(frames: Iterable[np.ndarray], fps: float, progress: Optional[ProgressFn] = None, total: int = 0,
                   settings: AnalysisSettings = AnalysisSettings()) -> FlickerReport:
    """Analyse a clip given as uint8 RGB frames; its size is read off the first frame."""
    check_range("fps", fps, 0.01, 1000)
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise UnflickerError(f"the clip has 0 frame(s): {_WHAT} needs at least two")
    first = checked_frame(0, first)
    source = Source(first.shape[1], first.shape[0], None, Fraction(fps), name="the clip")
    return run(itertools.chain([first], frames), plan(source, settings, total), progress)


def analyze_file(path: str, progress: Optional[ProgressFn] = None,
                 settings: AnalysisSettings = AnalysisSettings()) -> FlickerReport:
    from ..media import video

    info, frames = video.iter_frames(path)
    try:
        return run(frames, plan(file_source(info, path), settings, info.frame_count), progress)
    finally:
        frames.close()

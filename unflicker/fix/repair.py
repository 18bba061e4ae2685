"""Repair Frames: damaged frames (the analyzer's flash frames and single-frame content breaks, or a list the user
gives) rebuilt from their nearest good neighbours by an interpolation backend, at their time between them.

One damaged frame is rebuilt at t = 1/2 between its neighbours, two in a row at t = 1/3 and 2/3. Longer runs are
not rebuilt (an interpolated second of video is no repair), nor a run at either end of the clip (it has a
neighbour on one side only), nor a run whose neighbours are in different shots: a scene cut is never bridged, and
the frame is left as it is (holding one neighbour would guess which shot it belongs to). Every other frame passes
through bit-exact; a clip with nothing to repair is the input, and no backend is opened.

The operation: :func:`plan` decides before a frame is read (frames, neighbours, times, the backend, what is left
and why); with no diagnosis and ``use_analysis`` on, :func:`run` reads the clip twice: the analyzer's damage check
(``analysis.damage``) first, then the repair. Rendering goes through interpolation's backends (torch weight files,
ncnn, flow), with a few frames in memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Callable, Iterable, Iterator, Optional, Union

import numpy as np

from ..analysis.damage import DamagedFrame, damaged_from_json, find_damaged
from ..errors import UnflickerError
from ..measure import scenecut
from ..operation import Source, check_source
from ..progress import ProgressFn, report
from ..settings import InterpolateSettings, RepairSettings
from .interpolate.backends import MissingModel, PairRenderer, choose_backend, open_backend
from .interpolate.stream import check_frame, keep_blend_brightness

LISTED = "listed"  # the kind of a frame the user listed and the analyzer did not flag
MAX_RUN = 2  # frames in a row rebuilt between two good neighbours
_WHAT = "Repair Frames (a frame is rebuilt from a neighbour on each side)"


@dataclass(frozen=True)
class Rebuild:
    """A run of damaged frames rebuilt from the good neighbours ``before`` and ``after``."""

    frames: tuple[int, ...]
    kind: str  # flash | content_break | listed
    before: int
    after: int

    @property
    def times(self) -> tuple[Fraction, ...]:
        """Each frame's time between the neighbours: 1/2; or 1/3 and 2/3."""
        n = len(self.frames)
        return tuple(Fraction(k, n + 1) for k in range(1, n + 1))


@dataclass(frozen=True)
class Left:
    """A run of damaged frames passed through as it is, and why."""

    frames: tuple[int, ...]
    kind: str
    reason: str


@dataclass(frozen=True)
class BackendChoice:
    """The interpolation backend, as interpolation's ``open_backend`` (and the node's loader) read a plan."""

    source: Source
    settings: InterpolateSettings
    backend: str  # torch | ncnn | flow
    flow_fallback: bool
    model: Optional[str]
    device: str = "auto"
    half: bool = False
    missing_model: Optional[MissingModel] = None


@dataclass(frozen=True)
class RepairPlan:
    source: Source  # frame_count None: a stream whose length is not known (``expected_frames`` estimates it)
    settings: RepairSettings
    rebuilds: tuple[Rebuild, ...]  # known before reading (empty while ``detect``)
    left: tuple[Left, ...]
    detect: bool  # the damaged frames are still to be found, in a first pass over the clip (``find``)
    listed: tuple[int, ...]  # the user's frames
    interpolation: BackendChoice
    expected_frames: int = 0  # a stream's estimated length, for progress
    found: Optional[tuple[DamagedFrame, ...]] = None  # what the first pass found, once it ran

    @property
    def rate(self) -> Optional[Fraction]:
        """The output's exact frame rate: the input's."""
        return self.source.rate

    @property
    def frame_count(self) -> int:
        """Frames out: the frames in (0: not known)."""
        return self.source.frame_count or 0

    @property
    def progress_steps(self) -> int:
        """One step per frame and pass (two passes while ``detect``)."""
        return (self.frame_count or self.expected_frames) * (2 if self.detect else 1)

    @property
    def acts(self) -> bool:
        """Whether any frame may change (else the input is the output)."""
        return self.detect or bool(self.rebuilds)


def plan(source: Source, settings: RepairSettings = RepairSettings(),
         flagged: Union[None, str, Iterable[DamagedFrame]] = None, model_path: Optional[str] = None,
         missing_model: Optional[MissingModel] = None, *, device: str = "auto", half: bool = False,
         expected_frames: int = 0) -> RepairPlan:
    """Decide the repair. ``flagged``: the analyzer's damaged frames (Analyze Flicker's json text, or
    DamagedFrame items), used when ``settings.use_analysis``; None there: they are found in a first pass
    (``find``, or ``run`` does it). The user's ``settings.frames`` are added. ``model_path`` / ``missing_model``:
    as interpolation's plan takes them. ``expected_frames``: a stream's estimated length (``source.frame_count``
    None), for progress only."""
    settings = settings.validated()
    check_source(source, min_frames=3, what=_WHAT)
    count = source.frame_count
    listed = settings.listed
    if count is not None and listed and listed[-1] >= count:
        past = [f for f in listed if f >= count]
        raise UnflickerError(f"frames: {', '.join(map(str, past[:5]))} {'is' if len(past) == 1 else 'are'} past "
                             f"the end of {source.name}, which has {count} frames (0-{count - 1})")
    detect = settings.use_analysis and flagged is None
    damaged = _flagged(flagged, source) if settings.use_analysis and flagged is not None else {}
    rebuilds, left = schedule({**{f: LISTED for f in listed}, **damaged}, count)
    backend, fallback = choose_backend(settings.backend, model_path, missing_model)
    choice = BackendChoice(source, settings.interpolation(), backend, fallback, model_path, device, half,
                           missing_model)
    return RepairPlan(source, settings, rebuilds, left, detect, listed, choice, expected_frames)


def find(repair_plan: RepairPlan, frames: Iterable[np.ndarray], progress: Optional[ProgressFn] = None,
         total: int = 0) -> RepairPlan:
    """The first pass of a plan that ``detect``s: the analyzer's damage check over ``frames`` (the whole clip),
    and the plan with what it found scheduled (and the clip's length, now known). Progress per frame against
    ``total`` (0: the plan's steps, of which this pass is the first half)."""
    counted = _Counted(frames)
    found = tuple(find_damaged(counted, progress, total or repair_plan.progress_steps))
    count = counted.count
    check_source(replace(repair_plan.source, frame_count=count), min_frames=3, what=_WHAT)
    rebuilds, left = schedule({**{f: LISTED for f in repair_plan.listed}, **{d.frame: d.kind for d in found}}, count)
    return replace(repair_plan, source=replace(repair_plan.source, frame_count=count), rebuilds=rebuilds, left=left,
                   detect=False, found=found)


def _flagged(flagged, source: Source) -> dict:
    """frame -> kind of the analyzer's damaged frames; a diagnosis of another clip is refused."""
    if isinstance(flagged, str):
        items, analysed = damaged_from_json(flagged)
        if source.frame_count is not None and analysed != source.frame_count:
            raise UnflickerError(f"diagnosis is of a clip of {analysed} frames; {source.name} has "
                                 f"{source.frame_count}: connect the Analyze Flicker json of this clip")
    else:
        items = list(flagged)
    return {d.frame: d.kind for d in items}


def schedule(damaged: dict, frame_count: Optional[int]) -> tuple[tuple[Rebuild, ...], tuple[Left, ...]]:
    """Damaged frames (frame -> kind) grouped into runs of consecutive frames: each rebuilt from the frames
    beside it, or left with the reason (too long, at an end of the clip)."""
    rebuilds, left = [], []
    for run in _runs(sorted(damaged)):
        kinds = [damaged[f] for f in run]
        kind = next((k for k in kinds if k != LISTED), LISTED)
        first, last = run[0], run[-1]
        if len(run) > MAX_RUN:
            left.append(Left(run, kind, f"{len(run)} frames in a row: at most {MAX_RUN} are rebuilt"))
        elif frame_count is not None and first >= frame_count:
            left.append(Left(run, kind, f"past the clip's end ({frame_count} frames)"))
        elif first == 0:
            left.append(Left(run, kind, "no earlier frame to rebuild from"))
        elif frame_count is not None and last >= frame_count - 1:
            left.append(Left(run, kind, "no later frame to rebuild from"))
        else:
            rebuilds.append(Rebuild(run, kind, first - 1, last + 1))
    return tuple(rebuilds), tuple(left)


def _runs(frames: list[int]) -> list[tuple[int, ...]]:
    runs: list[list[int]] = []
    for f in frames:
        if runs and runs[-1][-1] == f - 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    return [tuple(r) for r in runs]


@dataclass
class RepairRun:
    """What ran, filled in while streaming: the backend line ("" while no frame needed it), the runs rebuilt
    and left, the frames read, and (when the run looked for them) the damaged frames found."""

    backend: str = ""
    rebuilt: list = field(default_factory=list)  # Rebuild
    left: list = field(default_factory=list)  # Left
    frames: int = 0
    found: Optional[list] = None  # DamagedFrame, when the run looked
    notes: list = field(default_factory=list)  # the backend's (out-of-memory retries, flow scale)

    def summary(self) -> str:
        if self.rebuilt:
            parts = [f"rebuilt {_rebuilt_text(self.rebuilt)} with {self.backend}"]
        elif self.left:
            parts = ["nothing rebuilt"]
        else:
            parts = ["nothing to repair: no damaged frame " + ("found" if self.found is not None else "flagged")]
        if self.left:
            parts.append("left as they are: " + ", ".join(f"{_span(x.frames)} ({_kind(x.kind)}: {x.reason})"
                                                           for x in sorted(self.left, key=lambda x: x.frames)))
        parts.append(f"{self.frames} frames, the others passed through unchanged")
        return "; ".join(parts + self.notes)


def unchanged(repair_plan: RepairPlan) -> RepairRun:
    """The run of a plan that rebuilds nothing (``not plan.acts``), without reading a frame: the input is the
    output."""
    return RepairRun(left=list(repair_plan.left), frames=repair_plan.frame_count or repair_plan.expected_frames,
                     found=None if repair_plan.found is None else list(repair_plan.found))


def _span(frames: tuple[int, ...]) -> str:
    return str(frames[0]) if len(frames) == 1 else f"{frames[0]}-{frames[-1]}"


def _kind(kind: str) -> str:
    return kind.replace("_", " ")


def _t(t: Fraction) -> str:
    return f"{float(t):g}" if t.denominator in (1, 2, 4, 5, 8, 10) else f"{t.numerator}/{t.denominator}"


def _rebuilt_text(rebuilds: list) -> str:
    return ", ".join(f"{_span(r.frames)} ({_kind(r.kind)}, t={', '.join(_t(t) for t in r.times)})" for r in rebuilds)


def run(frames, repair_plan: RepairPlan, progress: Optional[ProgressFn] = None,
        open_interpolator: Optional[Callable[[], object]] = None) -> tuple[RepairRun, Iterator[tuple]]:
    """Stream ``frames`` (uint8 RGB) as the plan says. ``frames``: an iterable, or (``plan.detect``: needed) a
    list / array / function returning a fresh iterator, read twice. ``open_interpolator``: returns the
    interpolator to render with (the node's network on ComfyUI's device), or None for the plan's backend;
    called only when a frame is rebuilt. Returns (run, iterator of (frame, meta)), one per input frame; meta:
    {"index": i, "kind": "original" | "rebuilt" | "left", "t": time between the neighbours (rebuilt only)}."""
    result = RepairRun(found=None if repair_plan.found is None else list(repair_plan.found))
    return result, _frames(frames, repair_plan, progress, open_interpolator, result)


def _frames(frames, repair_plan: RepairPlan, progress, open_interpolator, result: RepairRun):
    steps, start = repair_plan.progress_steps, 0
    if repair_plan.detect:
        opener = _opener(frames)
        repair_plan = find(repair_plan, opener(), progress)
        result.found = list(repair_plan.found)
        frames, start = opener(), repair_plan.frame_count
    elif callable(frames):  # a re-openable source read once
        frames = frames()
    result.left.extend(repair_plan.left)
    renderer = _LazyRenderer(repair_plan, open_interpolator, result)
    threshold = repair_plan.settings.scene_threshold
    checker = scenecut.PairChecker(threshold) if threshold < 1.0 else None
    for i, out in enumerate(_Repairer(repair_plan.rebuilds, renderer, checker, result).frames(iter(frames))):
        report(progress, start + i + 1, max(steps, start + i + 1))
        yield out


def _opener(frames) -> Callable[[], Iterator]:
    if callable(frames):
        return frames
    if isinstance(frames, (np.ndarray, list, tuple)):
        return lambda: iter(frames)
    raise UnflickerError("finding the damaged frames reads the clip twice: give the frames as a list or a "
                         "function that opens them afresh, or pass the analyzer's diagnosis")


class _Counted:
    """An iterator of frames that counts them (a stream's length is known once it is read)."""

    def __init__(self, frames):
        self.frames, self.count = iter(frames), 0

    def __iter__(self):
        for frame in self.frames:
            self.count += 1
            yield frame


class _LazyRenderer:
    """The backend, opened when the first frame is rebuilt (a clean clip loads no model)."""

    def __init__(self, plan: RepairPlan, open_interpolator, result: RepairRun):
        self.plan, self.open, self.result, self.renderer = plan, open_interpolator, result, None

    def render(self, jobs: list) -> list:
        if self.renderer is None:
            interp = self.open() if self.open is not None else None
            if interp is None:
                interp, line = open_backend(self.plan.interpolation)
            else:
                line = interp.description
            self.result.backend = line
            self.renderer = interp if hasattr(interp, "render") else PairRenderer(interp)
        # a rebuilt frame keeps its neighbours' brightness, as interpolated frames do
        out = [keep_blend_brightness(frame, a, b, float(t))
               for frame, (_, a, b, t) in zip(self.renderer.render(jobs), jobs)]
        for note in getattr(self.renderer, "notes", ()):
            if note not in self.result.notes:
                self.result.notes.append(note)
        return out


class _Repairer:
    """Passes frames through, holding only a rebuild's left neighbour and its damaged frames until the right
    neighbour arrives; then the rebuilt frames (or, across a scene cut, the damaged ones) go out."""

    def __init__(self, rebuilds, renderer: _LazyRenderer, checker, result: RepairRun):
        self.pending = deque(rebuilds)
        self.renderer, self.checker, self.result = renderer, checker, result

    def frames(self, frames: Iterator[np.ndarray]) -> Iterator[tuple[np.ndarray, dict]]:
        left, damaged, shape, count = None, [], None, 0
        for i, frame in enumerate(frames):
            frame = check_frame(frame, i, shape)
            shape, count = frame.shape, i + 1
            r = self.pending[0] if self.pending else None
            if left is not None and r.frames[0] <= i <= r.frames[-1]:
                damaged.append(frame)
                continue
            if left is not None and i == r.after:
                yield from self.rebuild(r, left, damaged, frame)
                self.pending.popleft()
                left, damaged = None, []
                r = self.pending[0] if self.pending else None
            if r is not None and i == r.before:
                left = frame
            yield frame, {"index": i, "kind": "original"}
        self.result.frames = count
        if left is not None:  # the clip ended before the run's right neighbour (a stream of unknown length)
            yield from ((frame, {"index": f, "kind": "left"}) for f, frame in zip(self.pending[0].frames, damaged))
        for r in self.pending:
            where = "no later frame to rebuild from" if r.before < count else f"past the clip's end ({count} frames)"
            self.result.left.append(Left(r.frames, r.kind, where))

    def rebuild(self, r: Rebuild, left: np.ndarray, damaged: list, right: np.ndarray) -> list:
        if self.checker is not None and self.checker.is_cut(left, right):
            self.result.left.append(Left(r.frames, r.kind, f"{r.before} and {r.after} are in different shots "
                                                           "(a scene cut is never bridged)"))
            return [(frame, {"index": f, "kind": "left"}) for f, frame in zip(r.frames, damaged)]
        self.result.rebuilt.append(r)
        rendered = self.renderer.render([(r.before, left, right, t) for t in r.times])
        return [(frame, {"index": f, "kind": "rebuilt", "t": t}) for f, frame, t in zip(r.frames, rendered, r.times)]

"""Seams and drift: the look of a clip measured as affine colour transforms between aligned frames.

Chained generators (SVD extend, AnimateDiff context windows, Wan/VACE extend, FramePack, decoder time tiles) hand
over a clip whose segments do not match: each comes out a little darker, warmer or more saturated. Between two
frames whose content optical flow lines up, that change of look is an affine colour transform (3x4: per-channel
gain and offset, and the cross terms a saturation or contrast change needs), fitted here from the moments of
aligned pixel samples (``Moments``; they add up, so fits over several pairs pool them).

* A **seam** is a step of look between consecutive frames beyond the change of look under way around it (the
  median of its neighbours' steps: a fade or a pan into shade changes the look on every frame, not on one), well
  above the shot's typical such step and above its neighbours' stray from that change, that persists
  (a flash frame steps back), and under the size of a real change of light (``REAL_CHANGE``); steps that repeat
  at a fixed distance are reported with their period (``find_seams``).
* **Drift** is the change of look of persisting content from a shot's start to its end: measured on flow-tracked
  keyframes by ``unflicker.analysis.drift`` (in log levels, not these fits: see there), reported with the seams by
  ``look_of_clip``.

Both the analyzer (its own pair measures) and the deflicker (its pass-1 pair fits) call these functions, so what
the analyzer reports is what ``auto`` corrects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .drift import drift_look

LUMA = np.array([0.299, 0.587, 0.114])
RIDGE = 4.0  # levels^2 added to each covariance: a flat channel's gain is pulled to 1, not blown up
SEAM_FLOOR = 1.5  # a seam changes the look by at least this much (RMS levels over the aligned pixels)
SEAM_TYPICAL = 3.0  # ... and this many times the shot's median step beyond the change under way (``excess_steps``)
SEAM_ISOLATED = 2.5  # ... and, beyond the change under way, this many times its near neighbours' stray from it
SEAM_LINED_UP = 2.5  # ... and the content lines up: the fit leaves at most this many times the shot's residual
# ... and, when it leaves more than SEAM_LOOSE times the shot's residual, at most SEAM_LINED_UP_NEAR times its near
# neighbours' (fast new content that the flow misses leaves a residual above the frames around it and fakes a
# step; a seam's fit leaves about what its neighbours' do: 0.8-1.5x on the real clips)
SEAM_LOOSE = 1.5
SEAM_LINED_UP_NEAR = 1.6
SEAM_LEFT_LEVELS = 1.5  # ... and by this many levels (rounding and clipping of a seam on a clean clip leave some)
NEIGHBOURS = 3  # frames either side a seam is compared with
PROBE_SPREAD = 8.0  # levels: the least spread of the colours a transform is judged on (``probes``)
MIN_GAP = 3  # seams closer than this are not segments ...
SEAM_DOMINANT = 1.5  # ... unless one's excess step is this many times the other's
PERSIST = 0.6  # the step between the frames around a seam keeps this share of the seam's step (a flash returns)
REAL_CHANGE = 0.15  # a luma step above 15 % is a real change of light (a lamp, a cut of exposure), not a seam
SINGLE_COLOUR = 0.35  # a lone step counts as a seam when this share of it is colour (per channel, saturation)
SEAM_LONE = 5.0  # ... and it is this many times the shot's median step (one step is weak evidence: flicker, a burst)
# periodic seams too weak one by one (find_grid): periods tried, each grid step at least GRID_FLOOR levels, and
# GRID_RATIO (PERIOD_SHARE of them) and GRID_MEDIAN (their median) times the off-grid steps around them
GRID_PERIODS = (4, 32)
GRID_FLOOR = 1.5
GRID_RATIO = 1.5
GRID_EVERY = 1.2  # ... and every grid point under GRID_FLOOR this many times the steps around it
GRID_MEDIAN = 1.75
GRID_MAY_FAIL = 1  # persistence spans (of 4) a grid point may fail: one next to the content's own change
PERIOD_SHARE = 0.75  # a period: at least this share of the frames on its grid are seams, at least 3 of them


@dataclass
class Moments:
    """Weighted sums over aligned pixel samples of an earlier frame (x) and a later one (y), RGB levels."""

    w: float = 0.0
    sx: np.ndarray = field(default_factory=lambda: np.zeros(3))
    sy: np.ndarray = field(default_factory=lambda: np.zeros(3))
    sxx: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    syy: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    sxy: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))

    def __add__(self, other: "Moments") -> "Moments":
        return Moments(self.w + other.w, self.sx + other.sx, self.sy + other.sy, self.sxx + other.sxx,
                       self.syy + other.syy, self.sxy + other.sxy)

    def stats(self):
        """(mean x, mean y, cov x, cov y, cov xy)."""
        mx, my = self.sx / self.w, self.sy / self.w
        return (mx, my, self.sxx / self.w - np.outer(mx, mx), self.syy / self.w - np.outer(my, my),
                self.sxy / self.w - np.outer(mx, my))


def moments(x: np.ndarray, y: np.ndarray, w: Optional[np.ndarray] = None) -> Moments:
    """Moments of samples x, y (3, m) (earlier frame, later frame at the same aligned pixels), weights w (m,)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    w = np.ones(x.shape[1]) if w is None else np.asarray(w, np.float64)
    xw, yw = x * w, y * w
    return Moments(float(w.sum()), xw.sum(1), yw.sum(1), xw @ x.T, yw @ y.T, xw @ y.T)


def fit_look(m: Moments) -> np.ndarray:
    """The affine colour transform (3, 4) taking the earlier frame's look to the later one's: the forward and the
    inverted backward least-squares fits averaged, so noise in either frame does not bias the gain."""
    mx, my, cxx, cyy, cxy = m.stats()
    eye = np.eye(3) * RIDGE
    forward = np.linalg.solve(cxx + eye, cxy + eye).T  # y - my = forward (x - mx)
    backward = np.linalg.solve(cyy + eye, cxy.T + eye).T  # x - mx = backward (y - my)
    gain = 0.5 * (forward + np.linalg.inv(backward))
    return np.hstack([gain, (my - gain @ mx)[:, None]])


def compose(second: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The 3x4 transform ``second`` after ``first``."""
    return np.hstack([second[:, :3] @ first[:, :3], (second[:, :3] @ first[:, 3] + second[:, 3])[:, None]])


def invert(a: np.ndarray) -> np.ndarray:
    g = np.linalg.inv(a[:, :3])
    return np.hstack([g, (-g @ a[:, 3])[:, None]])


IDENTITY = np.hstack([np.eye(3), np.zeros((3, 1))])


def step_size(a: np.ndarray, m: Moments) -> float:
    """How much transform ``a`` changes the earlier frame's pixels: RMS levels over the samples."""
    mx, _, cxx, _, _ = m.stats()
    d = a[:, :3] - np.eye(3)
    shift = d @ mx + a[:, 3]
    return float(np.sqrt(max(np.trace(d @ cxx @ d.T) + shift @ shift, 0.0) / 3.0))


def scalar_part(a: np.ndarray, m: Moments) -> np.ndarray:
    """The part of ``a`` that acts on the whole picture the same way (one gain and offset for every channel, as a
    fade or an exposure change does), fitted on the earlier frame's samples."""
    mx, _, cxx, _, _ = m.stats()
    gain = float(np.trace(a[:, :3] @ cxx) / max(np.trace(cxx), 1e-9))
    offset = float(np.mean(a[:, :3] @ mx + a[:, 3] - gain * mx))
    return np.hstack([gain * np.eye(3), np.full((3, 1), offset)])


def residual(a: np.ndarray, m: Moments) -> float:
    """What transform ``a`` leaves of the later frame (RMS levels): motion the flow missed, new content."""
    mx, my, cxx, cyy, cxy = m.stats()
    g = a[:, :3]
    rest = cyy - g @ cxy - cxy.T @ g.T + g @ cxx @ g.T
    shift = my - g @ mx - a[:, 3]
    return float(np.sqrt(max(np.trace(rest) + shift @ shift, 0.0) / 3.0))


def luma_change(a: np.ndarray, m: Moments) -> float:
    """Relative change of the mean luma under ``a``."""
    mx = m.sx / m.w
    return float(LUMA @ (a[:, :3] @ mx + a[:, 3])) / max(float(LUMA @ mx), 1.0) - 1.0


def probes(m: Moments) -> np.ndarray:
    """Colours that stand for a pair's earlier frame (4, 7: homogeneous): its mean, and one step of its spread
    along each principal axis either way (at least PROBE_SPREAD levels). Transforms are compared, averaged and
    detrended by what they do to these: a pair fit's gain matrix is poorly determined across the picture's
    colours (they lie near one line), so its entries wander from pair to pair where the pixels do not."""
    mx, _, cxx, _, _ = m.stats()
    vals, vecs = np.linalg.eigh(cxx)
    spread = vecs * np.sqrt(np.maximum(vals, PROBE_SPREAD ** 2))
    return np.vstack([np.hstack([mx[:, None], mx[:, None] + spread, mx[:, None] - spread]), np.ones(7)])


def seam_step(looks: list, b: int, bounds=(), reach: int = NEIGHBOURS) -> Optional[np.ndarray]:
    """The step of look at frame b (3x4, frame b-1's look to frame b's): the pair b-1 -> b less the content's own
    change of look around it, the median of the neighbours' pair transforms on the colours ``probes`` stands for
    (a fade goes on through a boundary; a neighbour's burst of light or new content is an outlier, not the
    neighbourhood's change). None where b-1 -> b was not measured."""
    if looks[b] is None:
        return None
    near = [t for t in range(max(1, b - reach), min(len(looks), b + reach + 1))
            if t != b and t not in bounds and looks[t] is not None]
    return compose(looks[b][0], invert(change_under_way(looks, b, near))) if near else looks[b][0]


def change_under_way(looks: list, t: int, around: list) -> np.ndarray:
    """The change of look per frame around frame t: the median of the pair transforms of frames ``around``, taken
    on the colours ``probes`` stands for in frame t's pair (3x4)."""
    x = probes(looks[t][1])
    return np.median([looks[j][0] @ x for j in around], 0) @ np.linalg.pinv(x)


@dataclass
class SeamReport:
    frames: list  # frames that start a new segment (the later frame of each step)
    steps: np.ndarray  # (n,) the look step from frame t-1 to t, RMS levels (0 where not measured)
    period: int  # frames between seams where they repeat, else 0
    candidates: list = field(default_factory=list)  # every step that looks like a seam, before the clip rules

    @property
    def mean_step(self) -> float:
        return float(np.mean(self.steps[self.frames])) if self.frames else 0.0


def find_seams(looks: list, cuts=()) -> SeamReport:
    """Seams in a clip from ``looks``: per frame t, None or (transform t-1 -> t, its Moments) of consecutive
    frames lined up by flow (None at frame 0, at cuts and where the flow found nothing). A clip with a single
    candidate step counts it only when a good share of it is colour (a light dimming is a seam's size too); a
    shot's first MIN_GAP frames start no segment; seams every N frames too weak one by one are found as a grid
    (``find_grid``) through two segment starts that stand out (frame 0 is one: tiles start with the clip; a lone
    candidate that the clip rules leave out is another)."""
    n = len(looks)
    steps, left = np.zeros(n), np.zeros(n)
    for t, got in enumerate(looks):
        if got is not None:
            steps[t], left[t] = step_size(*got), residual(*got)
    measured = [t for t, g in enumerate(looks) if g is not None]
    typical = float(np.median(steps[measured])) if measured else 0.0
    typical_left = float(np.median(left[measured])) if measured else 0.0
    # a seam is judged by its step beyond the change of look under way around it: against a brightening trend a
    # seam that darkens steps less than the pair shows, and the neighbours' steps stray from that change by the
    # clip's own noise, which is what it must stand above
    excess, stray = excess_steps(looks, cuts)
    typical_excess = float(np.median(excess[measured])) if measured else 0.0
    candidates = []
    for t, got in enumerate(looks):
        if got is None or excess[t] < max(SEAM_FLOOR, SEAM_TYPICAL * typical_excess) \
                or left[t] > SEAM_LINED_UP * typical_left:
            continue
        shot, around = _shot_around(looks, t, cuts)
        if around and (excess[t] < SEAM_ISOLATED * stray[t]
                       or left[t] > max(SEAM_LOOSE * typical_left, SEAM_LINED_UP_NEAR * float(np.median(left[around])),
                                        float(np.median(left[around])) + SEAM_LEFT_LEVELS)):
            continue
        if stray[t] > SEAM_TYPICAL * typical_excess:
            continue  # its neighbours stray like seams themselves (a burst of light or content): none can be told
        a, m = got
        if abs(luma_change(a, m)) > REAL_CHANGE:
            continue
        if not _persists(looks, steps, t):
            continue  # it steps back: a flash, not a new segment
        if shot[1] - t < MIN_GAP and excess[t] < SEAM_LONE * typical_excess:
            continue  # a frame or two before its shot ends, whether it persists is barely seen: a strong step only
        candidates.append(t)
    # steps on neighbouring frames are a change under way (a light, a burst of content), not segments; nor does a
    # shot's first frame or two make one (a causal VAE's lone first frame, a cut settling); a seam next to a
    # lesser step of the content's own (SEAM_DOMINANT times its excess) stays
    starts = [0, *cuts]
    frames = [t for t in candidates if not any(0 < abs(t - u) < MIN_GAP and excess[t] < SEAM_DOMINANT * excess[u]
                                               for u in candidates)
              and t - max(c for c in starts if c <= t) >= MIN_GAP]
    if len(frames) == 1:
        a, m = looks[frames[0]]
        colour = step_size(compose(invert(scalar_part(a, m)), a), m)
        if colour < SINGLE_COLOUR * steps[frames[0]] or excess[frames[0]] < SEAM_LONE * typical_excess:
            frames = []
    period = find_period(frames, n, cuts)
    # seams every N frames, each too weak alone against the clip's own steps, extend two segment starts: seams
    # found on their own (or a lone candidate), or one and frame 0, which starts the first tile (a grid alone is
    # periodic flicker, breathing, or chance as often)
    support = frames or candidates  # a lone candidate the clip rules left out can still start a grid
    grid = None if period or not support else find_grid(looks, steps, left, (typical, typical_left), cuts, support)
    if grid:
        period, frames = grid[0], sorted(set(frames) | set(grid[1]))
    return SeamReport(frames, steps, period, candidates)


def excess_steps(looks: list, cuts=(), reach: int = NEIGHBOURS) -> tuple:
    """Per frame t: the step into it beyond the change of look under way around it (``seam_step``'s, RMS
    levels: a seam against a brightening trend steps less than the pair shows, a frame of a fade not at all),
    and how far its neighbours' steps stray from that change (their median, RMS levels: the noise a seam must
    stand above). Zeros where not measured."""
    n = len(looks)
    excess, stray = np.zeros(n), np.zeros(n)
    for t, got in enumerate(looks):
        if got is None:
            continue
        _, around = _shot_around(looks, t, cuts, reach)
        if not around:
            excess[t] = step_size(*got)
            continue
        natural = invert(change_under_way(looks, t, around))
        excess[t] = step_size(compose(got[0], natural), got[1])
        stray[t] = float(np.median([step_size(compose(looks[j][0], natural), looks[j][1]) for j in around]))
    return excess, stray


def _shot_around(looks: list, t: int, cuts=(), reach: int = NEIGHBOURS) -> tuple:
    """Frame t's shot (first frame, end) between ``cuts``, and its measured neighbours within ``reach`` frames
    inside that shot (the shot's first frame, whose pair crosses the cut, left out)."""
    shot = (max([0, *(c for c in cuts if c <= t)]), min([len(looks), *(c for c in cuts if c > t)]))
    around = [j for j in range(max(shot[0] + 1, t - reach), min(shot[1], t + reach + 1))
              if j != t and looks[j] is not None]
    return shot, around


def _persists(looks: list, steps: np.ndarray, t: int, may_fail: int = 0) -> bool:
    """Whether the step into frame t holds between the looks a frame or two around it: from frames t-1 and t-2
    to frames t+1 and t+2, on every span but ``may_fail`` (a flash, or flicker that happened to step once, steps
    back on every span; with one span allowed to fail, regional flicker on real clips read as seams one by one:
    only a grid point, whose neighbours on the grid are evidence too, is let off one)."""
    n, m = len(looks), looks[t][1]
    held = [step_size(chain(looks, t - 1 - k, t + 1 + j), m) >= PERSIST * steps[t]
            for k in (0, 1) for j in (1, 2) if t - 1 - k >= 0 and t + j < n]
    return not held or sum(held) >= max(1, len(held) - may_fail)  # one span at least holds


def _grid_evidence(looks: list, steps: np.ndarray, grid: list) -> np.ndarray:
    """Per grid point, its step over the median step of the frames up to two away that are off the grid."""
    on, n = set(grid), len(looks)
    out = []
    for t in grid:
        near = [steps[j] for j in (t - 2, t - 1, t + 1, t + 2) if 0 < j < n and j not in on and looks[j] is not None]
        out.append(steps[t] / max(float(np.median(near)), 0.1) if near else 0.0)
    return np.array(out)


def find_grid(looks: list, steps: np.ndarray, left: np.ndarray, typical: tuple, cuts=(), support=None):
    """Periodic seams (decoder tiles, context windows) too weak to stand out one by one: the shortest period
    (GRID_PERIODS) and phase with at least three segment starts (frame 0 is one for the grid through it: tiles
    start with the clip), PERIOD_SHARE of its measured points lined up, above GRID_FLOOR and GRID_RATIO times the
    off-grid steps around them, every weaker one GRID_EVERY times, and the median of that ratio GRID_MEDIAN, as is
    their median step against the clip's (``typical``: the median step and residual, a flickering clip steps
    everywhere); points not measured (a cut, a flow failure) are left out of the score. With ``support`` (seams
    found on their own), a grid must also pass through two of them, frame 0 counting as one. (period, frames: its
    points that were measured and are no real change of light) or None."""
    n, (typical_step, typical_left) = len(looks), typical
    support = None if support is None else set(support)
    for period in range(GRID_PERIODS[0], min(GRID_PERIODS[1], n // 3) + 1):
        for phase in range(period):
            anchored = int(phase == 0)  # frame 0 starts the first segment
            grid = [t for t in range(phase or period, n, period) if t not in cuts and looks[t] is not None]
            if len(grid) + anchored < 3 or steps[grid[0]] < GRID_FLOOR:
                continue  # a grid whose first measured point is no step is not taken (most phases end here)
            if support is not None and len(support.intersection(grid)) + anchored < 2:
                continue
            ratio = _grid_evidence(looks, steps, grid)
            fits = [abs(luma_change(*looks[t])) <= REAL_CHANGE for t in grid]
            good = [ok and steps[t] >= GRID_FLOOR and left[t] <= SEAM_LINED_UP * typical_left and r >= GRID_RATIO
                    and _persists(looks, steps, t, GRID_MAY_FAIL) for t, ok, r in zip(grid, fits, ratio)]
            if sum(good) + anchored >= 3 and np.mean(good) >= PERIOD_SHARE \
                    and float(np.median(ratio)) >= GRID_MEDIAN \
                    and float(np.median(steps[grid])) >= GRID_MEDIAN * typical_step \
                    and all(r >= GRID_EVERY or steps[t] >= GRID_FLOOR for t, r, ok in zip(grid, ratio, fits) if ok):
                return period, [t for t, ok in zip(grid, fits) if ok]
    return None


def find_period(frames: list, n: int, cuts=()) -> int:
    """The distance at which seams repeat: the shortest period whose grid (through the first seam) lands on seams
    for at least PERIOD_SHARE of its points inside the clip, at least three segment starts: seams, and frame 0 for
    the grid through it (it starts the first segment: two seams at p and 2p are a grid of period p); 0 when
    none."""
    if len(frames) < 2:
        return 0
    got = set(frames)
    for period in range(2, n // 2 + 1):
        for phase in sorted({f % period for f in frames}):
            grid = [t for t in range(phase if phase else period, n, period) if t not in cuts]
            hits = sum(t in got for t in grid)
            if hits + (phase == 0) >= 3 and hits >= PERIOD_SHARE * len(grid) and hits >= PERIOD_SHARE * len(frames):
                return period
    return 0


def chain(looks: list, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
    """The transforms t-1 -> t of frames start+1 .. stop-1 composed: the look of frame ``start`` to frame
    ``stop - 1`` (pairs not measured count as no change)."""
    total = IDENTITY
    for got in looks[start + 1:stop]:
        if got is not None:
            total = compose(got[0], total)
    return total


EXPLAIN_SEAMS = ("The clip is made of segments whose look does not match: at {count} frame(s) the whole picture "
                 "steps darker, brighter, warmer or more saturated while the content carries on (chained "
                 "generation: extend, context windows, decoder tiles){period}. Mean step {step:.1f} levels.")
FIX_SEAMS = ("Deflicker (flow-guided), mode auto: matches each segment's look to the one before; or give the "
             "segments (segment_length and overlap, or segment_starts: {starts}).")


def look_of_clip(looks: list, cuts: list, drifts: list = ()) -> dict:
    """The analyzer's seams and drift of a clip from its consecutive pair looks (as ``find_seams`` takes them) and
    its shots' keyframe drifts (``drift.DriftTracker``): measures, the per-frame step series, per kind found
    (seams, drift) (score, explanation, frames, fix), and the drift entry of the JSON."""
    n = len(looks)
    seams = find_seams(looks, cuts)
    drift_measures, drift_series, drift_found, look_drift = drift_look(list(drifts), n)
    measures = {"seam_count": float(len(seams.frames)), "seam_period": float(seams.period),
                "seam_step": seams.mean_step, **drift_measures}
    found = {}
    if seams.frames:
        period = f", every {seams.period} frames" if seams.period else ""
        found["seams"] = (max(1.0, seams.mean_step / SEAM_FLOOR),
                          EXPLAIN_SEAMS.format(count=len(seams.frames), period=period, step=seams.mean_step),
                          list(seams.frames), FIX_SEAMS.format(starts=", ".join(map(str, seams.frames))))
    return {"measures": measures, "series": {"seam_step": seams.steps, **drift_series},
            "found": {**found, **drift_found}, "drift": look_drift, "seams": seams}

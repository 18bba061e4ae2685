"""Seams and drift: the look of a clip measured as affine colour transforms between aligned frames.

Chained generators (SVD extend, AnimateDiff context windows, Wan/VACE extend, FramePack, decoder time tiles) hand
over a clip whose segments do not match: each comes out a little darker, warmer or more saturated. Between two
frames whose content optical flow lines up, that change of look is an affine colour transform (3x4: per-channel
gain and offset, and the cross terms a saturation or contrast change needs), fitted here from the moments of
aligned pixel samples (``Moments``; they add up, so fits over several pairs pool them).

* A **seam** is a step of look between consecutive frames well above the shot's typical frame-to-frame change,
  above its neighbours' (a fade or a pan into shade changes the look on every frame, not on one), that persists
  (a flash frame steps back), and under the size of a real change of light (``REAL_CHANGE``); steps that repeat
  at a fixed distance are reported with their period (``find_seams``).
* **Drift** is the change of look from a shot's start to its end, the frame-to-frame transforms chained, split into
  what acts on the whole picture the same way (a fade, an exposure change: one gain and offset for every channel)
  and the rest: per-channel levels and a saturation change (``measure_drift``).

Both the analyzer (its own pair measures) and the deflicker (its pass-1 pair fits) call these functions, so what
the analyzer reports is what ``auto`` corrects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])
RIDGE = 4.0  # levels^2 added to each covariance: a flat channel's gain is pulled to 1, not blown up
SEAM_FLOOR = 1.5  # a seam changes the look by at least this much (RMS levels over the aligned pixels)
SEAM_TYPICAL = 3.0  # ... and this many times the shot's median frame-to-frame step
SEAM_ISOLATED = 2.5  # ... and this many times its near neighbours' median step (fades change every frame)
SEAM_LINED_UP = 2.5  # ... and the content lines up: the fit leaves at most this many times the shot's residual
# ... and, when it leaves more than SEAM_LOOSE times the shot's residual, at most SEAM_LINED_UP_NEAR times its near
# neighbours' (fast new content that the flow misses leaves a residual above the frames around it and fakes a
# step; a seam's fit leaves about what its neighbours' do: 0.8-1.5x on the real clips)
SEAM_LOOSE = 1.5
SEAM_LINED_UP_NEAR = 1.6
SEAM_LEFT_LEVELS = 1.5  # ... and by this many levels (rounding and clipping of a seam on a clean clip leave some)
NEIGHBOURS = 3  # frames either side a seam is compared with
MIN_GAP = 3  # seams closer than this are not segments
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
PERIOD_SHARE = 0.75  # a period: at least this share of the frames on its grid are seams, at least 3 of them
# drift is reported from a per-channel change of 12 levels or a saturation change of 60 %: the chained pair fits
# wander by less on the 14 real clips without seams (saturation, poorly determined on pale pictures, most)
DRIFT_LEVELS = 12.0
DRIFT_SATURATION = 0.6


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
    (``find_grid``) through two that stand out."""
    n = len(looks)
    steps, left = np.zeros(n), np.zeros(n)
    for t, got in enumerate(looks):
        if got is not None:
            steps[t], left[t] = step_size(*got), residual(*got)
    measured = [t for t, g in enumerate(looks) if g is not None]
    typical = float(np.median(steps[measured])) if measured else 0.0
    typical_left = float(np.median(left[measured])) if measured else 0.0
    candidates = []
    for t, got in enumerate(looks):
        if got is None or steps[t] < max(SEAM_FLOOR, SEAM_TYPICAL * typical) \
                or left[t] > SEAM_LINED_UP * typical_left:
            continue
        shot = (max([0, *(c for c in cuts if c <= t)]), min([n, *(c for c in cuts if c > t)]))
        around = [j for j in range(max(shot[0] + 1, t - NEIGHBOURS), min(shot[1], t + NEIGHBOURS + 1))
                  if j != t and looks[j] is not None]
        if around and (_beyond_neighbours(looks, t, around) < SEAM_ISOLATED * float(np.median(steps[around]))
                       or left[t] > max(SEAM_LOOSE * typical_left, SEAM_LINED_UP_NEAR * float(np.median(left[around])),
                                        float(np.median(left[around])) + SEAM_LEFT_LEVELS)):
            continue
        a, m = got
        if abs(luma_change(a, m)) > REAL_CHANGE:
            continue
        if not _persists(looks, steps, t):
            continue  # it steps back: a flash, not a new segment
        candidates.append(t)
    # steps on neighbouring frames are a change under way (a light, a burst of content), not segments; nor does a
    # shot's first frame or two make one (a causal VAE's lone first frame, a cut settling)
    starts = [0, *cuts]
    frames = [t for t in candidates if not any(0 < abs(t - u) < MIN_GAP for u in candidates)
              and t - max(c for c in starts if c <= t) >= MIN_GAP]
    if len(frames) == 1:
        a, m = looks[frames[0]]
        colour = step_size(compose(invert(scalar_part(a, m)), a), m)
        if colour < SINGLE_COLOUR * steps[frames[0]] or steps[frames[0]] < SEAM_LONE * typical:
            frames = []
    period = find_period(frames, n, cuts)
    grid = None if period or not frames else find_grid(looks, steps, left, (typical, typical_left), cuts)
    # seams every N frames, each too weak alone against the clip's own steps, extend two seams found on their own
    # (a grid alone, or through one step, is periodic flicker, breathing, or chance as often)
    if grid and len(set(grid[1]) & set(frames)) >= 2:
        period, frames = grid[0], sorted(set(frames) | set(grid[1]))
    return SeamReport(frames, steps, period, candidates)


def _beyond_neighbours(looks: list, t: int, around: list) -> float:
    """The step into frame t less the change of look under way around it (the mean of its neighbours' pair
    transforms: a fade or a darkening that goes on over several frames is not a seam), RMS levels."""
    a, m = looks[t]
    return min(step_size(a, m), step_size(compose(a, invert(np.mean([looks[j][0] for j in around], 0))), m))


def _persists(looks: list, steps: np.ndarray, t: int) -> bool:
    """Whether the step into frame t holds between the looks a frame or two around it: from frames t-1 and t-2
    to frames t+1 and t+2 (a flash, or flicker that happened to step once, steps back)."""
    n, m = len(looks), looks[t][1]
    return all(step_size(chain(looks, t - 1 - k, t + 1 + j), m) >= PERSIST * steps[t]
               for k in (0, 1) for j in (1, 2) if t - 1 - k >= 0 and t + j < n)


def _grid_evidence(looks: list, steps: np.ndarray, grid: list) -> np.ndarray:
    """Per grid point, its step over the median step of the frames up to two away that are off the grid."""
    on, n = set(grid), len(looks)
    out = []
    for t in grid:
        near = [steps[j] for j in (t - 2, t - 1, t + 1, t + 2) if 0 < j < n and j not in on and looks[j] is not None]
        out.append(steps[t] / max(float(np.median(near)), 0.1) if near else 0.0)
    return np.array(out)


def find_grid(looks: list, steps: np.ndarray, left: np.ndarray, typical: tuple, cuts=()):
    """Periodic seams (decoder tiles, context windows) too weak to stand out one by one: the shortest period
    (GRID_PERIODS) and phase with at least three grid points, PERIOD_SHARE of them lined up, above GRID_FLOOR and
    GRID_RATIO times the off-grid steps around them, every weaker one GRID_EVERY times, and the median of that ratio
    GRID_MEDIAN, as is their median step against the clip's (``typical``: the median step and residual, a
    flickering clip steps everywhere); (period, frames: its points that were measured and are no real change of
    light) or None."""
    n, (typical_step, typical_left) = len(looks), typical
    for period in range(GRID_PERIODS[0], min(GRID_PERIODS[1], n // 3) + 1):
        for phase in range(period):
            grid = [t for t in range(phase or period, n, period) if t not in cuts]
            if len(grid) < 3 or looks[grid[0]] is None or steps[grid[0]] < GRID_FLOOR:
                continue  # a grid whose first point is no step is not taken (most phases end here, cheaply)
            ratio = _grid_evidence(looks, steps, grid)
            fits = [looks[t] is not None and abs(luma_change(*looks[t])) <= REAL_CHANGE for t in grid]
            good = [ok and steps[t] >= GRID_FLOOR and left[t] <= SEAM_LINED_UP * typical_left and r >= GRID_RATIO
                    and _persists(looks, steps, t) for t, ok, r in zip(grid, fits, ratio)]
            if sum(good) >= 3 and np.mean(good) >= PERIOD_SHARE and float(np.median(ratio)) >= GRID_MEDIAN \
                    and float(np.median(steps[grid])) >= GRID_MEDIAN * typical_step \
                    and all(r >= GRID_EVERY or steps[t] >= GRID_FLOOR for t, r, ok in zip(grid, ratio, fits) if ok):
                return period, [t for t, ok in zip(grid, fits) if ok]
    return None


def find_period(frames: list, n: int, cuts=()) -> int:
    """The distance at which seams repeat: the shortest period whose grid (from the first seam) lands on seams
    for at least PERIOD_SHARE of its points inside the clip, at least three seams; 0 when none."""
    if len(frames) < 3:
        return 0
    got = set(frames)
    for period in range(2, n // 2 + 1):
        for phase in sorted({f % period for f in frames}):
            grid = [t for t in range(phase if phase else period, n, period) if t not in cuts]
            hits = sum(t in got for t in grid)
            if hits >= 3 and hits >= PERIOD_SHARE * len(grid) and hits >= PERIOD_SHARE * len(frames):
                return period
    return 0


@dataclass
class Drift:
    channels: np.ndarray  # (3,) change of each channel's mean level beyond the common change, levels
    saturation: float  # relative change of saturation (chroma spread) beyond the common gain
    contrast: float  # relative change of the common gain (a fade or exposure change shows here too)
    levels: float  # change of the mean level, common to the channels
    frames: int  # frames the chain spans

    @property
    def detected(self) -> bool:
        return float(np.abs(self.channels).max()) >= DRIFT_LEVELS or abs(self.saturation) >= DRIFT_SATURATION

    def to_dict(self) -> dict:
        return {"drift_r": float(self.channels[0]), "drift_g": float(self.channels[1]),
                "drift_b": float(self.channels[2]), "drift_saturation_pct": 100.0 * self.saturation,
                "drift_contrast_pct": 100.0 * self.contrast, "drift_levels": self.levels}


def chain(looks: list, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
    """The transforms t-1 -> t of frames start+1 .. stop-1 composed: the look of frame ``start`` to frame
    ``stop - 1`` (pairs not measured count as no change)."""
    total = IDENTITY
    for got in looks[start + 1:stop]:
        if got is not None:
            total = compose(got[0], total)
    return total


def measure_drift(looks: list, start: int = 0, stop: Optional[int] = None) -> Drift:
    """The change of look of persisting content across frames start .. stop-1 (the chained pair transforms),
    split into the common part (fade, exposure) and the colour part."""
    stop = len(looks) if stop is None else stop
    first = next((g[1] for g in looks[start + 1:stop] if g is not None), None)
    if first is None:
        return Drift(np.zeros(3), 0.0, 0.0, 0.0, stop - start)
    total = chain(looks, start, stop)
    common = scalar_part(total, first)
    mx, _, cxx, _, _ = first.stats()
    channels = total[:, :3] @ mx + total[:, 3] - (common[:, :3] @ mx + common[:, 3])
    grey = np.full((3, 3), 1.0 / 3.0)
    chroma = np.eye(3) - grey  # projects out the grey axis
    before = np.trace(chroma @ cxx @ chroma)
    after = np.trace(chroma @ total[:, :3] @ cxx @ total[:, :3].T @ chroma)
    gain = common[0, 0]
    saturation = float(np.sqrt(after / max(before, 1e-9))) / max(gain, 1e-6) - 1.0 if before > 4.0 else 0.0
    return Drift(channels, saturation, gain - 1.0, float(common[0, 3] + (gain - 1.0) * mx.mean()), stop - start)


EXPLAIN_SEAMS = ("The clip is made of segments whose look does not match: at {count} frame(s) the whole picture "
                 "steps darker, brighter, warmer or more saturated while the content carries on (chained "
                 "generation: extend, context windows, decoder tiles){period}. Mean step {step:.1f} levels.")
EXPLAIN_DRIFT = ("The look of persisting content changes from start to end beyond a fade or exposure change: "
                 "per channel R {r:+.1f}, G {g:+.1f}, B {b:+.1f} levels, saturation {sat:+.1f} % "
                 "(common gain {contrast:+.1f} %).")
FIX_SEAMS = ("Deflicker (flow-guided), mode auto: matches each segment's look to the one before; or give the "
             "segments (segment_length and overlap, or segment_starts: {starts}).")
FIX_DRIFT = "Deflicker (flow-guided) with drift = hold (optionally a reference image): holds the first segment's look."


def look_of_clip(looks: list, cuts: list) -> dict:
    """The analyzer's seams and drift of a clip from its consecutive pair looks (as ``find_seams`` takes them):
    measures, the per-frame step series, per kind found (seams) (score, explanation, frames, fix), and the drift
    entry of the JSON."""
    n = len(looks)
    seams = find_seams(looks, cuts)
    bounds = [0, *cuts, n]
    shots = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i + 1] - bounds[i] >= 3]
    drifts = [measure_drift(looks, a, b) for a, b in shots] or [Drift(np.zeros(3), 0.0, 0.0, 0.0, n)]
    drift = max(drifts, key=lambda d: max(float(np.abs(d.channels).max()) / DRIFT_LEVELS,
                                          abs(d.saturation) / DRIFT_SATURATION))
    measures = {"seam_count": float(len(seams.frames)), "seam_period": float(seams.period),
                "seam_step": seams.mean_step, **drift.to_dict()}
    found, flagged = {}, drift.detected
    if seams.frames:
        period = f", every {seams.period} frames" if seams.period else ""
        found["seams"] = (max(1.0, seams.mean_step / SEAM_FLOOR),
                          EXPLAIN_SEAMS.format(count=len(seams.frames), period=period, step=seams.mean_step),
                          list(seams.frames), FIX_SEAMS.format(starts=", ".join(map(str, seams.frames))))
    score = max(float(np.abs(drift.channels).max()) / DRIFT_LEVELS, abs(drift.saturation) / DRIFT_SATURATION)
    # not a kind until calibrated (see unflicker.kinds): the JSON's "drift" entry, flagged past the stop-gap limits
    look_drift = {"flagged": bool(flagged), "calibrated": False, "score": score, **drift.to_dict(),
                  "explanation": EXPLAIN_DRIFT.format(r=drift.channels[0], g=drift.channels[1], b=drift.channels[2],
                                                      sat=100 * drift.saturation, contrast=100 * drift.contrast),
                  "fix": FIX_DRIFT}
    return {"measures": measures, "series": {"seam_step": seams.steps}, "found": found, "drift": look_drift,
            "seams": seams}

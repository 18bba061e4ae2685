"""Curves over a shot: relative pair measurements integrated by least squares into one curve per channel (or
field node), and the smooth Hodrick-Prescott trend of a curve (what stays: fades, exposure drift) that the
flicker is the departure from. Both are banded systems, solved in O(frames)."""

from __future__ import annotations

from typing import Optional

import numpy as np


def solve_band2(d0: np.ndarray, d1: np.ndarray, d2: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve A x = rhs for symmetric positive definite A with bandwidth 2, batched over the last axis:
    d0[i] = A[i, i], d1[i] = A[i, i-1], d2[i] = A[i, i-2] (shape (n, batch)); Cholesky, O(n)."""
    n = d0.shape[0]
    l0, l1, l2 = np.zeros_like(d0), np.zeros_like(d0), np.zeros_like(d0)
    z = np.zeros_like(rhs)
    for i in range(n):
        if i >= 2:
            l2[i] = d2[i] / l0[i - 2]
        if i >= 1:
            l1[i] = (d1[i] - (l2[i] * l1[i - 1] if i >= 2 else 0.0)) / l0[i - 1]
        l0[i] = np.sqrt(np.maximum(d0[i] - l1[i] ** 2 - l2[i] ** 2, 1e-12))
        acc = rhs[i] - (l1[i] * z[i - 1] if i >= 1 else 0.0) - (l2[i] * z[i - 2] if i >= 2 else 0.0)
        z[i] = acc / l0[i]
    x = np.zeros_like(rhs)
    for i in range(n - 1, -1, -1):
        acc = z[i] - (l1[i + 1] * x[i + 1] if i + 1 < n else 0.0) - (l2[i + 2] * x[i + 2] if i + 2 < n else 0.0)
        x[i] = acc / l0[i]
    return x


def integrate(n: int, frames, distances, values, weights, mult=None) -> np.ndarray:
    """Least-squares curve x (n, batch) from relative measurements x[t] - m x[t-k] = v (t in ``frames``, k in
    ``distances``) with weights w (each (P, batch)); a tiny ridge keeps unlinked parts at 0."""
    batch = values.shape[1]
    d0 = np.zeros((n, batch))
    d1, d2, rhs = np.zeros_like(d0), np.zeros_like(d0), np.zeros_like(d0)
    m = np.ones_like(values) if mult is None else mult
    for t, k, v, w, mm in zip(frames, distances, values, weights, m):
        s = t - k
        d0[t] += w
        d0[s] += w * mm * mm
        (d1 if k == 1 else d2)[t] -= w * mm
        rhs[t] += w * v
        rhs[s] -= w * mm * v
    scale = np.maximum(np.median(d0, axis=0), 1e-9) if n else 1.0
    d0 += 1e-6 * scale
    return solve_band2(d0, d1, d2, rhs)


def linked(n: int, frames, distances) -> np.ndarray:
    """Which of n frames a pair (t, t - k) ties to its predecessor: a frame that none ties starts a new piece
    of curve."""
    out = np.zeros(n, bool)
    for t, k in zip(frames, distances):
        out[t - k + 1:t + 1] = True
    return out


def trend(x: np.ndarray, lam: float, breaks: np.ndarray, robust: bool = True,
          kinks: Optional[np.ndarray] = None) -> np.ndarray:
    """Hodrick-Prescott trend of each column of x (n, batch): argmin sum u (x - t)^2 + lam sum (second
    difference of t)^2, no second difference across a break (breaks[i]: a jump between i-1 and i) nor at a kink
    (kinks[i]: the slope changes at frame i, a fade starting); with ``robust`` a few reweightings (Huber) so
    single outlying frames (flashes) do not pull the trend."""
    n = x.shape[0]
    if n < 3:
        return x.copy()
    rows = np.ones(n - 2)  # second difference over (j, j+1, j+2)
    for i in np.flatnonzero(breaks):
        rows[max(0, i - 2):min(n - 2, i)] = 0.0
    if kinks is not None:
        for i in np.flatnonzero(kinks[1:n - 1]):  # only the second difference centred on the kink
            rows[i] = 0.0
    # lam * D^T diag(rows) D, bands 0..2
    e0, e1, e2 = np.zeros(n), np.zeros(n), np.zeros(n)
    for j in range(n - 2):
        r = rows[j] * lam
        if r:
            e0[j] += r
            e0[j + 1] += 4 * r
            e0[j + 2] += r
            e1[j + 1] -= 2 * r
            e1[j + 2] -= 2 * r
            e2[j + 2] += r
    u = np.ones_like(x)
    for it in range(4 if robust else 1):
        t = solve_band2(u + e0[:, None], np.broadcast_to(e1[:, None], x.shape).copy(),
                        np.broadcast_to(e2[:, None], x.shape).copy(), u * x)
        if not robust or it == 3:
            break
        r = np.abs(x - t)
        s = 1.4826 * np.median(r, axis=0) + 1e-6
        u = np.minimum(1.0, 3.0 * s / np.maximum(r, 1e-12))
    return t


def hp_lambda(period: float) -> float:
    """HP smoothing for a cut-off period in frames: the trend passes half of a sinusoid of that period."""
    return 1.0 / (2.0 - 2.0 * np.cos(2.0 * np.pi / max(period, 3.0))) ** 2


KINK_SIDE = 8  # frames each side of a candidate kink that it is judged on (at least KINK_MIN_SIDE)
KINK_MIN_SIDE = 3
KINK_T = 6.0  # a kink must explain this many times the curve's flicker level (its SSE drop, in sigmas)
KINK_SHARE = 0.6  # ... and this share of what a straight line leaves of the frames around it
# ... and fit them this many times better than a parabola: a corner between straight stretches, not the round
# top of a wave (breathing at 1-4 Hz fits a kink at 1.1-2.9 times a parabola's residual, a fade's start at 5-14)
KINK_SHARP = 4.0
# slope change (relative level per frame) a kink must have: gentler corners the trend follows well enough, and
# the tops of breathing waves (1-4 Hz, 8 %) on the dev clips fit kinks of up to 1.6 %
KINK_MIN = 0.02
_makers: dict = {}


def _kink_fits(left: int, right: int) -> tuple:
    """For a window of ``left`` frames, the candidate, ``right`` frames: the residual makers of a line, a line
    with a hinge at the candidate (a kink) and a parabola (a smooth bend), stacked (3, m, m), and the row giving
    the hinge's slope change."""
    key = (left, right)
    got = _makers.get(key)
    if got is None:
        j = np.arange(-left, right + 1, dtype=np.float64)
        one, hinge = np.ones_like(j), np.maximum(j, 0.0)
        makers = [np.eye(len(j)) - X @ np.linalg.pinv(X)
                  for X in (np.stack(cols, 1) for cols in ((one, j), (one, j, hinge), (one, j, j * j)))]
        got = (np.stack(makers), np.linalg.pinv(np.stack((one, j, hinge), 1))[2])
        _makers[key] = got
    return got


def _kink_scores(y: np.ndarray, centres: np.ndarray, left: int, right: int, sigma: float) -> np.ndarray:
    """How much a kink at each of ``centres`` (windows of left / right frames) explains, 0 where it is no kink."""
    makers, slope = _kink_fits(left, right)
    w = np.lib.stride_tricks.sliding_window_view(y, left + right + 1)[centres - left]  # (candidates, m)
    sse_line, sse_kink, sse_bend = np.sum(np.einsum("kab,cb->kca", makers, w) ** 2, axis=2)
    drop, floor = sse_line - sse_kink, KINK_T ** 2 * sigma ** 2
    ok = (drop > floor) & (sse_kink < (1 - KINK_SHARE) * sse_line) & (sse_bend - sse_kink > 0.25 * floor) \
        & (sse_bend > KINK_SHARP * sse_kink) \
        & (np.abs(w @ slope) > KINK_MIN)
    return np.where(ok, drop, 0.0)


def find_kinks(y: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Frames where the slope of the curve y (n,) changes at once by far more than its flicker explains: the
    start or end of a fade or an exposure ramp, which the trend must follow rather than round off (a rounded
    kink reads as flicker). A smooth bend (a parabola fits it as well) is not one, nor is anything that a
    straight line already fits about as well. Judged within the pieces that ``breaks`` leave; O(n)."""
    n = len(y)
    out = np.zeros(n, bool)
    if n < 2 * KINK_MIN_SIDE + 1:
        return out
    # the flicker level: robust spread of the second differences (white flicker of std s gives s sqrt 6)
    sigma = 1.4826 * float(np.median(np.abs(np.diff(y, 2)))) / np.sqrt(6.0) + 1e-6
    starts = np.r_[0, np.flatnonzero(breaks[1:]) + 1, n]
    score = np.zeros(n)
    for a, b in zip(starts[:-1], starts[1:]):
        centres = np.arange(a + KINK_MIN_SIDE, b - KINK_MIN_SIDE)
        sides = np.minimum(KINK_SIDE, centres - a), np.minimum(KINK_SIDE, b - 1 - centres)
        # windows of the same shape share their fits: all the inner ones at once, a few near the piece's ends
        for left, right in set(zip(*sides)):
            at = centres[(sides[0] == left) & (sides[1] == right)]
            score[at] = _kink_scores(y, at, int(left), int(right), sigma)
    for i in np.flatnonzero(score):  # one kink per corner: the best-fitting frame of its neighbourhood ...
        if score[i] >= score[max(0, i - 2):i + 3].max():
            out[i] = True
            # ... and its better neighbour where that fits too: a corner between frames, or blurred by content
            j = i - 1 if score[i - 1] > score[min(i + 1, n - 1)] else i + 1
            out[j] |= score[j] > 0
    return out

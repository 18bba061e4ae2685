"""Curves over a shot: relative pair measurements integrated by least squares into one curve per channel (or
field node), and the smooth Hodrick-Prescott trend of a curve (what stays: fades, exposure drift) that the
flicker is the departure from. Both are banded systems, solved in O(frames)."""

from __future__ import annotations

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


def trend(x: np.ndarray, lam: float, breaks: np.ndarray, robust: bool = True) -> np.ndarray:
    """Hodrick-Prescott trend of each column of x (n, batch): argmin sum u (x - t)^2 + lam sum (second
    difference of t)^2, no second difference across a break (breaks[i]: a jump between i-1 and i); with
    ``robust`` a few reweightings (Huber) so single outlying frames (flashes) do not pull the trend."""
    n = x.shape[0]
    if n < 3:
        return x.copy()
    rows = np.ones(n - 2)  # second difference over (j, j+1, j+2)
    for i in np.flatnonzero(breaks):
        rows[max(0, i - 2):min(n - 2, i)] = 0.0
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

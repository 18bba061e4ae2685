"""Pair fits: the gain and offset per channel (and, for regional flicker, the smooth field left after them)
that take an aligned neighbour to a frame. These relative measurements are what the solve integrates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from ...analysis.seams import Moments, moments
from .basics import median_rows, ordered_sum
from .field import fit_field

FIT_SAMPLES = 5000  # pixels per pair for the per-channel gain/offset fit: plenty for a robust fit, cheap
CLIP_LO, CLIP_HI = 3.0, 252.0  # pixels outside in either frame are clipped: they carry no gain
FLAT_SPREAD = 9.0  # under 3 levels of spread (variance 9) the gain cannot be told from the offset


@dataclass
class Pair:
    k: int  # the other frame is this one - k
    log_gain: np.ndarray  # (3,) per channel: this = gain * other + offset on aligned pixels
    offset: np.ndarray  # (3,)
    w_gain: np.ndarray  # (3,) inverse variances of the two
    w_off: np.ndarray
    residual: np.ndarray  # (3,) robust std of what the fit leaves (levels)
    cells: Optional[np.ndarray] = None  # (cells h, cells w) log gain left per cell after the global fit
    cell_w: Optional[np.ndarray] = None
    look: Optional[Moments] = None  # moments of the samples (other -> this), for the seam stage's colour fits


def fit_pair(cur: np.ndarray, warped: np.ndarray, ok: np.ndarray, k: int, cells, regional: bool) -> Optional[Pair]:
    """Gain and offset per channel taking the aligned neighbour to this frame: a reduced-major-axis fit (noise
    on both sides does not bias it) with Cauchy weights against outliers, on trusted, unclipped pixels."""
    lo, hi = (CLIP_LO,) * 3, (CLIP_HI,) * 3
    valid = ok & (cv2.inRange(cur, lo, hi) != 0) & (cv2.inRange(warped, lo, hi) != 0)
    idx = np.flatnonzero(valid)
    if idx.size < max(64, 0.1 * valid.size):
        return None
    if idx.size > FIT_SAMPLES:
        idx = idx[:: idx.size // FIT_SAMPLES]
    # samples channel by channel, (3, m): every sum and median runs along contiguous rows
    y = np.ascontiguousarray(np.take(cur.reshape(-1, 3), idx, axis=0).T)
    x = np.ascontiguousarray(np.take(warped.reshape(-1, 3), idx, axis=0).T)
    a, b, s, n, vx, flat, w = _fit_channels(x, y)
    a, b, s, n, vx = (np.asarray(v, np.float64) for v in (a, b, s, n, vx))
    pair = Pair(k, np.log(a), b, np.where(flat, 1e-6, n * vx / s ** 2), n / s ** 2, s)
    pair.look = moments(x, y, w.min(0))  # the outliers of any channel left out of the colour fit
    if regional:
        pair.cells, pair.cell_w = fit_field(cur, warped, valid, a, b, s, cells)
    return pair


def _fit_channels(x: np.ndarray, y: np.ndarray):
    """The robust reduced-major-axis fit y = a x + b per row of (3, m) samples: (a, b, residual std, weight
    sum, x variance, rows too flat for a gain, the weights)."""
    w = np.ones_like(y)
    for _ in range(3):
        sw = ordered_sum(w)
        mx, my = ordered_sum(w * x) / sw, ordered_sum(w * y) / sw
        dx, dy = x - mx[:, None], y - my[:, None]
        vx, vy = ordered_sum(w * dx * dx) / sw, ordered_sum(w * dy * dy) / sw
        flat = vx < FLAT_SPREAD
        a = np.where(flat, 1.0, np.sqrt(vy / np.maximum(vx, 1e-6)))
        a = np.clip(a, 0.4, 2.5).astype(np.float32)
        b = (my - a * mx).astype(np.float32)
        r = y - a[:, None] * x - b[:, None]
        s = 1.4826 * median_rows(np.abs(r[:, ::2])) + 0.5
        w = 1.0 / (1.0 + (r / (3.0 * s)[:, None]) ** 2)
    return a, b, s, ordered_sum(w), vx, flat, w

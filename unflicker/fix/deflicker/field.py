"""The regional field: a smooth gain field (bilinear between the nodes of a coarse grid, 4 along the long side)
left after a pair's global gain and offset, its curves over the shot and what of them is flicker."""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from .basics import LUMA, luma, median_rows
from .trend import integrate, linked, trend

CELLS = 4  # nodes along the long side: breathing is smooth, and fewer nodes keep each one well measured
FIELD_RIDGE = 1e-2  # pulls nodes little seen (borders of a pan, occlusions) towards no change
FIELD_SAMPLES = 5000  # pixels per pair for the field's fit, as for the global one
# auto: RMS frame-to-frame change of the gain field above which regional flicker is corrected (steady real
# clips: 0.1-4.3 %, with a smooth ±10 % field re-drawn per frame: 5.4-6.9 %)
GATE_REGIONAL = 0.048

_bases: dict = {}


def grid_cells(height: int, width: int) -> tuple:
    """The regional grid (w, h) for frames of this size: CELLS along the long side, at least 2 along each."""
    side = max(height, width)
    return max(2, int(round(CELLS * width / side))), max(2, int(round(CELLS * height / side)))


def field_basis(shape: tuple, cells: tuple) -> np.ndarray:
    """(pixels, nodes) float32: each node's bilinear weight at every pixel of a frame of ``shape`` (the field of
    the node values is cv2.resize of the node grid, as it is applied)."""
    key = (shape, cells)
    got = _bases.get(key)
    if got is None:
        gx, gy = cells
        h, w = shape
        eye = np.eye(gx * gy, dtype=np.float32).reshape(gx * gy, gy, gx)
        got = np.stack([cv2.resize(e, (w, h), interpolation=cv2.INTER_LINEAR).ravel() for e in eye], axis=1)
        if len(_bases) > 4:
            _bases.clear()
        _bases[key] = got
    return got


def fit_field(cur: np.ndarray, warped: np.ndarray, valid: np.ndarray, a: np.ndarray, b: np.ndarray,
              s: np.ndarray, cells: tuple):
    """(log gain per node, node weights), each (cells h, cells w), of the field left between this frame and the
    aligned neighbour once the pair's global fit (gain ``a``, offset ``b``, residual ``s``) is taken out."""
    # the log ratio of this frame's luma to the fitted neighbour's, on trusted pixels that the global fit
    # explains (a misaligned edge is an outlier, not a change of the local gain)
    fitted = cv2.transform(warped, np.hstack([np.diag(a), b[:, None]]).astype(np.float32))
    ly, lx = luma(cur), luma(fitted)
    sl = float(LUMA @ s)
    keep = valid & (np.abs(ly - lx) < 2.5 * sl) & (lx > 16.0) & (ly > 16.0)
    # a smooth field (bilinear between the nodes of a coarse grid) fitted by robust least squares to the
    # per-pixel log ratios: every kept pixel counts, and what is not smooth (local change) is left out
    basis = field_basis(ly.shape, cells)
    node_gains, node_weights = np.zeros((cells[1], cells[0])), np.zeros((cells[1], cells[0]))
    idx = np.flatnonzero(keep)
    if idx.size < 64:
        return node_gains, node_weights
    if idx.size > FIELD_SAMPLES:
        idx = idx[:: idx.size // FIELD_SAMPLES]
    v = np.log(np.maximum(ly.reshape(-1)[idx], 1.0) / np.maximum(lx.reshape(-1)[idx], 1.0))
    A = np.take(basis, idx, axis=0)  # (m, nodes)
    A64 = A.astype(np.float64)  # the weights turn float64 after the first round: cast once, not per use
    wt = np.ones_like(v)
    for _ in range(3):
        An = A64 if wt.dtype == np.float64 else A
        Aw = An * wt[:, None]
        info = Aw.T @ An
        coef = np.linalg.solve(info + FIELD_RIDGE * np.eye(len(info)) * max(float(np.trace(info)) / len(info), 1e-6),
                               Aw.T @ v)
        r = v - A64 @ coef
        sr = 1.4826 * float(median_rows(np.abs(r))) + 1e-4
        wt = 1.0 / (1.0 + (r / (3.0 * sr)) ** 2)
    node_gains = coef.reshape(cells[1], cells[0])
    node_weights = (np.diag(info) / max(float(np.diag(info).max()), 1e-9)).reshape(cells[1], cells[0])
    return node_gains, node_weights


def field_flicker(n: int, frames, distances, node_gains, node_weights, cell_shape: tuple, breaks: np.ndarray,
                  lam: float, kinks: Optional[np.ndarray] = None):
    """The field's flicker per frame, (n, cells h, cells w) float32 log gain, and its measure for auto (RMS of
    its frame-to-frame part), from the kept pairs' fields (frames / distances: which pair each field is of); the
    trend breaks and bends where the global one does (``breaks``, ``kinks``)."""
    r = integrate(n, frames, distances, np.array(node_gains), np.array(node_weights) + 1e-9)
    # a frame the kept pairs do not tie to its predecessor starts a new piece of the field's curves
    r_breaks = breaks | ~linked(n, frames, distances)
    r_breaks[0] = False
    rphi = r - trend(r, lam, r_breaks, robust=False, kinks=kinks)
    rphi -= rphi.mean(1, keepdims=True)  # the common part is the global gain's
    rphi = rphi.reshape(n, *cell_shape).astype(np.float32)
    # gated on its frame-to-frame part: flicker is; cells whose content slowly changes are not
    return rphi, float(np.sqrt(np.mean(np.diff(rphi, axis=0) ** 2) / 2))


def full_field(node_field: Optional[np.ndarray], size: tuple) -> Optional[np.ndarray]:
    """A node grid's gain field at the full frame size (h, w), bilinear as the basis was; None stays None."""
    if node_field is None:
        return None
    h, w = size
    return cv2.resize(node_field, (w, h), interpolation=cv2.INTER_LINEAR)

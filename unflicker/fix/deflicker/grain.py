"""The grain probe: how much grain is re-drawn between two frames (and how much fine detail a frame has),
measured on a central crop lined up by its own full-resolution flow. ``auto`` filters texture only above
TEXTURE_MIN_NOISE."""

from __future__ import annotations

import cv2
import numpy as np

from ...measure import flow, metrics
from .basics import flows_both_ways, luma, robust_std

# auto: temporal grain (levels, in the quietest blocks, below) above which texture is filtered. The 14 real dev
# clips measure 0.2-1.4 untouched (their own shimmer, median over each clip), 2.4-3.9 with grain of std 4
# re-drawn per frame at any size (blur 0.5-1.5 px), 1.8-3.2 at std 3, 1.3-2.5 at std 2 (where texture filtering
# gains too: bench/grain_real.py)
TEXTURE_MIN_NOISE = 1.9
PROBE_SIDE = 192  # the probe's central crop: grain covers the frame, so a crop is evidence enough, and cheap
# grain is measured in the band a Gaussian low-pass of this std (px) leaves: wide enough to hold most of coarse
# grain (blur 1.5 px: 0.83 of its std; the former 2 px held 0.55, so auto missed std 4 at that size)
PROBE_SIGMA = 6.0
# ... as the mean square over blocks of PROBE_BLOCK px whose flow holds, at its PROBE_PERCENTILE-th percentile:
# the quietest blocks (flat, exactly aligned content) hold grain alone, while a clip's own shimmer, motion blur
# and warp error sit at edges and in textures; the median of every pixel (as before) counted those as grain
PROBE_BLOCK = 8
PROBE_PERCENTILE = 5


def probe_grain_fine(cur: np.ndarray, other: np.ndarray, affine: np.ndarray, side: int = PROBE_SIDE):
    """(grain, detail) between two full-size uint8 frames on a central crop aligned by its own full-resolution
    flow: real detail lines up to a fraction of a pixel there, so what is left is grain re-drawn between them."""
    return probe_finish(probe_align(cur, other, side), affine)


def probe_align(cur: np.ndarray, other: np.ndarray, side: int = PROBE_SIDE):
    """The first part of the grain probe, which needs no statistics (pass 1 runs it beside them): the central
    crop of ``cur``, ``other``'s crop warped onto it (float32) and the pixels where that flow holds; None where
    the frames are too small to align."""
    h, w = cur.shape[:2]
    ch, cw = min(h, side), min(w, side)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    a, b = cur[y0:y0 + ch, x0:x0 + cw], other[y0:y0 + ch, x0:x0 + cw]
    if min(ch, cw) < 16:
        return None
    ga, gb = flow.to_gray(a), flow.to_gray(b)
    fw, bw = flows_both_ways(ga, gb, "fast")
    mapping = cv2.add(metrics.pixel_map(ch, cw), fw)
    ok = flow.occlusion_mask(fw, bw, tol=0.5) & metrics.inside(mapping)
    ok[:4], ok[-4:], ok[:, :4], ok[:, -4:] = False, False, False, False
    warped = cv2.remap(b.astype(np.float32), mapping, None, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return a, warped, ok


def probe_finish(aligned, affine: np.ndarray):
    """(grain, detail) from probe_align's result, the neighbour's crop taken through ``affine`` first."""
    if aligned is None:
        return 0.0, 0.0
    a, warped, ok = aligned
    return _grain_and_detail(cv2.transform(warped, affine), a, ok)


def _grain_and_detail(warped: np.ndarray, cur: np.ndarray, ok: np.ndarray):
    """Grain that differs between two aligned frames (std per frame, levels): the high-pass part of their
    difference, so leftover low-frequency flicker and smooth warp error do not count, in the quietest blocks;
    and the frame's own fine detail (a 2 px high-pass of the frame, robust std)."""
    lc = luma(cur.astype(np.float32))
    diff = luma(warped) - lc
    hp = diff - cv2.GaussianBlur(diff, (0, 0), PROBE_SIGMA)
    own = lc - cv2.GaussianBlur(lc, (0, 0), 2.0)
    return _quiet_std(hp, ok) / np.sqrt(2.0), robust_std(own[ok]) if ok.any() else 0.0


def _quiet_std(hp: np.ndarray, ok: np.ndarray) -> float:
    """Root of the PROBE_PERCENTILE-th percentile of the mean square of ``hp`` over blocks where more than half
    the pixels are ``ok``; the robust std of every ok pixel where there are too few such blocks."""
    b = PROBE_BLOCK
    h, w = (hp.shape[0] // b) * b, (hp.shape[1] // b) * b
    if h and w:
        sq = np.where(ok[:h, :w], hp[:h, :w] * hp[:h, :w], 0.0).reshape(h // b, b, w // b, b).sum(axis=(1, 3))
        n = ok[:h, :w].reshape(h // b, b, w // b, b).sum(axis=(1, 3))
        held = n > b * b // 2
        if held.sum() >= 8:
            return float(np.sqrt(np.percentile(sq[held] / n[held], PROBE_PERCENTILE)))
    return robust_std(hp[ok]) if ok.any() else 0.0

"""The grain probe: how much fine grain is re-drawn between two frames (and how much fine detail a frame has),
measured on a central crop lined up by its own full-resolution flow. ``auto`` filters texture only above
TEXTURE_MIN_NOISE."""

from __future__ import annotations

import cv2
import numpy as np

from ...measure import flow, metrics
from .basics import flows_both_ways, luma, robust_std

# auto: temporal grain (levels, robust std) above which texture is filtered; steady real clips measure 0.7-3.2
# (their own shimmer), the same with grain of std ~4 re-drawn per frame 3.6-5.5
TEXTURE_MIN_NOISE = 3.4
PROBE_SIDE = 192  # the probe's central crop: grain covers the frame, so a crop is evidence enough, and cheap


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
    """Fine grain that differs between two aligned frames (robust std per frame, levels): the high-pass part of
    their difference, so leftover low-frequency flicker and smooth warp error do not count; and the frame's own
    fine detail (the same high-pass of the frame, robust std)."""
    lc = luma(cur.astype(np.float32))
    diff = luma(warped) - lc
    hp = diff - cv2.GaussianBlur(diff, (0, 0), 2.0)
    measured = robust_std(hp[ok]) / np.sqrt(2.0) if ok.any() else 0.0
    own = lc - cv2.GaussianBlur(lc, (0, 0), 2.0)
    return measured, robust_std(own[ok]) if ok.any() else 0.0

"""Dense optical flow (OpenCV DIS) and the warps built on it, shared by analysis, deflicker and interpolation;
the warping error (Lai et al. 2018) of a clip along a reference clip's flow. Luma and the pixel grid are
:mod:`unflicker.measure.metrics` (re-exported here as ``LUMA_WEIGHTS`` / ``to_gray``)."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from .metrics import LUMA_WEIGHTS, pixel_grid, pixel_map, to_gray  # noqa: F401  (LUMA_WEIGHTS, to_gray: used as flow.*)

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
_dis_local = threading.local()  # DIS objects of this thread (see dis_flow): calls from two threads never share one


# OpenCV's DIS needs 16 px on each side; and on frames under 32 px high that are wider than 72 px its coarser
# pyramid levels run out of rows (an OpenCV error or a crash, 4.x/5.x)
DIS_MIN_SIDE, DIS_SHORT_HEIGHT, DIS_SHORT_MAX_WIDTH = 16, 32, 72


def dis_fits(shape: tuple) -> bool:
    """Whether DIS flow runs on a grey image of ``shape`` (h, w). Where it does not, the deflicker compares pixel
    to pixel and the interpolation pads (``dis_padding``): each keeps what its output was tuned with."""
    h, w = shape[:2]
    return min(h, w) >= DIS_MIN_SIDE and (h >= DIS_SHORT_HEIGHT or w <= DIS_SHORT_MAX_WIDTH)


def dis_padding(shape: tuple) -> tuple[int, int]:
    """Rows and columns to add (replicating the border) so that DIS runs on an image of ``shape``: (0, 0) where
    it runs as it is."""
    if dis_fits(shape):
        return 0, 0
    h, w = shape[:2]
    return max(0, DIS_SHORT_HEIGHT - h), max(0, DIS_SHORT_HEIGHT - w)


_DIS_KEPT = 16  # DIS objects kept per thread (sizes x presets in use at once)


def dis_flow(gray_a: np.ndarray, gray_b: np.ndarray, preset: str = "fast") -> np.ndarray:
    """Flow from a to b, (H, W, 2) float32: pixel x in a moves to x + flow(x) in b."""
    # One DIS object per preset and frame size: DIS lowers its finest scale for a small frame and keeps it, so an
    # object shared between sizes would make a clip's flow depend on what ran before it.
    cache = _dis_local.__dict__.setdefault("cache", {})
    key = (preset, gray_a.shape)
    dis = cache.get(key)
    if dis is None:
        if len(cache) >= _DIS_KEPT:
            cache.clear()
        dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
        cache[key] = dis
    return dis.calc(gray_a, gray_b, None)


def warp(image: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Backward warp: out(x) = image(x + flow(x)). With flow a->b and image = b, out lines b up with a."""
    h, w = flow.shape[:2]
    xs, ys = pixel_grid(h, w)
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], interpolation, borderMode=cv2.BORDER_REPLICATE)


def occlusion_mask(flow_fw: np.ndarray, flow_bw: np.ndarray, tol: float = 1.0, rel: float = 0.05) -> np.ndarray:
    """Forward-backward consistency: True where following a->b then back b->a returns near the start.

    |fw + bw(x + fw)|^2 < rel * (|fw|^2 + |bw(x + fw)|^2) + tol  (Sundaram et al. 2010, as in Lai et al. 2018).
    """
    h, w = flow_fw.shape[:2]
    bw_at = cv2.remap(flow_bw, cv2.add(pixel_map(h, w), flow_fw), None, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)  # warp(flow_bw, flow_fw), from one 2-channel map
    # per-component arithmetic (numpy sums over a last axis of length 2 are many times slower), in place
    fx, fy = cv2.split(flow_fw)
    bx, by = cv2.split(bw_at)
    err, ey = fx + bx, fy + by
    err *= err
    err += np.multiply(ey, ey, out=ey)  # |fw + bw(x + fw)|^2
    mag = fx * fx
    mag += np.multiply(fy, fy, out=fy)
    mag += np.multiply(bx, bx, out=bx)
    mag += np.multiply(by, by, out=by)
    mag *= rel
    mag += tol
    return err < mag


def reference_flows(clean: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Flow t -> t-1 on a clean clip and its occlusion mask, the reference for :func:`warping_error`."""
    out = []
    for t in range(1, len(clean)):
        a, b = to_gray(clean[t]), to_gray(clean[t - 1])
        fw, bw = dis_flow(a, b, "medium"), dis_flow(b, a, "medium")
        out.append((fw, occlusion_mask(fw, bw)))
    return out


def warping_error(frames: np.ndarray, flows) -> float:
    """Mean squared difference (levels²) between each frame and its predecessor warped onto it, on
    non-occluded pixels, with flows from the clean clip (Lai et al. 2018's measure)."""
    errs = []
    for t, (fw, mask) in enumerate(flows, start=1):
        prev = warp(frames[t - 1].astype(np.float32), fw)
        d = np.sum((frames[t].astype(np.float32) - prev) ** 2, axis=-1) / 3.0
        errs.append(float(d[mask].mean()) if mask.any() else 0.0)
    return float(np.mean(errs))

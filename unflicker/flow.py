"""Dense optical flow (OpenCV DIS) and the warps built on it, shared by analysis, deflicker and interpolation."""

from __future__ import annotations

import functools

import cv2
import numpy as np

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
_dis_cache: dict[str, "cv2.DISOpticalFlow"] = {}
LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], np.float32)  # BT.709 R, G, B: the one luma of the pack


def to_gray(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> uint8 luma (H, W), BT.709 weights as everywhere else in the pack."""
    if frame.ndim == 2:
        return frame
    return cv2.transform(frame, LUMA_WEIGHTS[None, :]).astype(np.uint8) \
        if frame.dtype == np.uint8 else np.clip(frame @ LUMA_WEIGHTS, 0, 255).astype(np.uint8)


def dis_flow(gray_a: np.ndarray, gray_b: np.ndarray, preset: str = "fast") -> np.ndarray:
    """Flow from a to b, (H, W, 2) float32: pixel x in a moves to x + flow(x) in b."""
    dis = _dis_cache.get(preset)
    if dis is None:
        dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
        _dis_cache[preset] = dis
    return dis.calc(gray_a, gray_b, None)


@functools.lru_cache(maxsize=8)  # the same frame size comes back for every pair; callers never modify it
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def warp(image: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Backward warp: out(x) = image(x + flow(x)). With flow a->b and image = b, out lines b up with a."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], interpolation, borderMode=cv2.BORDER_REPLICATE)


def occlusion_mask(flow_fw: np.ndarray, flow_bw: np.ndarray, tol: float = 1.0, rel: float = 0.05) -> np.ndarray:
    """Forward-backward consistency: True where following a->b then back b->a returns near the start.

    |fw + bw(x + fw)|^2 < rel * (|fw|^2 + |bw(x + fw)|^2) + tol  (Sundaram et al. 2010, as in Lai et al. 2018).
    """
    bw_at = warp(flow_bw, flow_fw)
    # per-component arithmetic: numpy sums over a last axis of length 2 are many times slower
    fx, fy = cv2.split(flow_fw)
    bx, by = cv2.split(bw_at)
    ex, ey = fx + bx, fy + by
    err = ex * ex + ey * ey
    mag = fx * fx + fy * fy + bx * bx + by * by
    return err < rel * mag + tol

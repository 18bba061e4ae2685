"""What every stage of the deflicker uses: luma, uint8 rounding, the frame check, flow both ways, and the
order-exact sums and medians the fits were tuned with."""

from __future__ import annotations

import cv2
import numpy as np

from ...errors import UnflickerError
from ...measure import flow

LUMA = flow.LUMA_WEIGHTS


def check_frame(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise UnflickerError(f"frames must be uint8 RGB (height, width, 3); got {frame.dtype} {frame.shape}")
    return frame


def flows_both_ways(a: np.ndarray, b: np.ndarray, preset: str):
    """DIS flows a -> b and b -> a between two uint8 grey images; zero where DIS cannot run on them (then pixel
    is compared to pixel: such strips are too thin to have shown motion the fits need)."""
    if flow.dis_fits(a.shape):
        return flow.dis_flow(a, b, preset), flow.dis_flow(b, a, preset)
    zero = np.zeros((*a.shape[:2], 2), np.float32)
    return zero, zero


def luma(img: np.ndarray) -> np.ndarray:
    return cv2.transform(img, LUMA[None, :]) if img.dtype == np.float32 else img @ LUMA


def to_u8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    return cv2.add(img, 0.0, dtype=cv2.CV_8U)  # rounds and saturates


def ordered_sum(a: np.ndarray) -> np.ndarray:
    """Sums along the last axis, added strictly in order (float32 rounding as a running sum has it): the fits
    were tuned with these figures, and a running sum of a few thousand samples is plenty accurate."""
    return np.cumsum(a, axis=-1)[..., -1]


def median_rows(a: np.ndarray) -> np.ndarray:
    """np.median along the last axis (the same figures), from one partition instead of two."""
    n = a.shape[-1]
    h = n // 2
    part = np.partition(a, h, axis=-1)
    upper = part[..., h]
    if n % 2:
        return upper
    return (part[..., :h].max(axis=-1) + upper) / 2


def robust_std(x: np.ndarray) -> float:
    if x.size == 0:
        return 0.0
    return float(1.4826 * median_rows(np.abs(x - median_rows(x))))

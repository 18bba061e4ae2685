"""Pixel geometry and picture measures, defined once for the whole pack (numpy and OpenCV only).

- ``LUMA_WEIGHTS`` / :func:`to_gray` / :func:`mean_luma`: the one BT.709 luma.
- :func:`pixel_grid` (x and y of every pixel, two float32 images) and :func:`pixel_map` (the same as one
  2-channel image, a ``cv2.remap`` map once a flow is added); :func:`inside` (where such a map points inside the
  frame) and :func:`flow_stays_inside`.
- :func:`psnr` and :func:`ssim`: a clip against a reference clip (the clean clip flicker was injected into).

Optical flow and the measures built on it (warping error) are :mod:`unflicker.measure.flow`.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], np.float32)  # BT.709 R, G, B: the one luma of the pack


def to_gray(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> uint8 luma (H, W), BT.709 weights as everywhere else in the pack."""
    if frame.ndim == 2:
        return frame
    return cv2.transform(frame, LUMA_WEIGHTS[None, :]).astype(np.uint8) \
        if frame.dtype == np.uint8 else np.clip(frame @ LUMA_WEIGHTS, 0, 255).astype(np.uint8)


def mean_luma(frames) -> np.ndarray:
    """Mean BT.709 luma (0-255) of each frame."""
    return np.array([float(np.asarray(f, np.float32).reshape(-1, 3).mean(0) @ LUMA_WEIGHTS) for f in frames])


# ---------------------------------------------------------------- pixel geometry
@functools.lru_cache(maxsize=8)  # the same frame size comes back for every pair; callers never modify it
def pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys): the x and the y of every pixel, float32 (h, w) each. Shared and read-only: do not modify."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


@functools.lru_cache(maxsize=8)
def pixel_map(h: int, w: int) -> np.ndarray:
    """(x, y) of every pixel as one 2-channel float32 image: a CV_32FC2 remap map once a flow is added.
    Shared and read-only: do not modify."""
    return cv2.merge(pixel_grid(h, w))


def inside(mapping: np.ndarray) -> np.ndarray:
    """Where a 2-channel remap map (x, y per pixel) points inside the frame (bounds included), as bool (h, w)."""
    h, w = mapping.shape[:2]
    return cv2.inRange(mapping, (0.0, 0.0), (w - 1.0, h - 1.0)) != 0


def flow_stays_inside(flow: np.ndarray) -> np.ndarray:
    """Where x + flow(x) lands inside the frame."""
    return inside(cv2.add(pixel_map(*flow.shape[:2]), flow))


# ---------------------------------------------------------------- a clip against a reference
def psnr(a, b) -> float:
    """PSNR (dB) of clip a against clip b, e.g. against the clean clip the sample was made from."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 99.0 if mse < 1e-10 else 10.0 * float(np.log10(255.0 ** 2 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over frames (luma, Gaussian window 1.5, the usual constants)."""
    vals = []
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    for fa, fb in zip(a, b):
        x, y = to_gray(fa).astype(np.float64), to_gray(fb).astype(np.float64)
        mx, my = cv2.GaussianBlur(x, (11, 11), 1.5), cv2.GaussianBlur(y, (11, 11), 1.5)
        sxx = cv2.GaussianBlur(x * x, (11, 11), 1.5) - mx * mx
        syy = cv2.GaussianBlur(y * y, (11, 11), 1.5) - my * my
        sxy = cv2.GaussianBlur(x * y, (11, 11), 1.5) - mx * my
        s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        vals.append(float(s.mean()))
    return float(np.mean(vals))

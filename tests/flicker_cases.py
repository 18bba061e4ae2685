"""Flicker injectors and quality measures shared by the deflicker tests and bench/deflicker_quality.py.

Definitions follow issue 5: global brightness ±10 %, regional ±10 % smooth gain field, colour cast ±8 levels per
channel, fine texture noise re-sampled every frame, codec damage at a high crf. Every injector is seeded and
returns a new uint8 clip (N, H, W, 3). (The analyzer adds its own versions to unflicker/synthetic.py; these are
kept here so the deflicker tests do not depend on them.)
"""

from __future__ import annotations

import os
import tempfile

import cv2
import numpy as np

from unflicker import flow, synthetic
from unflicker.demo import mean_luma, psnr  # noqa: F401  (the deflicker tests and bench use them from here)

FLICKER_KINDS = ("brightness", "regional", "colour", "texture", "codec")


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def brightness(clip: np.ndarray, amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    """Every frame times one gain drawn from [1 - amplitude, 1 + amplitude]."""
    return synthetic.brightness_flicker(clip, amplitude, seed)[0]


def regional(clip: np.ndarray, amplitude: float = 0.1, seed: int = 0, grid: int = 3) -> np.ndarray:
    """Every frame times its own smooth gain field in [1 - amplitude, 1 + amplitude] (a 3x3 grid, cubic)."""
    rng = np.random.default_rng(seed)
    n, h, w = clip.shape[:3]
    out = np.empty_like(clip)
    for t in range(n):
        field = cv2.resize(rng.uniform(-amplitude, amplitude, (grid, grid)).astype(np.float32), (w, h),
                           interpolation=cv2.INTER_CUBIC)
        gain = 1.0 + np.clip(field, -amplitude, amplitude)
        out[t] = _u8(clip[t].astype(np.float32) * gain[..., None])
    return out


def colour(clip: np.ndarray, levels: int = 8, seed: int = 0) -> np.ndarray:
    """Every frame shifted by its own offset per channel, drawn from [-levels, levels]."""
    rng = np.random.default_rng(seed)
    offsets = rng.uniform(-levels, levels, (len(clip), 1, 1, 3)).astype(np.float32)
    return _u8(clip.astype(np.float32) + offsets)


def texture(clip: np.ndarray, strength: float = 6.0, seed: int = 0) -> np.ndarray:
    """Fine grain re-sampled every frame: white noise blurred to ~1 px grain, std ``strength`` levels."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(clip)
    for t, frame in enumerate(clip):
        noise = cv2.GaussianBlur(rng.standard_normal(frame.shape[:2]).astype(np.float32), (0, 0), 0.7)
        noise *= strength / (noise.std() + 1e-6)
        out[t] = _u8(frame.astype(np.float32) + noise[..., None])
    return out


def codec(clip: np.ndarray, crf: int = 40, fps: float = 8.0, seed: int = 0) -> np.ndarray:
    """Round trip through h264 at a high crf (real ffmpeg via unflicker.video)."""
    from unflicker import video

    with tempfile.TemporaryDirectory(prefix="unflicker-codec-") as tmp:
        path = os.path.join(tmp, "damaged.mp4")
        video.write_video(path, clip, fps, crf=crf, preset="veryfast")
        frames, _ = video.read_video(path)
    return frames[: len(clip)]


INJECT = {"brightness": brightness, "regional": regional, "colour": colour, "texture": texture, "codec": codec}


def inject(kind: str, clip: np.ndarray, seed: int = 0) -> np.ndarray:
    return INJECT[kind](clip, seed=seed)


# ---------------------------------------------------------------- measures
def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over frames (luma, Gaussian window 1.5, the usual constants)."""
    vals = []
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    for fa, fb in zip(a, b):
        x, y = flow.to_gray(fa).astype(np.float64), flow.to_gray(fb).astype(np.float64)
        mx, my = cv2.GaussianBlur(x, (11, 11), 1.5), cv2.GaussianBlur(y, (11, 11), 1.5)
        sxx = cv2.GaussianBlur(x * x, (11, 11), 1.5) - mx * mx
        syy = cv2.GaussianBlur(y * y, (11, 11), 1.5) - my * my
        sxy = cv2.GaussianBlur(x * y, (11, 11), 1.5) - mx * my
        s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        vals.append(float(s.mean()))
    return float(np.mean(vals))


def clean_flows(clean: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Flow t -> t-1 on the clean clip and its occlusion mask, the reference for the warping error."""
    out = []
    for t in range(1, len(clean)):
        a, b = flow.to_gray(clean[t]), flow.to_gray(clean[t - 1])
        fw, bw = flow.dis_flow(a, b, "medium"), flow.dis_flow(b, a, "medium")
        out.append((fw, flow.occlusion_mask(fw, bw)))
    return out


def warping_error(frames: np.ndarray, flows) -> float:
    """Mean squared difference (levels²) between each frame and its predecessor warped onto it, on
    non-occluded pixels, with flows from the clean clip (Lai et al. 2018's measure)."""
    errs = []
    for t, (fw, mask) in enumerate(flows, start=1):
        prev = flow.warp(frames[t - 1].astype(np.float32), fw)
        d = np.sum((frames[t].astype(np.float32) - prev) ** 2, axis=-1) / 3.0
        errs.append(float(d[mask].mean()) if mask.any() else 0.0)
    return float(np.mean(errs))



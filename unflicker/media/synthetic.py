"""Synthetic clips with known ground truth: textured scenes with real motion, and flicker injected on purpose.

Used by ``demo`` (a sample needs no download), by the tests and by the benchmarks. Everything is seeded.
"""

from __future__ import annotations

import numpy as np

from ..kinds import FLICKER

MOTIONS = ("static", "pan", "zoom", "objects", "fade")


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A colourful natural-looking texture: multi-octave smooth noise plus a few hard-edged shapes."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for octave, weight in ((4, 0.5), (16, 0.3), (64, 0.15), (256, 0.05)):
        gh, gw = max(2, height * octave // 512), max(2, width * octave // 512)
        noise = rng.random((gh, gw, 3)).astype(np.float32)
        img += weight * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    img = (img - img.min()) / (np.ptp(img) + 1e-6) * 170 + 40
    for _ in range(6):
        colour = rng.integers(30, 226, 3).tolist()
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(max(3, min(height, width) // 20), max(4, min(height, width) // 6)))
        if rng.random() < 0.5:
            cv2.circle(img, (cx, cy), r, colour, -1, lineType=cv2.LINE_AA)
        else:
            cv2.rectangle(img, (cx - r, cy - r), (cx + r, cy + r), colour, -1, lineType=cv2.LINE_AA)
    return np.clip(img, 0, 255).astype(np.uint8)


def moving_clip(motion: str = "pan", frames: int = 24, height: int = 128, width: int = 160, seed: int = 0,
                speed: float = 2.0) -> np.ndarray:
    """A clean clip (N, H, W, 3) uint8 whose only changes are real motion (or a real fade)."""
    import cv2

    if motion not in MOTIONS:
        raise ValueError(f"motion must be one of {MOTIONS}")
    margin = int(abs(speed) * frames) + 8
    big = texture(height + 2 * margin, width + 2 * margin, seed)
    out = np.empty((frames, height, width, 3), np.uint8)
    rng = np.random.default_rng(seed + 1)
    sprites = [(texture(height // 4, width // 5, seed + 10 + k), rng.uniform(-1, 1, 2) * speed * 1.5,
                rng.uniform(0.1, 0.7, 2)) for k in range(2)]
    for t in range(frames):
        if motion == "pan":
            frame = _shift(big, margin + speed * t, margin + 0.4 * speed * t, width, height)
        elif motion == "zoom":
            scale = 1.0 + 0.01 * speed * t
            center = (big.shape[1] / 2, big.shape[0] / 2)
            m = cv2.getRotationMatrix2D(center, 0, scale)
            m[:, 2] -= (margin, margin)
            frame = cv2.warpAffine(big, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        else:
            frame = big[margin:margin + height, margin:margin + width].copy()
        if motion == "objects":
            for sprite, vel, start in sprites:
                sh, sw = sprite.shape[:2]
                x = int(start[0] * width + vel[0] * t) % max(1, width - sw)
                y = int(start[1] * height + vel[1] * t) % max(1, height - sh)
                frame = frame.copy()
                frame[y:y + sh, x:x + sw] = sprite
        if motion == "fade":
            frame = (frame.astype(np.float32) * (1.0 - 0.8 * t / max(1, frames - 1))).astype(np.uint8)
        out[t] = frame
    return out


def _shift(big: np.ndarray, x0: float, y0: float, width: int, height: int) -> np.ndarray:
    import cv2

    m = np.float32([[1, 0, -x0], [0, 1, -y0]])
    return cv2.warpAffine(big, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def brightness_flicker(clip: np.ndarray, amplitude: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Multiply each frame by a random gain in [1 - amplitude, 1 + amplitude]; returns (clip, gains)."""
    rng = np.random.default_rng(seed)
    gains = 1.0 + rng.uniform(-amplitude, amplitude, len(clip))
    out = np.clip(clip.astype(np.float32) * gains[:, None, None, None], 0, 255).round().astype(np.uint8)
    return out, gains


def _smooth_field(rng: np.random.Generator, height: int, width: int, cells: tuple[int, int] = (3, 4)) -> np.ndarray:
    """A smooth random field in about [-1, 1] with zero mean: a few broad blobs, no fine structure."""
    import cv2

    coarse = rng.uniform(-1, 1, cells).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    field -= field.mean()
    return field / (np.abs(field).max() + 1e-6)


def regional_flicker(clip: np.ndarray, amplitude: float = 0.1, seed: int = 0, cells: tuple[int, int] = (3, 4),
                     normalised: bool = True) -> np.ndarray:
    """Local flicker: each frame is multiplied by its own smooth gain field 1 ± amplitude drawn on a coarse grid of
    ``cells`` (cubic). ``normalised``: the field has zero mean and reaches ±amplitude (the frame's overall
    brightness hardly changes while patches of it pump); otherwise cells are drawn from [-amplitude, amplitude]
    and the field is clipped there (the deflicker set's variant)."""
    import cv2

    rng = np.random.default_rng(seed)
    n, h, w = clip.shape[:3]
    out = np.empty_like(clip)
    for t in range(n):
        if normalised:
            gain = 1.0 + amplitude * _smooth_field(rng, h, w, cells)
        else:
            coarse = rng.uniform(-amplitude, amplitude, cells).astype(np.float32)
            gain = 1.0 + np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), -amplitude, amplitude)
        out[t] = np.clip(clip[t].astype(np.float32) * gain[..., None], 0, 255).round().astype(np.uint8)
    return out


def colour_flicker(clip: np.ndarray, levels: float = 8, seed: int = 0) -> np.ndarray:
    """Colour-cast flicker: each frame gets its own random offset in [-levels, levels] per channel."""
    rng = np.random.default_rng(seed)
    offsets = rng.uniform(-levels, levels, (len(clip), 1, 1, 3)).astype(np.float32)
    return np.clip(clip.astype(np.float32) + offsets, 0, 255).round().astype(np.uint8)


def texture_flicker(clip: np.ndarray, strength: float = 6.0, seed: int = 0, grain_sigma: float = 0.8) -> np.ndarray:
    """Generative re-sampling: fine detail (white noise blurred by ``grain_sigma`` px: grain about 1-2 px, std
    ``strength`` levels) drawn anew each frame, while the scene and its lighting stay put - what a diffusion model
    does when it re-invents texture."""
    import cv2

    rng = np.random.default_rng(seed)
    n, h, w = clip.shape[:3]
    out = np.empty_like(clip)
    for t in range(n):
        grain = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), grain_sigma)
        grain *= strength / (grain.std() + 1e-6)
        out[t] = np.clip(clip[t].astype(np.float32) + grain[..., None], 0, 255).round().astype(np.uint8)
    return out


def codec_damage(clip: np.ndarray, crf: int = 40, fps: float = 8) -> np.ndarray:
    """Round-trip through the real ffmpeg (h264 at a high crf): blocking, banding and quantisation noise."""
    import os
    import tempfile

    from . import video

    with tempfile.TemporaryDirectory(prefix="unflicker-codec-") as tmp:
        path = video.write_video(os.path.join(tmp, "damaged.mp4"), clip, fps, crf=crf, preset="veryfast")
        frames, _ = video.read_video(path)
    return frames[: len(clip)]


# ---------------------------------------------------------------- the deflicker set
# The kinds the deflicker tests and bench/deflicker_quality.py inject into clean clips, at one fixed strength each:
# global brightness ±10 %, regional ±10 % (a clipped 3x3 gain field), colour cast ±8 levels per channel, fine
# texture re-sampled every frame (std 6 levels), codec damage at crf 40.
FLICKER_KINDS = FLICKER


def inject(kind: str, clip: np.ndarray, seed: int = 0) -> np.ndarray:
    """``clip`` (uint8 (N, H, W, 3)) with one kind of the deflicker set's flicker, seeded; a new clip."""
    if kind == "brightness":
        return brightness_flicker(clip, 0.1, seed)[0]
    if kind == "regional":
        return regional_flicker(clip, 0.1, seed, cells=(3, 3), normalised=False)
    if kind == "colour":
        return colour_flicker(clip, 8, seed)
    if kind == "texture":
        return texture_flicker(clip, 6.0, seed, grain_sigma=0.7)
    if kind == "codec":
        return codec_damage(clip, 40, 8.0)
    raise ValueError(f"kind must be one of {', '.join(FLICKER_KINDS)}, got {kind!r}")

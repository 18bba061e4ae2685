"""Keypoint smoothing figures: jitter removed and lag behind real movement per smoothing strength.

A synthetic person (18 keypoints) stands still, makes a quick 100 px move (10 frames), stands, makes a slow
80 px move back (30 frames) and stands again; every keypoint gets 2 px (sd) of jitter at a 512 px detection
size. Jitter cut = 1 - RMS error of the smoothed keypoints / RMS error of the raw ones, on the still stretches.
Lag = the delay (frames) that best aligns the smoothed track with the true one during each move (worst move).
Optionally (--timing) the per-frame time of the body network at detect_resolution 512 with random weights.

    python bench/openpose_smoothing.py [--timing]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from unflicker.generate import pose as op  # noqa: E402

PERSON = np.array([
    (60, 40), (60, 62), (44, 62), (38, 88), (34, 112), (76, 62), (82, 88), (86, 112), (50, 118), (49, 150),
    (48, 182), (70, 118), (71, 150), (72, 182), (55, 35), (65, 35), (50, 38), (70, 38)], float)


def track():
    t = np.arange(150, dtype=float)

    def move(start, frames, a, b):
        s = np.clip((t - start) / frames, 0, 1)
        return a + (b - a) * (0.5 - 0.5 * np.cos(np.pi * s))

    return t, np.where(t < 60, move(30, 10, 0, 100), move(80, 30, 100, 20))


def lag(t, truth, out, window):
    return min((np.sqrt(np.mean((out[window] - np.interp(t[window] - d, t, truth)) ** 2)), d)
               for d in np.arange(0, 6.01, 0.1))[1]


def measure(params, seeds=4):
    t, truth = track()
    still = np.r_[0:28, 48:78, 122:150]
    cuts, lags = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        raw = []
        for dx in truth:
            p = np.concatenate([PERSON + (dx, 0.0), np.ones((18, 1))], 1)
            p[:, :2] += rng.normal(0, 2.0, (18, 2))
            raw.append(p[None])
        out = np.concatenate(list(op.smooth_pose_sequence(raw, scale=512, **params)))
        raw = np.concatenate(raw)
        shift = np.stack([truth, 0 * truth], 1)[:, None]
        e_raw = raw[:, :, :2] - PERSON - shift
        e_out = out[:, :, :2] - PERSON - shift
        cuts.append(1 - np.sqrt((e_out[still] ** 2).mean()) / np.sqrt((e_raw[still] ** 2).mean()))
        x = (out[:, :, 0] - PERSON[:, 0]).mean(1)
        lags.append(max(lag(t, truth, x, slice(26, 44)), lag(t, truth, x, slice(76, 114))))
    return float(np.mean(cuts)), float(np.max(lags))


def main() -> None:
    print("strength  min_cutoff  beta   jitter cut  worst lag (frames)")
    for strength in (0.0, 0.25, 0.5, 0.75, 1.0):
        params = op.smoothing_params(strength)
        cut, worst = measure(params)
        print(f"{strength:8.2f}  {params['min_cutoff']:10.5f}  {params['beta']:5.1f}   {cut:9.0%}  {worst:6.1f}")
    if "--timing" in sys.argv:
        import torch

        model = op.BodyPoseNet().eval()
        frame = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
        op.detect_body(model, frame)
        start = time.perf_counter()
        for _ in range(3):
            op.detect_body(model, frame)
        print(f"body network + decoding, 512x512 frame, CPU ({torch.get_num_threads()} threads): "
              f"{(time.perf_counter() - start) / 3:.2f} s/frame (random weights; shared machines read slower)")


if __name__ == "__main__":
    main()

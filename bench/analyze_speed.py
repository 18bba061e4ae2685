"""Speed and memory of the flicker analyzer at 512x512, against the seed's own script.

    python bench/analyze_speed.py [--frames 120] [--memory-frames 1000]

Prints frames/s for the classic measures (seed's mean abs diff, streamed), the full motion-compensated
analysis, and the seed's script reproduced (PNG frames on disk, read back, float64 mean abs diff), the ratio,
and the peak memory (ru_maxrss of a fresh process) of a full analysis of a long clip streamed from a generator.
Pins OpenCV to 2 threads, as on the 2-core target; other load on the machine slows every figure alike.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from unflicker import analysis  # noqa: E402
from unflicker.media import synthetic

SIZE = 512


def stream(frames: int, size: int = SIZE, seed: int = 3):
    """A long textured pan with brightness flicker, made frame by frame (never the whole clip in memory)."""
    # texture() has an octave of exactly 8-px cells that lines up with the codec grid; render 9/8 larger and
    # scale down so the bench clip looks like footage, not like blocking
    h, w = size + 64, size + 64 + frames * 2
    big = cv2.resize(synthetic.texture(h * 9 // 8, w * 9 // 8, seed), (w, h), interpolation=cv2.INTER_AREA)
    gains = 1.0 + np.random.default_rng(seed).uniform(-0.08, 0.08, frames)
    for t in range(frames):
        x = 32 + 2 * t
        frame = big[32:32 + size, x:x + size].astype(np.float32) * gains[t]
        yield np.clip(frame, 0, 255).astype(np.uint8)


def seed_script(folder: str) -> float:
    """The seed's measure as its script did it: PNG frames from disk, float64, mean abs diff, average."""
    from PIL import Image

    names = sorted(os.listdir(folder))
    prev, diffs = None, []
    for name in names:
        frame = np.asarray(Image.open(os.path.join(folder, name)).convert("RGB"), dtype=np.float64)
        if prev is not None:
            diffs.append(np.abs(frame - prev).mean())
        prev = frame
    return float(np.mean(diffs))


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    timed.cpu = time.process_time() - c  # CPU seconds of this process: what it costs with the cores to itself
    return out, time.perf_counter() - t


MEMORY_CHILD = """
import resource, sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
import cv2; cv2.setNumThreads(2)
from analyze_speed import stream
from unflicker import analysis
import tracemalloc
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
rep = analysis.analyze_frames(stream({n}), 24.0)
traced = tracemalloc.get_traced_memory()[1]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base / 1024, peak / 1024, traced / 2**20, rep.frame_count, ",".join(rep.kinds))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--memory-frames", type=int, default=1000)
    args = parser.parse_args()
    cv2.setNumThreads(2)
    n = args.frames
    clip = list(stream(n))
    load = os.getloadavg()[0]
    print(f"clip: {n} frames {SIZE}x{SIZE}; cores: {os.cpu_count()}; load average {load:.1f}"
          + (" (other processes compete for the CPU: figures are lower bounds)" if load > (os.cpu_count() or 1) else ""))

    classic, t_classic = timed(lambda: analysis.classic_measures(iter(clip)))
    print(f"classic measures (streamed, OpenCV):   {n / t_classic:8.0f} frames/s  (target >= 500)  "
          f"[{n / max(timed.cpu, 1e-9):.0f} per CPU-second]  "
          f"mean diff {classic['mean_diff_avg']:.2f} -> classic rule '{classic['classic_verdict']}'")
    for preset in ("fast", "ultrafast"):
        settings = analysis.AnalysisSettings(flow_preset=preset)
        rep, t_full = timed(lambda: analysis.analyze_frames(iter(clip), 24.0, settings=settings))
        print(f"full analysis (DIS {preset:9s}, 256 px): {n / t_full:8.1f} frames/s  (target >= 50)  "
              f"[{n / timed.cpu:.1f} frames per CPU-second]  kinds {rep.kinds}")
        if preset == "fast":
            t_full_default = t_full

    with tempfile.TemporaryDirectory(prefix="unflicker-bench-") as tmp:
        from PIL import Image

        _, t_write = timed(lambda: [Image.fromarray(f).save(os.path.join(tmp, f"{i:05d}.png")) for i, f in enumerate(clip)])
        seed_value, t_seed = timed(lambda: seed_script(tmp))
    print(f"seed script (PNG read, float64):        {n / t_seed:8.1f} frames/s  (writing the PNGs took another {t_write:.1f} s)")
    assert abs(seed_value - classic["mean_diff_avg"]) < 1e-6, (seed_value, classic["mean_diff_avg"])
    print(f"same number as the seed (mean diff {seed_value:.4f}); classic measures are {t_seed / t_classic:.0f}x faster "
          f"than the seed's script, the full analysis {t_seed / t_full_default:.1f}x")

    code = MEMORY_CHILD.format(root=ROOT, bench=os.path.dirname(os.path.abspath(__file__)), n=args.memory_frames)
    (out, t_mem) = timed(lambda: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    base, peak, traced, count, kinds = out.split()
    clip_gb = args.memory_frames * SIZE * SIZE * 3 / 1e9
    print(f"memory: full analysis of {count} frames {SIZE}x{SIZE} streamed from a generator ({clip_gb:.2f} GB as uint8): "
          f"peak RSS {float(peak):.0f} MB (after imports {float(base):.0f} MB; target < 1024 MB), peak of Python/numpy "
          f"allocations during the analysis {float(traced):.0f} MB; {t_mem:.0f} s, kinds {kinds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

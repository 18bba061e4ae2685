"""Batch throughput: clips per second of ``batch analyze`` and ``batch fix`` over 40 short real clips, on the local
executor with 1 and 2 one-thread workers and the default's own choice, and on Ray with 2 CPUs; peak memory per
worker for 20 and 40 clips.

    python bench/batch_scaling.py [--clips 40] [--frames 20] [--commands analyze fix] [--no-ray]

The clips are cut from the 14 real generations that ``../shared/corpus/real_clips.py`` fetches (350x350 or
480x480, each cut into pieces of ``--frames`` frames) and stored losslessly (FFV1) in a temporary folder. Every
figure is one whole ``python -m unflicker batch ...`` process, as a user runs it (start-up, reading, writing the
table included), on an empty output folder. Ray: a local cluster started beforehand with ``ray start --head
--num-cpus 2`` (its start-up is not timed; connecting to it is), then ``batch ... --ray auto``, torn down after.
A worker streams each clip through ffmpeg processes of its own (decoding, and encoding for fix), which run beside
it: one worker with one engine thread keeps about 1.4 cores busy, so on 2 cores two workers can be at most about
2 / 1.4 = 1.4x one; the "cores busy" lines show it. Peak memory per worker: the largest ``peak_rss_mib`` of the table's rows (each row: the peak resident memory of the
worker that ran it, so far), with 2 workers on the first half of the clips and on all of them.
"""

from __future__ import annotations

import argparse
import json
import resource
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "bench"))

import deflicker_real  # noqa: E402  (clip paths of the real corpus)

from unflicker.media import ffmpeg  # noqa: E402


def make_clips(folder: str, count: int, frames: int) -> list[str]:
    """``count`` clips of ``frames`` frames cut from the real corpus, in turn from each clip, as FFV1."""
    import numpy as np
    from PIL import Image, ImageSequence

    sources = []
    for path in deflicker_real.clip_paths():
        with Image.open(path) as im:
            sources.append(np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]))
    made, start = [], 0
    while len(made) < count:
        for k, clip in enumerate(sources):
            if len(made) == count:
                break
            piece = clip[start:start + frames] if start + frames <= len(clip) else clip[-frames:]
            out = os.path.join(folder, f"clip{len(made):03d}_{k:02d}.mkv")
            h, w = piece.shape[1:3]
            ffmpeg.run(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "24", "-i", "-",
                        "-c:v", "ffv1", "-pix_fmt", "bgr0", out], input_bytes=piece.tobytes())
            made.append(out)
        start += frames
    return made


def run_batch(command: str, clips: list[str], out: str, extra: list[str]) -> tuple[float, float, float]:
    """(seconds, the largest peak_rss_mib of its rows, cores kept busy) of one batch process on an empty output
    folder; cores busy: its processes' CPU time, ffmpeg's included, over the wall time (Ray's workers are not its
    processes: with --ray it counts the batch process alone)."""
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "unflicker", "batch", command, *clips, "--out", out, *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if r.returncode != 0:
        raise SystemExit(f"batch {command} {' '.join(extra)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    with open(os.path.join(out, f"batch-{command}.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return seconds, max(row.get("peak_rss_mib") or 0 for row in rows), cpu / seconds


def ray_cluster(cpus: int):
    ray = shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")
    subprocess.run([ray, "start", "--head", f"--num-cpus={cpus}", "--include-dashboard=false"], check=True,
                   capture_output=True)
    return lambda: subprocess.run([ray, "stop", "--force"], capture_output=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=40)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--commands", nargs="+", default=["analyze", "fix"])
    p.add_argument("--no-ray", action="store_true")
    args = p.parse_args(argv)
    root = tempfile.mkdtemp(prefix="unflicker-batch-bench-")
    try:
        os.makedirs(os.path.join(root, "in"))
        clips = make_clips(os.path.join(root, "in"), args.clips, args.frames)
        print(f"{len(clips)} clips of {args.frames} frames (350x350 / 480x480, real), {os.cpu_count()} cores, load "
              f"{os.getloadavg()[0]:.1f}")
        setups = [("local, 1 worker x 1 thread", ["--workers", "1", "--threads", "1"]),
                  ("local, 2 workers x 1 thread", ["--workers", "2", "--threads", "1"]),
                  ("local, default", [])]
        figures = {}
        for command in args.commands:
            for name, extra in setups:
                seconds, _, busy = run_batch(command, clips, os.path.join(root, "out"), extra)
                figures[(command, name)] = len(clips) / seconds
                print(f"{command:8} {name:32} {len(clips) / seconds:6.2f} clips/s ({seconds:.1f} s, "
                      f"{busy:.2f} cores busy)", flush=True)
            if not args.no_ray:
                stop = ray_cluster(2)
                try:
                    seconds = run_batch(command, clips, os.path.join(root, "out"), ["--ray", "auto"])[0]
                finally:
                    stop()
                figures[(command, "ray")] = len(clips) / seconds
                print(f"{command:8} {'ray, 2 CPUs (local cluster)':32} {len(clips) / seconds:6.2f} clips/s "
                      f"({seconds:.1f} s)", flush=True)
            half = clips[: len(clips) // 2]
            peaks = [run_batch(command, some, os.path.join(root, "out"), ["--workers", "2", "--threads", "1"])[1]
                     for some in (half, clips)]
            print(f"{command:8} peak RSS per worker: {peaks[0]:.0f} MiB for {len(half)} clips, "
                  f"{peaks[1]:.0f} MiB for {len(clips)}", flush=True)
            one, two = figures[(command, setups[0][0])], figures[(command, setups[1][0])]
            best = max(one, two)
            lines = [f"2 workers / 1 = {two / one:.2f} (target >= 1.7)",
                     f"default / best of those = {figures[(command, setups[2][0])] / best:.2f} (target >= 1)"]
            if (command, "ray") in figures:
                lines.append(f"ray / local 2 workers = {figures[(command, 'ray')] / two:.2f} (target >= 0.85)")
            print(f"{command:8} " + "; ".join(lines), flush=True)
        print(f"load at the end {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

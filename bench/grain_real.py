"""Grain of every strength on the real dev clips: per-frame independent grain injected over a grid of strengths and
sizes, fixed by the deflicker's ``texture`` mode and by ``auto``, scored (PSNR, lossless) against the untouched clip.

    nice python bench/grain_real.py                       # 14 clips, 24 frames, std {2..12} x blur {0.5, 1, 1.5}
    nice python bench/grain_real.py --clips 4 --frames 16 # quicker
    python bench/grain_real.py --json out.json --markdown

Grain: white noise per frame, Gaussian-blurred by sigma B px, then scaled so the grain itself has std S levels
(the strength the viewer sees: blurring alone would shrink std 4 at 1.5 px to under 1 level), luma (added to
all three channels alike), the same injector family as deflicker_real.py's ``texture`` kind.
Targets (issue #23): every cell >= the input's PSNR; >= input + 1 dB from std 4 up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "bench"))

from deflicker_real import clip_paths  # noqa: E402
from unflicker.fix.deflicker import deflicker_frames  # noqa: E402
from unflicker.media import video  # noqa: E402

STDS = (2, 3, 4, 6, 8, 12)
BLURS = (0.5, 1.0, 1.5)
METHODS = ("input", "texture", "auto")


def add_grain(clip: np.ndarray, std: float, blur: float, seed: int) -> np.ndarray:
    """``clip`` with luma grain re-drawn every frame: white noise blurred by ``blur`` px, scaled to std ``std``."""
    rng = np.random.default_rng(seed)
    n, h, w = clip.shape[:3]
    out = np.empty_like(clip)
    for t in range(n):
        noise = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), blur)
        noise *= np.float32(std / max(float(noise.std()), 1e-6))
        out[t] = np.clip(np.round(clip[t] + noise[..., None]), 0, 255).astype(np.uint8)
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR over the whole clip (one mean squared error, as deflicker_real.py scores)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def run(paths, stds, blurs, methods, frames: int, seed: int, log=print) -> dict:
    """{"std/blur": {clip: {method: psnr}}}."""
    results: dict = {f"{s}/{b}": {} for s in stds for b in blurs}
    for path in paths:
        name = os.path.basename(path).rsplit(".", 1)[0]
        clip, info = video.read_video(path)
        clip, fps = clip[:frames] if frames else clip, float(info.fps)
        for s in stds:
            for b in blurs:
                bad = add_grain(clip, s, b, seed + zlib.crc32(f"{name}/{s}/{b}".encode()) % 100000)
                row = {}
                for m in methods:
                    out = bad if m == "input" else np.stack(list(deflicker_frames(bad, fps, m)))
                    row[m] = _psnr(out, clip)
                results[f"{s}/{b}"][name] = row
                log(f"{name[:30]:<31} std {s:>2} blur {b}: " + "  ".join(f"{m} {v:.2f}" for m, v in row.items()))
    return results


def means(results: dict) -> dict:
    return {cell: {m: float(np.mean([r[m] for r in rows.values()])) for m in next(iter(rows.values()))}
            for cell, rows in results.items() if rows}


def report(avg: dict, md: bool) -> int:
    methods = list(next(iter(avg.values())))
    print(f"\nmean PSNR (dB) against the untouched clip\n{'std/blur':<10}" + "".join(f"{m:>10}" for m in methods)
          + "".join(f"{'Δ' + m:>10}" for m in methods[1:]))
    ok = True
    for cell, r in avg.items():
        std = float(cell.split("/")[0])
        print(f"{cell:<10}" + "".join(f"{r[m]:>10.2f}" for m in methods)
              + "".join(f"{r[m] - r['input']:>+10.2f}" for m in methods[1:]))
        for m in methods[1:]:
            need = 1.0 if std >= 4 else 0.0
            if r[m] < r["input"] + need:
                ok = False
                print(f"  [FAIL] {m} at std/blur {cell}: {r[m] - r['input']:+.2f} dB, needs >= {need:+.1f}")
    print("targets: " + ("PASS (never below the input; >= +1 dB from std 4 up)" if ok else "FAIL"))
    if md:
        print("\n| grain std / blur (px) | input | " + " | ".join(f"`{m}`" for m in methods[1:]) + " |")
        print("| --- | --- |" + " --- |" * (len(methods) - 1))
        for cell, r in avg.items():
            print(f"| {cell.replace('/', ' / ')} | {r['input']:.2f} | " + " | ".join(
                f"{r[m]:.2f} ({r[m] - r['input']:+.2f})" for m in methods[1:]) + " |")
    return 0 if ok else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=0, help="every len/N-th clip, N of them (default all 14)")
    p.add_argument("--frames", type=int, default=24, help="at most N frames per clip (0: all)")
    p.add_argument("--stds", nargs="*", type=float, default=list(STDS))
    p.add_argument("--blurs", nargs="*", type=float, default=list(BLURS))
    p.add_argument("--methods", nargs="*", choices=METHODS[1:], default=list(METHODS[1:]))
    p.add_argument("--seed", type=int, default=23)
    p.add_argument("--threads", type=int, default=2, help="OpenCV threads")
    p.add_argument("--json", metavar="F", help="write every figure as JSON to F")
    p.add_argument("--from-json", metavar="F", help="print the table of an earlier --json run")
    p.add_argument("--markdown", action="store_true", help="also print the table as Markdown (the README's)")
    args = p.parse_args(argv)
    cv2.setNumThreads(args.threads)
    if args.from_json:
        with open(args.from_json) as f:
            return report(means(json.load(f)["results"]), args.markdown)
    paths = clip_paths()
    if args.clips:
        paths = paths[::max(1, len(paths) // args.clips)][:args.clips]
    stds = [int(s) if float(s).is_integer() else s for s in args.stds]
    results = run(paths, stds, args.blurs, ["input"] + args.methods, args.frames, args.seed)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "means": means(results)}, f, indent=1)
    return report(means(results), args.markdown)


if __name__ == "__main__":
    raise SystemExit(main())

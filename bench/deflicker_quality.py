"""Deflicker quality: clean moving textured clips, flicker injected per kind, fixed by FFmpeg and by ours.

    python bench/deflicker_quality.py [--size 256x320] [--frames 32] [--quick]

For each kind (brightness, regional, colour, texture, codec, and clean input) and each clip (pan, zoom, moving
objects, fade) it measures PSNR/SSIM against the clean clip and the warping error (flows from the clean clip), for
the flickered clip, FFmpeg `deflicker=size=5:mode=am`, ours in auto mode and ours with the kind named. Prints the
means over clips and the issue's targets with pass/fail.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO]

from unflicker.measure import flow  # noqa: E402
from unflicker.measure import metrics
from unflicker.media import synthetic
from unflicker.fix.deflicker import deflicker_frames  # noqa: E402
from unflicker.fix.ffmpeg_fix import fix_frames  # noqa: E402
from unflicker.settings import FFmpegFixSettings  # noqa: E402

MOTIONS = ("pan", "zoom", "objects", "fade")
KINDS = ("clean", "brightness", "regional", "colour", "texture", "codec")
FPS = 8.0


def ffmpeg_deflicker(clip: np.ndarray) -> np.ndarray:
    settings = FFmpegFixSettings(deflicker=True, size=5, mode="am", deband=False)
    h, w = clip.shape[1:3]
    return np.stack(list(fix_frames(iter(clip), w, h, FPS, settings)))


def ours(clip: np.ndarray, kinds="auto") -> np.ndarray:
    return np.stack(list(deflicker_frames(clip, FPS, kinds)))  # in memory: read twice, the whole shot solved


def make_clip(motion: str, frames: int, height: int, width: int, seed: int) -> np.ndarray:
    return synthetic.moving_clip(motion, frames, height, width, seed=seed, speed=1.5)


def evaluate(kind: str, motions=MOTIONS, frames: int = 24, height: int = 96, width: int = 128, seed: int = 3,
             methods=("flickered", "ffmpeg", "ours", "ours_kind")) -> dict:
    """{method: {"psnr", "ssim", "warp", "fade_err", "seconds"}} as means over the clips."""
    rows: dict[str, dict[str, list]] = {m: {"psnr": [], "ssim": [], "warp": [], "fade_err": [], "seconds": []} for m in methods}
    for j, motion in enumerate(motions):
        clean = make_clip(motion, frames, height, width, seed + j)
        bad = clean if kind == "clean" else synthetic.inject(kind, clean, seed=seed + 100 * j)
        flows = flow.reference_flows(clean)
        for m in methods:
            t0 = time.perf_counter()
            if m == "flickered":
                out = bad
            elif m == "ffmpeg":
                out = ffmpeg_deflicker(bad)
            elif m == "ours":
                out = ours(bad)
            else:
                out = ours(bad, "all" if kind in ("clean", "codec") else kind)
            r = rows[m]
            r["seconds"].append(time.perf_counter() - t0)
            r["psnr"].append(metrics.psnr(out, clean))
            r["ssim"].append(metrics.ssim(out, clean))
            r["warp"].append(flow.warping_error(out, flows))
            if motion == "fade":
                # the fade survives: mean luma follows the clean fade (mean abs gap, levels)
                r["fade_err"].append(float(np.abs(metrics.mean_luma(out) - metrics.mean_luma(clean)).mean()))
    return {m: {k: float(np.mean(v)) if v else float("nan") for k, v in r.items()} for m, r in rows.items()}


def targets(results: dict) -> list[tuple[str, bool, str]]:
    """The issue's acceptance margins (ours = auto mode)."""
    out = []
    if "brightness" in results:
        r = results["brightness"]
        out.append(("brightness: ours >= FFmpeg + 2.5 dB", r["ours"]["psnr"] >= r["ffmpeg"]["psnr"] + 2.5,
                    f"{r['ours']['psnr']:.2f} vs {r['ffmpeg']['psnr']:.2f}"))
    if "regional" in results:
        r = results["regional"]
        out.append(("regional: ours >= flickered + 3 dB", r["ours"]["psnr"] >= r["flickered"]["psnr"] + 3,
                    f"{r['ours']['psnr']:.2f} vs {r['flickered']['psnr']:.2f}"))
    if "colour" in results:
        r = results["colour"]
        out.append(("colour: ours >= flickered + 4 dB", r["ours"]["psnr"] >= r["flickered"]["psnr"] + 4,
                    f"{r['ours']['psnr']:.2f} vs {r['flickered']['psnr']:.2f}"))
    if "texture" in results:
        r = results["texture"]
        out.append(("texture: no PSNR loss", r["ours"]["psnr"] >= r["flickered"]["psnr"],
                    f"{r['ours']['psnr']:.2f} vs {r['flickered']['psnr']:.2f}"))
        cut = 1 - r["ours"]["warp"] / r["flickered"]["warp"]
        out.append(("texture: warping error -30 %", cut >= 0.30, f"{-100 * cut:+.0f} %"))
    if "clean" in results:
        r = results["clean"]
        out.append(("clean passes through >= 45 dB", r["ours"]["psnr"] >= 45, f"{r['ours']['psnr']:.2f} dB"))
    fades = [(k, r["ours"]["fade_err"]) for k, r in results.items() if not np.isnan(r["ours"]["fade_err"])]
    if fades:
        worst = max(v for _, v in fades)
        out.append(("the fade survives (mean luma within 2 levels of the clean fade)", worst <= 2.0,
                    f"worst gap {worst:.2f} levels ({max(fades, key=lambda x: x[1])[0]})"))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="192x256", help="HxW (default 192x256)")
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--kinds", nargs="*", default=list(KINDS))
    args = p.parse_args(argv)
    h, w = map(int, args.size.lower().split("x"))
    results = {}
    print(f"clips: {', '.join(MOTIONS)}; {args.frames} frames {w}x{h}; means over clips")
    print(f"{'kind':<11}{'method':<11}{'PSNR dB':>9}{'SSIM':>8}{'warp err':>10}{'fade gap':>10}{'s/clip':>8}")
    for kind in args.kinds:
        res = results[kind] = evaluate(kind, frames=args.frames, height=h, width=w, seed=args.seed)
        for m, r in res.items():
            fade = "" if np.isnan(r["fade_err"]) else f"{r['fade_err']:.2f}"
            print(f"{kind:<11}{m:<11}{r['psnr']:>9.2f}{r['ssim']:>8.4f}{r['warp']:>10.2f}{fade:>10}{r['seconds']:>8.2f}")
        sys.stdout.flush()
    print("\ntargets (ours = auto mode; ours_kind = the kind named, 'all' for clean/codec):")
    ok_all = True
    for name, ok, detail in targets(results):
        ok_all &= ok
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())

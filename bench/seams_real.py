"""Seams and drift on the 14 real AI-generated clips (issue 23's acceptance), scored losslessly against the
untouched clip.

    nice python bench/seams_real.py [--clips 14] [--only 2 5] [--json out.json]
    nice python bench/seams_real.py --speed     # auto on a 512x512 seam clip, frames per second

Cases, each with a fixed seed per clip:

  chained    the clip cut into segments of 12-24 frames, each segment's look the one before's darker by 2-5 %,
             a colour cast of 2-4 levels per channel and 3-8 % more saturation (jitter: every amount drawn per
             segment); scored: mean step at the boundaries (levels, against the untouched clip's own change
             there), the last segment's mean colour error, PSNR and SSIM. Methods: the input; ours with the
             segments given (segment_starts); ours auto (seams found); the two "match every frame to the first"
             baselines (a colour transfer by per-channel mean/std, and by a full 3x3 colour map: means and
             covariances matched).
  periodic   the same looks with a seam every N frames, N = 4 + clip index mod 13 (4-16, decoder tiles): the
             analyzer's period, and auto's PSNR.
  Where a clip cannot meet the targets (the figures in the README), the reason is in the clip, not the scoring:
  a boundary that falls inside a real change of light (Kling's 39 lands in a four-frame burst of light, +37 %
  luma, that a cut ends; Seedance's 21 on the clip's own 6 % darkening between two flickering frames) adds the
  clip's own step to the seam's, which nothing measured on the flickered clip tells apart; and seams no larger
  than the clip's own frame-to-frame steps (Causal Forcing: 25 frames, two seams of 1.7-2.3 levels beyond the
  change under way against 1.2 typical and up to 3.9 on the clean clip) are not found by auto. These are scored
  as they are: the bench keeps the cases a user could meet.
  fade / light / shade   intended change and no seams: a fade to 35 % over the last third, a light going down by
             45 % at once and staying, a gain easing to 0.7 over the middle third (a pan into shade): ours auto
             against the changed clip (>= 50 dB); clean: bit-exact.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from fractions import Fraction

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "bench"))

from deflicker_real import clip_paths  # noqa: E402
from unflicker.analysis import analyze_frames  # noqa: E402
from unflicker.fix.deflicker import plan, run  # noqa: E402
from unflicker.measure import metrics  # noqa: E402
from unflicker.media import video  # noqa: E402
from unflicker.operation import Source  # noqa: E402
from unflicker.settings import DeflickerSettings  # noqa: E402

GREY = np.full((3, 3), 1.0 / 3.0)


def chained_looks(clip: np.ndarray, seed: int, lengths=(12, 24)) -> tuple[np.ndarray, list]:
    """The clip with a new, chained look from every segment start; (clip, starts)."""
    rng = np.random.default_rng(seed)
    out, n, starts = clip.astype(np.float64), len(clip), []
    gain, offset = np.eye(3), np.zeros(3)
    t = int(rng.integers(lengths[0], lengths[1] + 1))
    while t < n:
        starts.append(t)
        dark = 1 - rng.uniform(0.02, 0.05)
        cast = rng.uniform(2, 4, 3) * rng.choice([-1, 1], 3)
        sat = GREY + (1 + rng.uniform(0.03, 0.08)) * (np.eye(3) - GREY)
        gain, offset = dark * sat @ gain, dark * sat @ offset + cast
        end = min(n, t + int(rng.integers(lengths[0], lengths[1] + 1)))
        out[t:end] = out[t:end] @ gain.T + offset
        t = end
    return np.clip(np.round(out), 0, 255).astype(np.uint8), starts


def gain_curve(clip: np.ndarray, gains) -> np.ndarray:
    return np.clip(np.round(clip.astype(np.float64) * np.asarray(gains)[:, None, None, None]), 0, 255).astype(np.uint8)


def deflicker(clip: np.ndarray, fps: float, **settings) -> tuple[np.ndarray, object]:
    source = Source(clip.shape[2], clip.shape[1], len(clip), Fraction(fps).limit_denominator(1001))
    result = run(clip, plan(source, DeflickerSettings(**settings)))
    return np.stack(list(result)), result


def match_first(clip: np.ndarray, full: bool) -> np.ndarray:
    """Every frame's colours matched to the first frame's: per-channel mean/std, or means and covariances (3x3)."""
    px0 = clip[0].reshape(-1, 3).astype(np.float64)
    m0, c0 = px0.mean(0), np.cov(px0.T) + np.eye(3)
    out = []
    for frame in clip:
        px = frame.reshape(-1, 3).astype(np.float64)
        m, c = px.mean(0), np.cov(px.T) + np.eye(3)
        if full:
            r = _sqrtm(c)
            ri = np.linalg.inv(r)
            g = ri @ _sqrtm(r @ c0 @ r) @ ri
        else:
            g = np.diag(np.sqrt(np.diag(c0) / np.diag(c)))
        out.append(np.clip(np.round((px - m) @ g.T + m0), 0, 255).reshape(frame.shape))
    return np.stack(out).astype(np.uint8)


def _sqrtm(c):
    vals, vecs = np.linalg.eigh(c)
    return vecs @ np.diag(np.sqrt(np.maximum(vals, 0))) @ vecs.T


def psnr(a, b) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def ssim(a, b) -> float:
    return float(np.mean([metrics.ssim(x, y) for x, y in zip(a, b)]))


def seam_scores(out, ref, starts) -> dict:
    """Mean step at the boundaries (the change of mean colour across each, less the reference's own) and the
    last segment's mean colour error, levels."""
    mo = out.reshape(len(out), -1, 3).mean(1)
    mr = ref.reshape(len(ref), -1, 3).mean(1)
    steps = [np.abs((mo[b] - mo[b - 1]) - (mr[b] - mr[b - 1])).mean() for b in starts]
    last = np.abs(mo[starts[-1]:] - mr[starts[-1]:]).mean() if starts else 0.0
    return {"step": float(np.mean(steps)) if steps else 0.0, "last": float(last), "psnr": psnr(out, ref),
            "ssim": ssim(out, ref)}


def run_clip(i: int, path: str) -> dict:
    clip, info = video.read_video(path)
    fps, n = float(info.fps), len(clip)
    row: dict = {"clip": os.path.basename(path), "frames": n}
    bad, starts = chained_looks(clip, 100 + i)
    row["starts"] = starts
    given, _ = deflicker(bad, fps, segment_starts=",".join(map(str, starts)))
    auto, res = deflicker(bad, fps)
    row["chained"] = {"input": seam_scores(bad, clip, starts), "given": seam_scores(given, clip, starts),
                      "auto": seam_scores(auto, clip, starts),
                      "meanstd": seam_scores(match_first(bad, False), clip, starts),
                      "map3x3": seam_scores(match_first(bad, True), clip, starts),
                      "auto_found": res.seams.found.frames if res.seams and res.seams.found else []}
    period = 4 + i % 13
    tiles, tstarts = chained_looks(clip, 200 + i, (period, period))
    report = analyze_frames(tiles, fps)
    fixed, _ = deflicker(tiles, fps)
    row["periodic"] = {"period": period, "found": int(report.measures["seam_period"]),
                       "input": psnr(tiles, clip), "auto": psnr(fixed, clip)}
    third = n // 3
    fade = gain_curve(clip, np.r_[np.ones(n - third), np.linspace(1, 0.35, third)])
    light = gain_curve(clip, np.r_[np.ones(n // 2), np.full(n - n // 2, 0.55)])
    shade = gain_curve(clip, np.r_[np.ones(third), np.linspace(1, 0.7, third), np.full(n - 2 * third, 0.7)])
    row["intended"] = {name: psnr(deflicker(c, fps)[0], c) for name, c in
                       (("fade", fade), ("light", light), ("shade", shade))}
    clean, _ = deflicker(clip, fps)
    row["clean_exact"] = bool(np.array_equal(clean, clip))
    return row


def summary(rows: list) -> str:
    lines = ["| clip | chained: input / given / auto / mean-std / 3x3 PSNR | step given / auto | last given / auto |"
             " periodic N found, PSNR in -> auto | fade / light / shade dB | clean |", "|" + "---|" * 7]
    for r in rows:
        c, p, t = r["chained"], r["periodic"], r["intended"]
        lines.append(f"| {r['clip'][:24]} | {c['input']['psnr']:.1f} / {c['given']['psnr']:.1f} / "
                     f"{c['auto']['psnr']:.1f} / {c['meanstd']['psnr']:.1f} / {c['map3x3']['psnr']:.1f} | "
                     f"{c['given']['step']:.2f} / {c['auto']['step']:.2f} | {c['given']['last']:.2f} / "
                     f"{c['auto']['last']:.2f} | {p['period']} {p['found']}, {p['input']:.1f} -> {p['auto']:.1f} | "
                     f"{t['fade']:.1f} / {t['light']:.1f} / {t['shade']:.1f} | {'exact' if r['clean_exact'] else 'NO'} |")
    mean = lambda key, m, f: float(np.mean([r["chained"][m][f] for r in rows]))  # noqa: E731
    lines.append("")
    for m in ("input", "given", "auto", "meanstd", "map3x3"):
        lines.append(f"chained {m:<8} mean PSNR {mean(None, m, 'psnr'):.2f} dB, SSIM {mean(None, m, 'ssim'):.4f}, "
                     f"step {mean(None, m, 'step'):.2f}, last segment error {mean(None, m, 'last'):.2f} levels")
    found = sum(r["periodic"]["found"] == r["periodic"]["period"] for r in rows)
    lines.append(f"periodic: right period on {found}/{len(rows)}; intended change min "
                 f"{min(min(r['intended'].values()) for r in rows):.1f} dB; clean exact "
                 f"{sum(r['clean_exact'] for r in rows)}/{len(rows)}")
    return "\n".join(lines)


def speed(size: int, frames: int, repeats: int) -> None:
    """Frames per second (wall and this process's CPU) of auto on a seam clip: a synthetic pan with chained looks
    every 12-24 frames, in memory, read twice as the node and fix do; best of ``repeats``."""
    import time

    import cv2

    from unflicker.media import synthetic

    cv2.setNumThreads(2)
    bad, starts = chained_looks(synthetic.moving_clip("pan", frames, size, size, seed=5, speed=2.0), 7)
    print(f"{frames} frames {size}x{size}, seams at {starts}, load average {os.getloadavg()[0]:.1f} at start")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out, res = deflicker(bad, 24.0)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"auto on a seam clip: {frames / wall:.1f} fps wall, {frames / cpu:.1f} frames per CPU-second; "
              f"seams found {res.seams.found.frames}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def chosen_clips(count: int, only=None) -> list:
    """(index, path) of the first ``count`` dev clips by name (the index seeds each clip's cases), or of those
    indices in ``only``."""
    paths = sorted(clip_paths())[:count]
    return [(i, path) for i, path in enumerate(paths) if only is None or i in only]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=14)
    p.add_argument("--only", type=int, nargs="*", help="clip indices to run (default: the first --clips)")
    p.add_argument("--json")
    p.add_argument("--speed", action="store_true", help="time auto on a 512x512 seam clip instead (3 runs)")
    args = p.parse_args(argv)
    if args.speed:
        speed(512, 60, 3)
        return 0
    rows = []
    for i, path in chosen_clips(args.clips, args.only):
        rows.append(run_clip(i, path))
        print(summary(rows[-1:]).splitlines()[2], flush=True)
    print(summary(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

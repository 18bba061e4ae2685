"""Drift on the 14 real AI-generated clips: what the analyzer reads, and how often it reports the kind (issue 23).

    nice python bench/drift_real.py [--clips 14] [--only 2 5] [--cases clean drift] [--json out.json]

Cases, each with a fixed seed per clip (the analyzer's full pass, as Analyze Flicker runs it):

  clean      the clip as it is: must NOT read drift
  drift      saturation +15 % and a cast of 6-10 levels per channel (signs drawn, not all alike) eased in linearly
             over the clip (unflicker.analysis.cases.eased_look): MUST
  cast       the cast part alone (6-10 levels): MUST
  saturation the saturation part alone (+15 %): measured; found only past DRIFT_SATURATION (75 %), as the clean
             clips' own saturation wanders by tens of % (content coming and going)
  fade / light / shade   bench/seams_real.py's intended changes (a fade to 35 % over the last third, a light going
             down by 45 % and staying, a pan into shade: a gain easing to 0.7): must NOT
  chained    bench/seams_real.py's chained looks (segments of 12-24 frames, each darker, cast, more saturated than
             the one before): should read seams and drift

Per clip and case: the worst per-channel drift (levels), the saturation drift (%), the drift score (>= 1: found),
the links composed, and the kinds; then the hit rate of drift (and seams) per case. The thresholds in
unflicker/analysis/drift.py are set from these figures with margin.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "bench"))

from seams_real import chained_looks, chosen_clips, gain_curve  # noqa: E402
from unflicker.analysis import analyze_frames  # noqa: E402
from unflicker.analysis.cases import eased_look  # noqa: E402
from unflicker.media import video  # noqa: E402

CASES = ("clean", "drift", "saturation", "cast", "fade", "light", "shade", "chained")
MUST = {"drift", "cast", "chained"}


def case_clip(name: str, clip: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n, third = len(clip), len(clip) // 3
    signs = rng.choice([-1, 1], 3)
    if abs(signs.sum()) == 3:
        signs[1] = -signs[1]  # a cast moves the channels apart; all three alike would be a common offset
    cast = rng.uniform(6, 10, 3) * signs
    if name == "clean":
        return clip
    if name == "drift":
        return eased_look(clip, 0.15, cast)
    if name == "saturation":
        return eased_look(clip, 0.15, np.zeros(3))
    if name == "cast":
        return eased_look(clip, 0.0, cast)
    if name == "fade":
        return gain_curve(clip, np.r_[np.ones(n - third), np.linspace(1, 0.35, third)])
    if name == "light":
        return gain_curve(clip, np.r_[np.ones(n // 2), np.full(n - n // 2, 0.55)])
    if name == "shade":
        return gain_curve(clip, np.r_[np.ones(third), np.linspace(1, 0.7, third), np.full(n - 2 * third, 0.7)])
    if name == "chained":
        return chained_looks(clip, seed)[0]
    raise ValueError(name)


def run_clip(i: int, path: str, cases) -> dict:
    clip, info = video.read_video(path)
    row = {"clip": os.path.basename(path), "frames": len(clip)}
    for name in cases:
        report = analyze_frames(case_clip(name, clip, 100 + i), float(info.fps))
        m = report.measures
        row[name] = {"levels": float(max(abs(m["drift_r"]), abs(m["drift_g"]), abs(m["drift_b"]))),
                     "saturation_pct": float(m["drift_saturation_pct"]), "score": float(report.drift["score"]),
                     "links": int(m["drift_links"]), "drift": "drift" in report.kinds,
                     "seams": "seams" in report.kinds, "kinds": list(report.kinds)}
    return row


def line(row: dict, cases) -> str:
    cells = [f"{row['clip'][:26]:<26}"]
    for name in cases:
        c = row[name]
        cells.append(f"{c['levels']:4.1f}L {c['saturation_pct']:+5.1f}% {c['score']:4.2f}"
                     f"{'*' if c['drift'] else ' '}{'s' if c['seams'] else ' '}")
    return " | ".join(cells)


def summary(rows: list, cases) -> str:
    head = f"{'clip':<26} | " + " | ".join(f"{n:<20}" for n in cases)
    lines = ["per case: worst channel drift (levels), saturation drift (%), score (>= 1 found); * drift, s seams",
             head] + [line(r, cases) for r in rows] + [""]
    for name in cases:
        got = [r[name] for r in rows]
        hits = sum(c["drift"] for c in got)
        want = "MUST read drift" if name in MUST else "measured" if name == "saturation" else "must NOT read drift"
        lines.append(f"{name:<10} drift on {hits:2d}/{len(got)} ({want}); seams on {sum(c['seams'] for c in got):2d}"
                     f"/{len(got)}; score max {max(c['score'] for c in got):.2f} min {min(c['score'] for c in got):.2f};"
                     f" levels max {max(c['levels'] for c in got):.1f}, |saturation| max "
                     f"{max(abs(c['saturation_pct']) for c in got):.1f} %")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=14)
    p.add_argument("--only", type=int, nargs="*", help="clip indices to run (default: the first --clips)")
    p.add_argument("--cases", nargs="*", choices=CASES, default=list(CASES))
    p.add_argument("--json")
    p.add_argument("--summary", nargs="*", help="print the summary of rows saved with --json (several files: one table)")
    args = p.parse_args(argv)
    if args.summary:
        rows = [row for path in args.summary for row in json.load(open(path))]
        print(summary(rows, [c for c in CASES if c in rows[0]]))
        return 0
    rows = []
    for i, path in chosen_clips(args.clips, args.only):
        rows.append(run_clip(i, path, args.cases))
        print(line(rows[-1], args.cases), flush=True)
    print(summary(rows, args.cases))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

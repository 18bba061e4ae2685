"""Diagnosis accuracy on fresh draws of the labelled synthetic set (the tests use draw 0, which the detection
thresholds were tuned on; other draws show how well that generalises).

    python bench/analyze_accuracy.py [--draws 1000 2000 3000]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT]

from unflicker.analysis.cases import FPS, build_cases, judge  # noqa: E402
from unflicker import analysis  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, nargs="+", default=[1000, 2000, 3000])
    args = parser.parse_args()
    total = right = classic_right = 0
    misses = collections.Counter()
    t0 = time.perf_counter()
    for draw in args.draws:
        ok_draw = 0
        cases = build_cases(draw)
        for name, clip, expected in cases:
            rep = analysis.analyze_frames(iter(clip), FPS)
            ok = judge(expected, rep.kinds)
            ok_draw += ok
            verdict = analysis.classic_rule(rep.measures["mean_diff"])
            classic_right += ("texture" in expected and verdict == "generative") or ("codec" in expected and verdict == "codec")
            if not ok:
                misses[f"{name}: expected {sorted(expected)}, got {rep.kinds}"] += 1
        print(f"draw {draw}: {ok_draw}/{len(cases)} right")
        total += len(cases)
        right += ok_draw
    print(f"analyzer: {right}/{total} right ({100 * right / total:.1f} %); classic rule: {classic_right}/{total} "
          f"({100 * classic_right / total:.1f} %); {time.perf_counter() - t0:.0f} s")
    for miss, count in misses.most_common():
        print(f"  miss x{count}: {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Before / after: did the fix work (compare_reports)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kinds import LOOK
from .measures import FLICKER_KINDS
from .report import FlickerReport
from .diagnosis import _MEASURE_FOR_KIND


# ---------------------------------------------------------------- before / after
COMPARED = (  # (measure, lower is better, label)
    ("warp_error", True, "warping error"),
    ("temporal_flickering_mc", False, "temporal flickering, motion-compensated (VBench-style)"),
    ("luma_hf_pct", True, "brightness fast part"),
    ("colour_hf_pct", True, "colour fast part"),
    ("regional_pct", True, "regional gain spread"),
    ("texture_ratio", True, "fine-detail residual"),
    ("blockiness", True, "8x8 blockiness"),
    ("seam_count", True, "seams found"),
    ("seam_step", True, "mean look step at seams (levels)"),
    ("drift_score", True, "drift from start to end (x threshold)"),
    ("mean_diff", True, "classic mean abs diff"),
    ("temporal_flickering", False, "temporal flickering (VBench, raw)"),
)


@dataclass
class Comparison:
    before: dict
    after: dict
    changes: dict  # measure -> percent change (after vs before)
    verdict: str
    text: str


def _pct(before: float, after: float) -> float:
    return 0.0 if abs(before) < 1e-12 else 100.0 * (after - before) / abs(before)


def compare_reports(before: FlickerReport, after: FlickerReport) -> Comparison:
    """Percent change per measure and a verdict judged on the motion-compensated measures."""
    # a report from before a measure existed (seams, drift) reads 0 for it
    b = {name: before.measures.get(name, 0.0) for name, _, _ in COMPARED}
    a = {name: after.measures.get(name, 0.0) for name, _, _ in COMPARED}
    changes = {name: _pct(b[name], a[name]) for name, _, _ in COMPARED}
    # the flicker measures that matter: those of the kinds found before (warping error always)
    focus = ["warp_error"] + [_MEASURE_FOR_KIND[k] for k in before.kinds if k in _MEASURE_FOR_KIND]
    drops = [-changes[m] for m in focus]
    main = float(np.mean(drops))
    remaining = [k for k in after.kinds if k in FLICKER_KINDS or k in LOOK]
    # drift kept from before is no failure of the fix: the deflicker keeps it unless asked to hold the look
    failing = [k for k in remaining if k != "drift" or k not in before.kinds]
    if main >= 30 and not failing:
        verdict = f"Fixed: flicker down {main:.0f} % on the motion-compensated measures"
    elif main >= 15:
        verdict = f"Improved: flicker down {main:.0f} % on the motion-compensated measures"
    elif main > -15:
        verdict = f"Unchanged: flicker changed {-main:+.0f} % on the motion-compensated measures"
    else:
        verdict = f"Worse: flicker up {-main:.0f} % on the motion-compensated measures"
    if remaining:
        verdict += "; after: " + ", ".join(k if k in before.kinds else f"{k} (new)" for k in remaining)
    verdict += f" (classic diff {changes['mean_diff']:+.0f} %; the classic rule expects -30 to -60 % after a good fix)"
    lines = [verdict, "", f"{'measure':58s} {'before':>10s} {'after':>10s} {'change':>8s}"]
    for name, lower, label in COMPARED:
        better = (changes[name] < 0) == lower
        mark = "" if abs(changes[name]) < 1 else (" better" if better else " worse")
        lines.append(f"{label:58s} {b[name]:10.4f} {a[name]:10.4f} {changes[name]:+7.1f}%{mark}")
    lines += ["", f"before: {before.verdict}", f"after:  {after.verdict}"]
    return Comparison(b, a, changes, verdict, "\n".join(lines))

"""What the analyzer reports: one Finding per kind, the FlickerReport (JSON, text)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from .damage import describe
from .measures import classic_rule


@dataclass
class Finding:
    kind: str
    severity: str       # mild / moderate / strong ("none" for steady)
    score: float        # measure / detection threshold (>= 1 means detected)
    explanation: str
    frames: list        # frames most affected (indices), worst first
    fix: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "severity": self.severity, "score": round(self.score, 3),
                "explanation": self.explanation, "frames": self.frames, "fix": self.fix}


@dataclass
class FlickerReport:
    frame_count: int
    fps: float
    width: int
    height: int
    kinds: list
    findings: list
    measures: dict
    series: dict
    scene_cuts: list
    verdict: str
    damaged_frames: list = field(default_factory=list)  # damage.DamagedFrame: what Repair Frames rebuilds
    drift: dict = field(default_factory=dict)  # drift.drift_look's entry: the worst shot's drift, found or not

    def to_dict(self) -> dict:
        return {
            "version": 1,
            "frame_count": self.frame_count, "fps": self.fps, "width": self.width, "height": self.height,
            "verdict": self.verdict, "kinds": list(self.kinds),
            "findings": [f.to_dict() for f in self.findings],
            "measures": {k: _finite(v) for k, v in self.measures.items()},
            "series": {k: [_finite(x) for x in v] for k, v in self.series.items()},
            "scene_cuts": list(self.scene_cuts),
            "damaged_frames": [d.to_dict() for d in self.damaged_frames],
            "drift": {k: _finite(v) if isinstance(v, float) else v for k, v in self.drift.items()},
        }

    def look(self) -> dict:
        """The look of the clip in brief, for the node's display: its seams (frames, period, mean step in levels) and
        its drift (per-channel levels, saturation and common gain in %, score against the threshold)."""
        m, d = self.measures, self.drift
        seams = next((f for f in self.findings if f.kind == "seams"), None)
        return {"seams": {"found": seams is not None, "frames": list(seams.frames) if seams else [],
                          "period": int(m.get("seam_period", 0)), "step": _finite(m.get("seam_step", 0.0))},
                "drift": {"found": "drift" in self.kinds,
                          "levels": [_finite(d.get(k, 0.0)) for k in ("drift_r", "drift_g", "drift_b")],
                          "saturation_pct": _finite(d.get("drift_saturation_pct", 0.0)),
                          "contrast_pct": _finite(d.get("drift_contrast_pct", 0.0)),
                          "score": _finite(d.get("score", 0.0)), "frames": list(d.get("frames", []))}}

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def text(self) -> str:
        m = self.measures
        lines = [self.verdict, "",
                 f"{self.frame_count} frames, {self.width}x{self.height}, {self.fps:g} fps; "
                 f"{len(self.scene_cuts)} scene cut(s){' at ' + ', '.join(map(str, self.scene_cuts)) if self.scene_cuts else ''}.", ""]
        if self.damaged_frames:
            lines.insert(-1, f"Damaged frames: {describe(self.damaged_frames)}; Repair Frames rebuilds them from their "
                             "neighbours.")
        for f in self.findings:
            head = f.kind if f.kind == "steady" else f"{f.kind} ({f.severity}, {f.score:.1f}x threshold)"
            lines.append(f"* {head}: {f.explanation}")
            if f.frames:
                lines.append(f"  frames most affected: {', '.join(map(str, f.frames))}")
            lines.append(f"  fix: {f.fix}")
        lines += ["", "Measures (motion-compensated unless marked):",
                  f"  warping error (Lai et al.)        {m['warp_error']:.5f}  (mean squared residual, 0-1 scale)",
                  f"  temporal flickering (VBench)      {m['temporal_flickering']:.4f} raw, {m['temporal_flickering_mc']:.4f} motion-compensated (1 = steady)",
                  f"  brightness fast part              {m['luma_hf_pct']:.2f} % RMS",
                  f"  colour fast part                  {m['colour_hf_pct']:.2f} % RMS",
                  f"  regional gain spread              {m['regional_pct']:.2f} % RMS",
                  f"  fine-detail residual              {m['texture_ratio']:.3f} of detail ({m['texture_rms']:.2f} levels RMS)",
                  f"  8x8 blockiness / banding          {m['blockiness']:.3f} / {m['banding']:.3f}"
                  + (f"  (residual spikes {m['keyframe_pulse']:.1f}x every {int(m['gop_period'])} frames)" if m['gop_period'] else ""),
                  f"  seams / drift                     {int(m.get('seam_count', 0))} seam(s)"
                  + (f" every {int(m['seam_period'])} frames" if m.get('seam_period') else "")
                  + f", mean step {m.get('seam_step', 0.0):.2f} levels; drift R {m.get('drift_r', 0.0):+.1f} "
                  f"G {m.get('drift_g', 0.0):+.1f} B {m.get('drift_b', 0.0):+.1f} levels, saturation "
                  f"{m.get('drift_saturation_pct', 0.0):+.1f} % beyond a common gain of "
                  f"{m.get('drift_contrast_pct', 0.0):+.1f} %",
                  f"  classic mean abs diff             {m['mean_diff']:.2f} -> classic rule says \"{classic_rule(m['mean_diff'])}\""
                  " (motion counts as flicker there)"]
        return "\n".join(lines)


def _finite(x):
    x = float(x)
    return round(x, 6) if math.isfinite(x) else 0.0

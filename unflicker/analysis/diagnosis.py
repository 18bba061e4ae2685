"""From measures to a diagnosis: which kinds, how severe, where, which fix (``diagnose``)."""

from __future__ import annotations

import numpy as np

from ..kinds import LOOK
from ..settings import AnalysisSettings
from .measures import (CODEC_WITH_TEXTURE, FLICKER_KINDS, KEYFRAME_PULSE, THRESHOLDS, _Series, _fast_part, _segments,
                       classic_rule, keyframe_pulse)
from .report import Finding, FlickerReport
from .seams import fit_look, look_of_clip


# ---------------------------------------------------------------- diagnosis
EXPLAIN = {
    "steady": "No flicker stands out: frame-to-frame changes are explained by motion.",
    "brightness": "The whole picture pumps brighter and darker from frame to frame (global brightness flicker), "
                  "faster than any fade or exposure change.",
    "regional": "Patches of the picture brighten and darken on their own (regional / local flicker) while the "
                "frame as a whole stays level.",
    "colour": "The colour balance jumps between frames (colour-cast flicker): the channels move against each "
              "other, not together.",
    "texture": "Fine detail is re-drawn on every frame (texture boiling / generative re-sampling): after lining "
               "frames up with the motion, small-scale detail still changes.",
    "codec": "Compression damage: 8x8 block edges (and banding) from a low-bitrate encode; it shimmers as the "
             "blocks are re-coded.",
    "scene_cuts": "The clip contains scene cuts; pairs across a cut are left out of every measure.",
}
FIXES = {
    "steady": "Nothing to fix.",
    "brightness": "FFmpeg Deflicker + Deband: deflicker size 5, mode am (deband optional); or Deflicker "
                  "(flow-guided) with kinds = brightness. Verify with Compare Flicker.",
    "regional": "Deflicker (flow-guided) with kinds = regional (FFmpeg deflicker only evens out the whole frame). "
                "At the source: SVD noise_aug_strength <= 0.05, or AnimateDiff with a longer context overlap.",
    "colour": "Deflicker (flow-guided) with kinds = colour; FFmpeg Deflicker + Deband mode am also damps it.",
    "texture": "Best fixed at the source: regenerate with SVD noise_aug_strength <= 0.05 (lower motion_bucket_id) "
               "or AnimateDiff with more context overlap; in post, Deflicker (flow-guided) with kinds = texture, "
               "then RIFE Interpolate for smoother motion.",
    "codec": "Re-export from the source at a higher quality (Save Video crf <= 18); to hide what is there: "
             "FFmpeg Deflicker + Deband with deband threshold 0.02-0.04 and blur on.",
    "scene_cuts": "Fix each shot on its own (deflicker windows must not cross a cut); the measures already skip cuts.",
}
_MEASURE_FOR_KIND = {"brightness": "luma_hf_pct", "colour": "colour_hf_pct", "regional": "regional_pct",
                     "texture": "texture_ratio", "codec": "blockiness"}
_SERIES_FOR_KIND = {"brightness": "luma_hf", "colour": "colour_hf", "regional": "regional",
                    "texture": "texture", "codec": "blockiness"}


def _severity(ratio: float) -> str:
    return "strong" if ratio >= 4 else "moderate" if ratio >= 2 else "mild"


def _top_frames(values: np.ndarray, count: int = 5) -> list:
    values = np.abs(np.nan_to_num(values))
    order = np.argsort(-values, kind="stable")
    return [int(i) for i in order[:count] if values[i] > 0]


def _curves(s: _Series, settings: AnalysisSettings) -> tuple[dict, dict, np.ndarray, tuple]:
    """The clip-level measures and per-frame series of the pass, the pairs measured and the keyframe pulse."""
    n = s.n
    pairs = s.pairs
    valid = np.array([p is not None and p.valid >= 0.05 for p in pairs])
    get = lambda attr: np.array([getattr(p, attr) if p is not None else 0.0 for p in pairs], np.float64)
    log_gain = np.array([p.log_gain if p is not None else np.zeros(4) for p in pairs], np.float64).reshape(n, 4)
    segments = _segments(n, s.cuts)
    fast = np.stack([_fast_part(log_gain[:, k], segments, settings.window) for k in range(4)], 1)
    common = fast[:, :3].mean(1, keepdims=True)
    luma_hf = fast[:, 3] * 100
    colour_dev = (fast[:, :3] - common) * 100  # per channel, %
    colour_hf = np.sqrt(np.mean(colour_dev ** 2, axis=1))
    regional = get("regional") * 100
    texture = get("texture")
    warp_error = get("warp_error")
    mc_mae = get("mc_mae")
    mean_diff = np.array(s.mean_diff)
    rgb = np.array(s.rgb, np.float64).reshape(n, 3)
    rms = lambda x: float(np.sqrt(np.mean(x ** 2))) if len(x) else 0.0
    pulse = keyframe_pulse(warp_error, valid)
    in_shot = np.ones(n, bool)  # frames whose curves are defined (a shot of at least 3 frames)
    for a, b in segments:
        if b - a < 3:
            in_shot[a:b] = False
    v = valid
    measures = {
        "mean_diff": float(mean_diff[1:].mean()) if n > 1 else 0.0,
        "warp_error": float(warp_error[v].mean()) if v.any() else 0.0,
        "warp_error_max": float(warp_error[v].max()) if v.any() else 0.0,
        "temporal_flickering": (255.0 - (float(mean_diff[1:].mean()) if n > 1 else 0.0)) / 255.0,
        "temporal_flickering_mc": (255.0 - (float(mc_mae[v].mean()) if v.any() else 0.0)) / 255.0,
        "luma_hf_pct": rms(luma_hf[in_shot]),
        "colour_hf_pct": rms(colour_hf[in_shot]),
        # median over pairs: regional flicker is in every frame, a pair where the flow slipped is not
        "regional_pct": float(np.median(regional[v])) if v.any() else 0.0,
        "regional_rms_pct": rms(regional[v]),
        "texture_ratio": float(np.median(texture[v])) if v.any() else 0.0,
        "texture_rms": float(np.median(get("texture_rms")[v])) if v.any() else 0.0,
        "blockiness": float(np.median(s.blockiness)),  # median: content can line up with the grid now and then
        "banding": float(np.mean(s.banding)),
        "gop_period": float(pulse[0]),
        "keyframe_pulse": pulse[1],
        "luma_mean": float(np.mean(s.luma)),
        "luma_std": float(np.std(s.luma)),
        "scene_cut_count": float(len(s.cuts)),
        "compensated_share": float(np.mean(get("valid")[v])) if v.any() else 0.0,
        "pairs_measured": float(v.sum()),
    }
    series = {
        "mean_diff": mean_diff, "warp_error": warp_error * 1000, "luma": np.array(s.luma), "luma_hf": luma_hf,
        "colour_hf": colour_hf, "regional": regional, "texture": texture, "blockiness": np.array(s.blockiness),
        "mean_r": rgb[:, 0], "mean_g": rgb[:, 1], "mean_b": rgb[:, 2],
    }
    return measures, series, valid, pulse


def _scores(measures: dict, pulse: tuple, any_valid: bool) -> dict:
    """Each flicker kind's measure against its detection threshold (>= 1: detected)."""
    scores = {k: measures[_MEASURE_FOR_KIND[k]] / THRESHOLDS[k] for k in FLICKER_KINDS}
    scores["codec"] = max(0.0, measures["blockiness"] - 1.0) / (THRESHOLDS["codec"] - 1.0)
    # the whole picture re-coded at a fixed period: keyframe pumping
    if pulse[0] and pulse[1] >= KEYFRAME_PULSE:
        scores["codec"] = max(scores["codec"], pulse[1] / KEYFRAME_PULSE)
    # detail that changes every frame *and* edges on the coding grid: re-quantisation by the codec
    if scores["texture"] >= 1.0 and measures["blockiness"] >= CODEC_WITH_TEXTURE:
        scores["codec"] = max(scores["codec"], 1.0)
    # a colour cast moves luma too; call it brightness only when the channels move together
    # (and a regional pattern shifts the mean of what is visible a little)
    if measures["luma_hf_pct"] < max(2.0 * measures["colour_hf_pct"], 0.5 * measures["regional_pct"]):
        scores["brightness"] = min(scores["brightness"], 0.99)
    if not any_valid:
        for k in ("brightness", "colour", "regional", "texture"):
            scores[k] = 0.0
    return scores


def _findings(scores: dict, series: dict, pulse: tuple, cuts: list) -> list:
    """One Finding per kind detected, worst first ("steady" when none), then the scene cuts."""
    findings = []
    for k in sorted(FLICKER_KINDS, key=lambda k: -scores[k]):
        if scores[k] >= 1.0:
            frames = _top_frames(series[_SERIES_FOR_KIND[k]] - (1.0 if k == "codec" else 0.0))
            explanation = EXPLAIN[k]
            if k == "codec" and pulse[0] and pulse[1] >= KEYFRAME_PULSE:
                frames = pulse[2][:5]
                explanation += (f" The picture also pulses every {pulse[0]} frames, where the encoder puts a keyframe "
                                f"(residual {pulse[1]:.1f}x the other frames).")
            findings.append(Finding(k, _severity(scores[k]), scores[k], explanation, frames, FIXES[k]))
    if not findings:
        findings.append(Finding("steady", "none", max(scores.values()) if scores else 0.0, EXPLAIN["steady"], [], FIXES["steady"]))
    if cuts:
        findings.append(Finding("scene_cuts", "info", float(len(cuts)), EXPLAIN["scene_cuts"], list(cuts), FIXES["scene_cuts"]))
    return findings


def _with_look(findings: list, found: dict) -> list:
    """The seams and drift findings after the flicker ones (a clip with either is not steady)."""
    look = [Finding(k, _severity(score), score, text, frames, fix) for k, (score, text, frames, fix) in found.items()]
    if not look:
        return findings
    flicker = [f for f in findings if f.kind not in ("steady", "scene_cuts")]
    return flicker + look + [f for f in findings if f.kind == "scene_cuts"]


def diagnose(s: _Series, fps: float, settings: AnalysisSettings) -> FlickerReport:
    """The report of a streaming pass: measures, kinds found, where, which fix, the verdict."""
    measures, series, valid, pulse = _curves(s, settings)
    look = look_of_clip([None if p is None or p.look is None or p.look.w < 16 else (fit_look(p.look), p.look)
                         for p in s.pairs], s.cuts, s.drifts)
    measures.update(look["measures"])
    series.update(look["series"])
    findings = _with_look(_findings(_scores(measures, pulse, bool(valid.any())), series, pulse, s.cuts),
                          look["found"])
    kinds = [f.kind for f in findings]
    if kinds[0] == "steady":
        verdict = "Steady: no flicker beyond what motion explains"
    else:
        worst = findings[0]
        others = [f.kind for f in findings[1:] if f.kind != "scene_cuts"]
        # seams and drift are a change of look, not flicker
        noun = worst.kind if worst.kind in LOOK else f"{worst.kind} flicker"
        verdict = f"{worst.severity.capitalize()} {noun}" + (f", also {', '.join(others)}" if others else "")
    verdict += f" (classic diff {measures['mean_diff']:.1f}; classic rule: {classic_rule(measures['mean_diff'])})"
    return FlickerReport(s.n, float(fps), s.size[1], s.size[0], kinds, findings, measures, series, list(s.cuts), verdict,
                         list(s.damaged), look["drift"])

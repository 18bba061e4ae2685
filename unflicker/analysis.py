"""Flicker analysis: separate flicker from motion, name its kind, say where it is and which fix to use.

The seed measured one number, the mean absolute difference of consecutive frames, and called it "generative"
above 12 and "codec" below. That number is mostly motion. Here every consecutive pair is first lined up with
DIS optical flow (on a downscaled luma, for speed), pixels that fail the forward-backward check are masked out
(occlusions, things entering the frame), and only then are the changes measured:

- warping error (Lai et al. 2018): mean squared residual after motion compensation, on the 0-1 scale;
- brightness: the motion-compensated gain between frames (steady slope taken out), integrated to a brightness
  curve whose fast part (curve minus its centred moving median over a few frames) is flicker - fades are slow
  and do not count;
- colour: the same per channel, after removing the common (luma) part;
- regional: per-block gains, their spatial spread after removing the frame's global gain and offset;
- texture: fine-detail residual energy after motion compensation and gain removal (re-sampled detail);
- codec: 8x8 blockiness at native resolution, banding, and residual spikes at a fixed (keyframe) period;
- scene cuts (unflicker.scenecut): pairs across a cut are skipped by every motion-compensated measure.

Everything streams over frame pairs: only the previous frame and per-frame numbers are kept.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Iterable, Optional

import cv2
import numpy as np

from . import flow, metrics, scenecut
from .errors import UnflickerError, check_choice, check_range
from .progress import ProgressFn, report

KINDS = ("steady", "brightness", "regional", "colour", "texture", "codec", "scene_cuts")
FLICKER_KINDS = ("brightness", "regional", "colour", "texture", "codec")
SEED_THRESHOLD = 12.0  # the seed's rule: classic mean diff above this is "generative", else "codec"
LUMA_WEIGHTS = flow.LUMA_WEIGHTS
CUT_MAX_VALID = 0.5  # a pair whose flow lines up more than this share of pixels is no cut
CODEC_CROP = 256  # side of the native-resolution centre crop used for blockiness and banding
GRID = 4  # regional gain blocks per side

# Detection thresholds on the clip-level measures (units as in FlickerReport.measures), set between the
# clean and the flickering clips of the labelled synthetic set (tests/analysis_cases.py, draws 0-6000 of
# bench/analyze_accuracy.py); brightness and colour are % of the mean level, so they hold at any resolution.
THRESHOLDS = {
    "brightness": 1.0,  # luma_hf_pct: RMS of the fast part of the brightness curve, % of mean brightness
    "colour": 0.8,      # colour_hf_pct: RMS of the fast part of channel-minus-luma curves, %
    "regional": 1.1,    # regional_pct: median over pairs of the spread of per-block gains, %
    "texture": 0.5,     # texture_ratio: median fine residual / median fine detail after compensation
    "codec": 1.13,      # blockiness: 8x8 grid edge strength / edge strength beside the grid
}
KEYFRAME_PULSE = 2.5  # residual spikes this many times the other pairs, at a fixed period: keyframes
CODEC_WITH_TEXTURE = 1.05  # blockiness that, with texture change, already means codec re-quantisation


@dataclass(frozen=True)
class AnalysisSettings:
    long_side: int = 256          # flow and photometric measures run at this size (0 = full size)
    flow_preset: str = "fast"     # DIS preset: ultrafast, fast, medium
    cut_threshold: float = 0.5    # scenecut score at which a pair counts as a cut
    window: int = 5               # frames in the centred moving median that defines "slow" change

    def validated(self) -> "AnalysisSettings":
        check_range("long_side", self.long_side, 0, 4096)
        check_choice("flow_preset", self.flow_preset, tuple(flow._PRESETS))
        check_range("cut_threshold", self.cut_threshold, 0.0, 1.0)
        check_range("window", self.window, 3, 31)
        return self


# ---------------------------------------------------------------- per-frame and per-pair measures
def pair_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """The classic measure for one pair: mean |b - a| over pixels and channels, 0-255 (exact, no float copy)."""
    return float(cv2.norm(a, b, cv2.NORM_L1)) / a.size


def blockiness(gray: np.ndarray) -> float:
    """Edge strength on the 8x8 coding grid against the edges beside it: ~1 for camera/AI frames, >1 blocky.

    Two estimates, and the lower one is kept, because picture content can fake either: the grid columns against
    all other columns (fooled by content that happens to repeat every 8 px), and the median over grid lines of
    each line against its own neighbours (fooled when many edges in the picture line up with the grid).
    """
    g = gray[: gray.shape[0] // 8 * 8, : gray.shape[1] // 8 * 8]
    if g.shape[0] < 32 or g.shape[1] < 32:
        return 1.0
    dx = cv2.reduce(cv2.absdiff(g[:, 1:], g[:, :-1]), 0, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
    dy = cv2.reduce(cv2.absdiff(g[1:], g[:-1]), 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
    global_ratio, local_ratio = [], []
    for d in (dx, dy):
        on_grid = d[7::8]
        global_ratio.append((on_grid.mean() + 1e-3) / (np.delete(d, np.s_[7::8]).mean() + 1e-3))
        lines = np.arange(15, len(d) - 2, 8)
        beside = (d[lines - 2] + d[lines - 1] + d[lines + 1] + d[lines + 2]) / 4
        local_ratio.append(float(np.median((d[lines] + 0.1) / (beside + 0.1))))
    return float(min(np.mean(global_ratio), np.mean(local_ratio)))


def banding(gray: np.ndarray) -> float:
    """Share of gentle-gradient pixels that sit on 1-level steps between flat runs (posterised gradients), 0-1."""
    g = gray.astype(np.int16)
    dx = np.abs(np.diff(g, axis=1))
    smooth = dx <= 1
    steps = (dx[:, 1:-1] == 1) & (dx[:, :-2] == 0) & (dx[:, 2:] == 0)
    denom = smooth.sum()
    return float(steps.sum()) / denom if denom else 0.0



def _highpass(img: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    return img - cv2.GaussianBlur(img, (0, 0), sigma)


_LUMA_ROW = LUMA_WEIGHTS[None, :]
_ERODE = np.ones((3, 3), np.uint8)


@dataclass
class _PairMeasures:
    warp_error: float       # mean squared residual (0-1 scale) over consistent pixels, Lai et al. 2018
    mc_mae: float           # mean |residual| in levels over consistent pixels
    log_gain: np.ndarray    # (4,) log gains R, G, B, luma between the aligned frames
    regional: float         # RMS spread of per-block gains after removing a global gain and offset
    texture: float          # median fine residual / median fine detail
    texture_rms: float      # fine residual RMS, levels
    valid: float            # share of pixels that passed the consistency check


def _measure_pair(a: np.ndarray, b: np.ndarray, ga: np.ndarray, gb: np.ndarray, preset: str) -> _PairMeasures:
    """Line b up with a by DIS flow, mask inconsistent pixels, measure what changed. Masked statistics go
    through OpenCV (cv2.mean / cv2.norm with a mask) so no masked copies are made."""
    fw = flow.dis_flow(ga, gb, preset)
    bw = flow.dis_flow(gb, ga, preset)
    consistent = (flow.occlusion_mask(fw, bw) & metrics.flow_stays_inside(fw)).view(np.uint8)
    # one pixel of erosion: residuals at motion boundaries are interpolation, not flicker
    mask = cv2.erode(consistent, _ERODE)
    count = cv2.countNonZero(mask)
    valid = count / mask.size
    if valid < 0.05:
        return _PairMeasures(0.0, 0.0, np.zeros(4), 0.0, 0.0, 0.0, valid)
    bw8 = flow.warp(b, fw)  # b lined up with a
    warp_error = cv2.norm(a, bw8, cv2.NORM_L2SQR, mask) / (3 * count) / (255.0 * 255.0)
    mc_mae = cv2.norm(a, bw8, cv2.NORM_L1, mask) / (3 * count)
    la = cv2.transform(a.astype(np.float32), _LUMA_ROW)
    lb = cv2.transform(bw8.astype(np.float32), _LUMA_ROW)
    # photometric measures use "clean" pixels only: unclipped (a brightened highlight clips channel by channel
    # and would read as a colour change) and without outlying residuals (where flow slips - flat areas, edges
    # of fast-moving shapes - residuals are tens of levels, while flicker of +-10 % moves pixels by a few)
    unclipped = cv2.inRange(a, (4, 4, 4), (251, 251, 251)) & cv2.inRange(bw8, (4, 4, 4), (251, 251, 251))
    photo = mask & (unclipped >> 7)
    if cv2.countNonZero(photo) < 0.25 * count:
        photo = mask
    diff = lb - la
    d_sub = diff[::2, ::2][photo[::2, ::2].view(bool)]
    if d_sub.size >= 16:
        centre = float(np.median(d_sub))
        spread = float(np.median(np.abs(d_sub - centre)))
        inlier = (np.abs(diff - centre) <= max(12.0, 6.0 * spread)).view(np.uint8)
        if cv2.countNonZero(photo & inlier) >= 0.25 * count:
            photo = photo & inlier
    ma, mb = np.array(cv2.mean(a, photo)[:3]), np.array(cv2.mean(bw8, photo)[:3])
    mla, mlb = float(ma @ LUMA_WEIGHTS), float(mb @ LUMA_WEIGHTS)
    log_gain = np.log(np.append(mb, mlb) + 1.0) - np.log(np.append(ma, mla) + 1.0)
    sub = photo[::2, ::2].view(bool)

    # regional: per-block means against a global affine change (gain and offset: brightness and colour-cast
    # flicker), spread of what is left
    mask_regional = photo
    mf = mask_regional.astype(np.float32)
    sum_a = cv2.resize(la * mf, (GRID, GRID), interpolation=cv2.INTER_AREA)
    sum_b = cv2.resize(lb * mf, (GRID, GRID), interpolation=cv2.INTER_AREA)
    cover = cv2.resize(mf, (GRID, GRID), interpolation=cv2.INTER_AREA)
    ok = cover > 0.3
    regional = 0.0
    if ok.sum() >= 4:
        # gain as the ratio of spreads, not a least-squares slope: noise in both frames (grain, re-sampled
        # texture) would bias a slope towards 0 and fake a regional pattern
        var_a = cv2.mean(la * la, photo)[0] - mla * mla
        var_b = cv2.mean(lb * lb, photo)[0] - mlb * mlb
        gain = math.sqrt(var_b / var_a) if var_a > 1e-3 and var_b > 0 else 1.0
        block_a, block_b = sum_a[ok] / cover[ok], sum_b[ok] / cover[ok]
        predicted = mlb + gain * (block_a - mla)
        deviation = (block_b - predicted) / (block_a + 32.0)  # floor: dark blocks are noisy and hide flicker
        deviation -= np.average(deviation, weights=cover[ok])
        regional = float(np.sqrt(np.average(deviation ** 2, weights=cover[ok])))

    # texture: fine residual after removing the smooth (gain, regional) part, against the fine detail present;
    # medians, not means: flow failures are local, re-sampled detail is everywhere (a quarter of the pixels
    # is plenty for a median)
    lb_matched = lb * ((mla + 1.0) / (mlb + 1.0))
    fine_res = np.abs(_highpass(lb_matched - la))
    texture_rms = math.sqrt(cv2.norm(fine_res, cv2.NORM_L2SQR, mask) / count)
    detail = np.abs(_highpass(la)[::2, ::2][sub]) + np.abs(_highpass(lb_matched)[::2, ::2][sub])
    res_sub = fine_res[::2, ::2][sub]
    if res_sub.size < 16:
        return _PairMeasures(warp_error, mc_mae, log_gain, regional, 0.0, texture_rms, valid)
    texture = float(np.median(res_sub)) / (0.5 * float(np.median(detail)) + 0.25)
    return _PairMeasures(warp_error, mc_mae, log_gain, regional, texture, texture_rms, valid)


def _segments(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = [0, *cuts, n]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i + 1] > bounds[i]]


def _fast_part(pair_log_gain: np.ndarray, segments: list[tuple[int, int]], window: int) -> np.ndarray:
    """Integrate pairwise log gains to a curve per shot and keep its fast part.

    A fade is a steady slope in the pairwise gains: the moving median of the gains is that slope and is taken
    out first (otherwise a steep fade swallows the flicker riding on it); what is left is integrated and its
    moving median removed."""
    out = np.zeros_like(pair_log_gain)
    for s, e in segments:
        if e - s < 3:
            continue
        steps = pair_log_gain[s + 1:e]
        if len(steps) >= 3:
            steps = steps - _moving_median(steps, window)
        curve = np.cumsum(np.concatenate([[0.0], steps]))
        out[s:e] = curve - _moving_median(curve, window)
    return out


def _moving_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred moving median; the ends are padded by odd reflection so a steady trend (a fade) passes whole."""
    half = min(window // 2, len(x) - 1)
    if half < 1:
        return x.copy()
    padded = np.concatenate([2 * x[0] - x[half:0:-1], x, 2 * x[-1] - x[-2:-half - 2:-1]])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)


def keyframe_pulse(energy: np.ndarray, valid: np.ndarray) -> tuple[int, float, list]:
    """Residual spikes repeating at a fixed period (a codec's keyframes, each re-coding the picture at once).

    Returns (period in frames, spike ratio = typical spike / typical other pair, spike frames), or (0, 1, [])
    when no period stands clear: every spike of the period above every other pair, at least four of them
    (with three, chance coincidences in a short clip are too common).
    """
    idx = np.flatnonzero(valid)
    if len(idx) < 12:
        return 0, 1.0, []
    x = np.full(len(energy), np.nan)
    x[idx] = np.log(energy[idx] + 1e-7)
    best = (0, 1.0, [])
    for period in range(3, len(energy) // 4 + 1):
        for phase in range(period):
            on = np.arange(phase, len(energy), period)
            on = on[np.isfinite(x[on])]
            if len(on) < 4:
                continue
            off = np.setdiff1d(idx, on)
            if len(off) < 2 * len(on) or x[on].min() <= x[off].max():
                continue
            ratio = float(np.exp(np.median(x[on]) - np.median(x[off])))
            if ratio > best[1]:
                best = (period, ratio, [int(i) for i in on])
    return best


def classic_measures(frames: Iterable[np.ndarray], progress: Optional[ProgressFn] = None, total: int = 0) -> dict:
    """Only the seed's measures, streamed: per-frame mean abs diff (0 for frame 0), its average, per-frame mean
    luma, and the seed rule's verdict. A fast first look; it cannot tell motion from flicker."""
    diffs, luma, prev = [], [], None
    for i, frame in enumerate(frames):
        diffs.append(pair_abs_diff(prev, frame) if prev is not None else 0.0)
        luma.append(float(np.dot(cv2.mean(frame)[:3], LUMA_WEIGHTS)))
        prev = frame
        report(progress, i + 1, max(total, i + 1))
    average = float(np.mean(diffs[1:])) if len(diffs) > 1 else 0.0
    return {"mean_diff": diffs, "mean_diff_avg": average, "luma": luma, "seed_verdict": seed_rule(average)}


# ---------------------------------------------------------------- streaming pass
@dataclass
class _Series:
    n: int = 0
    mean_diff: list = field(default_factory=list)
    luma: list = field(default_factory=list)
    rgb: list = field(default_factory=list)
    blockiness: list = field(default_factory=list)
    banding: list = field(default_factory=list)
    pairs: list = field(default_factory=list)  # _PairMeasures or None (frame 0, cuts)
    cuts: list = field(default_factory=list)
    size: tuple = (0, 0)


def _small(frame: np.ndarray, long_side: int) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = long_side / max(h, w) if long_side else 1.0
    if scale >= 1.0:
        return frame
    return cv2.resize(frame, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)


def _grid_crop(frame: np.ndarray, size: int) -> np.ndarray:
    h, w = frame.shape[:2]
    y0 = max(0, (h - size) // 2) // 8 * 8
    x0 = max(0, (w - size) // 2) // 8 * 8
    return np.ascontiguousarray(frame[y0:y0 + size, x0:x0 + size])


def _collect(frames: Iterable[np.ndarray], settings: AnalysisSettings, progress, total: int) -> _Series:
    s = _Series()
    prev = prev_small = prev_gray = None
    for i, frame in enumerate(frames):
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise UnflickerError(f"frames must be uint8 RGB (H, W, 3); frame {i} is {frame.dtype} {frame.shape}")
        if prev is not None and frame.shape != prev.shape:
            raise UnflickerError(f"frame {i} is {frame.shape[1]}x{frame.shape[0]}, frame 0 is {s.size[1]}x{s.size[0]}: one clip needs one size")
        if prev is None:
            s.size = frame.shape[:2]
        means = cv2.mean(frame)[:3]
        s.rgb.append(means)
        s.luma.append(float(np.dot(means, LUMA_WEIGHTS)))
        # codec evidence at native resolution (the 8x8 grid is lost in any rescale), on a grid-aligned
        # centre crop: blocking covers the whole frame, so 256x256 pixels are evidence enough
        crop = _grid_crop(frame, CODEC_CROP)
        gray_crop = flow.to_gray(crop)
        s.blockiness.append(blockiness(gray_crop))
        s.banding.append(banding(gray_crop))
        small = _small(frame, settings.long_side)
        gray = flow.to_gray(small)
        if prev is None:
            s.mean_diff.append(0.0)
            s.pairs.append(None)
        else:
            s.mean_diff.append(pair_abs_diff(prev, frame))
            pair = _measure_pair(prev_small, small, prev_gray, gray, settings.flow_preset)
            # a colour cast plus fast motion can look like a cut to the histogram test; a real cut also
            # breaks the optical flow, so a pair that flow lines up well stays in the shot
            if pair.valid < CUT_MAX_VALID and scenecut.is_cut(prev_small, small, settings.cut_threshold):
                s.cuts.append(i)
                s.pairs.append(None)
            else:
                s.pairs.append(pair)
        prev, prev_small, prev_gray = frame, small, gray
        s.n = i + 1
        report(progress, s.n, max(total, s.n))
    if s.n < 2:
        raise UnflickerError(f"the clip has {s.n} frame(s): flicker analysis needs at least two")
    return s


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

    def to_dict(self) -> dict:
        return {
            "version": 1,
            "frame_count": self.frame_count, "fps": self.fps, "width": self.width, "height": self.height,
            "verdict": self.verdict, "kinds": list(self.kinds),
            "findings": [f.to_dict() for f in self.findings],
            "measures": {k: _finite(v) for k, v in self.measures.items()},
            "series": {k: [_finite(x) for x in v] for k, v in self.series.items()},
            "scene_cuts": list(self.scene_cuts),
        }

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def text(self) -> str:
        m = self.measures
        lines = [self.verdict, "",
                 f"{self.frame_count} frames, {self.width}x{self.height}, {self.fps:g} fps; "
                 f"{len(self.scene_cuts)} scene cut(s){' at ' + ', '.join(map(str, self.scene_cuts)) if self.scene_cuts else ''}.", ""]
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
                  f"  classic mean abs diff (seed)      {m['mean_diff']:.2f} -> seed rule says \"{seed_rule(m['mean_diff'])}\""
                  " (motion counts as flicker there)"]
        return "\n".join(lines)


def _finite(x):
    x = float(x)
    return round(x, 6) if math.isfinite(x) else 0.0


def seed_rule(mean_diff: float) -> str:
    """The seed's one-number diagnosis, kept for comparison."""
    return "generative" if mean_diff > SEED_THRESHOLD else "codec"


def _top_frames(values: np.ndarray, count: int = 5) -> list:
    values = np.abs(np.nan_to_num(values))
    order = np.argsort(-values, kind="stable")
    return [int(i) for i in order[:count] if values[i] > 0]


def _diagnose(s: _Series, fps: float, settings: AnalysisSettings) -> FlickerReport:
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
    if not v.any():
        for k in ("brightness", "colour", "regional", "texture"):
            scores[k] = 0.0
    kinds, findings = [], []
    for k in sorted(FLICKER_KINDS, key=lambda k: -scores[k]):
        if scores[k] >= 1.0:
            kinds.append(k)
            frames = _top_frames(series[_SERIES_FOR_KIND[k]] - (1.0 if k == "codec" else 0.0))
            explanation = EXPLAIN[k]
            if k == "codec" and pulse[0] and pulse[1] >= KEYFRAME_PULSE:
                frames = pulse[2][:5]
                explanation += (f" The picture also pulses every {pulse[0]} frames, where the encoder puts a keyframe "
                                f"(residual {pulse[1]:.1f}x the other frames).")
            findings.append(Finding(k, _severity(scores[k]), scores[k], explanation, frames, FIXES[k]))
    if not kinds:
        kinds.append("steady")
        findings.append(Finding("steady", "none", max(scores.values()) if scores else 0.0, EXPLAIN["steady"], [], FIXES["steady"]))
    if s.cuts:
        kinds.append("scene_cuts")
        findings.append(Finding("scene_cuts", "info", float(len(s.cuts)), EXPLAIN["scene_cuts"], list(s.cuts), FIXES["scene_cuts"]))
    if kinds[0] == "steady":
        verdict = "Steady: no flicker beyond what motion explains"
    else:
        worst = findings[0]
        others = [f.kind for f in findings[1:] if f.kind != "scene_cuts"]
        verdict = f"{worst.severity.capitalize()} {worst.kind} flicker" + (f", also {', '.join(others)}" if others else "")
    verdict += f" (classic diff {measures['mean_diff']:.1f}; seed rule: {seed_rule(measures['mean_diff'])})"
    return FlickerReport(n, float(fps), s.size[1], s.size[0], kinds, findings, measures, series, list(s.cuts), verdict)


def analyze_frames(frames: Iterable[np.ndarray], fps: float, progress: Optional[ProgressFn] = None, total: int = 0,
                   settings: AnalysisSettings = AnalysisSettings()) -> FlickerReport:
    """Analyse a clip given as uint8 RGB frames (any iterable; consumed once, frame pairs only in memory)."""
    check_range("fps", fps, 0.01, 1000)
    settings = settings.validated()
    series = _collect(frames, settings, progress, total)
    return _diagnose(series, fps, settings)


def kinds_from_json(text: str) -> list[str]:
    """The kinds named by an analysis JSON (the ``json`` output of Analyze Flicker / ``analyze --json``)."""
    try:
        data = json.loads(text)
        kinds = data["kinds"]
    except (TypeError, ValueError, KeyError) as exc:
        raise UnflickerError("diagnosis must be the json output of Analyze Flicker (an object with a 'kinds' list)") from exc
    if not isinstance(kinds, list) or not all(k in KINDS for k in kinds):
        raise UnflickerError(f"diagnosis kinds must be a list of {', '.join(KINDS)}; got {kinds!r}")
    return kinds


def analyze_file(path: str, progress: Optional[ProgressFn] = None, settings: AnalysisSettings = AnalysisSettings()) -> FlickerReport:
    from . import video

    info, frames = video.iter_frames(path)
    try:
        return analyze_frames(frames, info.fps, progress, info.frame_count, settings)
    finally:
        frames.close()


# ---------------------------------------------------------------- before / after
COMPARED = (  # (measure, lower is better, label)
    ("warp_error", True, "warping error"),
    ("temporal_flickering_mc", False, "temporal flickering, motion-compensated (VBench-style)"),
    ("luma_hf_pct", True, "brightness fast part"),
    ("colour_hf_pct", True, "colour fast part"),
    ("regional_pct", True, "regional gain spread"),
    ("texture_ratio", True, "fine-detail residual"),
    ("blockiness", True, "8x8 blockiness"),
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
    b, a = before.measures, after.measures
    changes = {name: _pct(b[name], a[name]) for name, _, _ in COMPARED}
    # the flicker measures that matter: those of the kinds found before (warping error always)
    focus = ["warp_error"] + [_MEASURE_FOR_KIND[k] for k in before.kinds if k in _MEASURE_FOR_KIND]
    drops = [-changes[m] for m in focus]
    main = float(np.mean(drops))
    remaining = [k for k in after.kinds if k in FLICKER_KINDS]
    if main >= 30 and not remaining:
        verdict = f"Fixed: flicker down {main:.0f} % on the motion-compensated measures"
    elif main >= 15:
        verdict = f"Improved: flicker down {main:.0f} % on the motion-compensated measures"
    elif main > -15:
        verdict = f"Unchanged: flicker changed {-main:+.0f} % on the motion-compensated measures"
    else:
        verdict = f"Worse: flicker up {-main:.0f} % on the motion-compensated measures"
    if remaining:
        verdict += "; after: " + ", ".join(k if k in before.kinds else f"{k} (new)" for k in remaining)
    verdict += f" (classic diff {changes['mean_diff']:+.0f} %; the seed expected -30 to -60 % after a good fix)"
    lines = [verdict, "", f"{'measure':58s} {'before':>10s} {'after':>10s} {'change':>8s}"]
    for name, lower, label in COMPARED:
        better = (changes[name] < 0) == lower
        mark = "" if abs(changes[name]) < 1 else (" better" if better else " worse")
        lines.append(f"{label:58s} {b[name]:10.4f} {a[name]:10.4f} {changes[name]:+7.1f}%{mark}")
    lines += ["", f"before: {before.verdict}", f"after:  {after.verdict}"]
    return Comparison({k: b[k] for k, _, _ in COMPARED}, {k: a[k] for k, _, _ in COMPARED}, changes, verdict,
                      "\n".join(lines))


# ---------------------------------------------------------------- chart
_PANELS = (  # (title, ((series, label, colour, threshold line or None), ...))
    ("Frame-to-frame change", (("mean_diff", "classic mean diff (levels)", (150, 150, 150), SEED_THRESHOLD),
                               ("warp_error", "warping error x1000", (220, 60, 40), None))),
    ("Brightness and colour flicker (fast part, %)", (("luma_hf", "brightness", (240, 170, 0), THRESHOLDS["brightness"]),
                                                      ("colour_hf", "colour", (150, 60, 200), THRESHOLDS["colour"]))),
    ("Local flicker", (("regional", "regional gain spread %", (0, 140, 200), THRESHOLDS["regional"]),
                       ("texture", "fine-detail residual ratio", (40, 160, 60), THRESHOLDS["texture"]))),
)


def _dashed(draw, x0: float, x1: float, y: float, fill, dash: int = 6) -> None:
    x = x0
    while x < x1:
        draw.line((x, y, min(x + dash, x1), y), fill=fill, width=1)
        x += 2 * dash


def render_chart(rep: FlickerReport, width: int = 960, height: int = 600) -> np.ndarray:
    """A readable picture of the per-frame curves, uint8 (H, W, 3): scene cuts as red dashed verticals, each
    curve's detection threshold as a thin dashed line in its colour (the seed's 12 for the classic diff), and
    every panel scaled to show its thresholds, so noise far below them looks small."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    try:
        font, small = ImageFont.load_default(15), ImageFont.load_default(12)
    except TypeError:  # Pillow < 10.1
        font = small = ImageFont.load_default()
    draw.text((12, 8), rep.verdict[:130], fill=(0, 0, 0), font=font)
    left, right, top, bottom = 64, width - 16, 36, height - 30
    panel_h = (bottom - top) / len(_PANELS)
    n = max(rep.frame_count, 2)
    xs = lambda i: left + (right - left) * i / (n - 1)
    for p, (title, curves) in enumerate(_PANELS):
        y0 = top + p * panel_h + 18
        y1 = top + (p + 1) * panel_h - 8
        draw.rectangle((left, y0, right, y1), outline=(180, 180, 180))
        draw.text((left + 4, y0 - 17), title, fill=(40, 40, 40), font=small)
        values = [np.abs(np.asarray(rep.series[name], np.float64)) for name, _, _, _ in curves]
        limits = [float(v.max()) for v in values if len(v)] + [1.5 * t for _, _, _, t in curves if t]
        vmax = max(limits + [1e-6]) * 1.1
        yv = lambda value: y1 - (y1 - y0) * value / vmax
        for frac in (0.0, 0.5, 1.0):
            y = y1 - (y1 - y0) * frac
            draw.line((left - 4, y, left, y), fill=(120, 120, 120))
            draw.text((4, y - 7), f"{vmax * frac:.3g}", fill=(90, 90, 90), font=small)
        for cut in rep.scene_cuts:
            x = xs(cut - 0.5)
            for yy in range(int(y0), int(y1), 8):
                draw.line((x, yy, x, min(yy + 4, y1)), fill=(230, 0, 0), width=2)
        for k, (name, label, colour, threshold) in enumerate(curves):
            if threshold:
                light = tuple(int(c + (255 - c) * 0.4) for c in colour)
                _dashed(draw, left + 1, right - 1, yv(threshold), light)
                text = f"seed rule: > {threshold:g} = generative" if name == "mean_diff" else f"{label.split(' (')[0]} threshold"
                draw.text((left + 6 + k * (right - left) * 0.35, yv(threshold) - 16), text, fill=light, font=small)
        lx = right - 10
        for (name, label, colour, _), v in reversed(list(zip(curves, values))):
            pts = [(xs(i), yv(float(v[i]))) for i in range(len(v))]
            if len(pts) > 1:
                draw.line(pts, fill=colour, width=2)
            tw = draw.textlength(label, font=small)
            lx -= tw + 26
            draw.line((lx, y0 + 9, lx + 16, y0 + 9), fill=colour, width=3)
            draw.text((lx + 20, y0 + 2), label, fill=(40, 40, 40), font=small)
    step = max(1, int(round(n / 12)))
    for i in range(0, n, step):
        draw.text((xs(i) - 6, bottom - 4), str(i), fill=(90, 90, 90), font=small)
    draw.text((right - 300, height - 16), "frame   | dashed: thresholds" + ("; red: scene cuts" if rep.scene_cuts else ""),
              fill=(90, 90, 90), font=small)
    return np.asarray(img)


def save_chart(rep: FlickerReport, path: str) -> str:
    from PIL import Image

    Image.fromarray(render_chart(rep)).save(path)
    return path

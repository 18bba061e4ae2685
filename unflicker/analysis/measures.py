"""The measures: per frame and per pair (motion-compensated with DIS flow), the classic mean difference, and the
streaming pass that collects them for a clip; the kinds and thresholds they are judged by (the settings are
``unflicker.settings.AnalysisSettings``).

Scene cuts are the one decision of ``unflicker.measure.scenecut`` (``PairChecker``, as the interpolation uses it),
given the share of pixels the pair's flow lined up, which this pass has measured anyway."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Optional

import cv2
import numpy as np

from ..measure import flow, metrics, scenecut
from ..kinds import FLICKER, REPORTED
from ..errors import UnflickerError
from ..progress import ProgressFn, report
from ..settings import AnalysisSettings
from .seams import Moments, moments
from .drift import DriftTracker
from .damage import DamageFinder


KINDS = REPORTED
FLICKER_KINDS = FLICKER
CLASSIC_THRESHOLD = 12.0  # the classic rule: mean diff above this is "generative", else "codec"
LUMA_WEIGHTS = flow.LUMA_WEIGHTS
CODEC_CROP = 256  # side of the native-resolution centre crop used for blockiness and banding
GRID = 4  # regional gain blocks per side

# Detection thresholds on the clip-level measures (units as in FlickerReport.measures), set between the
# clean and the flickering clips of the labelled synthetic set (unflicker/analysis/cases.py, draws 0-6000 of
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
    look: Optional[Moments] = None  # moments of the clean aligned pixels (earlier, later): seams and drift


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
    look = moments(a[::2, ::2][sub].T, bw8[::2, ::2][sub].T) if sub.sum() >= 16 else None

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
        return _PairMeasures(warp_error, mc_mae, log_gain, regional, 0.0, texture_rms, valid, look)
    texture = float(np.median(res_sub)) / (0.5 * float(np.median(detail)) + 0.25)
    return _PairMeasures(warp_error, mc_mae, log_gain, regional, texture, texture_rms, valid, look)


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
    """Only the classic measures, streamed: per-frame mean abs diff (0 for frame 0), its average, per-frame mean
    luma, and the classic rule's verdict (``classic_verdict``; ``seed_verdict`` is the same value under its
    earlier name, kept for one release). A fast first look; it cannot tell motion from flicker."""
    diffs, luma, prev = [], [], None
    for i, frame in enumerate(frames):
        diffs.append(pair_abs_diff(prev, frame) if prev is not None else 0.0)
        luma.append(float(np.dot(cv2.mean(frame)[:3], LUMA_WEIGHTS)))
        prev = frame
        report(progress, i + 1, max(total, i + 1))
    average = float(np.mean(diffs[1:])) if len(diffs) > 1 else 0.0
    verdict = classic_rule(average)
    return {"mean_diff": diffs, "mean_diff_avg": average, "luma": luma, "classic_verdict": verdict,
            "seed_verdict": verdict}


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
    damaged: list = field(default_factory=list)  # damage.DamagedFrame: flash frames, single-frame content breaks
    drifts: list = field(default_factory=list)  # drift.Drift per shot (keyframes lined up by flow)


# optical flow (OpenCV DIS) takes frames of at least this many pixels on the shorter and the longer side
FLOW_MIN_SIDES = (8, 12)


def flow_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) the flow and photometric measures run at: frames over ``long_side`` (0 = none) shrink."""
    scale = long_side / max(height, width) if long_side else 1.0
    if scale >= 1.0:
        return width, height
    return max(8, round(width * scale)), max(8, round(height * scale))


def _small(frame: np.ndarray, long_side: int) -> np.ndarray:
    h, w = frame.shape[:2]
    size = flow_size(w, h, long_side)
    return frame if size == (w, h) else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _grid_crop(frame: np.ndarray, size: int) -> np.ndarray:
    h, w = frame.shape[:2]
    y0 = max(0, (h - size) // 2) // 8 * 8
    x0 = max(0, (w - size) // 2) // 8 * 8
    return np.ascontiguousarray(frame[y0:y0 + size, x0:x0 + size])


def checked_frame(i: int, frame) -> np.ndarray:
    """Frame ``i`` of a clip as a uint8 RGB array, or an error saying what it is instead."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise UnflickerError(f"frames must be uint8 RGB (H, W, 3); frame {i} is {frame.dtype} {frame.shape}")
    return frame


def collect(frames: Iterable[np.ndarray], settings: AnalysisSettings, progress, total: int,
            size: tuple[int, int]) -> _Series:
    """The streaming pass over a clip whose frames are ``size`` (height, width)."""
    s = _Series(size=size)
    checker = scenecut.PairChecker(settings.cut_threshold)
    damage = DamageFinder()
    drift = DriftTracker(settings.flow_preset)
    prev = prev_small = prev_gray = None
    for i, frame in enumerate(frames):
        frame = checked_frame(i, frame)
        if frame.shape[:2] != s.size:
            first = f"frame 0 is {s.size[1]}x{s.size[0]}" if prev is not None else f"the clip is {s.size[1]}x{s.size[0]}"
            raise UnflickerError(f"frame {i} is {frame.shape[1]}x{frame.shape[0]}, {first}: one clip needs one size")
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
            if checker.is_cut(prev_small, small, aligned=pair.valid):
                s.cuts.append(i)
                s.pairs.append(None)
            else:
                s.pairs.append(pair)
        damage.add(frame)
        drift.add(i, small, cut=bool(s.cuts) and s.cuts[-1] == i)
        prev, prev_small, prev_gray = frame, small, gray
        s.n = i + 1
        report(progress, s.n, max(total, s.n))
    if s.n < 2:
        raise UnflickerError(f"the clip has {s.n} frame(s): flicker analysis needs at least two")
    s.damaged = damage.finish()
    s.drifts = drift.finish()
    return s


def classic_rule(mean_diff: float) -> str:
    """The classic one-number diagnosis (mean diff > 12 = "generative", else "codec"), kept for comparison.
    Called the classic rule, not the seed rule, so it is not read as a random seed beside the seed inputs."""
    return "generative" if mean_diff > CLASSIC_THRESHOLD else "codec"

"""The texture stage: the high-pass detail of the neighbours (already low-frequency corrected) warped onto the
frame at full size along flow of its own and averaged with weights that fall to zero where they disagree
(occlusions, flow failures), so re-sampled grain averages out while edges stay put. The average is then taken in
only as far as it is estimated to help (a Wiener-like shrink per pixel): faint grain, where what the neighbours
disagree by is mostly warp error, is left nearly as it came rather than traded for that error."""

from __future__ import annotations

import cv2
import numpy as np

from ...measure import flow, metrics
from .basics import flows_both_ways, luma, to_u8
from .window import AlignedWindow, Frame

TEXTURE_RADIUS = 4  # neighbours on each side averaged for texture (9 frames)
# a neighbour's weight starts to fall where its patch distance passes this many times the pair's grain variance
TEXTURE_TOLERANCE = 1.4
DETAIL_SIGMA = 2.5  # the texture stage averages what a Gaussian low-pass of this std (px) leaves
# the texture stage's own flow, at up to this long side: fine detail needs sub-pixel alignment that the
# work-size flow, upsampled, does not give (real clips: +0.6 dB, warping error -4 %)
TEXTURE_FLOW_SIDE = 640
TEXTURE_FLOW_BLUR = 1.0  # std (px) of the blur on its luma: grain re-drawn per frame must not steer it
WEIGHT_SAMPLES = 4000  # pixels per pair for the median of the patch distance: plenty for a median
# the grain variance of a pair is also read where the frames are quietest: the mean patch distance over blocks of
# QUIET_BLOCK px (full size) whose flow holds throughout, at its QUIET_PERCENTILE-th percentile (flat, exactly
# aligned content: grain alone), times QUIET_SCALE (a low percentile of block means falls short of their mean;
# tuned on bench/grain_real.py: 1.8 kept 0.1-0.3 dB more of heavy grain's gain, but left std 2 on a shimmering
# clip 0.4 dB below the input, 1.3 is 0.3 dB above). The median alone counts warp error as grain wherever it is
# above the grain (faint grain), and lets that error in
QUIET_BLOCK = 16
QUIET_PERCENTILE = 10
QUIET_SCALE = 1.3
SHRINK_SPREAD = 2.0  # std (half-size px) of the local mean of the averaged change the shrink compares with


def lowpass(img: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    """Gaussian-like low-pass (std ~``sigma`` px) computed at quarter size: cheap at any frame size."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / 4.0, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


class TextureStage:
    """Averages each frame's fine detail with its corrected neighbours' in ``window`` (``radius`` each side)."""

    def __init__(self, window: AlignedWindow, radius: int, strength: float):
        self.window, self.radius, self.strength = window, radius, strength

    @property
    def scale(self) -> float:
        return min(1.0, TEXTURE_FLOW_SIDE / max(self.window.size))

    def offsets(self, rec: Frame) -> list[int]:
        """The corrected neighbours to average with, nearest first."""
        found = self.window.neighbours(rec, self.radius, lambda r: r.corrected is not None)
        found.sort(key=abs)
        return found

    def _detail(self, rec: Frame) -> np.ndarray:
        """High-pass part of the corrected frame (float32), made once per frame and shared by every frame that
        warps it: warping the detail equals the detail of the warp wherever the flow is smooth, and where it is
        not the neighbour's weight is near zero anyway."""
        if rec.detail is None:
            cur = rec.corrected.astype(np.float32) if rec.corrected.dtype != np.float32 else rec.corrected
            rec.detail = cv2.subtract(cur, lowpass(cur, DETAIL_SIGMA))
        return rec.detail

    def _gray(self, rec: Frame) -> np.ndarray:
        if rec.tex_gray is None:
            gray = flow.to_gray(to_u8(rec.corrected))
            h, w = gray.shape
            if self.scale < 1.0:
                gray = cv2.resize(gray, (max(1, round(w * self.scale)), max(1, round(h * self.scale))),
                                  interpolation=cv2.INTER_AREA)
            rec.tex_gray = cv2.GaussianBlur(gray, (0, 0), TEXTURE_FLOW_BLUR * self.scale)
        return rec.tex_gray

    def _flow(self, rec: Frame, k: int):
        """Full-size remap map taking frame rec + k onto rec, and where its flow holds (texture-flow size).
        DIS on the low-frequency-corrected luma (flicker already taken out cannot mislead it), direct to each
        neighbour, forward-backward checked; both directions of a pair are made together and kept on both frames."""
        got = rec.tex_flow.get(k)
        if got is None:
            nb = self.window.get(rec.index + k)
            ga, gb = self._gray(rec), self._gray(nb)
            fw, bw = flows_both_ways(ga, gb, "fast")
            grid = metrics.pixel_map(*ga.shape)
            rec.tex_flow[k] = fw, flow.occlusion_mask(fw, bw) & metrics.inside(cv2.add(grid, fw))
            nb.tex_flow[-k] = bw, flow.occlusion_mask(bw, fw) & metrics.inside(cv2.add(grid, bw))
            got = rec.tex_flow[k]
        fl, ok = got
        return self.window.full_map(fl, self.scale), ok

    def average(self, rec: Frame, offsets: list[int]) -> np.ndarray:
        """The frame with its fine detail averaged with the neighbours' at ``offsets`` (uint8)."""
        cur = rec.corrected
        cur = cur.astype(np.float32) if cur.dtype != np.float32 else cur
        h, w = self.window.size
        hw, hh = max(1, w // 2), max(1, h // 2)
        step = max(1, int(np.sqrt(hw * hh / WEIGHT_SAMPLES)))
        base = self._detail(rec)
        # only high frequencies are averaged: the neighbour's low frequencies (a fade's step, what is left of
        # low-frequency flicker) are replaced by this frame's, so a one-sided window cannot shift them.
        # num = sum of weighted detail differences, den = 1 + sum of weights (3 channels, so OpenCV does the
        # arithmetic in place); cur + num / den is the weighted mean
        num = np.zeros_like(cur)
        den = np.ones((hh, hw), np.float32)  # resizing is linear: the weights are summed at half size
        grain = np.inf  # the frame's grain variance (luma, detail band): the least any pair measures
        for k in offsets:
            mapping, ok = self._flow(rec, k)
            nb = self.window.get(rec.index + k)
            # cubic for the nearest neighbours, which carry most weight; bilinear (twice as fast) for the others:
            # its slight smoothing of their detail only adds to the averaging (measured: less grain left)
            diff = cv2.remap(self._detail(nb), mapping, None,
                             cv2.INTER_CUBIC if abs(k) == 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            cv2.subtract(diff, base, dst=diff)
            weight, var = self._weight(diff, ok, (hw, hh), step)
            grain = min(grain, var / 2)  # a pair's difference carries the grain of both frames
            cv2.accumulate(weight, den)
            weight3 = cv2.resize(cv2.merge((weight, weight, weight)), (w, h), interpolation=cv2.INTER_LINEAR)
            cv2.accumulateProduct(diff, weight3, num)
        den_full = cv2.resize(cv2.merge((den, den, den)), (w, h), interpolation=cv2.INTER_LINEAR)
        cv2.divide(num, den_full, dst=num)
        _shrink(num, den, grain)
        if self.strength != 1.0:
            num *= self.strength
        return cv2.add(cur, num, dtype=cv2.CV_8U)

    @staticmethod
    def _weight(diff: np.ndarray, ok: np.ndarray, half_size: tuple, step: int):
        """A neighbour's weight per pixel at half size (0 where its flow fails), from the patch distance
        (as in non-local means) of its warped detail: where the two frames differ by grain alone its expected
        value is the pair's grain variance (the median patch distance, or what the quietest blocks measure where
        that is less); weights fall off as it rises above that (misalignment). Also returns that variance as the
        quietest blocks measure it (the median where no block's flow holds), for the shrink."""
        hw, hh = half_size
        d = luma(diff)
        dd = cv2.multiply(d, d)
        ok_half = cv2.resize(ok.view(np.uint8), (hw, hh), interpolation=cv2.INTER_NEAREST).view(bool)
        sample = dd[:2 * hh:2 * step, :2 * hw:2 * step][ok_half[::step, ::step]]
        var = max(float(np.median(sample)) / 0.455 if sample.size else 0.0, 0.25)
        # the distance is smooth (a 1.5 px Gaussian), so it and the weights are made at half size
        half = cv2.resize(dd, (hw, hh), interpolation=cv2.INTER_AREA)
        quiet = QUIET_SCALE * _quiet_distance(half, ok_half)
        var = max(min(var, quiet), 0.25)
        dist = cv2.GaussianBlur(half, (0, 0), 0.75)
        weight = cv2.exp(np.minimum(1.0 - dist * np.float32(1.0 / (TEXTURE_TOLERANCE * var)), 0.0, out=dist))
        weight[~ok_half] = 0.0
        return weight, max(quiet, 0.25) if np.isfinite(quiet) else var


def _quiet_distance(half: np.ndarray, ok_half: np.ndarray) -> float:
    """The QUIET_PERCENTILE-th percentile of the mean squared detail difference (half size) over blocks of
    QUIET_BLOCK px whose flow holds throughout; inf where no block does (then the median alone is used)."""
    hh, hw = half.shape
    cells = (max(1, hw * 2 // QUIET_BLOCK), max(1, hh * 2 // QUIET_BLOCK))
    means = cv2.resize(half, cells, interpolation=cv2.INTER_AREA)
    held = cv2.resize(ok_half.astype(np.float32), cells, interpolation=cv2.INTER_AREA) > 0.99
    return float(np.percentile(means[held], QUIET_PERCENTILE)) if held.any() else np.inf


def _shrink(change: np.ndarray, den: np.ndarray, grain: float) -> None:
    """Scales the averaged change of the frame's detail (full size, in place) per pixel by the Wiener-like
    factor that minimises the expected error: with W the neighbours' summed weight (den - 1), the change would
    be -W / (1 + W) of the frame's own grain if the neighbours agreed but for their grain, so the best factor is
    grain * W / (1 + W) over the local mean square of the change (luma), at most 1. Where warp error or real
    change makes the neighbours disagree by more than grain accounts for, the frame keeps more of its own."""
    if not np.isfinite(grain):
        return
    h, w = change.shape[:2]
    lc = luma(change)
    power = cv2.resize(cv2.multiply(lc, lc), den.shape[::-1], interpolation=cv2.INTER_AREA)
    power = cv2.GaussianBlur(power, (0, 0), SHRINK_SPREAD)
    expected = cv2.multiply(den - 1.0, np.float32(grain) / den)
    factor = np.minimum(cv2.divide(expected, np.maximum(power, np.float32(1e-6))), 1.0)
    cv2.multiply(change, cv2.resize(cv2.merge((factor, factor, factor)), (w, h), interpolation=cv2.INTER_LINEAR),
                 dst=change)

"""Drift: the change of look of content that persists through a shot, from its start to its end.

Chaining every frame-to-frame colour fit adds up each pair's error (on clean real clips the chained saturation
wandered by 10-50 %), so drift is measured on keyframes instead (``DriftTracker``, fed by the analyzer's streaming
pass): small copies of a shot's frames every ``KEY_EVERY`` frames, each lined up by optical flow with an *anchor*
keyframe (forward-backward consistent pixels only). The anchor is the shot's first frame for as long as enough of its
content is still in view; when too little is, the keyframe before becomes the anchor, so the chain has a link only
where the content has really moved on (a few links per shot, not one per frame). Only three small frames are held.

A link's look is measured in log levels (``log_look``), where a fade, an exposure change or a light going down (one
gain for the whole picture) moves every channel of every pixel by the same amount: the median change common to the
channels is that gain; what each channel moves beyond it (medians again: pixels of new content, or where the flow
slipped, are a minority) is the colour drift; the spread of the colours around the grey axis (robust spreads, not a
regression: a pixel lined up with re-drawn detail keeps its spread but not its exact colour) gives the saturation.
Log looks add up along the links. Drift is the colour part from the shot's first frame to its last, in levels at
the first frame's mean colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from ..measure import flow, metrics

KEY_EVERY = 4  # frames between keyframes
KEY_SIDE = 128  # keyframes are at most this many pixels on the longer side
MIN_TRACKED = 0.3  # a link needs this share of its anchor's pixels lined up (forward-backward consistent)
MIN_SAMPLES = 200  # ... and this many clean pixel samples
DARK = 12  # pixels with a channel under this many levels (in either frame) tell no colour change (log noise)
MIN_CHROMA = 0.004  # saturation is measured where the colours spread this much around grey (log levels^2)
# drift is found from a per-channel change of DRIFT_LEVELS levels or a saturation change of DRIFT_SATURATION beyond
# the common gain, from the start of a shot to its end. Set from bench/drift_real.py on the 14 real clips: 12 clean
# clips read at most 3.6 levels, and a fade to 35 %, a light going down or a pan into shade at most 7.5 (on a clip
# whose own light turns warm to cool: 11.4 clean, as does Causal Forcing's, 8.5: those two read drift, and it is
# there); an injected cast of 6-10 levels reads 1-23 (9 of 14 found with +15 % saturation, 8 of 14 alone). The
# saturation wanders by up to +-45 % on clean real clips (content coming and going changes the spread of colour),
# so only a gross change counts alone
DRIFT_LEVELS = 8.0
DRIFT_SATURATION = 0.75
# a shot shorter than this is measured but not reported: over a few frames colour flicker moves the ends as much
DRIFT_MIN_FRAMES = 12
NO_LOOK = np.zeros(5)  # a log look: common log gain, log change of R, G, B beyond it, log saturation factor


@dataclass
class Drift:
    channels: np.ndarray  # (3,) change of each channel's mean level beyond the common change, levels
    saturation: float  # relative change of saturation (chroma spread) beyond the common gain
    contrast: float  # relative change of the common gain (a fade or exposure change shows here too)
    levels: float  # change of the mean level, common to the channels
    frames: int  # frames the shot spans
    start: int = 0  # the shot's first frame
    links: int = 0  # fits composed from the first frame to the last (1: the first frame's content lined up)
    curve: list = field(default_factory=list)  # (frame, score) at the shot's keyframes: the drift so far

    @property
    def score(self) -> float:
        """Against the detection limits (>= 1: drift)."""
        return max(float(np.abs(self.channels).max()) / DRIFT_LEVELS, abs(float(self.saturation)) / DRIFT_SATURATION)

    @property
    def detected(self) -> bool:
        return self.score >= 1.0 and self.frames >= DRIFT_MIN_FRAMES

    def to_dict(self) -> dict:
        return {"drift_r": float(self.channels[0]), "drift_g": float(self.channels[1]),
                "drift_b": float(self.channels[2]), "drift_saturation_pct": 100.0 * float(self.saturation),
                "drift_contrast_pct": 100.0 * float(self.contrast), "drift_levels": float(self.levels),
                "drift_links": float(self.links), "drift_score": float(self.score)}


def no_drift(frames: int, start: int = 0) -> Drift:
    return Drift(np.zeros(3), 0.0, 0.0, 0.0, frames, start)


def drift_of(look: np.ndarray, start_mean: np.ndarray, frames: int, start: int = 0, links: int = 0) -> Drift:
    """A log look across a shot (``DriftTracker._ends``) as a Drift, in levels at ``start_mean`` (the first frame's
    mean colour of the tracked content)."""
    gain = float(np.exp(look[0]))
    channels = (np.exp(look[1:4]) - 1.0) * gain * (np.asarray(start_mean) + 1.0)
    return Drift(channels, float(np.exp(look[4])) - 1.0, gain - 1.0, (gain - 1.0) * float(np.mean(start_mean)),
                 frames, start, links)


def worst(drifts: list, frames: int) -> Drift:
    """The shot whose drift is found and scores highest (no drift when none was measured)."""
    return max(drifts, key=lambda d: (d.detected, d.score)) if drifts else no_drift(frames)


@dataclass
class _Key:
    rgb: np.ndarray  # the keyframe, small
    gray: np.ndarray  # its grey, normalised (see _keyframe)
    look: np.ndarray = field(default_factory=lambda: NO_LOOK)  # the log look from the shot's first frame to here
    links: int = 0  # links summed to get there


def _keyframe(small: np.ndarray) -> _Key:
    h, w = small.shape[:2]
    scale = KEY_SIDE / max(h, w)
    rgb = small if scale >= 1.0 else cv2.resize(small, (max(16, round(w * scale)), max(16, round(h * scale))),
                                                interpolation=cv2.INTER_AREA)
    # the flow runs on grey normalised to one mean and spread, so that it lines up a faded frame as well as the
    # frame before the fade (and picks the same content)
    gray = metrics.to_gray(rgb).astype(np.float32)
    gray = np.clip((gray - gray.mean()) * (48.0 / max(float(gray.std()), 1.0)) + 128.0, 0, 255).astype(np.uint8)
    return _Key(rgb, gray)


def _spread(values: np.ndarray) -> float:
    """A robust variance (from the median absolute deviation), per row, averaged."""
    centre = np.median(values, 1, keepdims=True)
    return float(np.mean((1.4826 * np.median(np.abs(values - centre), 1)) ** 2))


def log_look(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The log look (``NO_LOOK``'s layout) from samples x to y (3, m) of the same content."""
    lx, ly = np.log(x + 1.0), np.log(y + 1.0)
    change = ly - lx
    common = change.mean(0)
    channels = np.median(change - common, 1)
    channels -= channels.mean()
    cx, cy = lx - lx.mean(0), ly - ly.mean(0)  # log colour around the grey axis: a gain leaves it alone
    spread_x, spread_y = _spread(cx), _spread(cy)
    saturation = 0.5 * np.log((spread_y + MIN_CHROMA) / (spread_x + MIN_CHROMA)) if spread_x >= MIN_CHROMA else 0.0
    return np.r_[float(np.median(common)), channels, saturation]


def tracked_look(a: _Key, b: _Key, preset: str) -> Optional[tuple]:
    """Samples (3, m) of a's pixels and b's at the same content (DIS flow both ways, consistent, unclipped, not outlying
    in luma), or None where too little lines up."""
    if not flow.dis_fits(a.gray.shape):
        return None
    fw, bw = flow.dis_flow(a.gray, b.gray, preset), flow.dis_flow(b.gray, a.gray, preset)
    ok = (flow.occlusion_mask(fw, bw) & metrics.flow_stays_inside(fw)).view(np.uint8)
    ok = cv2.erode(ok, np.ones((3, 3), np.uint8))
    if cv2.countNonZero(ok) < MIN_TRACKED * ok.size:
        return None
    lined = flow.warp(b.rgb, fw)
    ok &= (cv2.inRange(a.rgb, (DARK,) * 3, (251,) * 3) & cv2.inRange(lined, (DARK,) * 3, (251,) * 3)) >> 7
    # every other pixel each way is sample enough for the medians (a quarter of the cost)
    ok, sampled, lined = ok[::2, ::2].view(bool), a.rgb[::2, ::2], lined[::2, ::2]
    x, y = sampled[ok].T.astype(np.float64), lined[ok].T.astype(np.float64)
    if x.shape[1] < MIN_SAMPLES:
        return None
    # where the flow slipped the luma differs by tens of levels from what a line through the rest predicts (a fade
    # moves bright pixels more than dark ones: the line, not one offset), in the earlier frame's levels (after a
    # fade to a third, slipped pixels differ by a third as much)
    lx, ly = metrics.LUMA_WEIGHTS @ x, metrics.LUMA_WEIGHTS @ y
    slope, offset = np.polyfit(lx, ly, 1)
    diff = (ly - slope * lx - offset) / max(slope, 0.1)
    centre = float(np.median(diff))
    keep = np.abs(diff - centre) <= max(12.0, 6.0 * float(np.median(np.abs(diff - centre))))
    return (x[:, keep], y[:, keep]) if keep.sum() >= MIN_SAMPLES else None


class DriftTracker:
    """Fed every frame of a clip (the analyzer's small copy) with whether a cut starts there; ``finish`` gives a
    Drift per shot of at least 3 frames."""

    def __init__(self, preset: str = "fast"):
        self.preset = preset
        self.drifts: list = []
        self.start = -1  # the current shot's first frame (-1: none yet)
        self.anchor = self.last = None  # _Key: what new keyframes are lined up with; the latest keyframe
        self.start_mean: Optional[np.ndarray] = None  # the mean colour of the first frame's tracked content
        self.pending = None  # (frame index, small frame) of the latest frame, not a keyframe
        self.keys: list = []  # (frame, look from the shot's first frame) of the shot's keyframes
        self.end = 0

    def add(self, i: int, small: np.ndarray, cut: bool = False) -> None:
        if cut or self.start < 0:
            self._close()
            self.start, self.pending = i, None
            self.anchor = self.last = _keyframe(small)
            self.start_mean, self.keys = None, [(i, NO_LOOK)]
        elif (i - self.start) % KEY_EVERY == 0:
            self._key(i, small)
            self.pending = None
        else:
            self.pending = (i, small)
        self.end = i + 1

    def _key(self, i: int, small: np.ndarray) -> None:
        key = _keyframe(small)
        got = tracked_look(self.anchor, key, self.preset)
        base = self.anchor
        if got is None and self.last is not self.anchor:
            got, base = tracked_look(self.last, key, self.preset), self.last
            self.anchor = self.last  # the first frame's content has gone: the chain gets a link here
        if got is None:
            key.look, key.links = self.last.look, self.last.links  # nothing lined up: no change counted
            self.anchor = key
        else:
            key.look, key.links = base.look + log_look(*got), base.links + 1
            if base.links == 0:
                self.start_mean = got[0].mean(1)
        self.last = key
        self.keys.append((i, key.look))

    def _close(self) -> None:
        if self.start < 0:
            return
        if self.pending is not None:
            self._key(*self.pending)
        frames = self.end - self.start
        if frames >= 3 and self.start_mean is not None:
            drift = drift_of(self._ends(), self.start_mean, frames, self.start, self.last.links)
            drift.curve = [(i, drift_of(look, self.start_mean, frames).score) for i, look in self.keys]
            self.drifts.append(drift)
        elif frames >= 3:
            self.drifts.append(no_drift(frames, self.start))
        self.start, self.anchor, self.last, self.pending = -1, None, None, None

    def _ends(self) -> np.ndarray:
        """The look from the shot's first quarter to its last (the keyframes in each averaged): one frame at either
        end is as likely a flickering one (colour flicker moves single frames by as much as a drift moves the
        shot)."""
        quarter = max(1, (self.end - self.start) // 4)
        first = [look for i, look in self.keys if i < self.start + quarter]
        last = [look for i, look in self.keys if i >= self.end - quarter]
        return np.mean(last or [self.last.look], 0) - np.mean(first, 0)

    def finish(self) -> list:
        self._close()
        return self.drifts


EXPLAIN_DRIFT = ("The look of persisting content changes from the start of the shot to its end beyond what a fade or "
                 "an exposure change does to the whole picture: per channel R {r:+.1f}, G {g:+.1f}, B {b:+.1f} "
                 "levels, saturation {sat:+.1f} % (common gain {contrast:+.1f} %, kept as intended).")
FIX_DRIFT = ("Deflicker (flow-guided) with drift = hold (optionally a reference image) holds the first frames' "
             "look; left as it is unless you ask (drift can be intended: a grade, a time of day).")


def drift_series(drifts: list, frames: int) -> np.ndarray:
    """Per frame, the drift of its shot so far (its score, >= 1: drift), between keyframes interpolated."""
    out = np.zeros(frames)
    for d in drifts:
        if d.curve:
            at, score = zip(*d.curve)
            span = np.arange(d.start, min(d.start + d.frames, frames))
            out[span] = np.interp(span, at, score)
    return out


def drift_look(drifts: list, frames: int) -> tuple[dict, dict, dict, dict]:
    """The analyzer's drift of a clip from its shots' Drifts: (measures, series, found: {"drift": (score,
    explanation, frames, fix)} when the worst shot drifts, the JSON's "drift" entry)."""
    drift = worst(drifts, frames)
    text = EXPLAIN_DRIFT.format(r=drift.channels[0], g=drift.channels[1], b=drift.channels[2],
                                sat=100 * drift.saturation, contrast=100 * drift.contrast)
    span = [drift.start, drift.start + drift.frames - 1]
    found = {"drift": (drift.score, text, span, FIX_DRIFT)} if drift.detected else {}
    entry = {"flagged": bool(drift.detected), "calibrated": True, "score": float(drift.score), **drift.to_dict(),
             "frames": span, "explanation": text, "fix": FIX_DRIFT}
    return drift.to_dict(), {"drift": drift_series(drifts, frames)}, found, entry

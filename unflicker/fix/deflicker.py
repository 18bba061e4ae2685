"""Flow-guided deflicker: removes brightness, regional, colour and texture flicker while keeping motion and fades.

Classical, no weights. Every frame is compared with its neighbours *after* lining them up with optical flow
(DIS on a small copy, chained frame to frame, forward-backward checked), so only flicker is left to measure:

* low frequencies (``brightness``, ``colour``, ``regional``): for each frame and its two predecessors, a robust
  gain and offset per channel that takes the aligned predecessor to this frame, fitted on the pixels the flow
  trusts and that are clipped in neither (outlying pixels — occlusions, flow failures — weighted down), and, after
  that fit, the smooth gain field left (regional: bilinear between the nodes of a 4x4 grid, a robust fit to the
  per-pixel log ratios). These relative measurements are integrated over the whole shot by least squares into one
  brightness/colour curve per channel (and per field node); a smooth trend is
  fitted to each curve (a Hodrick-Prescott trend, robust to single flash frames, whose cut-off period is two
  seconds of video or ``window`` frames if longer; a real jump that persists, like a light switched on, is a break
  in it) and only the curve's departure from its trend is undone. A fade or exposure drift is the trend: it stays.
  A frame that no gain and offset ties to its predecessors while its level jumps and stays (a light coming on,
  a burst of new content) measures nothing: it is left as it is and breaks the trend.
  The correction is a per-channel gain and offset (and, where regional flicker is measured, a smooth gain field),
  so it cannot add spatial structure.
* high frequencies (``texture``): the high-pass detail of the neighbours, already corrected, is warped onto the
  frame at full size (cubic for the nearest, bilinear for the others) along flow of its own, computed between the
  corrected frames at up to 640 px (the small copy's flow is too coarse to line fine detail up), and averaged with
  weights, computed at half size, that fall to zero where they disagree (occlusions, flow failures), so re-sampled
  grain averages out while edges stay put.

``auto`` corrects only what it measures: brightness, colour and regional flicker where the removed part is above
what a steady clip shows (brightness and colour judged against a trend of half the period, which follows a real
exposure change over a few frames that the correction's trend would only round off), texture where grain is
measured between aligned frames; a steady clip passes through unchanged. Scene cuts end a shot: nothing is measured
or averaged across one.

Memory stays streamed. A re-iterable source (an array, a list, or a function returning a fresh iterator: what the
node and the ``fix`` command pass) is read twice: the first pass keeps only a few numbers per frame, the solve runs
per shot, the second pass applies it (holding the ±4 frames the texture stage averages). A one-shot iterator is read
once, holding ``window // 2`` frames ahead: each frame's curve is then solved over the statistics seen so far
(the last few seconds) and that short look-ahead. Where OpenCV may use more than one thread, the first pass runs
the grain probe's own alignment and a frame's further pair fits on two worker threads beside the rest; the
figures are the same as in one thread.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterator, Optional

import cv2
import numpy as np

from ..measure import flow, metrics, scenecut
from ..errors import UnflickerError
from ..kinds import FIXABLE, FIXED_BY
from ..progress import ProgressFn, report
from ..settings import DEFLICKER_MODES, DeflickerSettings

KINDS = FIXABLE
MODES = DEFLICKER_MODES  # the user-facing settings (modes, strength, window) are defined in unflicker.settings
# Analyze Flicker's kind names -> what we do about them
_ANALYZER_KINDS = FIXED_BY
DEFAULT_WINDOW = DeflickerSettings.default("window")
TEXTURE_RADIUS = 4  # neighbours on each side averaged for texture (9 frames)

_WORK_SIDE = 160  # long side of the copy used for flow and low-frequency statistics
_PAIR_REACH = 2  # each frame is measured against its 2 predecessors
_FIT_SAMPLES = 5000  # pixels per pair for the per-channel gain/offset fit
_CLIP_LO, _CLIP_HI = 3.0, 252.0  # pixels outside in either frame are clipped: they carry no gain
_CELLS = 4  # regional field: nodes along the long side
_FIELD_RIDGE = 1e-2  # pulls nodes little seen (borders of a pan, occlusions) towards no change
_TREND_SECONDS = 2.0  # cut-off period of the trend (at least ``window`` frames)
_HISTORY_SECONDS = 4.0  # one-shot streams: statistics of the past kept for each frame's solve
_BAD_FIT = 1.8  # a pair fit leaving this many times the shot's median residual is not a global change
_BAD_FIT_JUMP = 0.1  # ... where the frame's mean also moves by this much (log): a real change, not a poor fit
_GATE_PERIOD = 0.5  # auto gates brightness and colour against a trend of this share of the period
_STEP = 0.3  # jump of a frame's level (log, gain and offset together) that persists: a real change (~35 %), a
# break in the trend
# auto: what must be removed for a kind to be corrected at all (RMS over the shot). A steady real clip measures
# well under these; the analyzer's own thresholds are 1.0 % (brightness) and 0.8 % (colour).
_GATE_BRIGHTNESS = 0.025  # RMS luma change / mean luma
_GATE_COLOUR = 0.016  # RMS per-channel change beyond the common one / mean luma
_GATE_REGIONAL = 0.048  # RMS frame-to-frame change of the gain field (steady real clips: 0.1-4.3 %, with
# a smooth ±10 % field re-drawn per frame: 5.4-6.9 %)
_TEXTURE_MIN_NOISE = 3.4  # auto: temporal grain (levels, robust std) above which texture is filtered; steady
# real clips measure 0.7-3.2 (their own shimmer), the same with grain of std ~4 re-drawn per frame 3.6-5.5
_TEXTURE_TOLERANCE = 1.4  # a neighbour's weight starts to fall where its patch distance passes this many times
# the pair's grain variance
_DETAIL_SIGMA = 2.5  # the texture stage averages what a Gaussian low-pass of this std (px) leaves
_TEXTURE_FLOW_SIDE = 640  # the texture stage's own flow, at up to this long side: fine detail needs sub-pixel
# alignment that the work-size flow, upsampled, does not give (real clips: +0.6 dB, warping error -4 %)
_TEXTURE_FLOW_BLUR = 1.0  # std (px) of the blur on its luma: grain re-drawn per frame must not steer it
_CUT_THRESHOLD = 0.5
_LUMA = flow.LUMA_WEIGHTS


def resolve_kinds(kinds) -> tuple[frozenset, bool]:
    """``"auto"`` / a mode name / an iterable of kind names (ours or the analyzer's) -> (kinds, auto)."""
    if isinstance(kinds, str):
        if kinds == "auto":
            return frozenset(KINDS), True
        if kinds == "all":
            return frozenset(KINDS), False
        kinds = (kinds,)
    chosen: set[str] = set()
    for name in kinds:
        if name not in _ANALYZER_KINDS:
            raise UnflickerError(f"kinds must be 'auto', 'all' or names from {', '.join(_ANALYZER_KINDS)}; got {name!r}")
        chosen.update(_ANALYZER_KINDS[name])
    return frozenset(chosen), False


def check_settings(kinds, strength: float, window: int) -> tuple[frozenset, bool]:
    """Validate the user's settings (raises UnflickerError naming the input); returns resolve_kinds(kinds)."""
    DeflickerSettings(strength=float(strength), window=int(window)).validated()
    return resolve_kinds(kinds)


class DeflickerRun:
    """The deflickered frames, one uint8 RGB frame per input frame, in order (an iterator).

    ``corrected`` holds the kinds actually corrected once the frames have been produced ("auto" leaves out what it
    did not measure)."""

    def __init__(self, frames: Iterator[np.ndarray]):
        self._frames = frames
        self.corrected: set[str] = set()

    def __iter__(self):
        return self

    def __next__(self) -> np.ndarray:
        return next(self._frames)


def deflicker_frames(frames, fps: float, kinds="auto", strength: float = 1.0,
                     window: int = DEFAULT_WINDOW, progress: Optional[ProgressFn] = None,
                     total: int = 0) -> DeflickerRun:
    """Deflicker a clip; returns an iterator of uint8 RGB frames (a DeflickerRun).

    ``frames``: an array / list of frames, a function returning a fresh iterator of them (both read twice: the
    whole shot is solved at once) or a one-shot iterator (read once with ``window // 2`` frames of look-ahead).
    ``kinds``: "auto" (each kind only where it is measured), "all", a single kind, or an iterable of kind names —
    "brightness", "regional", "colour", "texture" (the analyzer's "codec" counts as texture, "steady" and
    "scene_cuts" add nothing). ``strength`` 0-1 scales every correction. ``window`` (3-31 frames): changes slower
    than max(``window`` frames, 2 s) count as real (a fade), faster ones as flicker. ``fps`` sets that time scale.
    Progress: two-pass sources report 2 steps per frame (``total`` is the frame count).
    """
    chosen, auto = check_settings(kinds, strength, window)
    if not fps or fps <= 0:
        raise UnflickerError(f"fps must be positive, got {fps!r}")
    period = max(float(window), _TREND_SECONDS * float(fps))
    if callable(frames):
        opener = frames
    elif isinstance(frames, (np.ndarray, list, tuple)):
        opener = lambda: iter(frames)  # noqa: E731
    else:
        opener = None
    run = DeflickerRun(iter(()))
    if opener is None:
        engine = _Deflicker(chosen, auto, float(strength), int(window) // 2, period, fps)
        run._frames = _stream(engine, iter(frames), progress, 0, total, run)
    else:
        run._frames = _two_pass(opener, chosen, auto, float(strength), period, fps, progress, total, run)
    return run


def _two_pass(opener, chosen, auto, strength, period, fps, progress, total, run) -> Iterator[np.ndarray]:
    steps = 2 * total
    plan = None
    if chosen & {"brightness", "regional", "colour", "texture"} and strength > 0:
        done = 0
        # two workers beside this thread (the grain probe's alignment, the further pair fits) where OpenCV is
        # allowed more than one thread; the figures are the same either way
        worker = ThreadPoolExecutor(2, thread_name_prefix="deflicker-measure") if cv2.getNumThreads() > 1 else None
        try:
            measurer = _Measurer(chosen, worker)
            for frame in opener():
                measurer.add(_check_frame(frame))
                done += 1
                report(progress, done, steps)
        finally:
            if worker is not None:
                worker.shutdown(wait=True, cancel_futures=True)
        plan = _Plan(measurer.stats, chosen, auto, strength, period, fps)
    engine = _Deflicker(chosen, auto, strength, 0, period, fps, plan)
    yield from _stream(engine, iter(opener()), progress, steps - total if total else 0, steps, run)


def _stream(engine: "_Deflicker", frames, progress, start: int, total: int, run: DeflickerRun) -> Iterator[np.ndarray]:
    done = start
    for frame in frames:
        for out in engine.push(_check_frame(frame)):
            done += 1
            report(progress, done, total)
            yield out
    for out in engine.flush():
        done += 1
        report(progress, done, total)
        yield out
    run.corrected = set(engine.corrected)


def _check_frame(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise UnflickerError(f"frames must be uint8 RGB (height, width, 3); got {frame.dtype} {frame.shape}")
    return frame


# ---------------------------------------------------------------- geometry helpers
_grid, _grid2 = metrics.pixel_grid, metrics.pixel_map  # (xs, ys) and the 2-channel (x, y) map of every pixel


def _remap(image: np.ndarray, mx: np.ndarray, my: np.ndarray, interp=cv2.INTER_LINEAR) -> np.ndarray:
    return cv2.remap(image, mx, my, interp, borderMode=cv2.BORDER_REPLICATE)


_inside2 = metrics.inside  # where a 2-channel remap map points inside the image


def _flows_both_ways(a: np.ndarray, b: np.ndarray, preset: str):
    """DIS flows a -> b and b -> a between two uint8 grey images; zero where they are too small for DIS
    (then pixel is compared to pixel)."""
    if min(a.shape[:2]) >= 16:
        return flow.dis_flow(a, b, preset), flow.dis_flow(b, a, preset)
    zero = np.zeros((*a.shape[:2], 2), np.float32)
    return zero, zero


def _luma(img: np.ndarray) -> np.ndarray:
    return cv2.transform(img, _LUMA[None, :]) if img.dtype == np.float32 else img @ _LUMA


# ---------------------------------------------------------------- the aligned window
@dataclass
class _Frame:
    index: int
    full: Optional[np.ndarray]  # uint8 input, dropped once it has been corrected
    small: np.ndarray  # float32 RGB at work size
    thumb: np.ndarray  # uint8 RGB at work size, for the scene-cut test
    gray: np.ndarray  # uint8 luma at work size, for flow
    shot: int
    shot_start: int
    fw: Optional[np.ndarray] = None  # flow this -> next (work size), None at a cut / the end
    fw_ok: Optional[np.ndarray] = None  # forward-backward check of fw, in this frame
    bw: Optional[np.ndarray] = None  # flow this -> previous
    bw_ok: Optional[np.ndarray] = None
    chained: dict = field(default_factory=dict)  # k -> (flow this -> this+k, trusted mask), work size
    corrected: Optional[np.ndarray] = None  # full-size output of the low-frequency stage (float32, or uint8)
    detail: Optional[np.ndarray] = None  # high-pass part of corrected, made when the texture stage needs it
    tex_gray: Optional[np.ndarray] = None  # blurred luma of corrected at texture-flow size
    tex_flow: dict = field(default_factory=dict)  # k -> (flow this -> this+k, trusted mask), texture-flow size


class _AlignedWindow:
    """The last frames of a stream at work size, split into shots at scene cuts, with the frame-to-frame flows
    (forward-backward checked) and the flows chained from them to further neighbours."""

    def __init__(self):
        self.frames: dict[int, _Frame] = {}
        self.count = 0  # frames received
        self.shot = 0
        self.shot_start = 0
        self.size = (0, 0)  # full size (h, w)
        self.work = (0, 0)  # work size (w, h), as OpenCV takes it
        self.scale = 1.0
        self.cells = (1, 1)  # regional grid (w, h)
        self.cuts = scenecut.PairChecker(_CUT_THRESHOLD)  # each frame's signature made once

    def add(self, frame: np.ndarray, keep_full: bool, with_flow: bool = True) -> _Frame:
        i = self.count
        h, w = frame.shape[:2]
        if i == 0:
            self.size = (h, w)
            self.scale = min(1.0, _WORK_SIDE / max(h, w))
            self.work = (max(1, int(round(w * self.scale))), max(1, int(round(h * self.scale))))
            side = max(h, w)
            self.cells = (max(2, int(round(_CELLS * w / side))), max(2, int(round(_CELLS * h / side))))
        elif (h, w) != self.size:
            raise UnflickerError(f"all frames must have the same size: frame {i} is {w}x{h}, the first {self.size[1]}x{self.size[0]}")
        small = frame
        if w >= 2 * self.work[0] and h >= 2 * self.work[1]:  # halving first takes OpenCV's fast 2x2 path
            small = cv2.resize(small, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        if small.shape[:2] != (self.work[1], self.work[0]):
            small = cv2.resize(small, self.work, interpolation=cv2.INTER_AREA)
        rec = _Frame(i, frame if keep_full else None, small.astype(np.float32), small,
                     flow.to_gray(small), self.shot, self.shot_start)
        prev = self.frames.get(i - 1)
        if prev is not None:
            if self.cuts.is_cut(prev.thumb, small) and not self._aligns(prev, rec):
                self.shot += 1
                self.shot_start = i
                rec.shot, rec.shot_start = self.shot, i
            elif with_flow:
                fw, bw = _flows_both_ways(prev.gray, rec.gray, "ultrafast")
                prev.fw, prev.fw_ok = fw, flow.occlusion_mask(fw, bw)
                rec.bw, rec.bw_ok = bw, flow.occlusion_mask(bw, fw)
        self.frames[i] = rec
        self.count += 1
        return rec

    def _aligns(self, prev: _Frame, rec: _Frame) -> bool:
        """A candidate cut that optical flow still lines up, one gain and offset per channel apart, is the same
        shot under a colour or brightness jump (what flicker does), not a cut."""
        if min(self.work) < 16:
            return False
        fw, bw = _flows_both_ways(prev.gray, rec.gray, "ultrafast")
        ok = flow.occlusion_mask(bw, fw) & _inside2(cv2.add(_grid2(*bw.shape[:2]), bw))
        if ok.mean() < 0.45:  # across a real cut the flow is consistent almost nowhere (~0.1)
            return False
        warped = cv2.remap(prev.small, cv2.add(_grid2(*bw.shape[:2]), bw), None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        pair = _fit_pair(rec.small, warped, ok, 1, self.cells, False)
        return pair is not None and float(np.median(pair.residual)) < 14.0

    def get(self, i: int) -> Optional[_Frame]:
        return self.frames.get(i)

    def evict(self, before: int) -> None:
        for i in [i for i in self.frames if i < before]:
            del self.frames[i]

    def neighbours(self, rec: _Frame, reach: int, need=lambda r: True) -> list[int]:
        """Offsets k (|k| <= reach) of the frames beside rec in its shot that are present and satisfy ``need``
        (frames added with flow are linked to their predecessor throughout a shot)."""
        out = []
        for step in (1, -1):
            for n in range(1, reach + 1):
                other = self.frames.get(rec.index + step * n)
                if other is None or other.shot != rec.shot or not need(other):
                    break
                out.append(step * n)
        return sorted(out)

    def chain(self, rec: _Frame, k: int):
        """Flow rec -> rec+k and its trusted mask, composed from frame-to-frame flows (cached per frame)."""
        got = rec.chained.get(k)
        if got is not None:
            return got
        step = 1 if k > 0 else -1
        grid = _grid2(*rec.gray.shape[:2])
        if abs(k) == 1:
            fl, ok = (rec.fw, rec.fw_ok) if step == 1 else (rec.bw, rec.bw_ok)
            ok = ok & _inside2(cv2.add(grid, fl))
        else:
            prev_fl, prev_ok = self.chain(rec, k - step)
            mid = self.frames[rec.index + k - step]
            nxt_fl, nxt_ok = (mid.fw, mid.fw_ok) if step == 1 else (mid.bw, mid.bw_ok)
            mapping = cv2.add(grid, prev_fl)
            fl = cv2.add(prev_fl, cv2.remap(nxt_fl, mapping, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
            moved_ok = cv2.remap(nxt_ok.astype(np.float32), mapping, None, cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
            ok = prev_ok & (moved_ok > 0.99) & _inside2(cv2.add(grid, fl))
        rec.chained[k] = (fl, ok)
        return fl, ok

    def full_map(self, fl: np.ndarray, scale: Optional[float] = None) -> np.ndarray:
        """Flow at ``scale`` of the full size (default: the work size) -> full-size CV_32FC2 remap map
        (x + flow(x), y + flow(y))."""
        h, w = self.size
        scale = self.scale if scale is None else scale
        if scale == 1.0:
            return cv2.add(_grid2(h, w), fl)
        up = cv2.resize(fl, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.scaleAdd(up, 1.0 / scale, _grid2(h, w))


# ---------------------------------------------------------------- pass 1: per-frame statistics
@dataclass
class _Pair:
    k: int  # the other frame is this one - k
    log_gain: np.ndarray  # (3,) per channel: this = gain * other + offset on aligned pixels
    offset: np.ndarray  # (3,)
    w_gain: np.ndarray  # (3,) inverse variances of the two
    w_off: np.ndarray
    residual: np.ndarray  # (3,) robust std of what the fit leaves (levels)
    cells: Optional[np.ndarray] = None  # (cells h, cells w) log gain left per cell after the global fit
    cell_w: Optional[np.ndarray] = None


@dataclass
class _Stats:
    index: int
    shot: int
    mean: np.ndarray  # (3,) channel means at work size
    pairs: list
    grain: float = float("nan")  # fine grain against the previous frame (levels), nan where not measured
    detail: float = float("nan")  # the frame's own fine detail (levels), measured with grain


def _fit_pair(cur: np.ndarray, warped: np.ndarray, ok: np.ndarray, k: int, cells, regional: bool) -> Optional[_Pair]:
    """Gain and offset per channel taking the aligned neighbour to this frame: a reduced-major-axis fit (noise
    on both sides does not bias it) with Cauchy weights against outliers, on trusted, unclipped pixels."""
    lo, hi = (_CLIP_LO,) * 3, (_CLIP_HI,) * 3
    valid = ok & (cv2.inRange(cur, lo, hi) != 0) & (cv2.inRange(warped, lo, hi) != 0)
    idx = np.flatnonzero(valid)
    if idx.size < max(64, 0.1 * valid.size):
        return None
    if idx.size > _FIT_SAMPLES:
        idx = idx[:: idx.size // _FIT_SAMPLES]
    # samples channel by channel, (3, m): every sum and median runs along contiguous rows
    y = np.ascontiguousarray(np.take(cur.reshape(-1, 3), idx, axis=0).T)
    x = np.ascontiguousarray(np.take(warped.reshape(-1, 3), idx, axis=0).T)
    w = np.ones_like(y)
    for _ in range(3):
        sw = _ordered_sum(w)
        mx, my = _ordered_sum(w * x) / sw, _ordered_sum(w * y) / sw
        dx, dy = x - mx[:, None], y - my[:, None]
        vx, vy = _ordered_sum(w * dx * dx) / sw, _ordered_sum(w * dy * dy) / sw
        flat = vx < 9.0  # under 3 levels of spread the gain cannot be told from the offset
        a = np.where(flat, 1.0, np.sqrt(vy / np.maximum(vx, 1e-6)))
        a = np.clip(a, 0.4, 2.5).astype(np.float32)
        b = (my - a * mx).astype(np.float32)
        r = y - a[:, None] * x - b[:, None]
        s = 1.4826 * _median_rows(np.abs(r[:, ::2])) + 0.5
        w = 1.0 / (1.0 + (r / (3.0 * s)[:, None]) ** 2)
    n = _ordered_sum(w)
    a, b, s, n, vx = (np.asarray(v, np.float64) for v in (a, b, s, n, vx))
    pair = _Pair(k, np.log(a), b, np.where(flat, 1e-6, n * vx / s ** 2), n / s ** 2, s)
    if regional:
        # the log ratio of this frame's luma to the fitted neighbour's, on trusted pixels that the global fit
        # explains (a misaligned edge is an outlier, not a change of the local gain)
        fitted = cv2.transform(warped, np.hstack([np.diag(a), b[:, None]]).astype(np.float32))
        ly, lx = _luma(cur), _luma(fitted)
        sl = float(_LUMA @ s)
        keep = valid & (np.abs(ly - lx) < 2.5 * sl) & (lx > 16.0) & (ly > 16.0)
        # a smooth field (bilinear between the nodes of a coarse grid) fitted by robust least squares to the
        # per-pixel log ratios: every kept pixel counts, and what is not smooth (local change) is left out
        basis = _field_basis(ly.shape, cells)
        pair.cells, pair.cell_w = np.zeros((cells[1], cells[0])), np.zeros((cells[1], cells[0]))
        idx = np.flatnonzero(keep)
        if idx.size >= 64:
            if idx.size > _FIT_SAMPLES:
                idx = idx[:: idx.size // _FIT_SAMPLES]
            v = np.log(np.maximum(ly.reshape(-1)[idx], 1.0) / np.maximum(lx.reshape(-1)[idx], 1.0))
            A = np.take(basis, idx, axis=0)  # (m, nodes)
            A64 = A.astype(np.float64)  # the weights turn float64 after the first round: cast once, not per use
            wt = np.ones_like(v)
            for _ in range(3):
                An = A64 if wt.dtype == np.float64 else A
                Aw = An * wt[:, None]
                info = Aw.T @ An
                coef = np.linalg.solve(info + _FIELD_RIDGE * np.eye(len(info)) * max(float(np.trace(info)) / len(info), 1e-6),
                                       Aw.T @ v)
                r = v - A64 @ coef
                sr = 1.4826 * float(_median_rows(np.abs(r))) + 1e-4
                wt = 1.0 / (1.0 + (r / (3.0 * sr)) ** 2)
            pair.cells = coef.reshape(cells[1], cells[0])
            pair.cell_w = (np.diag(info) / max(float(np.diag(info).max()), 1e-9)).reshape(cells[1], cells[0])
    return pair


def _ordered_sum(a: np.ndarray) -> np.ndarray:
    """Sums along the last axis, added strictly in order (float32 rounding as a running sum has it): the fits
    were tuned with these figures, and a running sum of a few thousand samples is plenty accurate."""
    return np.cumsum(a, axis=-1)[..., -1]


def _median_rows(a: np.ndarray) -> np.ndarray:
    """np.median along the last axis (the same figures), from one partition instead of two."""
    n = a.shape[-1]
    h = n // 2
    part = np.partition(a, h, axis=-1)
    upper = part[..., h]
    if n % 2:
        return upper
    return (part[..., :h].max(axis=-1) + upper) / 2


_bases: dict = {}


def _field_basis(shape: tuple, cells: tuple) -> np.ndarray:
    """(pixels, nodes) float32: each node's bilinear weight at every pixel of a frame of ``shape`` (the field of
    the node values is cv2.resize of the node grid, as it is applied)."""
    key = (shape, cells)
    got = _bases.get(key)
    if got is None:
        gx, gy = cells
        h, w = shape
        eye = np.eye(gx * gy, dtype=np.float32).reshape(gx * gy, gy, gx)
        got = np.stack([cv2.resize(e, (w, h), interpolation=cv2.INTER_LINEAR).ravel() for e in eye], axis=1)
        if len(_bases) > 4:
            _bases.clear()
        _bases[key] = got
    return got


def _measure(win: _AlignedWindow, rec: _Frame, kinds: frozenset, grain: bool, aligned=None,
             worker: Optional[ThreadPoolExecutor] = None) -> _Stats:
    """Statistics of one frame against its predecessors (and its grain against the previous one; ``aligned``: a
    future of _probe_align(this frame, the previous one) already under way, else it is run here). With a
    ``worker`` the pair fits after the first run on it, beside the first."""
    st = _Stats(rec.index, rec.shot, _ordered_sum(rec.small.reshape(-1, 3).T) / rec.small[..., 0].size, [])
    regional = "regional" in kinds
    fits = []
    for k in win.neighbours(rec, _PAIR_REACH):
        if k > 0:
            continue
        fl, ok = win.chain(rec, k)
        other = win.get(rec.index + k)
        warped = cv2.remap(other.small, cv2.add(_grid2(*fl.shape[:2]), fl), None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        fits.append((k, other, (rec.small, warped, ok, -k, win.cells, regional)))
    later = [worker.submit(_fit_pair, *args) for _, _, args in fits[1:]] if worker is not None else None
    for i, (k, other, args) in enumerate(fits):
        pair = _fit_pair(*args) if i == 0 or later is None else later[i - 1].result()
        if pair is None:
            continue
        st.pairs.append(pair)
        if grain and k == -1 and rec.full is not None and other.full is not None:
            affine = np.hstack([np.diag(np.exp(pair.log_gain)), pair.offset[:, None]]).astype(np.float32)
            st.grain, st.detail = _probe_finish(aligned.result() if aligned is not None
                                                else _probe_align(rec.full, other.full), affine)
    return st


class _Measurer:
    """Pass 1 of a two-pass run: streams the clip, keeping a few numbers per frame (and the previous frame)."""

    def __init__(self, kinds: frozenset, worker: Optional[ThreadPoolExecutor] = None):
        self.kinds = kinds
        self.grain = "texture" in kinds
        self.window = _AlignedWindow()
        self.stats: list[_Stats] = []
        self.worker = worker  # runs the grain probe's full-size alignment and the further pair fits beside the rest

    def add(self, frame: np.ndarray) -> None:
        last = self.window.get(self.window.count - 1)
        aligned = None
        if self.worker is not None and last is not None and last.full is not None:
            aligned = self.worker.submit(_probe_align, frame, last.full)
        rec = self.window.add(frame, keep_full=self.grain)
        self.stats.append(_measure(self.window, rec, self.kinds, self.grain, aligned, self.worker))
        self.window.evict(rec.index - _PAIR_REACH)
        prev = self.window.get(rec.index - 1)
        if prev is not None:
            prev.full = None  # the previous full frame is only needed for the grain probe
        for other in self.window.frames.values():
            if other.index < rec.index:
                other.chained.clear()


# ---------------------------------------------------------------- the solve
def _solve_band2(d0: np.ndarray, d1: np.ndarray, d2: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve A x = rhs for symmetric positive definite A with bandwidth 2, batched over the last axis:
    d0[i] = A[i, i], d1[i] = A[i, i-1], d2[i] = A[i, i-2] (shape (n, batch)); Cholesky, O(n)."""
    n = d0.shape[0]
    l0, l1, l2 = np.zeros_like(d0), np.zeros_like(d0), np.zeros_like(d0)
    z = np.zeros_like(rhs)
    for i in range(n):
        if i >= 2:
            l2[i] = d2[i] / l0[i - 2]
        if i >= 1:
            l1[i] = (d1[i] - (l2[i] * l1[i - 1] if i >= 2 else 0.0)) / l0[i - 1]
        l0[i] = np.sqrt(np.maximum(d0[i] - l1[i] ** 2 - l2[i] ** 2, 1e-12))
        acc = rhs[i] - (l1[i] * z[i - 1] if i >= 1 else 0.0) - (l2[i] * z[i - 2] if i >= 2 else 0.0)
        z[i] = acc / l0[i]
    x = np.zeros_like(rhs)
    for i in range(n - 1, -1, -1):
        acc = z[i] - (l1[i + 1] * x[i + 1] if i + 1 < n else 0.0) - (l2[i + 2] * x[i + 2] if i + 2 < n else 0.0)
        x[i] = acc / l0[i]
    return x


def _integrate(n: int, ts, ks, values, weights, mult=None) -> np.ndarray:
    """Least-squares curve x (n, batch) from relative measurements x[t] - m x[t-k] = v with weights w (each
    (P, batch)); a tiny ridge keeps unlinked parts at 0."""
    batch = values.shape[1]
    d0 = np.zeros((n, batch))
    d1, d2, rhs = np.zeros_like(d0), np.zeros_like(d0), np.zeros_like(d0)
    m = np.ones_like(values) if mult is None else mult
    for t, k, v, w, mm in zip(ts, ks, values, weights, m):
        s = t - k
        d0[t] += w
        d0[s] += w * mm * mm
        (d1 if k == 1 else d2)[t] -= w * mm
        rhs[t] += w * v
        rhs[s] -= w * mm * v
    scale = np.maximum(np.median(d0, axis=0), 1e-9) if n else 1.0
    d0 += 1e-6 * scale
    return _solve_band2(d0, d1, d2, rhs)


def _trend(x: np.ndarray, lam: float, breaks: np.ndarray, robust: bool = True) -> np.ndarray:
    """Hodrick-Prescott trend of each column of x (n, batch): argmin sum u (x - t)^2 + lam sum (second
    difference of t)^2, no second difference across a break (breaks[i]: a jump between i-1 and i); with
    ``robust`` a few reweightings (Huber) so single outlying frames (flashes) do not pull the trend."""
    n = x.shape[0]
    if n < 3:
        return x.copy()
    rows = np.ones(n - 2)  # second difference over (j, j+1, j+2)
    for i in np.flatnonzero(breaks):
        rows[max(0, i - 2):min(n - 2, i)] = 0.0
    # lam * D^T diag(rows) D, bands 0..2
    e0, e1, e2 = np.zeros(n), np.zeros(n), np.zeros(n)
    for j in range(n - 2):
        r = rows[j] * lam
        if r:
            e0[j] += r
            e0[j + 1] += 4 * r
            e0[j + 2] += r
            e1[j + 1] -= 2 * r
            e1[j + 2] -= 2 * r
            e2[j + 2] += r
    u = np.ones_like(x)
    for it in range(4 if robust else 1):
        t = _solve_band2(u + e0[:, None], np.broadcast_to(e1[:, None], x.shape).copy(),
                         np.broadcast_to(e2[:, None], x.shape).copy(), u * x)
        if not robust or it == 3:
            break
        r = np.abs(x - t)
        s = 1.4826 * np.median(r, axis=0) + 1e-6
        u = np.minimum(1.0, 3.0 * s / np.maximum(r, 1e-12))
    return t


def _hp_lambda(period: float) -> float:
    """HP smoothing for a cut-off period in frames: the trend passes half of a sinusoid of that period."""
    return 1.0 / (2.0 - 2.0 * np.cos(2.0 * np.pi / max(period, 3.0))) ** 2


def _typical_residuals(stats: list) -> dict:
    """The shot's median luma residual of the pair fits, per distance k."""
    by_k: dict = {}
    for st in stats:
        for p in st.pairs:
            by_k.setdefault(p.k, []).append(float(p.residual @ _LUMA))
    return {k: float(np.median(v)) for k, v in by_k.items()}


def _unreliable_frames(stats: list, typical: dict) -> set:
    """Frames that no gain and offset ties to the rest of the shot: every fit to their predecessors leaves
    many times the shot's typical residual while the frame's mean moves by over 10 % and stays there (a light
    coming on, a burst of new content: real change that is not global), and no good fit spans over them. A flash
    is not one: it does not stay, and the frames either side of it still fit each other. These frames measure
    nothing, so they are left as they are and break the trend. ``typical``: _typical_residuals(stats)."""
    bad, spanned = set(), set()
    for st in stats:
        for p in st.pairs:
            if float(p.residual @ _LUMA) > _BAD_FIT * typical[p.k]:
                bad.add((st.index, p.k))
            else:
                spanned.update(range(st.index - p.k + 1, st.index))
    level = np.log(np.array([float(st.mean @ _LUMA) for st in stats]) + 1.0)
    out = set()
    for i in range(1, len(stats) - 1):
        st, jump = stats[i], level[i] - level[i - 1]
        # the frame's mean moves by over 10 % and the next frames stay at least half-way there (a flash returns)
        stays = all(np.sign(jump) * (level[j] - level[i - 1]) > 0.5 * abs(jump)
                    for j in range(i + 1, min(i + 3, len(stats))))
        if abs(jump) > _BAD_FIT_JUMP and stays and st.pairs and st.index not in spanned \
                and all((st.index, p.k) in bad for p in st.pairs):
            out.add(st.index)
    return out


def _undo(f: np.ndarray, o: np.ndarray, trend: np.ndarray):
    """Per-channel and luma-common gain and offset taking each frame from its measured curve (log gain f,
    offset o) to the trend's: out = gain (Y - o) + trend(o), the trend's exposure with the flicker gone."""
    phi = f - f.mean(0) - np.log(np.maximum(trend[:, :3], 1e-3))
    tr_o = trend[:, 3:]
    g_full = np.exp(-phi)
    o_full = tr_o - g_full * o
    g_luma = np.exp(-(phi @ _LUMA))[:, None]  # the same with the luma curve, common to the channels
    o_luma = (tr_o @ _LUMA)[:, None] - g_luma * (o @ _LUMA)[:, None]
    return g_full, o_full, g_luma, o_luma


@dataclass
class _Correction:
    affine: Optional[np.ndarray]  # (3, 4) float32: out = M @ (r, g, b, 1), None for identity
    field: Optional[np.ndarray]  # (cells h, cells w) gain field, None for none
    texture: bool


def _solve(stats: list, kinds: frozenset, auto: bool, strength: float, period: float,
           measures: Optional[dict] = None) -> tuple[list, set]:
    """Corrections for a run of frames of one shot (stats in order) and the kinds they correct; ``measures``
    receives what the auto gates compared."""
    measures = {} if measures is None else measures
    n = len(stats)
    base = stats[0].index
    ts, ks, lg, wg, off, wo, cells, cw, cell_pairs = [], [], [], [], [], [], [], [], []
    typical = _typical_residuals(stats)
    unreliable = _unreliable_frames(stats, typical)
    for st in stats:
        for p in st.pairs:
            if st.index - p.k < base or any(st.index - p.k <= u <= st.index for u in unreliable):
                continue
            ts.append(st.index - base)
            ks.append(p.k)
            lg.append(p.log_gain)
            wg.append(p.w_gain)
            off.append(p.offset)
            wo.append(p.w_off)
            # the regional field of a pair that no global gain and offset fits well (new content sweeping in,
            # an occluder) is that content's, not a change of light: it measures nothing
            if p.cells is not None and float(p.residual @ _LUMA) <= _BAD_FIT * typical[p.k]:
                cell_shape = p.cells.shape
                cells.append(p.cells.ravel())
                cw.append(p.cell_w.ravel())
                cell_pairs.append(len(ts) - 1)
    texture = "texture" in kinds and strength > 0
    grains = [st.grain for st in stats if not np.isnan(st.grain)]
    measures["grain"] = float(np.median(grains)) if grains else 0.0
    details = [st.detail for st in stats if not np.isnan(st.detail)]
    measures["grain_ratio"] = measures["grain"] / max(float(np.median(details)), 0.5) if details else 0.0
    if texture and auto:
        texture = measures["grain"] >= _TEXTURE_MIN_NOISE
    done = {"texture"} if texture else set()
    low = kinds & {"brightness", "colour", "regional"}
    if not ts or not low or strength == 0 or n < 3:
        return [_Correction(None, None, texture) for _ in range(n)], done
    ts, ks = np.array(ts), np.array(ks)
    lg, wg, off, wo = map(np.array, (lg, wg, off, wo))
    # links: a frame not tied to its predecessor by any pair starts a new piece of curve
    linked = np.zeros(n, bool)
    for t, k in zip(ts, ks):
        linked[t - k + 1:t + 1] = True
    f = _integrate(n, ts, ks, lg, wg)  # log gain per channel
    o = _integrate(n, ts, ks, off, wo, np.exp(lg))  # offset: o[t] - gain o[t-k] = b
    fl = f @ _LUMA
    breaks = ~linked
    breaks[0] = False
    # jumps are judged on the level the frame's mean is taken to (gain and offset together), in log terms
    means = np.array([st.mean for st in stats])
    mean_l = max(float(means.mean(0) @ _LUMA), 1.0)
    level = np.log(np.maximum(np.exp(fl) * mean_l + o @ _LUMA, 1.0))
    jump = np.abs(np.diff(level, prepend=level[0]))
    for i in np.flatnonzero(jump > _STEP):
        before, after = level[max(0, i - 3):i], level[i:i + 3]
        if abs(np.median(after) - np.median(before)) > 0.7 * _STEP:  # it persists: a real change
            breaks[i] = True
    lam = _hp_lambda(period)
    # the trend of the gain itself (a fade to black is linear in it), of the offset likewise
    series = np.hstack([np.exp(f - f.mean(0)), o])
    trend = _trend(series, lam, breaks)
    g_full, o_full, g_luma, o_luma = _undo(f, o, trend)
    bright, colour = "brightness" in kinds, "colour" in kinds
    # auto's gates: what the correction would remove against a trend of half the period, which follows a fast
    # real change (an exposure ramp over a few frames) that the correction's own trend only rounds off
    gate = trend
    if auto and _GATE_PERIOD != 1.0:
        gate = _trend(series, _hp_lambda(_GATE_PERIOD * period), breaks, robust=False)
    gg_full, go_full, gg_luma, go_luma = (g_full, o_full, g_luma, o_luma) if gate is trend else _undo(f, o, gate)
    change = gg_full * means + go_full - means  # what the full correction does to each frame's channel means
    common = gg_luma * means + go_luma - means  # ... and the one common to the channels
    measures["brightness"] = float(np.sqrt(np.mean((common @ _LUMA) ** 2))) / mean_l
    measures["colour"] = float(np.sqrt(np.mean((change - common) ** 2))) / mean_l
    if auto:
        bright = measures["brightness"] >= _GATE_BRIGHTNESS
        colour = measures["colour"] >= _GATE_COLOUR
    fields = None
    if "regional" in kinds and cells:
        cells_a, cw_a = np.array(cells), np.array(cw) + 1e-9
        rts, rks = ts[cell_pairs], ks[cell_pairs]
        r = _integrate(n, rts, rks, cells_a, cw_a)
        # a frame the kept pairs do not tie to its predecessor starts a new piece of the field's curves
        r_linked = np.zeros(n, bool)
        for t, k in zip(rts, rks):
            r_linked[t - k + 1:t + 1] = True
        r_breaks = breaks | ~r_linked
        r_breaks[0] = False
        rphi = r - _trend(r, lam, r_breaks, robust=False)
        rphi -= rphi.mean(1, keepdims=True)  # the common part is the global gain's
        rphi = rphi.reshape(n, *cell_shape).astype(np.float32)
        # gated on its frame-to-frame part: flicker is; cells whose content slowly changes are not
        measures["regional"] = float(np.sqrt(np.mean(np.diff(rphi, axis=0) ** 2) / 2))
        if not auto or measures["regional"] >= _GATE_REGIONAL:
            fields = [np.exp(-p) for p in rphi]
            done.add("regional")
    done |= ({"brightness"} if bright else set()) | ({"colour"} if colour else set())
    bright = bright or fields is not None  # the field's common part is the global gain's (counted as regional)
    if colour:  # per channel (a colour cast moves the channels' common level too)
        gain, offset = g_full, o_full
    elif bright:  # one gain and offset for all channels: the luma curve's
        gain, offset = np.repeat(g_luma, 3, 1), np.repeat(o_luma, 3, 1)
    else:
        gain, offset = np.ones_like(g_full), np.zeros_like(o_full)
    out = []
    s = strength
    for i in range(n):
        g, b = 1.0 + s * (gain[i] - 1.0), s * offset[i]
        affine = None
        if np.abs(g - 1).max() > 1e-5 or np.abs(b).max() > 1e-3:
            affine = np.hstack([np.diag(g), b[:, None]]).astype(np.float32)
        fld = None if fields is None else (1.0 + s * (fields[i] - 1.0)).astype(np.float32)
        out.append(_Correction(affine, fld, texture))
    if not any(c.affine is not None or c.field is not None for c in out):
        done -= {"brightness", "colour", "regional"}
    return out, done


class _Plan:
    """Corrections for every frame of a measured clip, solved shot by shot."""

    def __init__(self, stats: list, kinds, auto, strength, period, fps):
        self.corrections: list[_Correction] = []
        self.corrected: set[str] = set()
        self.measures: list[dict] = []  # per shot: what the auto gates compared
        self.texture = False
        start = 0
        for i in range(1, len(stats) + 1):
            if i == len(stats) or stats[i].shot != stats[start].shot:
                self.measures.append({"first": start, "frames": i - start})
                corr, done = _solve(stats[start:i], kinds, auto, strength, period, self.measures[-1])
                self.corrections += corr
                self.corrected |= done
                start = i
        self.texture = any(c.texture for c in self.corrections)  # some frame's texture stage runs


# ---------------------------------------------------------------- pass 2 (or the single pass): apply
class _Deflicker:
    def __init__(self, kinds: frozenset, auto: bool, strength: float, radius: int, period: float, fps: float,
                 plan: Optional[_Plan] = None):
        self.kinds, self.auto, self.strength = kinds, auto, strength
        self.period = period
        self.plan = plan
        self.lookahead = radius  # one-shot streams only
        self.history = max(int(round(_HISTORY_SECONDS * fps)), 2 * int(period))
        self.low = bool(kinds & {"brightness", "regional", "colour"}) and strength > 0
        self.tex_radius = TEXTURE_RADIUS if "texture" in kinds and strength > 0 else 0
        self.window = _AlignedWindow()
        self.stats: dict[int, _Stats] = {}
        self.next_low = 0  # next frame for the low-frequency stage
        self.next_tex = 0  # next frame for the texture stage
        self.texture_on: dict[int, bool] = {}
        self.corrected: set[str] = set(plan.corrected) if plan is not None else set()

    # -------------------------------------------------------- streaming
    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        i = self.window.count
        if self.plan is not None and i >= len(self.plan.corrections):
            raise UnflickerError(f"the frame source gave more frames on its second read than the {i} of the first")
        if self.plan is not None and not self.plan.texture:  # nothing needs neighbours: correct and hand on
            if i == 0:
                self.window.size = frame.shape[:2]
            elif frame.shape[:2] != self.window.size:
                raise UnflickerError(f"all frames must have the same size: frame {i} is {frame.shape[1]}x"
                                     f"{frame.shape[0]}, the first {self.window.size[1]}x{self.window.size[0]}")
            self.window.count += 1
            corr = self.plan.corrections[i]
            return [_to_u8(_apply(frame, corr, self._full_field(corr)))]
        # the frame-to-frame flow serves the statistics of a one-shot stream; the texture stage makes its own
        rec = self.window.add(frame, keep_full=True, with_flow=self.plan is None)
        if self.plan is None and (self.low or self.tex_radius):
            self.stats[i] = _measure(self.window, rec, self.kinds, False)
        return self._run(final=False)

    def flush(self) -> list[np.ndarray]:
        if self.plan is not None and not self.plan.texture:
            return []
        return self._run(final=True)

    def _shot_ended(self, t: int) -> bool:
        last = self.window.get(self.window.count - 1)
        return last.shot != self.window.get(t).shot

    def _run(self, final: bool) -> list[np.ndarray]:
        out = []
        count = self.window.count
        reach = self.lookahead if self.plan is None else 0
        while self.next_low < count and (final or count - 1 >= self.next_low + reach or self._shot_ended(self.next_low)):
            rec = self.window.get(self.next_low)
            corr = self._correction(rec)
            rec.corrected = _apply(rec.full, corr, self._full_field(corr))
            self.texture_on[rec.index] = corr.texture
            rec.full = None
            self.next_low += 1
        while self.next_tex < self.next_low and (final or self.next_tex + self.tex_radius < self.next_low
                                                  or self._shot_ended_before(self.next_tex)):
            rec = self.window.get(self.next_tex)
            out.append(self._texture_stage(rec))
            rec.chained.clear()
            rec.tex_flow.clear()
            self.next_tex += 1
        keep = min(self.next_low - _PAIR_REACH, self.next_tex - self.tex_radius)
        self.window.evict(keep)
        for i, rec in self.window.frames.items():
            if i < self.next_tex - self.tex_radius:
                rec.corrected = rec.detail = rec.tex_gray = None
                rec.tex_flow.clear()
        for i in [i for i in self.stats if i < self.next_low - self.history]:
            del self.stats[i]
        return out

    def _shot_ended_before(self, t: int) -> bool:
        return self.window.get(self.next_low - 1).shot != self.window.get(t).shot

    def _full_field(self, corr: _Correction):
        if corr.field is None:
            return None
        h, w = self.window.size
        return cv2.resize(corr.field, (w, h), interpolation=cv2.INTER_LINEAR)  # as the basis was

    # -------------------------------------------------------- low frequencies
    def _correction(self, rec: _Frame) -> _Correction:
        if self.plan is not None:
            return self.plan.corrections[rec.index]
        # one-shot stream: solve over the shot's recent statistics and the look-ahead; texture is decided per
        # frame against a corrected neighbour in the texture stage
        texture = bool(self.tex_radius)
        lo = max(rec.shot_start, rec.index - self.history)
        seg = [self.stats[i] for i in range(lo, self.window.count) if i in self.stats and self.stats[i].shot == rec.shot]
        if not self.low or len(seg) < 3:
            return _Correction(None, None, texture)
        corr, done = _solve(seg, self.kinds - {"texture"}, self.auto, self.strength, self.period)
        self.corrected |= done
        got = corr[rec.index - seg[0].index]
        got.texture = texture
        return got

    # -------------------------------------------------------- high frequencies
    def _detail(self, rec: _Frame) -> np.ndarray:
        """High-pass part of the corrected frame (float32), made once per frame and shared by every frame that
        warps it: warping the detail equals the detail of the warp wherever the flow is smooth, and where it is
        not the neighbour's weight is near zero anyway."""
        if rec.detail is None:
            cur = rec.corrected.astype(np.float32) if rec.corrected.dtype != np.float32 else rec.corrected
            rec.detail = cv2.subtract(cur, _lowpass(cur, _DETAIL_SIGMA))
        return rec.detail

    @property
    def tex_scale(self) -> float:
        return min(1.0, _TEXTURE_FLOW_SIDE / max(self.window.size))

    def _texture_gray(self, rec: _Frame) -> np.ndarray:
        if rec.tex_gray is None:
            gray = flow.to_gray(_to_u8(rec.corrected))
            h, w = gray.shape
            if self.tex_scale < 1.0:
                gray = cv2.resize(gray, (max(1, round(w * self.tex_scale)), max(1, round(h * self.tex_scale))),
                                  interpolation=cv2.INTER_AREA)
            rec.tex_gray = cv2.GaussianBlur(gray, (0, 0), _TEXTURE_FLOW_BLUR * self.tex_scale)
        return rec.tex_gray

    def _texture_flow(self, rec: _Frame, k: int):
        """Full-size remap map taking frame rec + k onto rec, and where its flow holds (texture-flow size).
        DIS on the low-frequency-corrected luma (flicker already taken out cannot mislead it), direct to each
        neighbour, forward-backward checked; both directions of a pair are made together and kept on both frames."""
        got = rec.tex_flow.get(k)
        if got is None:
            nb = self.window.get(rec.index + k)
            ga, gb = self._texture_gray(rec), self._texture_gray(nb)
            fw, bw = _flows_both_ways(ga, gb, "fast")
            grid = _grid2(*ga.shape)
            rec.tex_flow[k] = fw, flow.occlusion_mask(fw, bw) & _inside2(cv2.add(grid, fw))
            nb.tex_flow[-k] = bw, flow.occlusion_mask(bw, fw) & _inside2(cv2.add(grid, bw))
            got = rec.tex_flow[k]
        fl, ok = got
        return self.window.full_map(fl, self.tex_scale), ok

    def _texture_stage(self, rec: _Frame) -> np.ndarray:
        cur = rec.corrected
        if not self.tex_radius or not self.texture_on.get(rec.index):
            return _to_u8(cur)
        ks = self.window.neighbours(rec, self.tex_radius, lambda r: r.corrected is not None)
        if not ks:
            return _to_u8(cur)
        ks.sort(key=abs)
        cur = cur.astype(np.float32) if cur.dtype != np.float32 else cur
        if self.plan is None and self.auto:
            nb = self.window.get(rec.index + ks[0])
            grain, _ = _probe_grain_fine(_to_u8(cur), _to_u8(nb.corrected), np.eye(3, 4, dtype=np.float32))
            if grain < _TEXTURE_MIN_NOISE:
                return _to_u8(cur)  # no grain measured: leave the frame's detail alone
        if self.plan is None:
            self.corrected.add("texture")
        h, w = self.window.size
        hw, hh = max(1, w // 2), max(1, h // 2)
        step = max(1, int(np.sqrt(hw * hh / 4000)))  # ~4000 samples are plenty for a median
        base = self._detail(rec)
        # only high frequencies are averaged: the neighbour's low frequencies (a fade's step, what is left of
        # low-frequency flicker) are replaced by this frame's, so a one-sided window cannot shift them.
        # num = sum of weighted detail differences, den = 1 + sum of weights (3 channels, so OpenCV does the
        # arithmetic in place); cur + num / den is the weighted mean
        num = np.zeros_like(cur)
        den = np.ones((hh, hw), np.float32)  # resizing is linear: the weights are summed at half size
        for k in ks:
            mapping, ok = self._texture_flow(rec, k)
            nb = self.window.get(rec.index + k)
            # cubic for the nearest neighbours, which carry most weight; bilinear (twice as fast) for the others:
            # its slight smoothing of their detail only adds to the averaging (measured: less grain left)
            diff = cv2.remap(self._detail(nb), mapping, None,
                             cv2.INTER_CUBIC if abs(k) == 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            cv2.subtract(diff, base, dst=diff)
            # patch distance (as in non-local means): its expected value where the two frames differ by grain
            # alone is the pair's grain variance; weights fall off as it rises above that (misalignment)
            d = _luma(diff)
            dd = cv2.multiply(d, d)
            ok_half = cv2.resize(ok.view(np.uint8), (hw, hh), interpolation=cv2.INTER_NEAREST).view(bool)
            sample = dd[:2 * hh:2 * step, :2 * hw:2 * step][ok_half[::step, ::step]]
            var = max(float(np.median(sample)) / 0.455 if sample.size else 0.0, 0.25)
            # the distance is smooth (a 1.5 px Gaussian), so it and the weights are made at half size
            half = cv2.resize(dd, (hw, hh), interpolation=cv2.INTER_AREA)
            dist = cv2.GaussianBlur(half, (0, 0), 0.75)
            wgt = cv2.exp(np.minimum(1.0 - dist * np.float32(1.0 / (_TEXTURE_TOLERANCE * var)), 0.0, out=dist))
            wgt[~ok_half] = 0.0
            cv2.accumulate(wgt, den)
            wgt3 = cv2.resize(cv2.merge((wgt, wgt, wgt)), (w, h), interpolation=cv2.INTER_LINEAR)
            cv2.accumulateProduct(diff, wgt3, num)
        den = cv2.resize(cv2.merge((den, den, den)), (w, h), interpolation=cv2.INTER_LINEAR)
        cv2.divide(num, den, dst=num)
        if self.strength != 1.0:
            num *= self.strength
        return cv2.add(cur, num, dtype=cv2.CV_8U)


def _apply(frame: np.ndarray, corr: _Correction, field_full: Optional[np.ndarray]) -> np.ndarray:
    """The low-frequency correction of one full-size frame: uint8 when nothing else follows, else float32."""
    if corr.affine is None and field_full is None:
        return frame.copy()
    if field_full is None:
        return cv2.transform(frame, corr.affine) if not corr.texture else cv2.transform(frame.astype(np.float32), corr.affine)
    out = frame.astype(np.float32)
    if corr.affine is not None:
        out = cv2.transform(out, corr.affine)
    out = cv2.multiply(out, cv2.merge((field_full, field_full, field_full)))
    return out if corr.texture else _to_u8(out)


def _probe_grain_fine(cur: np.ndarray, other: np.ndarray, affine: np.ndarray, side: int = 192):
    """(grain, detail) between two full-size uint8 frames on a central crop aligned by its own full-resolution
    flow: real detail lines up to a fraction of a pixel there, so what is left is grain re-drawn between them."""
    return _probe_finish(_probe_align(cur, other, side), affine)


def _probe_align(cur: np.ndarray, other: np.ndarray, side: int = 192):
    """The first part of the grain probe, which needs no statistics (pass 1 runs it beside them): the central
    crop of ``cur``, ``other``'s crop warped onto it (float32) and the pixels where that flow holds; None where
    the frames are too small to align."""
    h, w = cur.shape[:2]
    ch, cw = min(h, side), min(w, side)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    a, b = cur[y0:y0 + ch, x0:x0 + cw], other[y0:y0 + ch, x0:x0 + cw]
    if min(ch, cw) < 16:
        return None
    ga, gb = flow.to_gray(a), flow.to_gray(b)
    fw, bw = _flows_both_ways(ga, gb, "fast")
    mapping = cv2.add(_grid2(ch, cw), fw)
    ok = flow.occlusion_mask(fw, bw, tol=0.5) & _inside2(mapping)
    ok[:4], ok[-4:], ok[:, :4], ok[:, -4:] = False, False, False, False
    warped = cv2.remap(b.astype(np.float32), mapping, None, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return a, warped, ok


def _probe_finish(aligned, affine: np.ndarray):
    """(grain, detail) from _probe_align's result, the neighbour's crop taken through ``affine`` first."""
    if aligned is None:
        return 0.0, 0.0
    a, warped, ok = aligned
    return _grain(cv2.transform(warped, affine), a, ok, with_detail=True)


def _lowpass(img: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    """Gaussian-like low-pass (std ~``sigma`` px) computed at quarter size: cheap at any frame size."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / 4.0, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _grain(warped: np.ndarray, cur: np.ndarray, ok: np.ndarray, with_detail: bool = False):
    """Fine grain that differs between two aligned frames (robust std per frame, levels): the high-pass part of
    their difference, so leftover low-frequency flicker and smooth warp error do not count. With
    ``with_detail`` also the frame's own fine detail (the same high-pass of the frame, robust std)."""
    lc = _luma(cur.astype(np.float32))
    diff = _luma(warped) - lc
    hp = diff - cv2.GaussianBlur(diff, (0, 0), 2.0)
    grain = _robust_std(hp[ok]) / np.sqrt(2.0) if ok.any() else 0.0
    if not with_detail:
        return grain
    own = lc - cv2.GaussianBlur(lc, (0, 0), 2.0)
    return grain, _robust_std(own[ok]) if ok.any() else 0.0


def _robust_std(x: np.ndarray) -> float:
    if x.size == 0:
        return 0.0
    return float(1.4826 * _median_rows(np.abs(x - _median_rows(x))))


def _to_u8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    return cv2.add(img, 0.0, dtype=cv2.CV_8U)  # rounds and saturates

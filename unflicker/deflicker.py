"""Flow-guided deflicker: removes brightness, regional, colour and texture flicker while keeping motion and fades.

Classical, no weights. Every frame is compared with its neighbours *after* lining them up with optical flow
(DIS on a small copy, chained frame to frame, forward-backward checked), so only flicker is left to measure:

* low frequencies (``brightness``, ``regional``, ``colour``): for each neighbour k in a centred window, the
  correction that makes this frame look like neighbour k where the flow is trusted — one gain (brightness) or a
  smooth gain field on a coarse grid (regional), then an offset per channel (colour). The corrections are averaged
  over the window, so the frame is moved to the window's mean: the high-frequency part (flicker) goes, the smooth
  trend (a fade) stays. At the ends of a shot the window shifts to stay inside it and follows a linear trend
  shrunk by its own uncertainty, so a fade is not dragged towards its middle; a jump of more than ~35 % between
  two aligned frames is a real change (a light switched on) and is not averaged across.
* high frequencies (``texture``): the high-pass detail of the neighbours, already corrected, is warped onto the
  frame at full size (cubic for the nearest, bilinear for the next) and averaged with weights, computed at half
  size, that fall to zero where they disagree (occlusions, flow failures), so re-sampled grain averages out while
  edges stay put.

Scene cuts end a shot: no window reaches across one. Frames stream through: full-size frames are held for at most
``window`` + 2 frames (about twice that at the start of a shot); small copies for 2 ``window``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

import cv2
import numpy as np

from . import flow, metrics, scenecut
from .errors import UnflickerError
from .progress import ProgressFn, report
from .settings import DEFLICKER_MODES, DeflickerSettings

KINDS = ("brightness", "regional", "colour", "texture")
MODES = DEFLICKER_MODES  # the user-facing settings (modes, strength, window) are defined in unflicker.settings
# analyzer kind names (issue 3) -> what we do about them; "codec" damage changes per frame like re-sampled texture
_ANALYZER_KINDS = {"brightness": ("brightness",), "regional": ("regional",), "colour": ("colour",),
                   "texture": ("texture",), "codec": ("texture",), "steady": (), "scene_cuts": ()}
DEFAULT_WINDOW = DeflickerSettings.default("window")
TEXTURE_RADIUS = 2  # neighbours on each side averaged for texture (5 frames)

_WORK_SIDE = 160  # long side of the copy used for flow and low-frequency statistics
_GRID_SIDE = 24  # long side of the regional gain grid
_REGIONAL_DEADZONE = 0.004  # field deviations below this are measurement noise, not regional flicker
_TEXTURE_MIN_NOISE = 1.6  # auto: temporal grain (levels, robust std) above which texture is filtered
_CUT_THRESHOLD = 0.5
_MAX_PAIR_CHANGE = 0.3  # |log gain| between two aligned frames above which it is a real change (~35 %)
_LUMA = flow.LUMA_WEIGHTS


def resolve_kinds(kinds) -> tuple[frozenset, bool]:
    """``"auto"`` / a mode name / an iterable of kind names (ours or the analyzer's) -> (kinds, auto)."""
    if isinstance(kinds, str):
        if kinds == "auto":
            return frozenset(("regional", "colour", "texture")), True
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


def deflicker_frames(frames: Iterable[np.ndarray], fps: float, kinds="auto", strength: float = 1.0,
                     window: int = DEFAULT_WINDOW, progress: Optional[ProgressFn] = None,
                     total: int = 0) -> Iterator[np.ndarray]:
    """Yield one deflickered uint8 RGB frame per input frame, in order; a bounded window of frames is held.

    ``kinds``: "auto" (low-frequency corrections always, texture filtering where grain is measured), "all", a
    single kind, or an iterable of kind names — "brightness", "regional", "colour", "texture" (the analyzer's
    "codec" counts as texture, "steady" and "scene_cuts" add nothing). ``strength`` 0-1 scales every correction.
    ``window``: frames in the centred window, 3-31 (odd; even is rounded up). ``fps`` is accepted for the
    shared signature (the window is counted in frames).
    """
    chosen, auto = check_settings(kinds, strength, window)
    if not fps or fps <= 0:
        raise UnflickerError(f"fps must be positive, got {fps!r}")
    engine = _Deflicker(chosen, auto, float(strength), int(window) // 2)
    return _stream(engine, frames, progress, total)


def _stream(engine: "_Deflicker", frames, progress, total) -> Iterator[np.ndarray]:
    done = 0
    for frame in frames:
        for out in engine.push(_check_frame(frame)):
            done += 1
            report(progress, done, total)
            yield out
    for out in engine.flush():
        done += 1
        report(progress, done, total)
        yield out


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


def _luma(img: np.ndarray) -> np.ndarray:
    return cv2.transform(img, _LUMA[None, :]) if img.dtype == np.float32 else img @ _LUMA


# ---------------------------------------------------------------- per-frame record
@dataclass
class _Frame:
    index: int
    full: Optional[np.ndarray]  # uint8 input, dropped once the low-frequency stage has used it
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
    corrected: Optional[np.ndarray] = None  # float32 full-size output of the low-frequency stage
    detail: Optional[np.ndarray] = None  # high-pass part of corrected, made when the texture stage needs it


class _Deflicker:
    def __init__(self, kinds: frozenset, auto: bool, strength: float, radius: int):
        self.kinds, self.auto, self.strength, self.radius = kinds, auto, strength, radius
        self.low = bool(kinds & {"brightness", "regional", "colour"})
        self.tex_radius = TEXTURE_RADIUS if "texture" in kinds else 0
        self.frames: dict[int, _Frame] = {}
        self.count = 0  # frames received
        self.next_low = 0  # next frame for the low-frequency stage
        self.next_tex = 0  # next frame for the texture stage
        self.shot = 0
        self.shot_start = 0
        self.scale = 1.0

    # -------------------------------------------------------- streaming
    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        self._add(frame)
        return self._run(final=False)

    def flush(self) -> list[np.ndarray]:
        return self._run(final=True)

    def _add(self, frame: np.ndarray) -> None:
        i = self.count
        h, w = frame.shape[:2]
        if i == 0:
            self.size = (h, w)
            self.scale = min(1.0, _WORK_SIDE / max(h, w))
            self.work = (max(1, int(round(w * self.scale))), max(1, int(round(h * self.scale))))
            side = max(h, w)
            self.grid = (max(2, int(round(_GRID_SIDE * w / side))), max(2, int(round(_GRID_SIDE * h / side))))
        elif (h, w) != self.size:
            raise UnflickerError(f"all frames must have the same size: frame {i} is {w}x{h}, the first {self.size[1]}x{self.size[0]}")
        small = frame
        if w >= 2 * self.work[0] and h >= 2 * self.work[1]:  # halving first takes OpenCV's fast 2x2 path
            small = cv2.resize(small, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        if small.shape[:2] != (self.work[1], self.work[0]):
            small = cv2.resize(small, self.work, interpolation=cv2.INTER_AREA)
        rec = _Frame(i, frame, small.astype(np.float32), small, flow.to_gray(small), self.shot, self.shot_start)
        prev = self.frames.get(i - 1)
        if prev is not None:
            if scenecut.cut_score(prev.thumb, small) >= _CUT_THRESHOLD:
                self.shot += 1
                self.shot_start = i
                rec.shot, rec.shot_start = self.shot, i
            else:
                if min(self.work) >= 16:
                    fw = flow.dis_flow(prev.gray, rec.gray, "ultrafast")
                    bw = flow.dis_flow(rec.gray, prev.gray, "ultrafast")
                else:  # too small for DIS: compare pixel to pixel
                    fw = bw = np.zeros((self.work[1], self.work[0], 2), np.float32)
                prev.fw, prev.fw_ok = fw, flow.occlusion_mask(fw, bw)
                rec.bw, rec.bw_ok = bw, flow.occlusion_mask(bw, fw)
        self.frames[i] = rec
        self.count += 1

    def _ready(self, t: int, reach: int, final: bool) -> bool:
        last = self.count - 1
        return final or last >= t + reach or self.frames[last].shot != self.frames[t].shot

    def _low_reach(self, t: int) -> int:
        """Frames ahead the low-frequency window of t needs: r, or up to 2r near the start of a shot, where the
        window is shifted forward so that it still holds 2r + 1 frames."""
        if not self.low:
            return 0
        return self.radius + max(0, self.radius - (t - self.frames[t].shot_start))

    def _run(self, final: bool) -> list[np.ndarray]:
        out = []
        while self.next_low < self.count and self._ready(self.next_low, self._low_reach(self.next_low), final):
            rec = self.frames[self.next_low]
            self._low_stage(rec)
            rec.full = None
            self.next_low += 1
        while self.next_tex < self.next_low and (final or self.next_tex + self.tex_radius < self.next_low
                                                  or self.frames[self.next_low - 1].shot != self.frames[self.next_tex].shot):
            rec = self.frames[self.next_tex]
            out.append(self._texture_stage(rec))
            rec.chained.clear()
            self.next_tex += 1
        # small copies and flows stay for 2r frames (a shifted window at a shot's end reaches that far back);
        # full-size frames only until both stages have used them
        for i in [i for i in self.frames if i < self.next_low - 2 * self.radius and i < self.next_tex - self.tex_radius]:
            del self.frames[i]
        for i, rec in self.frames.items():
            if i < self.next_tex - self.tex_radius:
                rec.corrected = rec.detail = None
        return out

    # -------------------------------------------------------- alignment
    def _neighbours(self, rec: _Frame, reach: int, shifted: bool = False) -> list[int]:
        """Offsets k of the frames in rec's window (same shot, present): +-reach, or with ``shifted`` a window of
        2 reach + 1 frames moved forward or back where the shot ends on one side."""
        avail = {}
        for step in (1, -1):
            n = 0
            while n < (2 * reach if shifted else reach):
                other = self.frames.get(rec.index + step * (n + 1))
                if other is None or other.shot != rec.shot:
                    break
                n += 1
            avail[step] = n
        fwd, back = min(avail[1], reach), min(avail[-1], reach)
        if shifted:
            fwd, back = min(avail[1], 2 * reach - back), min(avail[-1], 2 * reach - fwd)
        return list(range(-back, 0)) + list(range(1, fwd + 1))

    def _chain(self, rec: _Frame, k: int):
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
            prev_fl, prev_ok = self._chain(rec, k - step)
            mid = self.frames[rec.index + k - step]
            nxt_fl, nxt_ok = (mid.fw, mid.fw_ok) if step == 1 else (mid.bw, mid.bw_ok)
            mapping = cv2.add(grid, prev_fl)
            fl = cv2.add(prev_fl, cv2.remap(nxt_fl, mapping, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
            moved_ok = cv2.remap(nxt_ok.astype(np.float32), mapping, None, cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
            ok = prev_ok & (moved_ok > 0.99) & _inside2(cv2.add(grid, fl))
        rec.chained[k] = (fl, ok)
        return fl, ok

    # -------------------------------------------------------- low frequencies
    def _low_stage(self, rec: _Frame) -> None:
        if not self.low or self.strength == 0:
            rec.corrected = rec.full.astype(np.float32)
            return
        gained = bool(self.kinds & {"brightness", "regional"})
        L = rec.small
        npx = L.shape[0] * L.shape[1]
        gains, fields, offsets, used = [], [], [], []
        for k in self._neighbours(rec, self.radius, shifted=True):
            fl, ok = self._chain(rec, k)
            if ok.sum() < 0.2 * npx:
                continue  # too little trusted overlap to compare
            W = cv2.remap(self.frames[rec.index + k].small, cv2.add(_grid2(*fl.shape[:2]), fl), None,
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            m = ok.astype(np.float32)
            # statistics on a coarse grid: trusted sums of this frame (B) and of the aligned neighbour (A)
            m3 = cv2.merge((m, m, m))
            A = cv2.resize(cv2.multiply(W, m3), self.grid, interpolation=cv2.INTER_AREA)
            B = cv2.resize(cv2.multiply(L, m3), self.grid, interpolation=cv2.INTER_AREA)
            C = cv2.resize(m, self.grid, interpolation=cv2.INTER_AREA)
            lumA, lumB = _luma(A), _luma(B)
            g_pair = float(lumA.sum() / max(lumB.sum(), 1e-3))
            if abs(np.log(max(g_pair, 1e-3))) > _MAX_PAIR_CHANGE:
                continue  # a real change (a light switched on, a flash), not flicker: do not average across it
            g = g_pair if gained else 1.0
            gain_cells = g
            if "regional" in self.kinds:
                fld = _gain_field(lumA, lumB * g, C)
                fields.append(fld)
                gain_cells = g * fld[..., None]
            if "colour" in self.kinds:
                offsets.append((A - B * gain_cells).reshape(-1, 3).sum(0) / max(float(C.sum()), 1e-6))
            gains.append(g)
            used.append(k)
        if not used:
            rec.corrected = rec.full.astype(np.float32)
            return
        # identity for k = 0, then the window's mean (trend-extrapolated when the window is one-sided)
        kk = np.array([0] + used, np.float32)
        s = self.strength
        gain = _window_mean(kk, np.array([1.0] + gains, np.float32)) if gained else 1.0
        if fields:
            fld = _window_mean(kk, np.stack([np.ones_like(fields[0])] + fields))
            dev = fld - 1.0
            fld = 1.0 + np.sign(dev) * np.maximum(np.abs(dev) - _REGIONAL_DEADZONE, 0.0)
            # the factor is affine in the field, so it is made on the grid and then resized (linear) in one go
            factor = (1.0 + s * (fld * gain - 1.0)).astype(np.float32)
            factor = cv2.resize(cv2.merge((factor, factor, factor)), (self.size[1], self.size[0]),
                                interpolation=cv2.INTER_LINEAR)
            out = cv2.multiply(rec.full, factor, dtype=cv2.CV_32F)
        else:
            out = rec.full.astype(np.float32)
            if gain != 1.0:
                out *= np.float32(1.0 + s * (gain - 1.0))
        if offsets:
            off = _window_mean(kk, np.stack([np.zeros(3, np.float32)] + offsets))
            cv2.add(out, tuple(float(v) for v in s * off) + (0.0,), dst=out)
        rec.corrected = out

    # -------------------------------------------------------- high frequencies
    def _detail(self, rec: _Frame) -> np.ndarray:
        """High-pass part of the corrected frame (float32), made once per frame and shared by every frame that
        warps it: warping the detail equals the detail of the warp wherever the flow is smooth, and where it is
        not the neighbour's weight is near zero anyway."""
        if rec.detail is None:
            rec.detail = cv2.subtract(rec.corrected, _lowpass(rec.corrected))
        return rec.detail

    def _full_map(self, fl: np.ndarray) -> np.ndarray:
        """Work-size flow -> full-size CV_32FC2 remap map (x + flow(x), y + flow(y))."""
        h, w = self.size
        if self.scale == 1.0:
            return cv2.add(_grid2(h, w), fl)
        up = cv2.resize(fl, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.scaleAdd(up, 1.0 / self.scale, _grid2(h, w))

    def _texture_stage(self, rec: _Frame) -> np.ndarray:
        cur = rec.corrected
        if not self.tex_radius or self.strength == 0:
            return _to_u8(cur)
        ks = [k for k in self._neighbours(rec, self.tex_radius) if self.frames[rec.index + k].corrected is not None]
        if not ks:
            return _to_u8(cur)
        ks.sort(key=abs)
        if self.auto and self._probe_grain(rec, ks[0]) < _TEXTURE_MIN_NOISE:
            return _to_u8(cur)  # no grain measured: leave the frame's detail alone
        h, w = self.size
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
            fl, ok = self._chain(rec, k)
            nb = self.frames[rec.index + k]
            # cubic for the nearest neighbours, which carry most weight; bilinear (twice as fast) for the others:
            # its slight smoothing of their detail only adds to the averaging
            diff = cv2.remap(self._detail(nb), self._full_map(fl), None,
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
            wgt = cv2.exp(np.minimum(1.0 - dist * np.float32(1.0 / var), 0.0, out=dist))
            wgt[~ok_half] = 0.0
            cv2.accumulate(wgt, den)
            wgt3 = cv2.resize(cv2.merge((wgt, wgt, wgt)), (w, h), interpolation=cv2.INTER_LINEAR)
            cv2.accumulateProduct(diff, wgt3, num)
        den = cv2.resize(cv2.merge((den, den, den)), (w, h), interpolation=cv2.INTER_LINEAR)
        cv2.divide(num, den, dst=num)
        if self.strength != 1.0:
            num *= self.strength
        return cv2.add(cur, num, dtype=cv2.CV_8U)

    def _probe_grain(self, rec: _Frame, k: int, side: int = 160) -> float:
        """Grain level (levels) between this frame and neighbour k, measured on a central crop at full size."""
        h, w = self.size
        ch, cw = min(h, side), min(w, side)
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        xs, ys = _grid(ch, cw)
        xs, ys = xs + x0, ys + y0
        fl, ok = self._chain(rec, k)
        if self.scale != 1.0:  # sample the small flow at the crop's pixels (same centres as cv2.resize)
            sx, sy = (xs + 0.5) * self.scale - 0.5, (ys + 0.5) * self.scale - 0.5
            fl = cv2.remap(fl, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) * (1.0 / self.scale)
            ok = cv2.remap(ok.view(np.uint8), sx, sy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE).view(bool)
        else:
            fl, ok = fl[y0:y0 + ch, x0:x0 + cw], ok[y0:y0 + ch, x0:x0 + cw]
        W = _remap(self.frames[rec.index + k].corrected, xs + fl[..., 0], ys + fl[..., 1], cv2.INTER_CUBIC)
        return _grain(W, rec.corrected[y0:y0 + ch, x0:x0 + cw], ok)


def _lowpass(img: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    """Gaussian-like low-pass (std ~``sigma`` px) computed at quarter size: cheap at any frame size."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / 4.0, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _gain_field(num: np.ndarray, den: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """Smooth gain field on the grid taking ``den`` to ``num`` (trusted luma sums per cell); falls back to 1 where
    little was trusted (occlusions, the borders of a pan)."""
    sigma = 0.08 * max(num.shape)
    num, den, cover = (cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE) for a in (num, den, cover))
    trust = np.clip(cover / 0.3, 0.0, 1.0)
    return (trust * num / np.maximum(den, 1e-3) + (1.0 - trust)).astype(np.float32)


def _grain(warped: np.ndarray, cur: np.ndarray, ok: np.ndarray) -> float:
    """Fine grain that differs between two aligned frames (robust std per frame, levels): the high-pass part of
    their difference, so leftover low-frequency flicker and smooth warp error do not count."""
    diff = _luma(warped) - _luma(cur)
    hp = diff - cv2.GaussianBlur(diff, (0, 0), 2.0)
    return _robust_std(hp[ok]) / np.sqrt(2.0) if ok.any() else 0.0


def _robust_std(x: np.ndarray) -> float:
    if x.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def _window_mean(k: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Value at k = 0 of the window's trend: the plain mean for a centred window; for a lopsided one (a shot's
    ends) a linear trend whose slope is shrunk by its own uncertainty, so a fade is followed but noise is not."""
    kbar = float(k.mean())
    mean = values.mean(axis=0)
    if abs(kbar) < 1e-6:
        return mean
    if len(k) < 3:  # one neighbour on one side: no trend can be told from flicker, so change nothing
        return values[0]
    dk = (k - kbar).reshape((-1,) + (1,) * (values.ndim - 1))
    sxx = float((dk ** 2).sum())
    slope = (dk * (values - mean)).sum(axis=0) / sxx
    resid = values - mean - slope * dk
    var_slope = (resid ** 2).sum(axis=0) / max(len(k) - 2, 1) / sxx
    slope = slope * slope ** 2 / (slope ** 2 + var_slope + 1e-12)
    return mean - slope * kbar


def _to_u8(img: np.ndarray) -> np.ndarray:
    return cv2.add(img, 0.0, dtype=cv2.CV_8U)  # rounds and saturates

"""The solve: a shot's pair fits integrated into one brightness/colour curve per channel (and per field node),
a smooth trend fitted to each (robust to single flash frames, broken where a real jump persists, free to bend
where a fade or ramp starts or ends at once), and only the departure from the trend undone; ``auto`` keeps a kind
only where what it would remove is above what a steady clip shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .apply import Correction
from .basics import LUMA
from .field import GATE_REGIONAL, field_flicker
from .grain import TEXTURE_MIN_NOISE
from .trend import find_kinks, hp_lambda, integrate, linked, trend

LOW_KINDS = frozenset({"brightness", "colour", "regional"})  # the kinds the low-frequency correction fixes
BAD_FIT = 1.8  # a pair fit leaving this many times the shot's median residual is not a global change
BAD_FIT_JUMP = 0.1  # ... where the frame's mean also moves by this much (log): a real change, not a poor fit
# jump of a frame's level (log, gain and offset together) that persists: a real change (~35 %), a break in the
# trend
STEP = 0.3
GATE_PERIOD = 0.5  # auto gates brightness and colour against a trend of this share of the period
# auto: what must be removed for a kind to be corrected at all (RMS over the shot). A steady real clip measures
# well under these; the analyzer's own thresholds are 1.0 % (brightness) and 0.8 % (colour).
GATE_BRIGHTNESS = 0.025  # RMS luma change / mean luma
GATE_COLOUR = 0.016  # RMS per-channel change beyond the common one / mean luma


def typical_residuals(stats: list) -> dict:
    """The shot's median luma residual of the pair fits, per distance k."""
    by_k: dict = {}
    for st in stats:
        for p in st.pairs:
            by_k.setdefault(p.k, []).append(float(p.residual @ LUMA))
    return {k: float(np.median(v)) for k, v in by_k.items()}


def unreliable_frames(stats: list, typical: dict) -> set:
    """Frames that no gain and offset ties to the rest of the shot: every fit to their predecessors leaves
    many times the shot's typical residual while the frame's mean moves by over 10 % and stays there (a light
    coming on, a burst of new content: real change that is not global), and no good fit spans over them. A flash
    is not one: it does not stay, and the frames either side of it still fit each other. These frames measure
    nothing, so they are left as they are and break the trend. ``typical``: typical_residuals(stats)."""
    bad, spanned = set(), set()
    for st in stats:
        for p in st.pairs:
            if float(p.residual @ LUMA) > BAD_FIT * typical[p.k]:
                bad.add((st.index, p.k))
            else:
                spanned.update(range(st.index - p.k + 1, st.index))
    level = np.log(np.array([float(st.mean @ LUMA) for st in stats]) + 1.0)
    out = set()
    for i in range(1, len(stats) - 1):
        st, jump = stats[i], level[i] - level[i - 1]
        # the frame's mean moves by over 10 % and the next frames stay at least half-way there (a flash returns)
        stays = all(np.sign(jump) * (level[j] - level[i - 1]) > 0.5 * abs(jump)
                    for j in range(i + 1, min(i + 3, len(stats))))
        if abs(jump) > BAD_FIT_JUMP and stays and st.pairs and st.index not in spanned \
                and all((st.index, p.k) in bad for p in st.pairs):
            out.add(st.index)
    return out


@dataclass
class _Links:
    """The shot's usable pair measurements: pair i ties frame frames[i] (from the shot's start) to the frame
    distances[i] before it; the field of pair field_pairs[j] is node_gains[j] (weights node_weights[j])."""

    frames: list = field(default_factory=list)
    distances: list = field(default_factory=list)
    log_gain: list = field(default_factory=list)
    w_gain: list = field(default_factory=list)
    offset: list = field(default_factory=list)
    w_off: list = field(default_factory=list)
    node_gains: list = field(default_factory=list)
    node_weights: list = field(default_factory=list)
    field_pairs: list = field(default_factory=list)
    cell_shape: tuple = ()


def _links(stats: list) -> _Links:
    base = stats[0].index
    typical = typical_residuals(stats)
    unreliable = unreliable_frames(stats, typical)
    links = _Links()
    for st in stats:
        for p in st.pairs:
            if st.index - p.k < base or any(st.index - p.k <= u <= st.index for u in unreliable):
                continue
            links.frames.append(st.index - base)
            links.distances.append(p.k)
            links.log_gain.append(p.log_gain)
            links.w_gain.append(p.w_gain)
            links.offset.append(p.offset)
            links.w_off.append(p.w_off)
            # the regional field of a pair that no global gain and offset fits well (new content sweeping in,
            # an occluder) is that content's, not a change of light: it measures nothing
            if p.cells is not None and float(p.residual @ LUMA) <= BAD_FIT * typical[p.k]:
                links.cell_shape = p.cells.shape
                links.node_gains.append(p.cells.ravel())
                links.node_weights.append(p.cell_w.ravel())
                links.field_pairs.append(len(links.frames) - 1)
    return links


def _texture_wanted(stats: list, kinds: frozenset, auto: bool, strength: float, measures: dict) -> bool:
    """Whether the texture stage runs on the shot; measures its grain (and grain / detail) either way."""
    texture = "texture" in kinds and strength > 0
    grains = [st.grain for st in stats if not np.isnan(st.grain)]
    measures["grain"] = float(np.median(grains)) if grains else 0.0
    details = [st.detail for st in stats if not np.isnan(st.detail)]
    measures["grain_ratio"] = measures["grain"] / max(float(np.median(details)), 0.5) if details else 0.0
    if texture and auto:
        texture = measures["grain"] >= TEXTURE_MIN_NOISE
    return texture


def undo(f: np.ndarray, o: np.ndarray, trend_: np.ndarray):
    """Per-channel and luma-common gain and offset taking each frame from its measured curve (log gain f,
    offset o) to the trend's: out = gain (Y - o) + trend(o), the trend's exposure with the flicker gone."""
    phi = f - f.mean(0) - np.log(np.maximum(trend_[:, :3], 1e-3))
    tr_o = trend_[:, 3:]
    g_full = np.exp(-phi)
    o_full = tr_o - g_full * o
    g_luma = np.exp(-(phi @ LUMA))[:, None]  # the same with the luma curve, common to the channels
    o_luma = (tr_o @ LUMA)[:, None] - g_luma * (o @ LUMA)[:, None]
    return g_full, o_full, g_luma, o_luma


def _breaks(n: int, frames, distances, f: np.ndarray, o: np.ndarray, mean_l: float) -> tuple:
    """Where the trend breaks: frames no pair ties to their predecessor, and real jumps that persist; and where
    it may bend at once: kinks of the level (a fade or exposure ramp starting or ending)."""
    breaks = ~linked(n, frames, distances)
    breaks[0] = False
    # jumps are judged on the level the frame's mean is taken to (gain and offset together), in log terms
    linear = np.maximum(np.exp(f @ LUMA) * mean_l + o @ LUMA, 1.0)
    level = np.log(linear)
    jump = np.abs(np.diff(level, prepend=level[0]))
    for i in np.flatnonzero(jump > STEP):
        before, after = level[max(0, i - 3):i], level[i:i + 3]
        if abs(np.median(after) - np.median(before)) > 0.7 * STEP:  # it persists: a real change
            breaks[i] = True
    # kinks on the linear level, as the trend is fitted to gain and offset (a fade to black is straight in it)
    return breaks, find_kinks(linear / float(np.mean(linear)), breaks)


@dataclass
class _Curves:
    means: np.ndarray  # (n, 3) channel means
    mean_l: float  # the shot's mean luma (at least 1)
    breaks: np.ndarray
    kinks: np.ndarray
    lam: float  # the trend's smoothing
    correction: tuple  # undo() against the trend
    gate: tuple  # undo() against auto's gate trend (the correction's where they are the same)


def _curves(stats: list, links: _Links, period: float, auto: bool) -> _Curves:
    n = len(stats)
    frames, distances = np.array(links.frames), np.array(links.distances)
    log_gain, w_gain, offset, w_off = map(np.array, (links.log_gain, links.w_gain, links.offset, links.w_off))
    f = integrate(n, frames, distances, log_gain, w_gain)  # log gain per channel
    o = integrate(n, frames, distances, offset, w_off, np.exp(log_gain))  # offset: o[t] - gain o[t-k] = b
    means = np.array([st.mean for st in stats])
    mean_l = max(float(means.mean(0) @ LUMA), 1.0)
    breaks, kinks = _breaks(n, frames, distances, f, o, mean_l)
    lam = hp_lambda(period)
    # the trend of the gain itself (a fade to black is linear in it), of the offset likewise
    series = np.hstack([np.exp(f - f.mean(0)), o])
    correction = gate = undo(f, o, trend(series, lam, breaks, kinks=kinks))
    # auto's gates: what the correction would remove against a trend of half the period, which follows a fast
    # real change (an exposure ramp over a few frames) that the correction's own trend only rounds off
    if auto and GATE_PERIOD != 1.0:
        gate = undo(f, o, trend(series, hp_lambda(GATE_PERIOD * period), breaks, robust=False, kinks=kinks))
    return _Curves(means, mean_l, breaks, kinks, lam, correction, gate)


def _measure_global(curves: _Curves, measures: dict) -> None:
    """What the correction would remove (against the gate trend): brightness and colour, RMS / mean luma."""
    g_full, o_full, g_luma, o_luma = curves.gate
    means = curves.means
    change = g_full * means + o_full - means  # what the full correction does to each frame's channel means
    common = g_luma * means + o_luma - means  # ... and the one common to the channels
    measures["brightness"] = float(np.sqrt(np.mean((common @ LUMA) ** 2))) / curves.mean_l
    measures["colour"] = float(np.sqrt(np.mean((change - common) ** 2))) / curves.mean_l


def _fields(n: int, links: _Links, curves: _Curves, auto: bool, measures: dict) -> Optional[list]:
    """The regional gain field per frame (node grids), None where it is not corrected."""
    pairs = links.field_pairs
    rphi, measures["regional"] = field_flicker(n, np.array(links.frames)[pairs], np.array(links.distances)[pairs],
                                               links.node_gains, links.node_weights, links.cell_shape,
                                               curves.breaks, curves.lam, curves.kinks)
    if not auto or measures["regional"] >= GATE_REGIONAL:
        return [np.exp(-p) for p in rphi]
    return None


def _corrections(gain: np.ndarray, offset: np.ndarray, fields: Optional[list], strength: float,
                 texture: bool) -> list:
    out = []
    s = strength
    for i in range(len(gain)):
        g, b = 1.0 + s * (gain[i] - 1.0), s * offset[i]
        affine = None
        if np.abs(g - 1).max() > 1e-5 or np.abs(b).max() > 1e-3:
            affine = np.hstack([np.diag(g), b[:, None]]).astype(np.float32)
        fld = None if fields is None else (1.0 + s * (fields[i] - 1.0)).astype(np.float32)
        out.append(Correction(affine, fld, texture))
    return out


def solve(stats: list, kinds: frozenset, auto: bool, strength: float, period: float,
          measures: Optional[dict] = None) -> tuple[list, set]:
    """Corrections for a run of frames of one shot (stats in order) and the kinds they correct; ``measures``
    receives what the auto gates compared."""
    measures = {} if measures is None else measures
    n = len(stats)
    links = _links(stats)
    texture = _texture_wanted(stats, kinds, auto, strength, measures)
    done = {"texture"} if texture else set()
    if not links.frames or not kinds & LOW_KINDS or strength == 0 or n < 3:
        return [Correction(None, None, texture) for _ in range(n)], done
    curves = _curves(stats, links, period, auto)
    _measure_global(curves, measures)
    bright, colour = "brightness" in kinds, "colour" in kinds
    if auto:
        bright = measures["brightness"] >= GATE_BRIGHTNESS
        colour = measures["colour"] >= GATE_COLOUR
    fields = _fields(n, links, curves, auto, measures) if "regional" in kinds and links.node_gains else None
    done |= ({"regional"} if fields is not None else set())
    done |= ({"brightness"} if bright else set()) | ({"colour"} if colour else set())
    bright = bright or fields is not None  # the field's common part is the global gain's (counted as regional)
    g_full, o_full, g_luma, o_luma = curves.correction
    if colour:  # per channel (a colour cast moves the channels' common level too)
        gain, offset = g_full, o_full
    elif bright:  # one gain and offset for all channels: the luma curve's
        gain, offset = np.repeat(g_luma, 3, 1), np.repeat(o_luma, 3, 1)
    else:
        gain, offset = np.ones_like(g_full), np.zeros_like(o_full)
    out = _corrections(gain, offset, fields, strength, texture)
    if not any(c.affine is not None or c.field is not None for c in out):
        done -= LOW_KINDS
    return out, done


@dataclass
class Solution:
    """Corrections for every frame of a measured clip, solved shot by shot (pass 1's result)."""

    corrections: list  # one Correction per frame
    corrected: set  # the kinds some correction fixes
    measures: list  # per shot: its first frame and length, and what the auto gates compared
    texture: bool  # some frame's texture stage runs


def solve_clip(stats: list, kinds: frozenset, auto: bool, strength: float, period: float) -> Solution:
    corrections, corrected, measures = [], set(), []
    start = 0
    for i in range(1, len(stats) + 1):
        if i == len(stats) or stats[i].shot != stats[start].shot:
            measures.append({"first": start, "frames": i - start})
            corr, done = solve(stats[start:i], kinds, auto, strength, period, measures[-1])
            corrections += corr
            corrected |= done
            start = i
    return Solution(corrections, corrected, measures, any(c.texture for c in corrections))

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
  in it, and it bends where a fade or exposure ramp starts or ends at once) and only the curve's departure from its
  trend is undone. A fade or exposure drift is the trend: it stays.
  A frame that no gain and offset ties to its predecessors while its level jumps and stays (a light coming on,
  a burst of new content) measures nothing: it is left as it is and breaks the trend.
  The correction is a per-channel gain and offset (and, where regional flicker is measured, a smooth gain field),
  so it cannot add spatial structure.
* high frequencies (``texture``): the high-pass detail of the neighbours, already corrected, is warped onto the
  frame at full size (cubic for the nearest, bilinear for the others) along flow of its own, computed between the
  corrected frames at up to 640 px (the small copy's flow is too coarse to line fine detail up), and averaged with
  weights, computed at half size, that fall to zero where they disagree (occlusions, flow failures), so re-sampled
  grain averages out while edges stay put; each pixel takes that average in only as far as it is estimated to help
  (a Wiener-like shrink), so faint grain is not traded for warp error.

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

The package, by job: ``window`` (the aligned window, flow, scene cuts), ``pairs`` (pair fits), ``field`` (the
regional field), ``trend`` (curves and their trend), ``solve`` (a shot's corrections, auto's gates), ``grain``
(the grain probe), ``texture`` (the texture stage), ``apply`` (a frame's low-frequency correction), ``stats``
(per-frame statistics, pass 1), ``stream`` (the one-pass and two-pass engines) and ``operation`` (plan / run).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ...operation import Source
from ...progress import ProgressFn
from ...settings import DeflickerSettings
from .operation import DeflickerPlan, DeflickerRun, kinds_to_fix, plan, run
from .texture import TEXTURE_RADIUS

__all__ = ["DeflickerPlan", "DeflickerRun", "DeflickerSettings", "TEXTURE_RADIUS", "deflicker_frames", "kinds_to_fix",
           "plan", "run"]


def deflicker_frames(frames, fps: float, kinds="auto", strength: float = 1.0,
                     window: int = DeflickerSettings.default("window"), progress: Optional[ProgressFn] = None,
                     total: int = 0) -> DeflickerRun:
    """plan + run in one call (the demo, tests and benchmarks): ``kinds`` a mode, or the kinds to fix as
    Analyze Flicker names them; ``total`` the frame count for progress (0: not known)."""
    mode, diagnosis = (kinds, None) if isinstance(kinds, str) else ("auto", list(kinds))
    settings = DeflickerSettings(mode=mode, strength=float(strength), window=int(window))
    return run(frames, plan(Source(*_frame_size(frames), total or None, fps), settings, diagnosis), progress)


def _frame_size(frames) -> tuple[int, int]:
    """(width, height) of an array or list of frames; a stream's is not known before it is read: every size the
    deflicker takes (>= 1x1) is then checked frame by frame."""
    if isinstance(frames, (np.ndarray, list, tuple)) and len(frames):
        shape = np.shape(frames[0])
        if len(shape) >= 2:
            return shape[1], shape[0]
    return 1, 1

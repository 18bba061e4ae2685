"""Damaged frames: a flash frame, or a single-frame content break (a corrupted or melted frame, a frame from
elsewhere in the clip), found with a streaming window of four frames.

A run of one damaged frame i (or two, i and i+1) is judged on three pairs: the pair entering it (i-1, i), the
pair leaving it (i / i+1, next) and the bridge (i-1, next) over it:

- **flash**: the run's brightness (any channel) jumps away from both neighbours and comes back: the entering
  and leaving log gains have opposite signs and both are at least ``FLASH`` (about 14 %);
- **content break**: the run does not line up with its neighbours while they line up with each other. Each pair
  is lined up with DIS optical flow (both ways) at ``DAMAGE_SIDE`` px; its residual is the mean |difference| after
  a tone curve gives the warped frame the other's histogram (a flash is no content break) and after the smooth
  part of the difference is taken out (regional flicker is smooth, a broken frame has edges); its ``aligned``
  share is the pixels that pass the forward-backward check. The break score is
  min(entering, leaving residual) / (bridge residual + 0.5) + 2 x (bridge aligned - best entering/leaving
  aligned): the bridge spans more motion than a consecutive pair, so clean footage scores below 1.

The thresholds sit between the clean and the damaged versions of the 14 real dev clips (at 256 px, a +40 % flash
or frames from half the clip away, one and two frames at three places each: 168 cases; ``bench/repair_real.py``):
clean clips score at most 0.09 (flash; 0.18 for two frames) and 0.86 (break), a +40 % flash at least 0.18 (0.26),
a frame from elsewhere in the clip at least 1.2. A scene cut is no damage (the bridge across it does not line
up), and brightness that jumps on many frames is flicker, not flash frames (``FLASH_OVER_JITTER``): the deflicker
is its fix. The check adds about 1 ms of CPU a frame to the analyzer (+9 % at 256 px).

Runs of three or more are not looked for: the repair rebuilds at most two frames between good neighbours.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Optional

import cv2
import numpy as np

from ..measure import flow
from ..measure.metrics import flow_stays_inside
from ..progress import ProgressFn, report

DAMAGE_KINDS = ("flash", "content_break")
DAMAGE_SIDE = 128  # long side the pairs are lined up at: a content break is no small detail
_PRESET = "ultrafast"
FLASH = {1: 0.13, 2: 0.21}  # log gain both ways, by run length (clean clips: <= 0.09 and 0.18)
BREAK = 1.05  # break score from which a run is a content break (clean: <= 0.86)
BREAK_OVER_FLASH = 1.6  # a run that is both: a content break from here (a clipped flash scores up to 1.5)
MIN_RESIDUAL = 3.0  # levels: below this, entering and leaving pairs already line up (still footage, noise)
FLASH_OVER_JITTER = 3.0  # a flash jumps this many times the clip's typical brightness wobble (else: flicker)
_SMOOTH = 12.0  # px at DAMAGE_SIDE: differences smoother than this are photometric (regional flicker)
_CLIP = 64  # residuals clipped here: a few wild pixels do not decide


@dataclass(frozen=True)
class DamagedFrame:
    """One frame the analyzer flags: ``frame`` 0-based, ``kind`` one of DAMAGE_KINDS."""

    frame: int
    kind: str

    def to_dict(self) -> dict:
        return {"frame": self.frame, "kind": self.kind}


@dataclass(frozen=True)
class _Frame:
    gray: np.ndarray  # uint8, DAMAGE_SIDE on the long side (padded where DIS needs more)
    log_rgb: np.ndarray  # (3,) log(mean + 1) per channel, of the whole frame


@dataclass(frozen=True)
class _Pair:
    residual: float  # mean |a - tone-matched warped b|, levels
    aligned: float  # share of pixels passing the forward-backward check
    gain: np.ndarray  # (3,) log gain per channel, b over a


def _prepare(frame: np.ndarray) -> _Frame:
    h, w = frame.shape[:2]
    scale = DAMAGE_SIDE / max(h, w)
    small = frame if scale >= 1 else cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                interpolation=cv2.INTER_AREA)
    gray = flow.to_gray(small)
    pad_h, pad_w = flow.dis_padding(gray.shape)
    if pad_h or pad_w:
        gray = cv2.copyMakeBorder(gray, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
    return _Frame(gray, np.log(np.array(cv2.mean(frame)[:3]) + 1.0))


def _tone_lut(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The monotone curve that gives ``src`` the histogram of ``ref`` (a flash is a tone change, not damage)."""
    cdf_src = np.cumsum(cv2.calcHist([src], [0], None, [256], [0, 256]).ravel())
    cdf_ref = np.cumsum(cv2.calcHist([ref], [0], None, [256], [0, 256]).ravel())
    return np.clip(np.searchsorted(cdf_ref / cdf_ref[-1], cdf_src / cdf_src[-1]), 0, 255).astype(np.uint8)


def _pair(a: _Frame, b: _Frame) -> _Pair:
    fw = flow.dis_flow(a.gray, b.gray, _PRESET)
    bw = flow.dis_flow(b.gray, a.gray, _PRESET)
    aligned = float(np.count_nonzero(flow.occlusion_mask(fw, bw) & flow_stays_inside(fw))) / a.gray.size
    warped = flow.warp(b.gray, fw)
    diff = cv2.subtract(a.gray, cv2.LUT(warped, _tone_lut(warped, a.gray)), dtype=cv2.CV_32F)
    # the fine part only: regional brightness changes (flicker) are smooth, a content break has edges
    diff -= cv2.GaussianBlur(diff, (0, 0), _SMOOTH)
    residual = float(np.minimum(np.abs(diff), _CLIP).mean())
    return _Pair(residual, aligned, b.log_rgb - a.log_rgb)


def flash_score(entering: _Pair, leaving: _Pair) -> float:
    """How far (log gain) the run's brightness jumps away and back, in the channel that jumps most; 0 if it
    does not come back."""
    gi, go = entering.gain, leaving.gain
    return float(np.max(np.where(gi * go < 0, np.minimum(np.abs(gi), np.abs(go)), 0.0)))


def break_score(entering: _Pair, leaving: _Pair, bridge: _Pair) -> float:
    """How much worse the run lines up with its neighbours than they line up with each other (see the module)."""
    worst_in = min(entering.residual, leaving.residual)
    if worst_in < MIN_RESIDUAL:
        return 0.0
    return worst_in / (bridge.residual + 0.5) + 2.0 * (bridge.aligned - max(entering.aligned, leaving.aligned))


def judge(entering: _Pair, leaving: _Pair, bridge: _Pair, length: int) -> Optional[str]:
    """The damage kind of a run of ``length`` frames between its neighbours, or None."""
    broken = break_score(entering, leaving, bridge)
    flashed = flash_score(entering, leaving) >= FLASH[length]
    if broken >= BREAK_OVER_FLASH or (broken >= BREAK and not flashed):
        return "content_break"
    return "flash" if flashed else None


class DamageFinder:
    """Fed a clip frame by frame (``add``); ``finish`` gives the damaged frames. Holds four small frames and the
    pairs between them; each frame is decided two frames after it arrives (the last ones in ``finish``)."""

    def __init__(self):
        self.frames: deque = deque(maxlen=4)  # (index, _Frame) of the last frames
        self.steps: dict = {}  # index k -> the pair (k-1, k), for the frames in the window
        self.found: dict = {}  # frame -> (kind, flash score)
        self.levels: list = []  # log channel means of every frame: the clip's brightness wobble
        self.count = 0

    def add(self, frame: np.ndarray) -> None:
        k = self.count
        small = _prepare(frame)
        self.levels.append(small.log_rgb)
        if self.frames:
            self.steps[k] = _pair(self.frames[-1][1], small)
        self.frames.append((k, small))
        self.steps.pop(k - 4, None)
        self.count += 1
        # frame k-2 alone is judged one frame late, after the run of two it starts (k-2, k-1): a run of two
        # makes its first frame jump away without coming back, which the single-frame test would misread
        if k >= 3 and not self._flagged(k - 3, k - 2, k - 1):
            self._test(k - 2, k - 1)
        if k >= 3 and not self._flagged(k - 3, k - 2):
            self._test(k - 2, k - 2)

    def _flagged(self, *frames: int) -> bool:
        return any(f in self.found for f in frames)

    def _small(self, index: int) -> _Frame:
        return self.frames[index - self.frames[-1][0] - 1][1]

    def _test(self, first: int, last: int) -> bool:
        entering, leaving = self.steps[first], self.steps[last + 1]
        flashed = flash_score(entering, leaving) >= FLASH[last - first + 1]
        if not flashed and min(entering.residual, leaving.residual) < MIN_RESIDUAL:
            return False  # neither test can pass: the bridge need not be lined up
        bridge = _pair(self._small(first - 1), self._small(last + 1))
        kind = judge(entering, leaving, bridge, last - first + 1)
        if kind is not None:
            for f in range(first, last + 1):
                self.found[f] = (kind, flash_score(entering, leaving))
        return kind is not None

    def finish(self) -> list[DamagedFrame]:
        """The damaged frames, in order. A flash that jumps less than ``FLASH_OVER_JITTER`` times the clip's
        brightness wobble (the median |second difference| of a channel's log mean, the channel that wobbles
        most) is brightness or colour flicker: not reported."""
        last = self.count - 2  # the last frame with a neighbour on each side, not judged yet
        if last >= 1 and not self._flagged(last - 1, last):
            self._test(last, last)
        wobble = float(np.median(np.abs(np.diff(self.levels, 2, axis=0)), axis=0).max()) if self.count > 2 else 0.0
        return [DamagedFrame(f, kind) for f, (kind, jump) in sorted(self.found.items())
                if kind != "flash" or jump >= FLASH_OVER_JITTER * wobble]


def find_damaged(frames: Iterable[np.ndarray], progress: Optional[ProgressFn] = None,
                 total: int = 0) -> list[DamagedFrame]:
    """The damaged frames of a clip (uint8 RGB frames, streamed), as the analyzer reports them; progress per
    frame against ``total`` (0: unknown)."""
    finder = DamageFinder()
    for i, frame in enumerate(frames):
        finder.add(np.asarray(frame))
        report(progress, i + 1, max(total, i + 1))
    return finder.finish()


def describe(damaged: Iterable[DamagedFrame]) -> str:
    """'12 (flash), 40-41 (content break)': runs of consecutive frames of one kind joined."""
    runs: list[list] = []
    for d in damaged:
        if runs and runs[-1][1] == d.frame - 1 and runs[-1][2] == d.kind:
            runs[-1][1] = d.frame
        else:
            runs.append([d.frame, d.frame, d.kind])
    return ", ".join(f"{a}{'' if a == b else f'-{b}'} ({kind.replace('_', ' ')})" for a, b, kind in runs)


def damaged_from_json(text: str) -> tuple[list[DamagedFrame], int]:
    """(the damaged frames, the clip's frame count) of an analysis JSON (Analyze Flicker's ``json`` output)."""
    import json

    from ..errors import UnflickerError

    try:
        data = json.loads(text)
        items, count = data["damaged_frames"], int(data["frame_count"])
    except (TypeError, ValueError, KeyError) as exc:
        raise UnflickerError("diagnosis must be the json output of Analyze Flicker (an object with "
                             "'damaged_frames' and 'frame_count'); an analysis from a version without "
                             "'damaged_frames' needs analysing again") from exc
    try:
        frames = [DamagedFrame(int(d["frame"]), str(d["kind"])) for d in items]
    except (TypeError, ValueError, KeyError) as exc:
        raise UnflickerError(f"diagnosis: damaged_frames must be a list of {{'frame': n, 'kind': k}}; got "
                             f"{str(items)[:80]}") from exc
    return frames, count

"""The aligned window: the last frames of a stream at work size, split into shots at scene cuts, with the
frame-to-frame flows (forward-backward checked) and the flows chained from them to further neighbours.

Scene cuts: a candidate cut is ``unflicker.measure.scenecut.PairChecker``'s (the test interpolation uses), but
the deflicker overrules it where optical flow still lines the pair up and one gain and offset per channel takes
one frame to the other (``_aligns``). The one reason it differs from the analyzer's overrule (the share of
pixels flow lines up, ``scenecut.ALIGNED_NO_CUT``): a cut here ends the correction, so a flicker frame taken for
a cut would be left uncorrected, while new content taken for the same shot would be "corrected" towards the
old. Flicker is exactly a gain/offset jump, so the deflicker asks that the gain/offset fit explains the pair,
and its thresholds (0.45 aligned, residual 14 levels) were tuned on its output: the analyzer's test changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from ...errors import UnflickerError
from ...measure import flow, metrics, scenecut
from .basics import flows_both_ways
from .field import grid_cells
from .pairs import fit_pair

WORK_SIDE = 160  # long side of the copy used for flow and low-frequency statistics
CUT_THRESHOLD = 0.5  # PairChecker's score from which a pair is a candidate cut
# a candidate cut stays in the shot where flow is consistent on this share of the pixels (across a real cut
# it is consistent almost nowhere, ~0.1) ...
ALIGNED_SHARE = 0.45
ALIGNED_RESIDUAL = 14.0  # ... and one gain and offset per channel leaves under this median residual (levels)
_map, _inside = metrics.pixel_map, metrics.inside  # the 2-channel (x, y) map of every pixel; where a map points inside


@dataclass
class Frame:
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


class AlignedWindow:
    """The last frames of a stream at work size, in shots, with their flows (see the module docstring)."""

    def __init__(self):
        self.frames: dict[int, Frame] = {}
        self.count = 0  # frames received
        self.shot = 0
        self.shot_start = 0
        self.size = (0, 0)  # full size (h, w)
        self.work = (0, 0)  # work size (w, h), as OpenCV takes it
        self.scale = 1.0
        self.cells = (1, 1)  # regional grid (w, h)
        self.cuts = scenecut.PairChecker(CUT_THRESHOLD)  # each frame's signature made once

    def check_size(self, frame: np.ndarray) -> None:
        """Take the first frame's size; refuse a later frame of another size."""
        h, w = frame.shape[:2]
        if self.count == 0:
            self.size = (h, w)
            self.scale = min(1.0, WORK_SIDE / max(h, w))
            self.work = (max(1, int(round(w * self.scale))), max(1, int(round(h * self.scale))))
            self.cells = grid_cells(h, w)
        elif (h, w) != self.size:
            raise UnflickerError(f"all frames must have the same size: frame {self.count} is {w}x{h}, the first "
                                 f"{self.size[1]}x{self.size[0]}")

    def add(self, frame: np.ndarray, keep_full: bool, with_flow: bool = True) -> Frame:
        self.check_size(frame)
        i = self.count
        h, w = frame.shape[:2]
        small = frame
        if w >= 2 * self.work[0] and h >= 2 * self.work[1]:  # halving first takes OpenCV's fast 2x2 path
            small = cv2.resize(small, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        if small.shape[:2] != (self.work[1], self.work[0]):
            small = cv2.resize(small, self.work, interpolation=cv2.INTER_AREA)
        rec = Frame(i, frame if keep_full else None, small.astype(np.float32), small,
                    flow.to_gray(small), self.shot, self.shot_start)
        prev = self.frames.get(i - 1)
        if prev is not None:
            if self.cuts.is_cut(prev.thumb, small) and not self._aligns(prev, rec):
                self.shot += 1
                self.shot_start = i
                rec.shot, rec.shot_start = self.shot, i
            elif with_flow:
                fw, bw = flows_both_ways(prev.gray, rec.gray, "ultrafast")
                prev.fw, prev.fw_ok = fw, flow.occlusion_mask(fw, bw)
                rec.bw, rec.bw_ok = bw, flow.occlusion_mask(bw, fw)
        self.frames[i] = rec
        self.count += 1
        return rec

    def _aligns(self, prev: Frame, rec: Frame) -> bool:
        """A candidate cut that optical flow still lines up, one gain and offset per channel apart, is the same
        shot under a colour or brightness jump (what flicker does), not a cut."""
        if min(self.work) < 16:
            return False
        fw, bw = flows_both_ways(prev.gray, rec.gray, "ultrafast")
        ok = flow.occlusion_mask(bw, fw) & _inside(cv2.add(_map(*bw.shape[:2]), bw))
        if ok.mean() < ALIGNED_SHARE:
            return False
        warped = cv2.remap(prev.small, cv2.add(_map(*bw.shape[:2]), bw), None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        pair = fit_pair(rec.small, warped, ok, 1, self.cells, False)
        return pair is not None and float(np.median(pair.residual)) < ALIGNED_RESIDUAL

    def get(self, i: int) -> Optional[Frame]:
        return self.frames.get(i)

    def evict(self, before: int) -> None:
        for i in [i for i in self.frames if i < before]:
            del self.frames[i]

    def neighbours(self, rec: Frame, reach: int, need=lambda r: True) -> list[int]:
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

    def chain(self, rec: Frame, k: int):
        """Flow rec -> rec+k and its trusted mask, composed from frame-to-frame flows (cached per frame)."""
        got = rec.chained.get(k)
        if got is not None:
            return got
        step = 1 if k > 0 else -1
        grid = _map(*rec.gray.shape[:2])
        if abs(k) == 1:
            fl, ok = (rec.fw, rec.fw_ok) if step == 1 else (rec.bw, rec.bw_ok)
            ok = ok & _inside(cv2.add(grid, fl))
        else:
            prev_fl, prev_ok = self.chain(rec, k - step)
            mid = self.frames[rec.index + k - step]
            nxt_fl, nxt_ok = (mid.fw, mid.fw_ok) if step == 1 else (mid.bw, mid.bw_ok)
            mapping = cv2.add(grid, prev_fl)
            fl = cv2.add(prev_fl, cv2.remap(nxt_fl, mapping, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
            moved_ok = cv2.remap(nxt_ok.astype(np.float32), mapping, None, cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
            ok = prev_ok & (moved_ok > 0.99) & _inside(cv2.add(grid, fl))
        rec.chained[k] = (fl, ok)
        return fl, ok

    def full_map(self, fl: np.ndarray, scale: Optional[float] = None) -> np.ndarray:
        """Flow at ``scale`` of the full size (default: the work size) -> full-size CV_32FC2 remap map
        (x + flow(x), y + flow(y))."""
        h, w = self.size
        scale = self.scale if scale is None else scale
        if scale == 1.0:
            return cv2.add(_map(h, w), fl)
        up = cv2.resize(fl, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.scaleAdd(up, 1.0 / scale, _map(h, w))

"""Per-frame statistics: a frame's channel means and its pair fits against its predecessors along the chained
flow (and, for texture, its grain against the previous frame). Pass 1 of a two-pass run keeps only these."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from ...measure import metrics
from .basics import ordered_sum
from .grain import probe_align, probe_finish
from .pairs import fit_pair
from .window import AlignedWindow, Frame

PAIR_REACH = 2  # each frame is measured against its 2 predecessors: a flash frame does not break the chain


@dataclass
class Stats:
    index: int
    shot: int
    mean: np.ndarray  # (3,) channel means at work size
    pairs: list
    grain: float = float("nan")  # fine grain against the previous frame (levels), nan where not measured
    detail: float = float("nan")  # the frame's own fine detail (levels), measured with grain


def measure(win: AlignedWindow, rec: Frame, kinds: frozenset, grain: bool, aligned=None,
            worker: Optional[ThreadPoolExecutor] = None) -> Stats:
    """Statistics of one frame against its predecessors (and its grain against the previous one; ``aligned``: a
    future of probe_align(this frame, the previous one) already under way, else it is run here). With a
    ``worker`` the pair fits after the first run on it, beside the first."""
    st = Stats(rec.index, rec.shot, ordered_sum(rec.small.reshape(-1, 3).T) / rec.small[..., 0].size, [])
    regional = "regional" in kinds
    fits = []
    for k in win.neighbours(rec, PAIR_REACH):
        if k > 0:
            continue
        fl, ok = win.chain(rec, k)
        other = win.get(rec.index + k)
        warped = cv2.remap(other.small, cv2.add(metrics.pixel_map(*fl.shape[:2]), fl), None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        fits.append((k, other, (rec.small, warped, ok, -k, win.cells, regional)))
    later = [worker.submit(fit_pair, *args) for _, _, args in fits[1:]] if worker is not None else None
    for i, (k, other, args) in enumerate(fits):
        pair = fit_pair(*args) if i == 0 or later is None else later[i - 1].result()
        if pair is None:
            continue
        st.pairs.append(pair)
        if grain and k == -1 and rec.full is not None and other.full is not None:
            affine = np.hstack([np.diag(np.exp(pair.log_gain)), pair.offset[:, None]]).astype(np.float32)
            st.grain, st.detail = probe_finish(aligned.result() if aligned is not None
                                               else probe_align(rec.full, other.full), affine)
    return st


class Measurer:
    """Pass 1 of a two-pass run: streams the clip, keeping a few numbers per frame (and the previous frame)."""

    def __init__(self, kinds: frozenset, worker: Optional[ThreadPoolExecutor] = None):
        self.kinds = kinds
        self.grain = "texture" in kinds
        self.window = AlignedWindow()
        self.stats: list[Stats] = []
        self.worker = worker  # runs the grain probe's full-size alignment and the further pair fits beside the rest

    def add(self, frame: np.ndarray) -> None:
        last = self.window.get(self.window.count - 1)
        aligned = None
        if self.worker is not None and last is not None and last.full is not None:
            aligned = self.worker.submit(probe_align, frame, last.full)
        rec = self.window.add(frame, keep_full=self.grain)
        self.stats.append(measure(self.window, rec, self.kinds, self.grain, aligned, self.worker))
        self.window.evict(rec.index - PAIR_REACH)
        prev = self.window.get(rec.index - 1)
        if prev is not None:
            prev.full = None  # the previous full frame is only needed for the grain probe
        for other in self.window.frames.values():
            if other.index < rec.index:
                other.chained.clear()

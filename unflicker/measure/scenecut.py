"""Scene-cut detection: a cut is a pair of frames whose colour distribution and structure both change at once.

Flicker changes brightness or colour (histograms shift but edges stay); motion changes structure locally
(edges move but histograms stay). A cut changes both, so the score needs both to be high. A caller that has
already lined the pair up with optical flow says how much of it lined up (``aligned``): a colour cast plus fast
motion can fool the score, but a real cut also breaks the flow, so a pair lined up over more than
``ALIGNED_NO_CUT`` of its pixels is no cut.
"""

from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

_THUMB = (64, 36)
ALIGNED_NO_CUT = 0.5  # share of pixels optical flow lines up above which a pair is no cut


def _signature(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    small = cv2.resize(frame, _THUMB, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    # hue/saturation histogram ignores the value channel, so brightness flicker does not look like a cut
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256]).ravel()
    hist /= hist.sum() + 1e-9
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    edges = cv2.Laplacian(gray, cv2.CV_32F)
    edges = (edges - edges.mean()) / (edges.std() + 1e-6)
    return hist, edges


def _score(sig_a, sig_b) -> float:
    hist_a, edges_a = sig_a
    hist_b, edges_b = sig_b
    hist_change = 0.5 * float(np.abs(hist_a - hist_b).sum())  # total variation distance, 0..1
    # structure: 1 - correlation of blurred edge maps, tolerant to small motion
    ea = cv2.GaussianBlur(edges_a, (0, 0), 1.5).ravel()
    eb = cv2.GaussianBlur(edges_b, (0, 0), 1.5).ravel()
    corr = float(np.dot(ea - ea.mean(), eb - eb.mean()) / (np.linalg.norm(ea - ea.mean()) * np.linalg.norm(eb - eb.mean()) + 1e-9))
    struct_change = float(np.clip(1.0 - corr, 0.0, 1.0))
    return float(np.sqrt(np.clip(hist_change, 0, 1) * struct_change))


def cut_score(frame_a: np.ndarray, frame_b: np.ndarray) -> float:
    """0 (same shot) .. 1 (unrelated shots)."""
    return _score(_signature(frame_a), _signature(frame_b))


def is_cut(frame_a: np.ndarray, frame_b: np.ndarray, threshold: float = 0.5) -> bool:
    return cut_score(frame_a, frame_b) >= threshold


class PairChecker:
    """``is_cut`` for consecutive pairs of a stream: each frame's signature is computed once, not once per pair."""

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        self._last = None  # (frame, its signature)

    def _sig(self, frame: np.ndarray):
        if self._last is not None and self._last[0] is frame:
            return self._last[1]
        return _signature(frame)

    def is_cut(self, frame_a: np.ndarray, frame_b: np.ndarray, aligned: float | None = None) -> bool:
        """``aligned``: the share of the pair's pixels optical flow lined up, where the caller has measured it."""
        if aligned is not None and aligned >= ALIGNED_NO_CUT:
            return False
        sig_a, sig_b = self._sig(frame_a), self._sig(frame_b)
        self._last = (frame_b, sig_b)
        return _score(sig_a, sig_b) >= self.threshold


def find_cuts(frames: Iterable[np.ndarray], threshold: float = 0.5) -> list[int]:
    """Indices of frames that start a new shot (never 0)."""
    cuts, prev = [], None
    for i, frame in enumerate(frames):
        sig = _signature(frame)
        if prev is not None and _score(prev, sig) >= threshold:
            cuts.append(i)
        prev = sig
    return cuts

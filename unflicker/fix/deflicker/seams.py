"""The seam stage: segments of a chained generation matched to each other, and drift held where asked.

At each boundary (given by the user as a list or a segment length and overlap, or found by
``unflicker.analysis.seams.find_seams`` on pass 1's pair fits), the affine colour transform (3x4) that takes the
new segment's look to its predecessor's is fitted on the aligned frames around the boundary (the pair fits'
sample moments, pooled), and chained, so every segment of a shot matches the first. Over an overlap (segments
cross-faded by the generator) the correction is blended in frame by frame; a hard cut of look is undone at once,
which leaves no step. Pairs across a corrected boundary are taken out of the flicker solve, so its trend breaks
there and it neither smooths the seam into a ramp nor fights the seam correction.

Drift ``hold`` also undoes the change of look of persisting content within the segments (the frame-to-frame
transforms chained) except its part common to every channel (one gain and offset: a fade, an exposure change),
so the first segment's look, or a reference image's, holds while fades stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from ...analysis import seams as looks_
from ...analysis.seams import IDENTITY, compose, fit_look, invert, scalar_part
from ...errors import UnflickerError

DRIFT_MODES = ("keep", "hold")


@dataclass(frozen=True)
class SeamPlan:
    """What the seam stage does, decided before a frame is read."""

    starts: tuple = ()  # frames the user says start a segment
    segment_length: int = 0  # or: segments of this many frames ...
    overlap: int = 0  # ... overlapping by this many (a boundary every segment_length - overlap frames)
    find: bool = False  # look for seams in pass 1's measures
    drift: str = "keep"
    reference: Optional[tuple] = None  # (mean (3,), covariance (3, 3)) of a reference image's colours

    @property
    def acts(self) -> bool:
        return bool(self.starts or self.segment_length or self.find or self.drift == "hold")

    @property
    def given(self) -> bool:
        return bool(self.starts or self.segment_length or self.drift == "hold")

    def boundaries(self, n: int) -> list:
        """The given boundaries inside a clip of n frames."""
        out = set(t for t in self.starts if 0 < t < n)
        if self.segment_length:
            out.update(range(self.segment_length, n, self.segment_length - self.overlap))
        return sorted(out)


def parse_starts(text: str, name: str = "segment_starts") -> tuple:
    """Frames that start a segment, from "24, 48 72" (commas or spaces); errors name the input."""
    words = str(text or "").replace(",", " ").replace(";", " ").split()
    try:
        frames = [int(w) for w in words]
    except ValueError as exc:
        raise UnflickerError(f"{name} must be whole frame numbers separated by commas, got {text!r}") from exc
    if any(f < 1 for f in frames):
        raise UnflickerError(f"{name}: a segment starts at frame 1 or later (frame 0 starts the clip), got {text!r}")
    return tuple(sorted(set(frames)))


def reference_look(image: np.ndarray) -> tuple:
    """(mean, covariance) of a reference image's colours (uint8 or 0-1 float RGB, H x W x 3)."""
    img = np.asarray(image, np.float64)
    if img.ndim != 3 or img.shape[2] < 3:
        raise UnflickerError(f"reference must be an RGB image (H, W, 3), got shape {img.shape}")
    if img.max() <= 1.0:
        img = img * 255.0
    px = img[..., :3].reshape(-1, 3)[:: max(1, img.shape[0] * img.shape[1] // 20000)]
    return px.mean(0), np.cov(px.T) + np.eye(3) * looks_.RIDGE


@dataclass
class SeamFix:
    """The seam stage's result: a 3x4 transform per frame (None: unchanged) and what it found."""

    transforms: list
    boundaries: list = field(default_factory=list)  # the boundaries corrected
    found: Optional[looks_.SeamReport] = None
    held: bool = False


def _look(st, k: int):
    return next((p.look for p in st.pairs if p.k == k and p.look is not None and p.look.w > 0), None)


def frame_looks(stats: list) -> list:
    """Per frame: (transform t-1 -> t, its moments) from pass 1's pair fits, None where not measured."""
    out = [None]
    for prev, st in zip(stats, stats[1:]):
        m = _look(st, 1) if st.shot == prev.shot else None
        out.append(None if m is None else (fit_look(m), m))
    return out


def _boundary_transform(looks: list, b: int, span: int, bounds: set) -> Optional[np.ndarray]:
    """The new segment's look (from frame b) to its predecessor's: over a cross-fade of ``span`` frames the pair
    transforms chained; at a hard boundary the pair b-1 -> b less the change of look under way around it (the
    median of its neighbours' pair transforms: a fade is not the seam's, nor is one neighbour's burst of light),
    as ``unflicker.analysis.seams.seam_step`` measures it, undone."""
    if span > 1:
        return invert(looks_.chain(looks, b - 1, min(b + span, len(looks))))
    step = looks_.seam_step(looks, b, bounds)
    return None if step is None else invert(step)


def _hold(looks: list, stats: list, seams: set, transforms: list) -> None:
    """Drift hold: per frame, undo the look change chained from its shot's start (seam steps left to the seam
    correction), keeping its part common to the channels."""
    drift = IDENTITY
    for t in range(len(stats)):
        if t == 0 or stats[t].shot != stats[t - 1].shot:
            drift = IDENTITY
        elif looks[t] is not None and t not in seams:
            drift = compose(looks[t][0], drift)
        first = next((g[1] for g in looks[t:t + 2] if g is not None), None)
        if first is None:
            continue
        keep = compose(scalar_part(drift, first), invert(drift))
        transforms[t] = compose(keep, transforms[t])


def _to_reference(looks: list, reference: tuple) -> np.ndarray:
    """The colour transfer (means and covariances matched, linear Monge-Kantorovich) from the first frame's look
    to the reference's."""
    first = next((g[1] for g in looks if g is not None), None)
    if first is None:
        return IDENTITY
    mx, _, cxx, _, _ = first.stats()
    my, cyy = reference
    cxx = cxx + np.eye(3) * looks_.RIDGE
    root = _sqrtm(cxx)
    inv_root = np.linalg.inv(root)
    gain = inv_root @ _sqrtm(root @ cyy @ root) @ inv_root
    return np.hstack([gain, (my - gain @ mx)[:, None]])


def _sqrtm(c: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(c)
    return vecs @ np.diag(np.sqrt(np.maximum(vals, 0.0))) @ vecs.T


def solve_seams(stats: list, seam_plan: SeamPlan, strength: float) -> SeamFix:
    """The seam stage for a measured clip (pass 1's stats, in order)."""
    n = len(stats)
    transforms = [IDENTITY] * n
    looks = frame_looks(stats)
    cuts = [t for t in range(1, n) if stats[t].shot != stats[t - 1].shot]
    fix = SeamFix([None] * n)
    bounds = set(seam_plan.boundaries(n))
    if seam_plan.find:
        fix.found = looks_.find_seams(looks, cuts)
        bounds.update(fix.found.frames)
    span = max(1, seam_plan.overlap) if seam_plan.segment_length or seam_plan.starts else 1
    # segments the user gives are one generation chain: its look carries on over a cut of content, as does that of
    # seams found every N frames (decoder tiles, context windows run through the cuts of what they generate); other
    # seams found are matched within their shot (shots of an edit have looks of their own)
    carry = bool(seam_plan.starts or seam_plan.segment_length or (fix.found is not None and fix.found.period))
    chained, shot = IDENTITY, 0
    for t in range(1, n):
        if stats[t].shot != shot:
            chained, shot = chained if carry else IDENTITY, stats[t].shot
        if t in bounds and stats[t - 1].shot == stats[t].shot:
            back = _boundary_transform(looks, t, span, bounds)
            if back is not None:
                before, chained = chained, compose(chained, back)
                fix.boundaries.append(t)
                for i in range(1, span):  # over a cross-fade, blended in frame by frame
                    if t + i - 1 < n:
                        transforms[t + i - 1] = before + (chained - before) * (i / span)
                transforms[t + span - 1 if t + span - 1 < n else t] = chained
        if transforms[t] is IDENTITY:
            transforms[t] = chained
    if seam_plan.drift == "hold":
        _hold(looks, stats, set(fix.boundaries), transforms)
        fix.held = True
    if seam_plan.reference is not None:
        to_ref = _to_reference(looks, seam_plan.reference)
        transforms = [compose(to_ref, a) for a in transforms]
    for t, a in enumerate(transforms):
        a = IDENTITY + strength * (a - IDENTITY)
        if np.abs(a - IDENTITY).max() > 1e-5:
            fix.transforms[t] = a.astype(np.float32)
    return fix


def without_boundary_pairs(stats: list, boundaries: list) -> list:
    """Pass 1's stats with every pair fit across a corrected boundary taken out: the flicker solve's trend
    breaks there."""
    if not boundaries:
        return stats
    out = []
    for st in stats:
        pairs = [p for p in st.pairs if not any(st.index - p.k < b <= st.index for b in boundaries)]
        out.append(st if len(pairs) == len(st.pairs) else replace(st, pairs=pairs))
    return out


def composed(correction, transform: Optional[np.ndarray]):
    """A frame's flicker correction followed by its seam transform (one 3x4 affine)."""
    if transform is None:
        return correction
    first = IDENTITY if correction.affine is None else correction.affine.astype(np.float64)
    return replace(correction, affine=compose(transform.astype(np.float64), first).astype(np.float32))

"""A frame's low-frequency correction: what the solve decided for it (a per-channel gain and offset, a smooth
gain field) applied at full size. It cannot add spatial structure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from .basics import to_u8


@dataclass
class Correction:
    affine: Optional[np.ndarray]  # (3, 4) float32: out = M @ (r, g, b, 1), None for identity
    field: Optional[np.ndarray]  # (cells h, cells w) gain field, None for none
    texture: bool  # the texture stage runs on this frame


def apply_correction(frame: np.ndarray, corr: Correction, field_full: Optional[np.ndarray]) -> np.ndarray:
    """The low-frequency correction of one full-size frame (``field_full``: corr.field at full size): uint8 when
    nothing else follows, else float32 for the texture stage."""
    if corr.affine is None and field_full is None:
        return frame.copy()
    if field_full is None:
        return cv2.transform(frame.astype(np.float32) if corr.texture else frame, corr.affine)
    out = frame.astype(np.float32)
    if corr.affine is not None:
        out = cv2.transform(out, corr.affine)
    out = cv2.multiply(out, cv2.merge((field_full, field_full, field_full)))
    return out if corr.texture else to_u8(out)

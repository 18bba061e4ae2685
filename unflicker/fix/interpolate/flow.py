"""The flow backend: weight-free frame interpolation from DIS optical flow both ways, occlusion-aware
bidirectional warping and blending. Works on any frame size from 1x1 up."""

from __future__ import annotations

import cv2
import numpy as np

from ...errors import check_choice, check_range
from ...measure import flow as flowlib
from ...measure.metrics import pixel_map



class FlowInterpolator:
    """Weight-free: DIS flow both ways, flows to time t approximated from them, occlusion-aware blending."""

    name = "flow"

    def __init__(self, preset: str = "fast", flow_side: int = 640):
        check_choice("flow preset", preset, ("ultrafast", "fast", "medium"))
        check_range("flow_side", flow_side, 32, 8192)
        self.preset = preset
        # flows and occlusion are estimated with the long side at most flow_side, then scaled up: DIS works
        # coarse-to-fine anyway, and this keeps HD frames fast on two cores
        self.flow_side = flow_side
        self.description = f"flow (DIS {preset}, occlusion-aware bidirectional warp)"
        self._state = None
        self._grid = None

    def begin_pair(self, a: np.ndarray, b: np.ndarray) -> None:
        h, w = a.shape[:2]
        gray_a, gray_b = flowlib.to_gray(a), flowlib.to_gray(b)
        scale = min(1.0, self.flow_side / max(h, w))
        if scale < 1.0:
            size = (max(8, round(w * scale)), max(8, round(h * scale)))
            gray_a = cv2.resize(gray_a, size, interpolation=cv2.INTER_AREA)
            gray_b = cv2.resize(gray_b, size, interpolation=cv2.INTER_AREA)
        f01, f10 = _flows(gray_a, gray_b, self.preset)
        # visibility: pixels of a found again in b (and vice versa); soft edges avoid seams in the blend
        v0 = cv2.blur(_consistent(f01, f10), (5, 5))
        v1 = cv2.blur(_consistent(f10, f01), (5, 5))
        if scale < 1.0:
            sx, sy = w / gray_a.shape[1], h / gray_a.shape[0]
            f01, f10 = (cv2.multiply(cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR), (sx, sy, 0, 0))
                        for f in (f01, f10))
            v0, v1 = (cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR) for v in (v0, v1))
        if self._grid is None or self._grid.shape[:2] != (h, w):
            self._grid = pixel_map(h, w)  # (x, y) per pixel
        # RGBA premultiplied by visibility (+ a floor, so fully occluded pixels still blend by time): one remap
        # per side warps picture and weight together
        self._state = (_premultiplied(a, v0), _premultiplied(b, v1), f01, f10)

    def at(self, t: float) -> np.ndarray:
        a4, b4, f01, f10 = self._state
        # flows from time t back to 0 and on to 1, linear-motion approximation (Jiang et al. 2018, Super SloMo)
        map0 = cv2.add(cv2.addWeighted(f01, -(1.0 - t) * t, f10, t * t, 0.0), self._grid)
        map1 = cv2.add(cv2.addWeighted(f01, (1.0 - t) * (1.0 - t), f10, -t * (1.0 - t), 0.0), self._grid)
        wa = cv2.remap(a4, map0, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        wb = cv2.remap(b4, map1, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        acc = cv2.addWeighted(wa, 1.0 - t, wb, t, 0.0)
        weight = acc[..., 3]
        return cv2.divide(acc[..., :3], cv2.merge([weight, weight, weight]), scale=255.0, dtype=cv2.CV_8U)


def _flows(gray_a: np.ndarray, gray_b: np.ndarray, preset: str) -> tuple[np.ndarray, np.ndarray]:
    """DIS flow a -> b and b -> a, on a replicate-padded copy where the size is one DIS cannot take (cropped
    after): any frame size interpolates, and sizes DIS takes are untouched."""
    h, w = gray_a.shape
    pad_h, pad_w = flowlib.dis_padding(gray_a.shape)
    if pad_h or pad_w:
        gray_a, gray_b = (cv2.copyMakeBorder(g, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE) for g in (gray_a, gray_b))
    f01 = flowlib.dis_flow(gray_a, gray_b, preset)
    f10 = flowlib.dis_flow(gray_b, gray_a, preset)
    if pad_h or pad_w:
        f01, f10 = np.ascontiguousarray(f01[:h, :w]), np.ascontiguousarray(f10[:h, :w])
    return f01, f10


def _premultiplied(image: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    weight = cv2.add(visibility, 1e-3)
    rgba = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA).astype(np.float32)
    return cv2.multiply(rgba, cv2.merge([weight, weight, weight, weight]))


def _consistent(flow_fw: np.ndarray, flow_bw: np.ndarray) -> np.ndarray:
    """flow.occlusion_mask as float32 0/1 weights for blending."""
    return flowlib.occlusion_mask(flow_fw, flow_bw).astype(np.float32)

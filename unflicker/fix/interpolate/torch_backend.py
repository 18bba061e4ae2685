"""The torch backend: RIFE v4.x, RIFE HD v3 and FILM networks (``.models``) from the weight files users have, on
any torch device, in batches, with out-of-memory retries. Imports torch only when used."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ...errors import UnflickerError
from ...runtime import ModelCache, torch_device

if TYPE_CHECKING:
    import torch


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", ())
    return isinstance(exc, oom) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


class TorchInterpolator:
    """RIFE v4 / RIFE HD v3 / FILM networks on a torch device.

    Jobs of whole pairs are rendered in batches of ``batch`` network evaluations. v4 RIFE renders each timestep
    directly; midpoint networks (HD v3, FILM) reach t (rounded to the nearest 1/64) by recursive bisection,
    sharing the midpoints between the frames of one pair. ``max_side``: frames whose long side exceeds it get
    their flow estimated at a smaller scale (RIFE: 1/2, 1/4, 1/8; FILM, which has no such scale, runs on a
    copy resized to max_side). Out of memory halves the batch, then the scale, and says so in ``notes``."""

    name = "torch"

    def __init__(self, net, device="cpu", dtype=None, batch: int = 4, max_side: int = 0):
        import torch

        self.torch = torch
        self.net = net
        self.device = torch.device(device)
        self.dtype = dtype or torch.float32
        self.batch = batch
        self.max_side = max_side
        self.scale = 1.0  # flow scale chosen for the current frame size; lowered on out-of-memory
        self._scale_for = None
        self._tensors: dict = {}  # (id of a frame array, flow scale) -> (the array, its network input)
        self.notes: list[str] = []
        self.midpoint_only = bool(getattr(net, "midpoint_only", False))
        self.description = (f"torch {getattr(net, 'description', type(net).__name__)} on {self.device}"
                            f"{', fp16' if self.dtype == torch.float16 else ''}, batch {batch}"
                            + (f", max_side {max_side}" if max_side else ""))

    # -- frames as network input; each frame is converted once, though it is the second frame of one pair and
    # the first of the next (the arrays are kept with their tensors, so an id is never reused while cached)
    def _frames(self, arrays: list) -> "torch.Tensor":
        torch = self.torch
        cached = [self._tensors.get((id(a), self.scale)) for a in arrays]
        todo = [a for a, c in zip(arrays, cached) if c is None]
        made = iter(self._convert(todo)) if todo else iter(())
        tensors = [c[1] if c is not None else next(made) for c in cached]
        self._tensors = {(id(a), self.scale): (a, x) for a, x in zip(arrays, tensors)}
        return torch.stack(tensors) if len(tensors) > 1 else tensors[0][None]

    def _convert(self, arrays: list) -> "torch.Tensor":
        torch = self.torch
        x = torch.from_numpy(np.stack(arrays)).to(self.device).permute(0, 3, 1, 2).to(self.dtype) / 255.0
        if self.scale < 1.0 and self.net.kind == "film":  # FILM: work on a smaller copy
            h, w = x.shape[-2:]
            x = torch.nn.functional.interpolate(x, size=(max(1, round(h * self.scale)), max(1, round(w * self.scale))),
                                                mode="area")
        from .models.rife import pad_to

        return pad_to(x, self.net.pad_multiple(self.scale))

    # -- one batch of (a, b, t) through the network, splitting the batch on out-of-memory
    def _run(self, a, b, t):
        torch = self.torch
        outs, i = [], 0
        self.net.scale = self.scale
        while i < len(a):
            n = min(self.batch, len(a) - i)
            try:
                with torch.inference_mode():
                    if self.midpoint_only:
                        out = self.net(a[i:i + n], b[i:i + n])
                    else:
                        out = self.net(a[i:i + n], b[i:i + n], t[i:i + n])
            except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
                if not is_out_of_memory(exc):
                    raise
                self._free()
                if self.batch > 1:
                    self.batch = max(1, self.batch // 2)
                    self._note(f"out of memory: batch halved to {self.batch}")
                    continue
                raise _ScaleDown() from exc
            outs.append(out)
            i += n
        return torch.cat(outs, 0) if len(outs) > 1 else outs[0]

    def _free(self):
        if self.device.type == "cuda":
            self.torch.cuda.empty_cache()
        elif self.device.type == "mps" and hasattr(self.torch, "mps"):
            self.torch.mps.empty_cache()

    def _note(self, message: str):
        if message not in self.notes:
            self.notes.append(message)

    def _choose_scale(self, h: int, w: int):
        if self._scale_for == (h, w):
            return
        self._scale_for = (h, w)
        self.scale = 1.0
        if self.max_side and max(h, w) > self.max_side:
            if self.net.kind == "film":
                self.scale = self.max_side / max(h, w)
            else:  # RIFE's flow pyramid takes powers of two
                while max(h, w) * self.scale > self.max_side and self.scale > 0.125:
                    self.scale /= 2
            self._note(f"frames {w}x{h} over max_side {self.max_side}: flow at scale {self.scale:.3g}")

    def render(self, jobs: list) -> list:
        """jobs: [(pair id, frame a, frame b, t)] -> frames (uint8 RGB), in order."""
        if not jobs:
            return []
        h, w = jobs[0][1].shape[:2]
        self._choose_scale(h, w)
        while True:
            try:
                if self.midpoint_only:
                    out = self._bisect(jobs)
                else:
                    ids, a, b = self._pair_tensors(jobs)
                    index = {p: i for i, p in enumerate(ids)}
                    sel = [index[j[0]] for j in jobs]
                    if sel != list(range(len(ids))):  # several timesteps of one pair: repeat its frames
                        sel = self.torch.tensor(sel, device=self.device)
                        a, b = a[sel], b[sel]
                    t = self.torch.tensor([float(j[3]) for j in jobs], device=self.device, dtype=self.dtype)
                    out = self._run(a, b, t)
                return self._to_uint8(out, h, w)
            except _ScaleDown:
                if self.scale <= 0.125:
                    raise UnflickerError(f"out of memory on {self.device} even at batch 1 and flow scale "
                                         f"{self.scale:.3g} for {w}x{h} frames: lower max_side or free memory "
                                         "(close other models)") from None
                self.scale /= 2
                self._note(f"out of memory at batch 1: flow scale lowered to {self.scale:.3g}")

    def _pair_tensors(self, jobs: list):
        """(pair ids in order, first frames, second frames) of the distinct pairs in ``jobs``, as network input."""
        pairs = {}
        for pid, a, b, _ in jobs:
            pairs.setdefault(pid, (a, b))
        ids = list(pairs)
        return ids, self._frames([pairs[p][0] for p in ids]), self._frames([pairs[p][1] for p in ids])

    def _bisect(self, jobs: list):
        """Midpoint networks: the frame at each job's t (nearest 1/64) by halving [0, 1] towards it."""
        ids, a, b = self._pair_tensors(jobs)
        known = {}
        for i, p in enumerate(ids):
            known[(p, Fraction(0))] = a[i]
            known[(p, Fraction(1))] = b[i]
        paths = []
        for pid, _, _, t in jobs:
            target = Fraction(round(float(t) * 64), 64)
            lo, hi, path = Fraction(0), Fraction(1), []
            while target not in (lo, hi):
                mid = (lo + hi) / 2
                path.append((lo, hi, mid))
                lo, hi = (lo, mid) if target < mid else (mid, hi)
            paths.append((pid, target, path))
        for depth in range(6):  # one batched network pass per bisection level
            need = {}
            for pid, _, path in paths:
                if depth < len(path) and (pid, path[depth][2]) not in known:
                    need[(pid, path[depth][2])] = (known[(pid, path[depth][0])], known[(pid, path[depth][1])])
            if need:
                mids = self._run(self.torch.stack([v[0] for v in need.values()]),
                                 self.torch.stack([v[1] for v in need.values()]), None)
                known.update(zip(need, mids))
        return self.torch.stack([known[(pid, target)] for pid, target, _ in paths])

    def _to_uint8(self, out, h: int, w: int) -> list:
        torch = self.torch
        if self.scale < 1.0 and self.net.kind == "film":
            sh, sw = max(1, round(h * self.scale)), max(1, round(w * self.scale))
            out = torch.nn.functional.interpolate(out[:, :, :sh, :sw].float(), size=(h, w), mode="bilinear",
                                                  align_corners=False)
        pixels = (out[:, :, :h, :w].float().clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).cpu().numpy()
        # planes -> contiguous (H, W, 3): a permuted view costs every later per-pixel pass several times more
        return [cv2.merge([p[0], p[1], p[2]]) for p in pixels]


class _ScaleDown(Exception):
    """Out of memory at batch 1: retry the render at a smaller flow scale."""


_loaded_torch = ModelCache()  # the last network loaded, reused while its file is unchanged


def load_torch(model: str, device="cpu", dtype=None, batch: int = 4, max_side: int = 0) -> TorchInterpolator:
    """TorchInterpolator for a weight file; the network is kept loaded while the file is unchanged.
    ``device`` "auto": CUDA, else MPS, else the CPU (``runtime.torch_device``)."""
    import torch

    from .models import load_model

    device = torch_device(device)
    stat = os.stat(model)
    key = (os.path.abspath(model), stat.st_mtime_ns, stat.st_size, str(device), dtype)
    net = _loaded_torch.get(key, lambda: load_model(model).to(device=torch.device(device),
                                                               dtype=dtype or torch.float32))
    return TorchInterpolator(net, device, dtype, batch, max_side)

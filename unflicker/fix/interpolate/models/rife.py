"""RIFE networks in PyTorch: the HD v3 midpoint network and the v4.x arbitrary-timestep family.

The layer arrangement follows the published RIFE models (Huang et al., "Real-Time Intermediate Flow Estimation
for Video Frame Interpolation", ECCV 2022) so that their trained weight files load unchanged; one configurable
module covers every v4.x layout, its shape read from the weights (see ``RifeV4Config.from_state_dict``).

Architecture and weight layout after ECCV2022-RIFE / Practical-RIFE, Copyright (c) Megvii Inc., MIT License
(https://github.com/hzwer/Practical-RIFE): "Permission is hereby granted, free of charge, to any person obtaining
a copy of this software ... The above copyright notice and this permission notice shall be included in all copies
or substantial portions of the Software."
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def _resize(x: torch.Tensor, factor: float) -> torch.Tensor:
    if factor == 1.0:
        return x
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False, recompute_scale_factor=False)


class BackWarp(nn.Module):
    """Backward warp by a flow in pixels (x, y): output(p) = input(p + flow(p)), borders replicated."""

    def __init__(self):
        super().__init__()
        self._grids: dict = {}

    def forward(self, image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        b, _, h, w = flow.shape
        key = (flow.device, h, w)
        grid = self._grids.get(key)
        if grid is None:
            if len(self._grids) > 8:  # frame sizes of earlier clips
                self._grids.clear()
            ys = torch.linspace(-1.0, 1.0, h, device=flow.device)
            xs = torch.linspace(-1.0, 1.0, w, device=flow.device)
            grid = torch.stack((xs.view(1, w).expand(h, w), ys.view(h, 1).expand(h, w)), dim=-1)[None]
            self._grids[key] = grid
        # sampling positions in float32 even for fp16 networks: half precision is ~1/2 pixel at 2000 px
        scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=flow.device)
        g = grid + flow.float().permute(0, 2, 3, 1) * scale
        out = F.grid_sample(image.float(), g, mode="bilinear", padding_mode="border", align_corners=True)
        return out.to(image.dtype)


def pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad right and bottom to a multiple of ``multiple`` (how RIFE was run in its reference code)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph)) if (ph or pw) else x


# ---------------------------------------------------------------- HD v3 (midpoint only)
def _conv_prelu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.PReLU(cout))


def _up_prelu(cin: int, mid: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, mid, 4, 2, 1), nn.PReLU(mid), nn.ConvTranspose2d(mid, cout, 4, 2, 1))


class _HDv3Block(nn.Module):
    """Flow and mask residuals at 1/scale resolution, from both frames warped by the current flow."""

    def __init__(self, cin: int, c: int):
        super().__init__()
        self.conv0 = nn.Sequential(_conv_prelu(cin, c // 2, 2), _conv_prelu(c // 2, c, 2))
        for i in range(4):
            setattr(self, f"convblock{i}", nn.Sequential(_conv_prelu(c, c), _conv_prelu(c, c)))
        self.conv1 = _up_prelu(c, c // 2, 4)
        self.conv2 = _up_prelu(c, c // 2, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor, scale: float):
        x = _resize(x, 1.0 / scale)
        flow = _resize(flow, 1.0 / scale) / scale
        feat = self.conv0(torch.cat((x, flow), 1))
        for i in range(4):
            feat = getattr(self, f"convblock{i}")(feat) + feat
        return _resize(self.conv1(feat), scale) * scale, _resize(self.conv2(feat), scale)


class RifeHDv3(nn.Module):
    """RIFE HD v3 (ECCV2022-RIFE ``train_log``): three refinement blocks, each run both ways and averaged.

    ``forward(img0, img1)`` gives the frame half-way between (B, 3, H, W floats 0..1, H and W multiples of
    ``pad_multiple(scale)``)."""

    kind = "rife-hdv3"
    midpoint_only = True

    def __init__(self, c: int = 90):
        super().__init__()
        self.block0 = _HDv3Block(7 + 4, c)
        self.block1 = _HDv3Block(7 + 4, c)
        self.block2 = _HDv3Block(7 + 4, c)
        self.warp = BackWarp()
        self.scale = 1.0

    @staticmethod
    def pad_multiple(scale: float = 1.0) -> int:
        return max(32, int(round(32 / scale)))

    def forward(self, img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
        b, _, h, w = img0.shape
        flow = img0.new_zeros((b, 4, h, w))
        mask = img0.new_zeros((b, 1, h, w))
        warped0, warped1 = img0, img1
        for block, s in zip((self.block0, self.block1, self.block2), (4.0, 2.0, 1.0)):
            s = s / self.scale
            # both directions in one batch: (0 -> 1) and the mirrored (1 -> 0) estimate
            x = torch.cat((torch.cat((warped0, warped1, mask), 1), torch.cat((warped1, warped0, -mask), 1)), 0)
            f = torch.cat((flow, torch.cat((flow[:, 2:4], flow[:, :2]), 1)), 0)
            df, dm = block(x, f, s)
            flow = flow + (df[:b] + torch.cat((df[b:, 2:4], df[b:, :2]), 1)) / 2
            mask = mask + (dm[:b] - dm[b:]) / 2
            warped0 = self.warp(img0, flow[:, :2])
            warped1 = self.warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return warped0 * m + warped1 * (1 - m)


# ---------------------------------------------------------------- v4.x (any timestep)
def _conv_lrelu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, True))


class _ResConv(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones((1, c, 1, 1)))
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, x):
        return self.relu(self.conv(x) * self.beta + x)


class _V4Block(nn.Module):
    """One coarse-to-fine step: flow (4), mask (1) and, in later layouts, features for the next step."""

    def __init__(self, cin: int, c: int, out_channels: int):
        super().__init__()
        self.conv0 = nn.Sequential(_conv_lrelu(cin, c // 2, 2), _conv_lrelu(c // 2, c, 2))
        self.convblock = nn.Sequential(*[_ResConv(c) for _ in range(8)])
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(c, 4 * out_channels, 4, 2, 1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor, flow: Optional[torch.Tensor], scale: float):
        x = _resize(x, 1.0 / scale)
        if flow is not None:
            x = torch.cat((x, _resize(flow, 1.0 / scale) / scale), 1)
        out = _resize(self.lastconv(self.convblock(self.conv0(x))), scale)
        return out[:, :4] * scale, out[:, 4:5], out[:, 5:]


class _Head(nn.Module):
    """Per-frame feature encoder of v4.17 and later."""

    def __init__(self, width: int, features: int):
        super().__init__()
        self.cnn0 = nn.Conv2d(3, width, 3, 2, 1)
        self.cnn1 = nn.Conv2d(width, width, 3, 1, 1)
        self.cnn2 = nn.Conv2d(width, width, 3, 1, 1)
        self.cnn3 = nn.ConvTranspose2d(width, features, 4, 2, 1)
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, x):
        x = self.relu(self.cnn0(x))
        x = self.relu(self.cnn1(x))
        x = self.relu(self.cnn2(x))
        return self.cnn3(x)


@dataclass(frozen=True)
class RifeV4Config:
    """The shape of a v4.x network, all of it readable from its weights."""

    channels: tuple  # per block
    in_channels: tuple  # per block, as stored in the weights
    out_channels: int  # block output before pixel shuffle / 4: 6 (flow, mask, spare) or 13 (+ 8 features)
    encoder: str  # "none" (4.5/4.6), "small" (4.7-4.15: conv + deconv), "head" (4.17+)
    encoder_width: int = 0
    features: int = 0  # encoder output channels per frame
    block_features: int = 0  # channels a block hands to the next (v4.21+: 8)
    scales: tuple = (8.0, 4.0, 2.0, 1.0)

    @property
    def name(self) -> str:
        """The Practical-RIFE releases this layout belongs to (what a user would call it)."""
        c = self.channels
        n = len(c)
        if self.encoder == "none":
            return "RIFE v4.5/v4.6 layout"
        if self.encoder == "small":
            return "RIFE v4.7-v4.15 layout (v4.7, v4.9)"
        if n == 5:
            if c[-1] == 24:
                return "RIFE v4.25.lite layout"
            return "RIFE v4.26.heavy layout" if self.features == 16 else "RIFE v4.25/v4.26 layout"
        if self.block_features:
            return "RIFE v4.22.lite layout" if self.features == 4 else "RIFE v4.21-v4.23 layout"
        return "RIFE v4.20 layout" if c[0] == 384 else "RIFE v4.17-v4.19/v4.24 layout"

    def describe(self) -> str:
        return (f"{self.name}: {len(self.channels)} blocks ({'/'.join(map(str, self.channels))} channels), "
                f"{'no' if self.encoder == 'none' else str(self.features) + '-channel'} frame encoder")


class RifeV4(nn.Module):
    """RIFE v4.x: ``forward(img0, img1, t)`` renders the frame at timestep t (a float or a (B,) tensor)."""

    kind = "rife-v4"
    midpoint_only = False

    def __init__(self, config: RifeV4Config):
        super().__init__()
        self.config = config
        self.blocks = nn.ModuleList(_V4Block(cin, c, config.out_channels)
                                    for cin, c in zip(config.in_channels, config.channels))
        if config.encoder == "head":
            self.encode = _Head(config.encoder_width, config.features)
        elif config.encoder == "small":
            self.encode = nn.Sequential(nn.Conv2d(3, config.encoder_width, 3, 2, 1),
                                        nn.ConvTranspose2d(config.encoder_width, config.features, 4, 2, 1))
        self.warp = BackWarp()
        self.scale = 1.0

    def pad_multiple(self, scale: float = 1.0) -> int:
        return max(32, int(round(4 * max(self.config.scales) / scale)))

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t) -> torch.Tensor:
        cfg = self.config
        b, _, h, w = img0.shape
        img0, img1 = img0.clamp(0.0, 1.0), img1.clamp(0.0, 1.0)
        if not torch.is_tensor(t):
            t = torch.full((b,), float(t))
        t = t.to(img0.device, img0.dtype).reshape(-1, 1, 1, 1).expand(b, 1, h, w)
        if cfg.encoder != "none":
            feats = self.encode(torch.cat((img0, img1), 0))
            f0, f1 = feats[:b], feats[b:]
        flow = mask = feat = None
        warped0, warped1 = img0, img1
        for block, s in zip(self.blocks, cfg.scales):
            s = s / self.scale
            if flow is None:
                parts = [img0, img1] + ([f0, f1] if cfg.encoder != "none" else []) + [t]
                flow, mask, feat = block(torch.cat(parts, 1), None, s)
            else:
                parts = [warped0, warped1]
                if cfg.encoder != "none":
                    parts += [self.warp(f0, flow[:, :2]), self.warp(f1, flow[:, 2:4])]
                parts += [t, mask] + ([feat] if cfg.block_features else [])
                d_flow, d_mask, feat = block(torch.cat(parts, 1), flow, s)
                flow = flow + d_flow
                # v4.5/4.6 refine the mask residually; later layouts predict it afresh each step
                mask = mask + d_mask if cfg.encoder == "none" else d_mask
            warped0 = self.warp(img0, flow[:, :2])
            warped1 = self.warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return warped0 * m + warped1 * (1 - m)

"""FILM (film_net) in PyTorch: the midpoint network of Reda et al., "FILM: Frame Interpolation for Large Motion"
(ECCV 2022), laid out so that the released weights (TensorFlow converted to PyTorch) load unchanged.

Architecture after google-research/frame-interpolation (Apache License 2.0, Copyright Google LLC) and its
PyTorch port dajes/frame-interpolation-pytorch (Apache License 2.0); this is a re-implementation, sized from the
weights (``FilmConfig.from_state_dict``) so any film_net width loads.

Three stages: a cascaded feature pyramid per frame (shared weights across scales), coarse-to-fine residual flow
both ways, and a U-Net-like decoder fusing both frames warped to the middle with their features and flows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class FilmConv(nn.Module):
    """Conv with TensorFlow 'same' padding (even kernels pad right/bottom) and optional LeakyReLU(0.2)."""

    def __init__(self, cin: int, cout: int, size: int, act: bool = True):
        super().__init__()
        self.even = size % 2 == 0
        self.conv = nn.Conv2d(cin, cout, size, padding=0 if self.even else size // 2)
        self.act = act

    def forward(self, x):
        if self.even:
            x = F.pad(x, (0, 1, 0, 1))
        x = self.conv(x)
        return F.leaky_relu(x, 0.2) if self.act else x


def film_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp, pixel centres at (i + 0.5) / size as in TensorFlow's dense_image_warp; borders replicated."""
    b, _, h, w = flow.shape
    xs = torch.linspace(-(1 - 1 / w), 1 - 1 / w, w, device=flow.device)
    ys = torch.linspace(-(1 - 1 / h), 1 - 1 / h, h, device=flow.device)
    flow = flow.float()  # sampling positions in float32 even for fp16 networks
    grid = torch.stack((xs.view(1, 1, w) + flow[:, 0] / (w * 0.5), ys.view(1, h, 1) + flow[:, 1] / (h * 0.5)), -1)
    out = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.to(image.dtype)


@dataclass(frozen=True)
class FilmConfig:
    filters: int = 64
    sub_levels: int = 4
    flow_convs: tuple = (3, 3, 3, 3)
    flow_filters: tuple = (32, 64, 128, 256)
    specialized_levels: int = 3
    pyramid_levels: int = 7  # not stored in the weights: film_net's released value

    @property
    def fusion_levels(self) -> int:
        return self.sub_levels + 1

    def features_at(self, level: int) -> int:
        """Channels of the cascaded feature pyramid at ``level`` (0 = finest)."""
        return sum(self.filters << j for j in range(min(level, self.sub_levels - 1) + 1))

    def describe(self) -> str:
        return (f"FILM film_net ({self.filters} filters, {self.sub_levels} feature levels, "
                f"flow filters {'/'.join(map(str, self.flow_filters))})")


class _Extractor(nn.Module):
    def __init__(self, cfg: FilmConfig):
        super().__init__()
        convs, cin = [], 3
        for i in range(cfg.sub_levels):
            c = cfg.filters << i
            convs.append(nn.Sequential(FilmConv(cin, c, 3), FilmConv(c, c, 3)))
            cin = c
        self.convs = nn.ModuleList(convs)

    def forward(self, image: torch.Tensor, depth: int) -> list:
        out, x = [], image
        for i, layer in enumerate(self.convs[:depth]):
            x = layer(x)
            out.append(x)
            if i < depth - 1:
                x = F.avg_pool2d(x, 2, 2)
        return out


class _FeaturePyramid(nn.Module):
    def __init__(self, cfg: FilmConfig):
        super().__init__()
        self.extract_sublevels = _Extractor(cfg)
        self.sub_levels = cfg.sub_levels

    def forward(self, images: list) -> list:
        n = len(images)
        subs = [self.extract_sublevels(images[i], min(n - i, self.sub_levels)) for i in range(n)]
        # level i gathers sub-level j of the sub-pyramid that started j levels finer
        return [torch.cat([subs[i - j][j] for j in range(min(i, self.sub_levels - 1) + 1)], 1) for i in range(n)]


class _FlowHead(nn.Module):
    def __init__(self, cin: int, convs: int, filters: int):
        super().__init__()
        layers = []
        for _ in range(convs):
            layers.append(FilmConv(cin, filters, 3))
            cin = filters
        layers += [FilmConv(cin, filters // 2, 1), FilmConv(filters // 2, 2, 1, act=False)]
        self._convs = nn.ModuleList(layers)

    def forward(self, a, b):
        x = torch.cat((a, b), 1)
        for conv in self._convs:
            x = conv(x)
        return x


class _FlowPyramid(nn.Module):
    """Residual flow from a to b, coarse to fine: one head shared by the coarse levels, one per fine level."""

    def __init__(self, cfg: FilmConfig):
        super().__init__()
        heads = [_FlowHead(2 * cfg.features_at(i), cfg.flow_convs[i], cfg.flow_filters[i])
                 for i in range(len(cfg.flow_convs))]
        self._predictor = heads[-1]
        self._predictors = nn.ModuleList(heads[:-1][::-1])  # coarse-to-fine order, as stored

    def forward(self, feats_a: list, feats_b: list) -> list:
        """Flows (not residuals) per level, finest first."""
        n = len(feats_a)
        fine = len(self._predictors)
        flow = self._predictor(feats_a[-1], feats_b[-1])
        flows = [flow]
        for i in range(n - 2, -1, -1):
            head = self._predictor if i >= fine else self._predictors[fine - 1 - i]
            flow = F.interpolate(2 * flow, size=feats_a[i].shape[2:4], mode="bilinear", align_corners=False)
            flow = flow + head(feats_a[i], film_warp(feats_b[i], flow))
            flows.append(flow)
        return flows[::-1]


class _Fusion(nn.Module):
    def __init__(self, cfg: FilmConfig):
        super().__init__()

        def level_channels(level):  # both frames' image + features + flow at a level
            return 2 * (3 + 2 + cfg.features_at(level))

        self.convs = nn.ModuleList()
        prev = level_channels(cfg.sub_levels)
        for i in reversed(range(cfg.sub_levels)):
            c = cfg.filters << min(i, cfg.specialized_levels)
            self.convs.append(nn.ModuleList([FilmConv(prev, c, 2, act=False),
                                             FilmConv(level_channels(i) + c, c, 3), FilmConv(c, c, 3)]))
            prev = c
        self.output_conv = nn.Conv2d(cfg.filters, 3, 1)

    def forward(self, pyramid: list) -> torch.Tensor:
        x = pyramid[-1]
        for k, (up, conv_a, conv_b) in enumerate(self.convs):
            level = pyramid[len(self.convs) - 1 - k]
            x = up(F.interpolate(x, size=level.shape[2:4], mode="nearest"))
            x = conv_b(conv_a(torch.cat((level, x), 1)))
        return self.output_conv(x)


class FilmNet(nn.Module):
    """``forward(img0, img1, t=0.5)``: B x 3 x H x W floats 0..1, H and W multiples of ``pad_multiple()``."""

    kind = "film"
    midpoint_only = True  # film_net is trained on triplets: more frames come from recursive midpoints

    def __init__(self, config: FilmConfig = FilmConfig()):
        super().__init__()
        self.config = config
        self.extract = _FeaturePyramid(config)
        self.predict_flow = _FlowPyramid(config)
        self.fuse = _Fusion(config)
        self.scale = 1.0  # no flow-scale knob: large frames are run on a downscaled copy by the caller

    def pad_multiple(self, scale: float = 1.0) -> int:
        return 1 << (self.config.pyramid_levels - 1)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t=0.5) -> torch.Tensor:
        cfg = self.config
        b = img0.shape[0]
        images = [torch.cat((img0, img1), 0)]
        for _ in range(cfg.pyramid_levels - 1):
            images.append(F.avg_pool2d(images[-1], 2, 2))
        feats = self.extract(images)
        swapped = [torch.cat((f[b:], f[:b]), 0) for f in feats]
        flows = self.predict_flow(feats, swapped)[:cfg.fusion_levels]  # rows :b are 0 -> 1, rows b: are 1 -> 0
        if not torch.is_tensor(t):
            t = torch.full((b,), float(t))
        t = t.to(img0.device, img0.dtype).reshape(-1, 1, 1, 1)
        aligned = []
        for level in range(cfg.fusion_levels):
            stack = torch.cat((images[level], feats[level]), 1)
            back = flows[level][b:] * t  # from the middle back to frame 0
            fwd = flows[level][:b] * (1 - t)  # from the middle on to frame 1
            aligned.append(torch.cat((film_warp(stack[:b], back), film_warp(stack[b:], fwd), back, fwd), 1))
        return self.fuse(aligned)

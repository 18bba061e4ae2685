"""The OpenPose networks in plain torch: body (CMU, as ported by Hzzone/pytorch-openpose), hand and face."""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn

from .skeleton import FACE_PARTS


# ----------------------------------------------------------------------------------------------- network
def _stage(layers: Sequence[tuple], relu_last: bool) -> nn.Sequential:
    """Conv layers (name, in, out, kernel, pad) each followed by ReLU, except the last unless ``relu_last``."""
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    for i, (name, cin, cout, k, pad) in enumerate(layers):
        if name.startswith("pool"):
            modules[name] = nn.MaxPool2d(kernel_size=2, stride=2, padding=0)
            continue
        modules[name] = nn.Conv2d(cin, cout, kernel_size=k, stride=1, padding=pad)
        if i < len(layers) - 1 or relu_last:
            modules["relu_" + name] = nn.ReLU(inplace=True)
    return nn.Sequential(modules)


class BodyPoseNet(nn.Module):
    """CMU OpenPose body network (VGG-19 front, 6 stages x 2 branches: L1 = 38 PAF channels, L2 = 19 heatmaps).

    Input: BGR image scaled to [-0.5, 0.5), (N, 3, H, W), H and W multiples of 8.
    Output: (pafs (N, 38, H/8, W/8), heatmaps (N, 19, H/8, W/8)); heatmap 18 is the background.
    """

    def __init__(self):
        super().__init__()
        self.model0 = _stage((
            ("conv1_1", 3, 64, 3, 1), ("conv1_2", 64, 64, 3, 1), ("pool1_stage1", 0, 0, 0, 0),
            ("conv2_1", 64, 128, 3, 1), ("conv2_2", 128, 128, 3, 1), ("pool2_stage1", 0, 0, 0, 0),
            ("conv3_1", 128, 256, 3, 1), ("conv3_2", 256, 256, 3, 1), ("conv3_3", 256, 256, 3, 1),
            ("conv3_4", 256, 256, 3, 1), ("pool3_stage1", 0, 0, 0, 0),
            ("conv4_1", 256, 512, 3, 1), ("conv4_2", 512, 512, 3, 1), ("conv4_3_CPM", 512, 256, 3, 1),
            ("conv4_4_CPM", 256, 128, 3, 1)), relu_last=True)
        for branch, out in ((1, 38), (2, 19)):
            setattr(self, f"model1_{branch}", _stage((
                (f"conv5_1_CPM_L{branch}", 128, 128, 3, 1), (f"conv5_2_CPM_L{branch}", 128, 128, 3, 1),
                (f"conv5_3_CPM_L{branch}", 128, 128, 3, 1), (f"conv5_4_CPM_L{branch}", 128, 512, 1, 0),
                (f"conv5_5_CPM_L{branch}", 512, out, 1, 0)), relu_last=False))
            for s in range(2, 7):
                layers = [(f"Mconv1_stage{s}_L{branch}", 185, 128, 7, 3)]
                layers += [(f"Mconv{i}_stage{s}_L{branch}", 128, 128, 7, 3) for i in range(2, 6)]
                layers += [(f"Mconv6_stage{s}_L{branch}", 128, 128, 1, 0),
                           (f"Mconv7_stage{s}_L{branch}", 128, out, 1, 0)]
                # The reference model lists Mconv7_stage6_L1 twice in its no-ReLU set, so the final heatmap
                # layer keeps a ReLU. The released weights were used that way; we keep it to match its outputs.
                setattr(self, f"model{s}_{branch}", _stage(layers, relu_last=(s == 6 and branch == 2)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.model0(x)
        paf = self.model1_1(features)
        heat = self.model1_2(features)
        for s in range(2, 7):
            stage_in = torch.cat([paf, heat, features], 1)
            paf = getattr(self, f"model{s}_1")(stage_in)
            heat = getattr(self, f"model{s}_2")(stage_in)
        return paf, heat


class HandPoseNet(nn.Module):
    """CMU OpenPose hand network (VGG front, 6 stages): BGR crop -> 22 heatmaps (21 hand points + background).

    The face network is the same design with 71 heatmaps (FacePoseNet).
    """

    def __init__(self, outputs: int = 22):
        super().__init__()
        self.model1_0 = _stage((
            ("conv1_1", 3, 64, 3, 1), ("conv1_2", 64, 64, 3, 1), ("pool1_stage1", 0, 0, 0, 0),
            ("conv2_1", 64, 128, 3, 1), ("conv2_2", 128, 128, 3, 1), ("pool2_stage1", 0, 0, 0, 0),
            ("conv3_1", 128, 256, 3, 1), ("conv3_2", 256, 256, 3, 1), ("conv3_3", 256, 256, 3, 1),
            ("conv3_4", 256, 256, 3, 1), ("pool3_stage1", 0, 0, 0, 0),
            ("conv4_1", 256, 512, 3, 1), ("conv4_2", 512, 512, 3, 1), ("conv4_3", 512, 512, 3, 1),
            ("conv4_4", 512, 512, 3, 1), ("conv5_1", 512, 512, 3, 1), ("conv5_2", 512, 512, 3, 1),
            ("conv5_3_CPM", 512, 128, 3, 1)), relu_last=True)
        self.model1_1 = _stage((("conv6_1_CPM", 128, 512, 1, 0), ("conv6_2_CPM", 512, outputs, 1, 0)),
                               relu_last=False)
        for s in range(2, 7):
            layers = [(f"Mconv1_stage{s}", outputs + 128, 128, 7, 3)]
            layers += [(f"Mconv{i}_stage{s}", 128, 128, 7, 3) for i in range(2, 6)]
            layers += [(f"Mconv6_stage{s}", 128, 128, 1, 0), (f"Mconv7_stage{s}", 128, outputs, 1, 0)]
            setattr(self, f"model{s}", _stage(layers, relu_last=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.model1_0(x)
        out = self.model1_1(features)
        for s in range(2, 7):
            out = getattr(self, f"model{s}")(torch.cat([out, features], 1))
        return out


class FacePoseNet(HandPoseNet):
    """OpenPose face network (``facenet.pth``): BGR crop -> 71 heatmaps (70 landmarks + background)."""

    def __init__(self):
        super().__init__(outputs=FACE_PARTS + 1)

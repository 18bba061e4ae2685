"""OpenPose body keypoints for pose-guided video: network, decoding, drawing, and temporal smoothing.

The body network is the CMU model as ported to PyTorch by Hzzone/pytorch-openpose and shipped by lllyasviel's
ControlNet annotator (``bodypose_model``), written here in plain torch so the standard ``body_pose_model.pth``
loads with its own key names (``conv1_1.weight`` ... ``Mconv7_stage6_L2.bias``). We do not depend on
controlnet_aux: it would pull torchvision, timm, scikit-image and a second OpenCV wheel
(opencv-python-headless beside opencv-python) into ComfyUI's environment for one small network.

Keypoints are the 18 COCO parts in OpenPose order (see BODY_PARTS). A frame's people are an array
``(people, 18, 3)`` of x, y in pixels of the detection image and the heatmap score; missing parts have NaN
coordinates and score 0. With the hand network (``hand_pose_model.pth``) each row grows: the body,
then 21 left-hand and 21 right-hand points; with the face network (``facenet.pth``) 70 face landmarks follow.
With either, rows hold all 130 points (NaN where not searched or not found).

Pose jitter is the flicker of pose-guided video: a keypoint that wobbles by a pixel or two from frame to frame
makes ControlNet redraw the limb every frame. ``PoseSmoother`` tracks people across frames and runs a One-Euro
filter on every keypoint coordinate (strong smoothing when still, little lag when moving).
"""

from __future__ import annotations

import colorsys
import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np
import torch
from torch import nn

from .errors import UnflickerError, check_range
from .progress import ProgressFn, report

BODY_PARTS = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
              "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
              "right_eye", "left_eye", "right_ear", "left_ear")
NUM_PARTS = len(BODY_PARTS)

# Limbs as (part a, part b), in the order of the network's part-affinity channels; PAF_CHANNELS[k] holds the
# (x, y) channels of limb k. The last two (ear-shoulder) only help assembly and are never drawn.
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17))
PAF_CHANNELS = ((12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7),
                (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27))
DRAWN_LIMBS = 17

# The colours the openpose ControlNet was trained on (RGB): limb i and keypoint i share colour i.
COLORS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
          (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
          (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))
STICK_WIDTH = 4
LIMB_DIM = 0.6  # limbs are drawn at 60 % of their colour, keypoint circles at full colour

BODY_WEIGHTS = "body_pose_model.pth"
HAND_WEIGHTS = "hand_pose_model.pth"
FACE_WEIGHTS = "facenet.pth"
HAND_PARTS = 21
FACE_PARTS = 70
# With hands or face, a person's row holds 18 body parts, 21 left-hand, 21 right-hand and 70 face points.
LEFT_HAND = slice(NUM_PARTS, NUM_PARTS + HAND_PARTS)
RIGHT_HAND = slice(NUM_PARTS + HAND_PARTS, NUM_PARTS + 2 * HAND_PARTS)
FACE = slice(NUM_PARTS + 2 * HAND_PARTS, NUM_PARTS + 2 * HAND_PARTS + FACE_PARTS)
FULL_PARTS = FACE.stop
HAND_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
              (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20))


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


def standard_key(module_key: str) -> str:
    """``model0.conv1_1.weight`` (our module) -> ``conv1_1.weight`` (the released file's name)."""
    return module_key.split(".", 1)[1]


BODY_KIND = "an OpenPose body model (body_pose_model.pth, 18 COCO keypoints)"


def load_state_dict_standard(model: nn.Module, state_dict: dict, source: str = "the state dict",
                             kind: str = BODY_KIND) -> nn.Module:
    """Load a released OpenPose file (keys without the ``modelN.`` prefix, e.g. ``conv1_1.weight``) into ``model``.

    Also accepts a state dict saved from this module (prefixed keys). Refuses anything else with a message that
    names missing/unexpected keys and wrong shapes rather than a bare torch error.
    """
    ours = model.state_dict()
    by_standard = {standard_key(k): k for k in ours}
    if state_dict and all(k in ours for k in state_dict):
        mapped = dict(state_dict)
    else:
        mapped = {by_standard[k]: v for k, v in state_dict.items() if k in by_standard}
    missing = [standard_key(k) for k in ours if k not in mapped]
    unexpected = [k for k in state_dict if k not in by_standard and k not in ours]
    wrong = [f"{standard_key(k)} {tuple(v.shape)} (expected {tuple(ours[k].shape)})"
             for k, v in mapped.items() if tuple(v.shape) != tuple(ours[k].shape)]
    if missing or wrong:
        parts = [f"{source} is not {kind}:"]
        if missing:
            parts.append(f"{len(missing)} of {len(ours)} weights missing, e.g. {', '.join(missing[:4])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys, e.g. {', '.join(map(str, unexpected[:4]))}")
        if wrong:
            parts.append(f"wrong shapes: {'; '.join(wrong[:3])}")
        raise UnflickerError("; ".join(parts))
    model.load_state_dict({k: v.float() for k, v in mapped.items()})
    return model


def load_body_state_dict(model: BodyPoseNet, state_dict: dict, source: str = "the state dict") -> BodyPoseNet:
    return load_state_dict_standard(model, state_dict, source)


def _read_state(path: str, what: str) -> dict:
    if not os.path.isfile(path):
        raise UnflickerError(f"OpenPose {what} weights not found: {path}")
    if path.lower().endswith((".safetensors", ".sft")):
        from safetensors.torch import load_file

        state = load_file(path)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise UnflickerError(f"{path} does not hold a state dict (got {type(state).__name__})")
    return state


def load_body_model(path: str, device: torch.device | str = "cpu") -> BodyPoseNet:
    """Read ``body_pose_model.pth`` (or a .safetensors copy) from a local path; never downloads."""
    model = load_body_state_dict(BodyPoseNet(), _read_state(path, "body"), source=os.path.basename(path))
    return model.to(device).eval()


def load_face_model(path: str, device: torch.device | str = "cpu") -> FacePoseNet:
    """Read ``facenet.pth`` (or a .safetensors copy) from a local path; never downloads."""
    model = load_state_dict_standard(FacePoseNet(), _read_state(path, "face"), os.path.basename(path),
                                     "an OpenPose face model (facenet.pth, 70 face landmarks)")
    return model.to(device).eval()


def load_hand_model(path: str, device: torch.device | str = "cpu") -> HandPoseNet:
    """Read ``hand_pose_model.pth`` (or a .safetensors copy) from a local path; never downloads."""
    model = load_state_dict_standard(HandPoseNet(), _read_state(path, "hand"), os.path.basename(path),
                                     "an OpenPose hand model (hand_pose_model.pth, 21 hand keypoints)")
    return model.to(device).eval()


# ------------------------------------------------------------------------------------------- inference
@dataclass
class DetectSettings:
    """The reference's defaults: one scale (0.5 x boxsize 368 over the image height), thresholds 0.1 / 0.05."""

    scales: tuple[float, ...] = (0.5,)
    boxsize: int = 368
    peak_threshold: float = 0.1      # smoothed heatmap value a part peak must exceed (thre1)
    paf_threshold: float = 0.05      # PAF agreement a limb sample must exceed (thre2)
    stride: int = 8
    pad_value: int = 128


def _resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bicubic resize, as the reference does for the image and for the network's maps."""
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC)


@torch.no_grad()
def body_maps(model: BodyPoseNet, image_rgb: np.ndarray, settings: DetectSettings | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps (H, W, 19) and PAFs (H, W, 38) at the image's resolution, averaged over the search scales."""
    settings = settings or DetectSettings()
    h, w = image_rgb.shape[:2]
    bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    heat_avg = np.zeros((h, w, 19), np.float32)
    paf_avg = np.zeros((h, w, 38), np.float32)
    stride = settings.stride
    for scale in settings.scales:
        factor = scale * settings.boxsize / h
        # scale factors (not a target size) as the reference passes them: OpenCV then maps pixels by the factor
        scaled = cv2.resize(bgr, (0, 0), fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        sh, sw = scaled.shape[:2]
        ph, pw = -sh % stride, -sw % stride  # pad right/down to a multiple of the stride
        padded = cv2.copyMakeBorder(scaled, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(settings.pad_value,) * 3)
        x = torch.from_numpy(padded).to(device=device, dtype=torch.float32).permute(2, 0, 1)[None] / 256 - 0.5
        paf, heat = model(x.to(dtype))
        for out, avg in ((heat, heat_avg), (paf, paf_avg)):
            m = out[0].float().permute(1, 2, 0).cpu().numpy()
            m = _resize(m, m.shape[1] * stride, m.shape[0] * stride)[:sh, :sw]
            avg += _resize(np.ascontiguousarray(m), w, h) / len(settings.scales)
    return heat_avg, paf_avg


def find_peaks(heatmaps: np.ndarray, threshold: float = 0.1) -> list[np.ndarray]:
    """Per part, peaks of the Gaussian-smoothed heatmap (sigma 3) above ``threshold``: rows (x, y, score).

    The score is the unsmoothed heatmap at the peak, as in the reference.
    """
    peaks = []
    for part in range(NUM_PARTS):
        raw = np.ascontiguousarray(heatmaps[:, :, part], dtype=np.float32)
        # sigma 3, radius 12 and mirrored edges: what scipy.ndimage.gaussian_filter does by default
        smooth = cv2.GaussianBlur(raw, (25, 25), 3, borderType=cv2.BORDER_REFLECT)
        padded = np.pad(smooth, 1)
        centre = padded[1:-1, 1:-1]
        is_peak = ((centre >= padded[:-2, 1:-1]) & (centre >= padded[2:, 1:-1]) & (centre >= padded[1:-1, :-2])
                   & (centre >= padded[1:-1, 2:]) & (centre > threshold))
        ys, xs = np.nonzero(is_peak)
        peaks.append(np.stack([xs, ys, raw[ys, xs]], axis=1).astype(np.float64) if len(xs) else np.zeros((0, 3)))
    return peaks


def _limb_connections(cand_a: np.ndarray, cand_b: np.ndarray, paf_x: np.ndarray, paf_y: np.ndarray,
                      image_height: int, threshold: float, samples: int = 10) -> list[tuple[int, int, float]]:
    """Score every (a, b) pair by the PAF line integral; keep the best disjoint pairs: (i, j, score)."""
    a = cand_a[:, None, :2]
    b = cand_b[None, :, :2]
    vec = b - a
    norm = np.maximum(np.sqrt((vec ** 2).sum(-1)), 0.001)
    unit = vec / norm[..., None]
    steps = np.linspace(0.0, 1.0, samples)
    pts = a[..., None, :] + vec[..., None, :] * steps[:, None]            # (nA, nB, samples, 2)
    px = np.clip(np.round(pts[..., 0]).astype(int), 0, paf_x.shape[1] - 1)
    py = np.clip(np.round(pts[..., 1]).astype(int), 0, paf_x.shape[0] - 1)
    along = paf_x[py, px] * unit[..., None, 0] + paf_y[py, px] * unit[..., None, 1]
    # mean agreement, penalised for limbs longer than half the image height
    score = along.mean(-1) + np.minimum(0.5 * image_height / norm - 1, 0)
    ok = ((along > threshold).sum(-1) > 0.8 * samples) & (score > 0)
    candidates = sorted(((float(score[i, j]), i, j) for i, j in zip(*np.nonzero(ok))), key=lambda c: -c[0])
    used_a, used_b, chosen = set(), set(), []
    for s, i, j in candidates:
        if i in used_a or j in used_b:
            continue
        chosen.append((int(i), int(j), s))
        used_a.add(i)
        used_b.add(j)
        if len(chosen) >= min(len(cand_a), len(cand_b)):
            break
    return chosen


def decode_body(heatmaps: np.ndarray, pafs: np.ndarray, peak_threshold: float = 0.1, paf_threshold: float = 0.05
                ) -> np.ndarray:
    """Heatmaps (H, W, >=18) + PAFs (H, W, 38) -> people (P, 18, 3): x, y, score; missing parts NaN, 0.

    Peaks per part, PAF line-integral scoring per limb, then greedy assembly of limbs into people (the
    reference's algorithm); people with fewer than 4 parts or a mean score below 0.4 are dropped.
    """
    height = heatmaps.shape[0]
    peaks = find_peaks(heatmaps, peak_threshold)
    offsets = np.cumsum([0] + [len(p) for p in peaks])
    candidate = np.concatenate(peaks, 0) if offsets[-1] else np.zeros((0, 3))
    # one row per person: candidate index per part (-1 = none), then total score and part count
    subset = np.zeros((0, NUM_PARTS + 2))
    for k, ((pa, pb), (cx, cy)) in enumerate(zip(LIMBS, PAF_CHANNELS)):
        if not len(peaks[pa]) or not len(peaks[pb]):
            continue
        for i, j, s in _limb_connections(peaks[pa], peaks[pb], pafs[:, :, cx], pafs[:, :, cy], height, paf_threshold):
            ia, ib = offsets[pa] + i, offsets[pb] + j
            found = [r for r in range(len(subset)) if subset[r, pa] == ia or subset[r, pb] == ib][:2]
            if len(found) == 1:
                row = subset[found[0]]
                if row[pb] != ib:
                    row[pb] = ib
                    row[-1] += 1
                    row[-2] += candidate[ib, 2] + s
            elif len(found) == 2:
                r1, r2 = found
                both = (subset[r1, :-2] >= 0) & (subset[r2, :-2] >= 0)
                if not both.any():  # two partial people joined by this limb: merge them
                    subset[r1, :-2] += subset[r2, :-2] + 1
                    subset[r1, -2:] += subset[r2, -2:]
                    subset[r1, -2] += s
                    subset = np.delete(subset, r2, 0)
                else:
                    subset[r1, pb] = ib
                    subset[r1, -1] += 1
                    subset[r1, -2] += candidate[ib, 2] + s
            elif k < DRAWN_LIMBS:  # the ear-shoulder limbs never start a person
                row = -np.ones(NUM_PARTS + 2)
                row[pa], row[pb] = ia, ib
                row[-1] = 2
                row[-2] = candidate[ia, 2] + candidate[ib, 2] + s
                subset = np.vstack([subset, row])
    keep = (subset[:, -1] >= 4) & (subset[:, -2] / np.maximum(subset[:, -1], 1) >= 0.4)
    subset = subset[keep]
    people = np.full((len(subset), NUM_PARTS, 3), np.nan)
    people[..., 2] = 0.0
    for p, row in enumerate(subset):
        for part in range(NUM_PARTS):
            if row[part] >= 0:
                people[p, part] = candidate[int(row[part])]
    return people


def detect_body(model: BodyPoseNet, image_rgb: np.ndarray, settings: DetectSettings | None = None) -> np.ndarray:
    """One RGB uint8 frame -> people (P, 18, 3) in its pixel coordinates."""
    settings = settings or DetectSettings()
    heat, paf = body_maps(model, image_rgb, settings)
    return decode_body(heat, paf, settings.peak_threshold, settings.paf_threshold)


def resize_for_detection(image: np.ndarray, resolution: int) -> np.ndarray:
    """Scale so the short side is ``resolution`` (INTER_AREA down, INTER_CUBIC up), as the annotators do."""
    h, w = image.shape[:2]
    k = resolution / min(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    if size == (w, h):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)


# ------------------------------------------------------------------------------------------------ hands
@dataclass
class HandSettings:
    """The reference's hand search: the crop resized to 256 px and blurred, four scales of boxsize 368."""

    scales: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
    boxsize: int = 368
    threshold: float = 0.05
    crop_size: int = 256
    map_size: int = 128
    stride: int = 8
    pad_value: int = 128


def _smart_resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """INTER_AREA to shrink, INTER_LANCZOS4 to enlarge (the reference's choice for hand crops and maps)."""
    k = (width + height) / (img.shape[0] + img.shape[1])
    return cv2.resize(img, (int(width), int(height)), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LANCZOS4)


def hand_boxes(person: np.ndarray, width: int, height: int) -> list[tuple[int, int, int, bool]]:
    """Square hand crops (x, y, size, is_left) from shoulder, elbow and wrist, as OpenPose's hand detector does.

    The box is centred a third of the forearm beyond the wrist, 1.5 x max(forearm, 0.9 x upper arm) wide,
    clipped to the image; boxes under 20 px are skipped.
    """
    boxes = []
    for is_left, (shoulder, elbow, wrist) in ((True, (5, 6, 7)), (False, (2, 3, 4))):
        if np.isnan(person[[shoulder, elbow, wrist], 0]).any():
            continue
        (x1, y1), (x2, y2), (x3, y3) = person[shoulder, :2], person[elbow, :2], person[wrist, :2]
        x, y = x3 + 0.33 * (x3 - x2), y3 + 0.33 * (y3 - y2)
        size = 1.5 * max(math.hypot(x3 - x2, y3 - y2), 0.9 * math.hypot(x2 - x1, y2 - y1))
        x, y = max(x - size / 2, 0), max(y - size / 2, 0)
        size = min(size, width - x, height - y)
        if size >= 20:
            boxes.append((int(x), int(y), int(size), is_left))
    return boxes


def decode_hand(heatmaps: np.ndarray, crop_width: int, crop_height: int, threshold: float = 0.05) -> np.ndarray:
    """Hand heatmaps (S, S, >=21) -> (21, 3) x, y in crop pixels and score; NaN, 0 where not found.

    Per point: the connected region (8-neighbour) of the smoothed map above ``threshold`` with the largest mass,
    and its maximum. As in the reference, a point on the crop's top or left edge counts as not found.
    """
    size = heatmaps.shape[0]
    out = np.full((HAND_PARTS, 3), np.nan)
    out[:, 2] = 0.0
    for part in range(HAND_PARTS):
        raw = np.ascontiguousarray(heatmaps[:, :, part], dtype=np.float32)
        smooth = cv2.GaussianBlur(raw, (25, 25), 3, borderType=cv2.BORDER_REFLECT)
        binary = (smooth > threshold).astype(np.uint8)
        if not binary.any():
            continue
        count, labels = cv2.connectedComponents(binary, connectivity=8)
        mass = np.bincount(labels.ravel(), weights=raw.ravel(), minlength=count)[1:]
        region = labels == int(np.argmax(mass)) + 1
        y, x = np.unravel_index(int(np.argmax(np.where(region, raw, 0))), raw.shape)
        px, py = int(x * crop_width / size), int(y * crop_height / size)
        if px > 0 and py > 0:
            out[part] = (px, py, raw[y, x])
    return out


@torch.no_grad()
def hand_keypoints(model: HandPoseNet, crop_rgb: np.ndarray, settings: HandSettings | None = None) -> np.ndarray:
    """One square RGB hand crop -> (21, 3) points in crop pixels (see decode_hand)."""
    settings = settings or HandSettings()
    hr, wr = crop_rgb.shape[:2]
    img = _smart_resize(np.ascontiguousarray(crop_rgb[:, :, ::-1]), settings.crop_size, settings.crop_size)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    device = next(model.parameters()).device
    avg = np.zeros((settings.map_size, settings.map_size, 22), np.float32)
    stride = settings.stride
    for scale in settings.scales:
        side = int(scale * settings.boxsize)
        scaled = _smart_resize(img, side, side)
        pad = -side % stride
        padded = cv2.copyMakeBorder(scaled, 0, pad, 0, pad, cv2.BORDER_CONSTANT, value=(settings.pad_value,) * 3)
        x = torch.from_numpy(padded).to(device=device, dtype=torch.float32).permute(2, 0, 1)[None] / 256 - 0.5
        heat = model(x.to(next(model.parameters()).dtype))[0].float().permute(1, 2, 0).cpu().numpy()
        heat = _smart_resize(heat, heat.shape[1] * stride, heat.shape[0] * stride)[:side, :side]
        avg += _smart_resize(np.ascontiguousarray(heat), settings.map_size, settings.map_size) / len(settings.scales)
    return decode_hand(avg, wr, hr, settings.threshold)


def widen(people: np.ndarray) -> np.ndarray:
    """People (P, 18 or 130, 3) -> (P, 130, 3): room for hands and face, NaN where not searched."""
    if people.shape[1] == FULL_PARTS:
        return people
    out = np.full((len(people), FULL_PARTS, 3), np.nan)
    out[..., 2] = 0.0
    out[:, :people.shape[1]] = people
    return out


def detect_hands(model: HandPoseNet, image_rgb: np.ndarray, people: np.ndarray,
                 settings: HandSettings | None = None) -> np.ndarray:
    """People (P, 18 or 130, 3) -> (P, 130, 3) with left- and right-hand points (NaN where none)."""
    h, w = image_rgb.shape[:2]
    out = widen(people)
    for p, person in enumerate(out):
        for x, y, size, is_left in hand_boxes(person, w, h):
            points = hand_keypoints(model, image_rgb[y:y + size, x:x + size], settings)
            points[:, 0] += x
            points[:, 1] += y
            out[p, LEFT_HAND if is_left else RIGHT_HAND] = points
    return out


# ------------------------------------------------------------------------------------------------- face
def face_box(person: np.ndarray, width: int, height: int) -> tuple[int, int, int] | None:
    """Square face crop (x, y, size) around the nose, sized from the eyes (x3) and ears (x1.5); None if < 20 px."""
    if np.isnan(person[0, 0]) or np.isnan(person[14:18, 0]).all():
        return None
    x0, y0 = person[0, :2]
    half = 0.0
    for part, factor in ((14, 3.0), (15, 3.0), (16, 1.5), (17, 1.5)):
        if not np.isnan(person[part, 0]):
            half = max(half, factor * max(abs(x0 - person[part, 0]), abs(y0 - person[part, 1])))
    x, y = max(x0 - half, 0), max(y0 - half, 0)
    # the reference tests the half size against the far edges (so only a nose outside the image shrinks the box;
    # slicing trims the crop otherwise); we keep its rule so crops match it
    size = min(width - x if x + half > width else 2 * half, height - y if y + half > height else 2 * half)
    return (int(x), int(y), int(size)) if size >= 20 else None


def decode_face(heatmaps: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """Face heatmaps (H, W, >=70) at crop size -> (70, 3) x, y in crop pixels and score; NaN, 0 if not found.

    Each landmark is its map's maximum if that exceeds ``threshold``; as with hands, a landmark on the crop's
    top or left edge counts as not found.
    """
    out = np.full((FACE_PARTS, 3), np.nan)
    out[:, 2] = 0.0
    for part in range(FACE_PARTS):
        m = heatmaps[:, :, part]
        y, x = np.unravel_index(int(np.argmax(m)), m.shape)
        if m[y, x] > threshold and x > 0 and y > 0:
            out[part] = (x, y, m[y, x])
    return out


@torch.no_grad()
def face_keypoints(model: FacePoseNet, crop_rgb: np.ndarray, input_size: int = 384) -> np.ndarray:
    """One square RGB face crop -> (70, 3) landmarks in crop pixels (see decode_face)."""
    h, w = crop_rgb.shape[:2]
    img = _smart_resize(np.ascontiguousarray(crop_rgb[:, :, ::-1]), input_size, input_size)
    param = next(model.parameters())
    x = torch.from_numpy(img).to(param.device).permute(2, 0, 1)[None].float() / 256.0 - 0.5
    heat = torch.nn.functional.interpolate(model(x.to(param.dtype)).float(), (h, w), mode="bilinear",
                                           align_corners=True)
    return decode_face(heat[0].permute(1, 2, 0).cpu().numpy())


def detect_faces(model: FacePoseNet, image_rgb: np.ndarray, people: np.ndarray) -> np.ndarray:
    """People (P, 18 or 130, 3) -> (P, 130, 3) with 70 face landmarks per person whose face was found."""
    h, w = image_rgb.shape[:2]
    out = widen(people)
    for p, person in enumerate(out):
        box = face_box(person, w, h)
        if box is None:
            continue
        x, y, size = box
        points = face_keypoints(model, image_rgb[y:y + size, x:x + size])
        points[:, 0] += x
        points[:, 1] += y
        out[p, FACE] = points
    return out


# --------------------------------------------------------------------------------------------- drawing
def draw_bodypose(canvas: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Draw people (P, 18 or 130, 3) in pixels on an RGB uint8 canvas the way the openpose ControlNet expects.

    Limbs are filled ellipses 4 px wide (half-width) in the limb colour dimmed to 60 %; keypoints are 4 px
    radius circles at full colour, drawn on top; hands (rainbow edges, blue points) and face landmarks (white
    dots, radius 3) if present, on top of everything.
    """
    canvas = canvas.copy()
    for p in people:
        for i, (a, b) in enumerate(LIMBS[:DRAWN_LIMBS]):
            if np.isnan(p[a, 0]) or np.isnan(p[b, 0]):
                continue
            (x0, y0), (x1, y1) = p[a, :2], p[b, :2]
            length = math.hypot(x1 - x0, y1 - y0)
            angle = math.degrees(math.atan2(y0 - y1, x0 - x1))
            polygon = cv2.ellipse2Poly((int((x0 + x1) / 2), int((y0 + y1) / 2)), (int(length / 2), STICK_WIDTH),
                                       int(angle), 0, 360, 1)
            cv2.fillConvexPoly(canvas, polygon, COLORS[i])
    canvas = (canvas * LIMB_DIM).astype(np.uint8)
    for p in people:
        for i in range(NUM_PARTS):
            if not np.isnan(p[i, 0]):
                cv2.circle(canvas, (int(p[i, 0]), int(p[i, 1])), 4, COLORS[i], thickness=-1)
    if people.shape[1] > NUM_PARTS:
        for p in people:
            for hand in (p[LEFT_HAND], p[RIGHT_HAND]):
                canvas = draw_handpose(canvas, hand)
            for x, y in p[FACE, :2]:
                if not np.isnan(x):
                    cv2.circle(canvas, (int(x), int(y)), 3, (255, 255, 255), thickness=-1)
    return canvas


HAND_EDGE_COLORS = tuple(tuple(int(round(c * 255)) for c in colorsys.hsv_to_rgb(i / len(HAND_EDGES), 1.0, 1.0))
                         for i in range(len(HAND_EDGES)))


def draw_handpose(canvas: np.ndarray, hand: np.ndarray) -> np.ndarray:
    """One hand (21, >=2) in pixels: 2 px edges in rainbow order, then 4 px blue points (the reference style)."""
    for (a, b), color in zip(HAND_EDGES, HAND_EDGE_COLORS):
        if not (np.isnan(hand[a, 0]) or np.isnan(hand[b, 0])):
            cv2.line(canvas, (int(hand[a, 0]), int(hand[a, 1])), (int(hand[b, 0]), int(hand[b, 1])), color, 2)
    for x, y in hand[:, :2]:
        if not np.isnan(x):
            cv2.circle(canvas, (int(x), int(y)), 4, (0, 0, 255), thickness=-1)
    return canvas


def pose_json(people: np.ndarray, width: int, height: int) -> dict:
    """OpenPose JSON for one frame, as ComfyUI's controlnet_aux POSE_KEYPOINT carries it.

    Coordinates are normalised to 0..1 of the canvas and the confidence is 1.0 for a found part (0, 0, 0 for a
    missing one): controlnet_aux's readers treat any confidence below 1 as missing, so a real score would
    make them drop parts.
    """
    def flat(points):
        if np.isnan(points[:, 0]).all():
            return None
        values = []
        for x, y, _ in points:
            values += [0.0, 0.0, 0.0] if np.isnan(x) else [float(x) / width, float(y) / height, 1.0]
        return values

    out = []
    for p in people:
        extra = p.shape[0] > NUM_PARTS
        out.append({"pose_keypoints_2d": flat(p[:NUM_PARTS]) or [0.0] * (3 * NUM_PARTS),
                    "face_keypoints_2d": flat(p[FACE]) if extra else None,
                    "hand_left_keypoints_2d": flat(p[LEFT_HAND]) if extra else None,
                    "hand_right_keypoints_2d": flat(p[RIGHT_HAND]) if extra else None})
    return {"people": out, "canvas_height": int(height), "canvas_width": int(width)}


# ----------------------------------------------------------------------------------- temporal smoothing
def _alpha(cutoff: np.ndarray | float, dt: np.ndarray | float) -> np.ndarray:
    tau = 1.0 / (2 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt)


@dataclass
class _Track:
    ident: int
    value: np.ndarray      # (K, 2) filtered positions (NaN until first seen)
    speed: np.ndarray      # (K, 2) filtered derivative
    last_t: np.ndarray     # (K,) frame of the last update per part (-inf never)
    last_seen: int
    score: np.ndarray


class PoseSmoother:
    """One-Euro filter on every keypoint coordinate, with people matched to tracks frame to frame.

    Time is counted in frames, so cutoffs are in cycles per frame (0.5 is the Nyquist limit: no smoothing).
    Coordinates are divided by ``scale`` (the detection image's short side) before filtering, so ``beta`` is
    per (short side per frame) and does not depend on the detection resolution.

    - ``min_cutoff``: smoothing when still (lower = steadier, more lag when starting to move);
    - ``beta``: how fast the cutoff rises with speed (higher = less lag on real movement);
    - a part missing for more than ``max_gap`` frames restarts its filter; a track unseen that long ends;
    - ``hold``: a part missing for up to this many frames is kept at its last filtered position (a limb that
      blinks off for a frame is itself flicker); 0 leaves missing parts missing.
    """

    def __init__(self, min_cutoff: float = 0.01, beta: float = 10.0, d_cutoff: float = 0.1, scale: float = 1.0,
                 max_gap: int = 5, hold: int = 0):
        check_range("min_cutoff", min_cutoff, 1e-4, 10.0)
        check_range("beta", beta, 0.0, 1e6)
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.scale = float(scale)
        self.max_gap, self.hold = max_gap, hold
        self.tracks: list[_Track] = []
        self._next_id = 0
        self.t = -1

    # matching ------------------------------------------------------------------------------------------
    @staticmethod
    def _distance(a: np.ndarray, b: np.ndarray) -> float:
        both = ~np.isnan(a[:, 0]) & ~np.isnan(b[:, 0])
        if both.any():
            return float(np.sqrt(((a[both] - b[both]) ** 2).sum(-1)).mean())
        if np.isnan(a[:, 0]).all() or np.isnan(b[:, 0]).all():
            return math.inf
        return float(np.linalg.norm(np.nanmean(a, 0) - np.nanmean(b, 0)))

    @staticmethod
    def _size(points: np.ndarray) -> float:
        pts = points[~np.isnan(points[:, 0])]
        return float(np.linalg.norm(pts.max(0) - pts.min(0))) if len(pts) else 0.0

    def _match(self, people: np.ndarray) -> list[_Track | None]:
        pairs = []
        for d, person in enumerate(people):
            pts = person[:NUM_PARTS, :2] / self.scale
            for t, track in enumerate(self.tracks):
                body = track.value[:NUM_PARTS]
                dist = self._distance(pts, body)
                # a person may move up to half its own size (plus a little) between matched frames
                gate = 0.5 * max(self._size(pts), self._size(body)) + 0.02
                if dist <= gate:
                    pairs.append((dist, d, t))
        assigned: list[_Track | None] = [None] * len(people)
        used = set()
        for _, d, t in sorted(pairs):
            if assigned[d] is None and t not in used:
                assigned[d] = self.tracks[t]
                used.add(t)
        return assigned

    # filtering -----------------------------------------------------------------------------------------
    def update(self, people: np.ndarray, t: int | None = None) -> np.ndarray:
        """People (P, K, 3) of frame ``t`` (default: next frame) -> smoothed people ordered by track.

        K is 18 (body) or 130 (body, hands, face); people are matched on their body parts.
        """
        self.t = self.t + 1 if t is None else int(t)
        t = self.t
        self.tracks = [tr for tr in self.tracks if t - tr.last_seen <= self.max_gap]
        people = np.asarray(people, dtype=np.float64)
        k = people.shape[1] if people.ndim == 3 else NUM_PARTS
        people = people.reshape(-1, k, 3)
        self.tracks = [tr for tr in self.tracks if len(tr.value) == k]
        out = []
        for person, track in zip(people, self._match(people)):
            if track is None:
                track = _Track(self._next_id, np.full((k, 2), np.nan), np.zeros((k, 2)), np.full(k, -np.inf), t,
                               np.zeros(k))
                self._next_id += 1
                self.tracks.append(track)
            found = ~np.isnan(person[:, 0])
            x = person[:, :2] / self.scale
            dt = t - track.last_t
            fresh = found & ~(dt <= self.max_gap)  # first sighting or a long gap: start over
            track.value[fresh] = x[fresh]
            track.speed[fresh] = 0.0
            go = found & ~fresh
            if go.any():
                dtg = dt[go][:, None]
                speed = (x[go] - track.value[go]) / dtg
                a_d = _alpha(self.d_cutoff, dtg)
                track.speed[go] = a_d * speed + (1 - a_d) * track.speed[go]
                cutoff = self.min_cutoff + self.beta * np.abs(track.speed[go])
                a = _alpha(cutoff, dtg)
                track.value[go] = a * x[go] + (1 - a) * track.value[go]
            track.last_t[found] = t
            track.score[found] = person[found, 2]
            track.last_seen = t
            result = np.full((k, 3), np.nan)
            result[:, 2] = 0.0
            shown = found | (((t - track.last_t) <= self.hold) & ~np.isnan(track.value[:, 0]))
            result[shown, :2] = track.value[shown] * self.scale
            result[shown, 2] = np.where(found[shown], person[shown, 2], np.maximum(track.score[shown], 1e-3))
            out.append((track.ident, result))
        out.sort(key=lambda item: item[0])
        return np.stack([r for _, r in out]) if out else np.zeros((0, k, 3))


def smoothing_params(strength: float) -> dict:
    """Node strength 0..1 -> One-Euro parameters; 0.5 is the default (min_cutoff 0.01, beta 10).

    Both fall geometrically with strength: 0 -> (0.08, 25) light, 1 -> (0.00125, 4) steadiest. On keypoints
    jittering by 2 px (sd) at 512 px the default removes about 60 % of the jitter and lags a real movement by
    about 1 frame (tests/test_openpose.py measures both).
    """
    check_range("smoothing strength", strength, 0.0, 1.0)
    return {"min_cutoff": 0.08 * (1 / 64) ** strength, "beta": 25.0 * 0.16 ** strength}


def smooth_pose_sequence(sequence: Iterable[np.ndarray], scale: float = 1.0, **params) -> Iterator[np.ndarray]:
    """Smooth a sequence of per-frame people arrays (see PoseSmoother for the parameters)."""
    smoother = PoseSmoother(scale=scale, **params)
    for people in sequence:
        yield smoother.update(people)


# ---------------------------------------------------------------------------------------- whole frames
@dataclass
class PoseFrame:
    skeleton: np.ndarray   # RGB uint8 at the detection resolution
    keypoints: dict        # OpenPose JSON (pose_json)
    people: np.ndarray     # (P, 18 or 130, 3) pixels of the detection image


def extract_poses(model: BodyPoseNet, frames: Iterable[np.ndarray], detect_resolution: int = 512,
                  smoothing: dict | None = None, settings: DetectSettings | None = None,
                  progress: ProgressFn | None = None, total: int = 0, hand_model: HandPoseNet | None = None,
                  hand_settings: HandSettings | None = None, face_model: FacePoseNet | None = None
                  ) -> Iterator[PoseFrame]:
    """RGB uint8 frames -> skeleton images + OpenPose JSON per frame, optionally smoothed over time.

    Frames are resized so their short side is ``detect_resolution``; skeletons and JSON canvases have that
    size. ``smoothing`` holds PoseSmoother parameters (None = off). With ``hand_model``, hand points are found
    in crops around each wrist, with ``face_model`` face landmarks around the nose; both are smoothed with the
    body.
    """
    check_range("detect_resolution", detect_resolution, 64, 4096)
    smoother = None
    for i, frame in enumerate(frames):
        image = resize_for_detection(frame, detect_resolution)
        h, w = image.shape[:2]
        people = detect_body(model, image, settings)
        if hand_model is not None:
            people = detect_hands(hand_model, image, people, hand_settings)
        if face_model is not None:
            people = detect_faces(face_model, image, people)
        if smoothing is not None:
            if smoother is None:
                smoother = PoseSmoother(scale=min(h, w), **smoothing)
            people = smoother.update(people)
        skeleton = draw_bodypose(np.zeros((h, w, 3), np.uint8), people)
        yield PoseFrame(skeleton, pose_json(people, w, h), people)
        report(progress, i + 1, total)

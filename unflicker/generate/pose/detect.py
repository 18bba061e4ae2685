"""From an RGB frame to keypoints: network maps, peak finding, limb assembly (PAFs), hands and faces."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .skeleton import (DRAWN_LIMBS, FACE, FACE_PARTS, FULL_PARTS, HAND_PARTS, LEFT_HAND, LIMBS, NUM_PARTS, PAF_CHANNELS,
                       RIGHT_HAND)
from .networks import BodyPoseNet, FacePoseNet, HandPoseNet


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


def detection_size(width: int, height: int, resolution: int) -> tuple[int, int]:
    """The size a width x height frame is detected (and drawn) at: its short side scaled to ``resolution``."""
    scale = resolution / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_for_detection(image: np.ndarray, resolution: int) -> np.ndarray:
    """Scale so the short side is ``resolution`` (INTER_AREA down, INTER_CUBIC up), as the annotators do."""
    h, w = image.shape[:2]
    size = detection_size(w, h, resolution)
    if size == (w, h):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if resolution < min(h, w) else cv2.INTER_CUBIC)


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

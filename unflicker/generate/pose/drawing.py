"""Skeleton images in the openpose ControlNet colours, and OpenPose JSON (POSE_KEYPOINT) of a frame's people."""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

from .skeleton import (COLORS, DRAWN_LIMBS, FACE, HAND_EDGES, LEFT_HAND, LIMBS, LIMB_DIM, NUM_PARTS, RIGHT_HAND,
                       STICK_WIDTH)


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

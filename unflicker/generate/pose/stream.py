"""Whole clips, streamed: detect, smooth, draw and describe every frame (extract_poses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from ...errors import check_range
from ...progress import ProgressFn, report
from .networks import BodyPoseNet, FacePoseNet, HandPoseNet
from .detect import DetectSettings, HandSettings, detect_body, detect_faces, detect_hands, resize_for_detection
from .drawing import draw_bodypose, pose_json
from .smoothing import PoseSmoother


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

"""Whole clips, streamed: detect, smooth, draw and describe every frame (extract_poses); the pose operation
(:func:`plan` from PoseSettings, :func:`run`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

import numpy as np

from ...errors import UnflickerError
from ...operation import Source, check_source
from ...progress import ProgressFn, report
from ...settings import PoseSettings
from .networks import BodyPoseNet, FacePoseNet, HandPoseNet
from .detect import (DetectSettings, HandSettings, detect_body, detect_faces, detect_hands, detection_size,
                     resize_for_detection)
from .drawing import draw_bodypose, pose_json
from .smoothing import PoseSmoother, smoothing_params

# The network's maps are upsampled to the detection image: past this side they take gigabytes.
MAX_DETECT_SIDE = 8192


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


# ---------------------------------------------------------------------------------------- the operation
@dataclass(frozen=True)
class PoseModels:
    body: BodyPoseNet
    hand: Optional[HandPoseNet] = None
    face: Optional[FacePoseNet] = None


@dataclass(frozen=True)
class PosePlan:
    """A clip's pose extraction, decided: the detection size (the skeleton images' size), the smoothing
    (PoseSmoother parameters, None: raw keypoints) and how many frames come out (None: as many as come in)."""

    detect_resolution: int
    smoothing: Optional[dict]
    width: int
    height: int
    frame_count: Optional[int]

    @property
    def progress_steps(self) -> int:
        """What ``run`` reports progress against: one per frame."""
        return self.frame_count or 0


def plan(source: Source, settings: PoseSettings) -> PosePlan:
    """Check the clip (any size of at least 1x1 whose detection image stays within MAX_DETECT_SIDE) and decide."""
    settings = settings.validated()
    check_source(source, what="pose detection")
    resolution = settings.detect_resolution
    width, height = detection_size(source.width, source.height, resolution)
    if max(width, height) > MAX_DETECT_SIDE:
        raise UnflickerError(f"{source.name} is {source.width}x{source.height} pixels; pose detection scales the "
                             f"short side to {resolution}, which makes it {width}x{height}: it takes frames whose "
                             f"long side is at most {MAX_DETECT_SIDE / resolution:g} x the short side at this "
                             "detect_resolution")
    smoothing = dict(smoothing_params(settings.smoothing_strength), hold=settings.hold_missing) \
        if settings.smoothing else None
    return PosePlan(resolution, smoothing, width, height, source.frame_count)


def run(frames: Iterable[np.ndarray], plan: PosePlan, models: PoseModels,
        progress: ProgressFn | None = None) -> Iterator[PoseFrame]:
    """The planned poses, one per RGB uint8 frame, streamed."""
    return extract_poses(models.body, frames, plan.detect_resolution, plan.smoothing, progress=progress,
                         total=plan.frame_count or 0, hand_model=models.hand, face_model=models.face)

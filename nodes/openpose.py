"""OpenPose Extract: IMAGE -> skeleton IMAGE (openpose ControlNet colours) + POSE_KEYPOINT, with steadier keypoints."""

from __future__ import annotations

import os

import comfy.model_management

from ..unflicker.generate.pose import (BODY_WEIGHTS, FACE_WEIGHTS, HAND_WEIGHTS, extract_poses, load_body_model,
                                       load_face_model, load_hand_model, smoothing_params)
from ..unflicker.settings import PoseSettings
from .comfy_bridge import check_image, frames_to_image, image_frames, node_progress
from .inputs import IMAGES, setting_inputs
from .model_folders import ModelSource, register

MODEL_FOLDER = "openpose"
_cache: dict = {}


def weights_path(filename: str, what: str) -> str:
    """Path of ``filename`` (or its .safetensors twin) in ComfyUI's ``openpose`` model folder(s), else a clear error."""
    source = ModelSource(f"{what} weights", files=MODEL_FOLDER, hint=(
        f"Put {filename} (the standard OpenPose {what} model, the same file the ControlNet annotators use) there. "
        "Nothing is downloaded."))
    return source.resolve(filename, os.path.splitext(filename)[0] + ".safetensors")


def _model(kind: str, path: str, loader):
    """One loaded model per kind (body, hand, face), reloaded when the file or the device changes."""
    device = comfy.model_management.get_torch_device()
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size, str(device))
    if _cache.get(kind, (None,))[0] != key:
        _cache.pop(kind, None)
        _cache[kind] = (key, loader(path, device))
    return _cache[kind][1]


register(MODEL_FOLDER)


class OpenPoseExtract:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("OpenPose body keypoints for every frame, drawn as the skeleton images the openpose ControlNet "
                   "expects, plus the keypoints as OpenPose JSON (POSE_KEYPOINT). Smoothing tracks each person "
                   "and steadies every keypoint over time (One-Euro filter), so the skeleton does not jitter. "
                   f"Needs models/{MODEL_FOLDER}/{BODY_WEIGHTS}; {HAND_WEIGHTS} for hands, {FACE_WEIGHTS} for faces.")
    RETURN_TYPES = ("IMAGE", "POSE_KEYPOINT")
    RETURN_NAMES = ("pose_images", "keypoints")
    FUNCTION = "extract"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": IMAGES,
                **setting_inputs(PoseSettings, "detect_resolution", "smoothing", "smoothing_strength",
                                 "hold_missing"),
                "hands": ("BOOLEAN", {"default": False,
                                      "tooltip": f"Also find hand points (needs models/{MODEL_FOLDER}/{HAND_WEIGHTS}; "
                                                 "four network passes per visible hand, slow on CPU)."}),
                "face": ("BOOLEAN", {"default": False,
                                     "tooltip": f"Also find 70 face landmarks (needs models/{MODEL_FOLDER}/"
                                                f"{FACE_WEIGHTS}); drawn as white dots."}),
            },
        }

    def extract(self, images, detect_resolution, smoothing, smoothing_strength, hold_missing, hands=False,
                face=False):
        check_image("images", images)
        PoseSettings(detect_resolution=detect_resolution, smoothing=smoothing, smoothing_strength=smoothing_strength,
                     hold_missing=hold_missing).validated()
        smooth = dict(smoothing_params(smoothing_strength), hold=hold_missing) if smoothing else None
        model = _model("body", weights_path(BODY_WEIGHTS, "body"), load_body_model)
        hand_model = _model("hand", weights_path(HAND_WEIGHTS, "hand"), load_hand_model) if hands else None
        face_model = _model("face", weights_path(FACE_WEIGHTS, "face"), load_face_model) if face else None
        n = images.shape[0]
        keypoints = []

        def skeletons():
            for pose in extract_poses(model, image_frames(images), detect_resolution, smooth,
                                      progress=node_progress(n), total=n, hand_model=hand_model,
                                      face_model=face_model):
                keypoints.append(pose.keypoints)
                yield pose.skeleton

        return (frames_to_image(skeletons(), n), keypoints)

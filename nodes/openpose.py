"""OpenPose Extract: IMAGE -> skeleton IMAGE (openpose ControlNet colours) + POSE_KEYPOINT, with steadier keypoints."""

from __future__ import annotations

import os

import comfy.model_management

from ..unflicker.generate import pose
from ..unflicker.generate.pose import BODY_WEIGHTS, FACE_WEIGHTS, HAND_WEIGHTS
from ..unflicker.runtime import ModelCache
from ..unflicker.settings import PoseSettings
from .comfy_bridge import frames_to_image, image_frames, image_source, node_progress
from .inputs import IMAGES, setting_inputs
from .model_folders import ModelSource, register

MODEL_FOLDER = "openpose"
_models = {kind: ModelCache() for kind in ("body", "hand", "face")}


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
    return _models[kind].get(key, lambda: loader(path, device))


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
        source = image_source("images", images)
        settings = PoseSettings(detect_resolution=detect_resolution, smoothing=smoothing,
                                smoothing_strength=smoothing_strength, hold_missing=hold_missing)
        plan = pose.plan(source, settings)
        models = pose.PoseModels(
            _model("body", weights_path(BODY_WEIGHTS, "body"), pose.load_body_model),
            _model("hand", weights_path(HAND_WEIGHTS, "hand"), pose.load_hand_model) if hands else None,
            _model("face", weights_path(FACE_WEIGHTS, "face"), pose.load_face_model) if face else None)
        keypoints = []

        def skeletons():
            for frame in pose.run(image_frames(images), plan, models, node_progress(plan.progress_steps)):
                keypoints.append(frame.keypoints)
                yield frame.skeleton

        return (frames_to_image(skeletons(), plan.frame_count), keypoints)

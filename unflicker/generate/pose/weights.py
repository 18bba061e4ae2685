"""Loading the standard OpenPose weight files (.pth / .safetensors) with their own key names, with clear errors
for the wrong model or damaged files."""

from __future__ import annotations

import os

import torch
from torch import nn

from ...errors import UnflickerError
from .networks import BodyPoseNet, FacePoseNet, HandPoseNet


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

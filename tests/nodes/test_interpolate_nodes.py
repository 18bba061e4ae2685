"""RIFE Interpolate node, loaded the way ComfyUI loads the pack: model folder, combo, backends, fps, errors."""

import os
import shutil

import numpy as np
import pytest
import torch

from unflicker.ncnn_weights import make_random_model
from unflicker.synthetic import moving_clip
from conftest import FIXTURES

# the real RIFE v4.6 graph (no weights), kept in the repository so a fresh clone runs the ncnn tests
RIFE_PARAM = os.path.join(FIXTURES, "rife-v4.6", "flownet.param")
SETTINGS = dict(scene_threshold=0.5, gpu_id=-1, threads=1, uhd=False, tta=False)


@pytest.fixture
def node_mod(pack):
    return pack.nodes.interpolate


@pytest.fixture
def rife_root(node_mod):
    import folder_paths

    root = os.path.join(folder_paths.models_dir, "rife")
    shutil.rmtree(root, ignore_errors=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def as_image(frames):
    return torch.from_numpy(np.asarray(frames)).float() / 255.0


def test_registered_and_model_folder(pack, node_mod, rife_root):
    import folder_paths

    assert pack.NODE_CLASS_MAPPINGS["UnflickerRIFEInterpolate"] is node_mod.RIFEInterpolate
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["UnflickerRIFEInterpolate"] == "RIFE Interpolate"
    assert rife_root in folder_paths.get_folder_paths("rife")
    inputs = node_mod.RIFEInterpolate.INPUT_TYPES()["required"]
    assert inputs["model"][0] == [node_mod.NO_MODELS]  # empty folder: the combo says where a model goes
    assert "models/rife" in node_mod.NO_MODELS and "flownet.bin" in node_mod.NO_MODELS
    assert "n + (n-1)(multiplier-1)" in inputs["multiplier"][1]["tooltip"]
    assert inputs["multiplier"][0] == [2, 4, 8]


def test_flow_backend_without_models(node_mod, rife_root):
    clip = moving_clip("pan", frames=4, height=40, width=56, seed=2, speed=3)
    images, fps, backend = node_mod.RIFEInterpolate().interpolate(
        as_image(clip), 8.0, 4, node_mod.NO_MODELS, "auto", **SETTINGS)
    assert images.shape == (4 + 3 * 3, 40, 56, 3) and images.dtype == torch.float32
    assert fps == 32.0
    assert backend.startswith("flow") and "no RIFE model given" in backend
    assert torch.equal(images[4], as_image(clip[1:2])[0])  # original 1 at position 1*m


def test_ncnn_backend_with_model_in_models_rife(node_mod, rife_root):
    if not os.path.isfile(RIFE_PARAM):
        pytest.fail(f"RIFE graph missing: {RIFE_PARAM} (it ships with the tests)")
    make_random_model(RIFE_PARAM, os.path.join(rife_root, "rife-v4.6"))
    os.makedirs(os.path.join(rife_root, "not-a-model"))
    assert node_mod.RIFEInterpolate.INPUT_TYPES()["required"]["model"][0] == ["rife-v4.6"]
    clip = moving_clip("pan", frames=3, height=32, width=48, seed=2, speed=3)
    images, fps, backend = node_mod.RIFEInterpolate().interpolate(as_image(clip), 12.0, 2, "rife-v4.6", "ncnn",
                                                                  **SETTINGS)
    assert images.shape == (5, 32, 48, 3) and fps == 24.0
    assert backend.startswith("ncnn rife-v4.6 on CPU") and "2 interpolated" in backend


def test_node_errors(pack, node_mod, rife_root):
    UnflickerError = pack.unflicker.errors.UnflickerError  # the pack's own class, as ComfyUI would see it
    node = node_mod.RIFEInterpolate()
    two = as_image(moving_clip("pan", frames=2, height=32, width=48))
    with pytest.raises(UnflickerError, match="needs at least 2"):
        node.interpolate(two[:1], 8.0, 2, node_mod.NO_MODELS, "flow", **SETTINGS)
    with pytest.raises(UnflickerError, match="backend ncnn needs a model: put one in .*rife"):
        node.interpolate(two, 8.0, 2, node_mod.NO_MODELS, "ncnn", **SETTINGS)
    with pytest.raises(UnflickerError, match=r"model: '../elsewhere' is not in ComfyUI's models/rife folder .*Each model is a sub-folder"):
        node.interpolate(two, 8.0, 2, "../elsewhere", "ncnn", **SETTINGS)


def test_interrupt_stops_the_loop(node_mod, rife_root, monkeypatch):
    import comfy.model_management

    calls = []

    def interrupt():
        calls.append(1)
        if len(calls) >= 2:
            raise comfy.model_management.InterruptProcessingException()

    monkeypatch.setattr(comfy.model_management, "throw_exception_if_processing_interrupted", interrupt)
    clip = as_image(moving_clip("pan", frames=6, height=32, width=48))
    with pytest.raises(comfy.model_management.InterruptProcessingException):
        node_mod.RIFEInterpolate().interpolate(clip, 8.0, 2, node_mod.NO_MODELS, "flow", **SETTINGS)
    assert len(calls) == 2

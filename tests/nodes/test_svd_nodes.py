"""SVD nodes: model listing from ComfyUI's folders, the loader, generate and extend through the tiny model."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from unflicker.testing.tiny_svd import cached_tiny_svd


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def installed_svd():
    """The tiny SVD placed where ComfyUI keeps diffusers models, plus a dummy checkpoint file."""
    import folder_paths

    diffusers_dir = folder_paths.get_folder_paths("diffusers")[0]
    ckpt_dir = folder_paths.get_folder_paths("checkpoints")[0]
    target = os.path.join(diffusers_dir, "tiny-svd")
    shutil.copytree(cached_tiny_svd(), target)
    os.makedirs(ckpt_dir, exist_ok=True)
    for name in ("sd15.safetensors", "svd_xt.safetensors"):
        open(os.path.join(ckpt_dir, name), "wb").close()
    other = os.path.join(diffusers_dir, "sd15")  # a diffusers model of another kind: not listed
    os.makedirs(other, exist_ok=True)
    with open(os.path.join(other, "model_index.json"), "w") as f:
        f.write('{"_class_name": "StableDiffusionPipeline"}')
    yield "tiny-svd"
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(other, ignore_errors=True)
    for name in ("sd15.safetensors", "svd_xt.safetensors"):
        os.remove(os.path.join(ckpt_dir, name))


def test_nodes_are_registered(pack):
    for name in ("UnflickerSVDLoader", "UnflickerSVDGenerate", "UnflickerSVDExtend"):
        assert name in pack.NODE_CLASS_MAPPINGS and name in pack.NODE_DISPLAY_NAME_MAPPINGS


def test_loader_lists_diffusers_folders_and_checkpoints(pack, installed_svd):
    choices = pack.nodes.svd.SVDLoader.INPUT_TYPES()["required"]["model"][0]
    assert choices[0] == installed_svd and "sd15" not in choices  # an SD 1.5 diffusers folder is not SVD
    # SVD-named checkpoints are listed before other checkpoints.
    assert choices.index("svd_xt.safetensors") < choices.index("sd15.safetensors")
    assert choices[-1] == pack.nodes.svd.NONE


def test_generate_and_extend_nodes(pack, installed_svd):
    import comfy.utils

    nodes = pack.nodes.svd
    (model,) = nodes.SVDLoader().load(installed_svd, "auto", False, False, True)
    assert model.device == torch.device("cpu") and model.dtype == torch.float32
    image = torch.rand(2, 48, 80, 3)
    defaults = {k: v[1].get("default") for k, v in nodes.SVDGenerate.INPUT_TYPES()["required"].items()
                if len(v) > 1 and "default" in v[1]}
    assert (defaults["width"], defaults["height"], defaults["num_frames"], defaults["motion_bucket_id"],
            defaults["fps"], defaults["noise_aug_strength"], defaults["decode_chunk_size"]) == \
        (1024, 576, 14, 127, 7, 0.02, 8)
    settings = dict(defaults, width=64, height=64, num_frames=4, steps=2, noise_aug_strength=0.2)
    comfy.utils.UPDATES.clear()
    out = nodes.SVDGenerate().generate(model, image, **{k: settings[k] for k in (
        "width", "height", "num_frames", "steps", "min_guidance", "max_guidance", "motion_bucket_id", "fps",
        "noise_aug_strength", "decode_chunk_size", "seed", "stability_guard")})
    images, fps, notes = out["result"]
    assert images.shape == (4, 64, 64, 3) and images.dtype == torch.float32
    assert 0.0 <= float(images.min()) <= float(images.max()) <= 1.0
    assert isinstance(fps, float) and fps == 7.0
    assert "clamped to 0.05" in notes and out["ui"]["text"] == [notes]
    assert comfy.utils.UPDATES[-2:] == [(1, 2), (2, 2)]

    small = dict(width=64, height=64, num_frames=4, steps=2, min_guidance=1.0, max_guidance=3.0,
                 motion_bucket_id=127, fps=7, noise_aug_strength=0.02, decode_chunk_size=8, seed=0,
                 stability_guard=True)
    out = nodes.SVDExtend().extend(model, image, **small, segments=2, drift_correction=1.0)
    images, fps, count, notes, segment_starts = out["result"]
    assert images.shape == (7, 64, 64, 3) and count == 7 and notes == "ok"
    assert segment_starts == "4"  # segment 2's own frames (its seed frame dropped): the Deflicker's input text


def test_interrupt_stops_the_generate_node(pack, installed_svd):
    import comfy.model_management as mm

    nodes = pack.nodes.svd
    (model,) = nodes.SVDLoader().load(installed_svd, "auto", False, False, True)
    mm.interrupt_current_processing(True)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            nodes.SVDGenerate().generate(model, torch.rand(1, 64, 64, 3), width=64, height=64, num_frames=4,
                                         steps=3, min_guidance=1.0, max_guidance=3.0, motion_bucket_id=127, fps=7,
                                         noise_aug_strength=0.02, decode_chunk_size=8, seed=0, stability_guard=True)
    finally:
        mm.interrupt_current_processing(False)


def test_loader_needs_a_model(pack, installed_svd):
    loader = pack.nodes.svd.SVDLoader()
    UnflickerError = pack.unflicker.errors.UnflickerError
    with pytest.raises(UnflickerError, match="pick a model"):
        loader.load(pack.nodes.svd.NONE, "auto", False, False, True)
    with pytest.raises(UnflickerError, match="model: '../../escape' is not in ComfyUI's models/checkpoints or "
                                              "models/diffusers folders"):
        loader.load("../../escape", "auto", False, False, True)
    with pytest.raises(UnflickerError, match="not in ComfyUI's models/checkpoints"):
        loader.load("checkpoints/gone.safetensors", "auto", False, False, True)
    nodes = pack.nodes.svd.SVDLoader
    assert nodes.VALIDATE_INPUTS("diffusers/tiny-svd") is True  # the name earlier versions saved
    assert nodes.VALIDATE_INPUTS("gone.safetensors", "/some/path") is True  # a path overrides the model
    assert "'gone.safetensors' is not in" in nodes.VALIDATE_INPUTS("gone.safetensors")
    with pytest.raises(UnflickerError, match="does not exist"):
        loader.load(pack.nodes.svd.NONE, "auto", False, False, True, path="/no/such/svd")

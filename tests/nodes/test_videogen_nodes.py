"""CogVideoX / Wan nodes: listing from ComfyUI's model folders, the loaders, generate with progress, notes, interrupt."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from videogen_tiny import WAN_FILES, cached_tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def installed(pack):
    """The tiny models where ComfyUI keeps them: diffusers folders, and Wan's split files in their three folders."""
    import folder_paths

    for kind in ("diffusion_models", "vae", "text_encoders"):
        pack.nodes.model_folders.register(kind)
    placed = []
    diffusers_dir = folder_paths.get_folder_paths("diffusers")[0]
    for kind in ("cogvideox", "cogvideox-i2v", "wan"):
        target = os.path.join(diffusers_dir, f"tiny-{kind}")
        shutil.copytree(cached_tiny(kind), target)
        placed.append(target)
    for kind, key, name in (("diffusion_models", "transformer", "wan_tiny_t2v.safetensors"),
                            ("vae", "vae", "wan_tiny_vae.safetensors"),
                            ("text_encoders", "text_encoder", "umt5_tiny.safetensors")):
        folder = folder_paths.get_folder_paths(kind)[0]
        os.makedirs(folder, exist_ok=True)
        shutil.copy(WAN_FILES[key], os.path.join(folder, name))
        placed.append(os.path.join(folder, name))
    yield
    for p in placed:
        shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.remove(p)


def test_nodes_are_registered(pack):
    for name in ("UnflickerCogVideoXLoader", "UnflickerCogVideoXGenerate", "UnflickerWanLoader",
                 "UnflickerWanSplitLoader", "UnflickerWanGenerate"):
        assert name in pack.NODE_CLASS_MAPPINGS and name in pack.NODE_DISPLAY_NAME_MAPPINGS


def test_loaders_list_their_family_only(pack, installed):
    nodes = pack.nodes.videogen
    cog = nodes.CogVideoXLoader.INPUT_TYPES()["required"]["model"][0]
    wan = nodes.WanLoader.INPUT_TYPES()["required"]["model"][0]
    assert cog == ["tiny-cogvideox", "tiny-cogvideox-i2v", nodes.NONE]
    assert wan == ["tiny-wan", nodes.NONE]
    split = nodes.WanSplitLoader.INPUT_TYPES()
    assert "wan_tiny_t2v.safetensors" in split["required"]["transformer"][0]
    assert "wan_tiny_vae.safetensors" in split["required"]["vae"][0]
    assert "umt5_tiny.safetensors" in split["required"]["text_encoder"][0]
    assert split["optional"]["transformer_2"][0][0] == nodes.NO_FILE


def test_generate_defaults_are_the_recipe(pack):
    nodes = pack.nodes.videogen
    cog = nodes.CogVideoXGenerate.INPUT_TYPES()["required"]
    wan = nodes.WanGenerate.INPUT_TYPES()["required"]
    assert [cog[k][1]["default"] for k in ("num_frames", "width", "height", "steps", "guidance", "fps")] == \
        [49, 720, 480, 40, 7.5, 8]
    assert [wan[k][1]["default"] for k in ("num_frames", "width", "height", "steps", "guidance", "flow_shift", "fps")] \
        == [81, 832, 480, 40, 5.0, 3.0, 16]
    assert "flow_shift" not in cog


def test_cogvideox_nodes_generate_with_progress_and_notes(pack, installed):
    import comfy.utils

    nodes = pack.nodes.videogen
    (model,) = nodes.CogVideoXLoader().load("tiny-cogvideox-i2v", "auto", "none", False, False, True)
    assert model.dtype == torch.float32 and model.info.image_to_video
    image = torch.rand(1, 48, 40, 3)
    comfy.utils.UPDATES.clear()
    out = nodes.CogVideoXGenerate().generate(model, "a red fox", "", 9, 32, 32, 3, 7.5, 1, 8, image=image)
    frames, fps, notes = out["result"]
    assert frames.shape == (9, 32, 32, 3) and frames.dtype == torch.float32 and fps == 8.0
    assert 0.0 <= float(frames.min()) and float(frames.max()) <= 1.0
    assert "steps 3 is under 35" in notes and out["ui"]["text"] == [notes]
    assert comfy.utils.UPDATES[-3:] == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(pack.unflicker.errors.UnflickerError, match="needs a first image"):
        nodes.CogVideoXGenerate().generate(model, "a red fox", "", 9, 32, 32, 3, 7.5, 1, 8)


def test_wan_split_and_folder_loaders_give_the_same_video(pack, installed):
    nodes = pack.nodes.videogen
    (split,) = nodes.WanSplitLoader().load("wan_tiny_t2v.safetensors", "wan_tiny_vae.safetensors",
                                           "umt5_tiny.safetensors", "auto", "none", False, False, False,
                                           config_dir=WAN_FILES["config_dir"])
    (folder,) = nodes.WanLoader().load("tiny-wan", "auto", "none", False, False, False)
    gen = nodes.WanGenerate()
    a = gen.generate(split, "a cat", "blurry", 5, 64, 64, 35, 5.0, 3.0, 3, 16)["result"]
    b = gen.generate(folder, "a cat", "blurry", 5, 64, 64, 35, 5.0, 3.0, 3, 16)["result"]
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    assert a[1] == 16.0 and b[2] == "ok"


def test_split_loader_needs_the_shipped_configs_to_fit(pack, installed):
    """The tiny transformer is no published Wan: without test configs the loader says which models it knows."""
    nodes = pack.nodes.videogen
    with pytest.raises(pack.unflicker.errors.UnflickerError, match="not one the pack knows"):
        nodes.WanSplitLoader().load("wan_tiny_t2v.safetensors", "wan_tiny_vae.safetensors", "umt5_tiny.safetensors",
                                    "auto", "none", False, False, False)


def test_invalid_frames_are_refused_by_the_node(pack, installed):
    nodes = pack.nodes.videogen
    (model,) = nodes.WanLoader().load("tiny-wan", "auto", "none", False, False, True)
    with pytest.raises(pack.unflicker.errors.UnflickerError, match="nearest valid: 77 or 81"):
        nodes.WanGenerate().generate(model, "a cat", "", 80, 64, 64, 2, 5.0, 3.0, 0, 16)


def test_interrupt_stops_the_node(pack, installed):
    import comfy.model_management

    nodes = pack.nodes.videogen
    (model,) = nodes.WanLoader().load("tiny-wan", "auto", "none", False, False, True)
    comfy.model_management.interrupt_current_processing(True)
    with pytest.raises(comfy.model_management.InterruptProcessingException):
        nodes.WanGenerate().generate(model, "a cat", "", 5, 64, 64, 3, 5.0, 3.0, 0, 16)
    assert not comfy.model_management.processing_interrupted()


def test_missing_models_are_named(pack, installed):
    nodes = pack.nodes.videogen
    assert "is not in" in nodes.WanSplitLoader.VALIDATE_INPUTS("gone.safetensors", "wan_tiny_vae.safetensors",
                                                               "umt5_tiny.safetensors")
    assert nodes.WanSplitLoader.VALIDATE_INPUTS("wan_tiny_t2v.safetensors", "wan_tiny_vae.safetensors",
                                                "umt5_tiny.safetensors") is True
    with pytest.raises(pack.unflicker.errors.UnflickerError, match="pick a model from the list or give a path"):
        nodes.CogVideoXLoader().load(nodes.NONE, "auto", "none", False, False, True)
    with pytest.raises(pack.unflicker.errors.UnflickerError, match="load it with the CogVideoX Loader"):
        nodes.WanLoader().load("tiny-cogvideox", "auto", "none", False, False, False)

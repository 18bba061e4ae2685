"""AnimateDiff nodes as ComfyUI runs them: model lists from the model folders, loader -> motion LoRA -> image LoRA
-> generate with a prompt schedule and ControlNet frames, progress and interrupt. Tiny random-weight models on CPU."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from tiny_animatediff import CKPT, CN, CONFIG, IMAGE_LORA, IMAGE_LORA_PEFT, LORA, MM, no_network, stick_figures
from unflicker.generate import animatediff as ad


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models(pack):
    """ComfyUI model folders holding a diffusers SD folder, an original-layout motion module and motion LoRA, and
    a diffusers ControlNet folder (single files of the full-size kinds need the real SD 1.5 configs)."""
    import folder_paths
    from diffusers import StableDiffusionPipeline

    sd = ad.load_sd15(CKPT, config_dir=CONFIG)
    root = folder_paths.models_dir
    made = [os.path.join(root, d) for d in ("diffusers", "animatediff_models", "animatediff_motion_lora", "controlnet")]
    StableDiffusionPipeline(**sd.components).save_pretrained(os.path.join(made[0], "tiny_sd"))
    os.makedirs(made[1], exist_ok=True)
    shutil.copy(MM, made[1])
    os.makedirs(made[2], exist_ok=True)
    shutil.copy(LORA, made[2])
    ad.load_controlnet(CN, config_dir=os.path.join(CONFIG, "controlnet")).save_pretrained(os.path.join(made[3], "tiny_cn"))
    # ComfyUI's own models/loras, shared with other packs' LoRAs: only these files are ours to remove
    loras = folder_paths.get_folder_paths("loras")[0]
    image_loras = [os.path.join(loras, "tiny_image_lora.safetensors"), os.path.join(loras, "sd15", "style.safetensors")]
    os.makedirs(os.path.dirname(image_loras[1]), exist_ok=True)
    shutil.copy(IMAGE_LORA, image_loras[0])
    shutil.copy(IMAGE_LORA_PEFT, image_loras[1])
    yield pack.nodes.animatediff
    for d in made:
        shutil.rmtree(d, ignore_errors=True)
    for f in image_loras:
        os.remove(f)


def test_model_folders_and_lists(models):
    import folder_paths

    for name in ("animatediff_models", "animatediff_motion_lora"):
        assert folder_paths.get_folder_paths(name) == [os.path.join(folder_paths.models_dir, name)]
    loader = models.AnimateDiffLoader.INPUT_TYPES()["required"]
    assert "tiny_sd" in loader["checkpoint"][0]
    assert not any(c.startswith("tiny_sd/") for c in loader["checkpoint"][0])
    assert "tiny_mm.ckpt" in loader["motion_module"][0]
    assert "LCM" in loader["scheduler"][0]
    assert "tiny_motion_lora.ckpt" in models.MotionLora.INPUT_TYPES()["required"]["lora_name"][0]
    assert "tiny_cn" in models.ControlNetLoader.INPUT_TYPES()["required"]["controlnet_name"][0]
    image_lora = models.ImageLora.INPUT_TYPES()["required"]
    # listed as ComfyUI's LoraLoader lists models/loras: the same names, sub-folders included
    assert image_lora["lora_name"][0] == sorted(folder_paths.get_filename_list("loras"), key=str.lower)
    assert {"tiny_image_lora.safetensors", "sd15/style.safetensors"} <= set(image_lora["lora_name"][0])
    assert image_lora["strength"][1]["default"] == 1.0 and image_lora["strength"][1]["min"] < 0
    assert models.ImageLora.VALIDATE_INPUTS(lora_name="missing.safetensors") != True  # noqa: E712 (a message)


def test_motion_and_image_lora_nodes_chain(models):
    args = dict(prompt="a cat walking", negative_prompt="", num_frames=4, width=32, height=32, steps=2,
                guidance=7.5, seed=1, context_length=16, context_overlap=4, fps=8.0)
    with no_network():
        (model,) = models.AnimateDiffLoader().load("tiny_sd", "tiny_mm.ckpt", "DDIM", "linear", False, False)
    (zoomed,) = models.MotionLora().apply(model, "tiny_motion_lora.ckpt", 0.8)
    (styled,) = models.ImageLora().apply(zoomed, "tiny_image_lora.safetensors", 0.7)
    (both,) = models.ImageLora().apply(styled, "sd15/style.safetensors", 0.5)
    assert not zoomed.loras[1:] and [lora.kind for lora in both.loras] == ["motion_lora", "lora", "lora"]
    images, _, segment_starts, overlap = models.AnimateDiffGenerate().generate(both, **args)
    assert (segment_starts, overlap) == ("", 0)  # one window: no seams to report
    direct = models.engine.generate(model.with_lora(LORA, 0.8).with_image_lora(IMAGE_LORA, 0.7)
                                    .with_image_lora(IMAGE_LORA_PEFT, 0.5), "a cat walking", "", num_frames=4,
                                    width=32, height=32, steps=2, guidance=7.5, seed=1)
    np.testing.assert_array_equal(images.numpy(), direct)
    (image_first,) = models.ImageLora().apply(model, "tiny_image_lora.safetensors", 0.7)
    (image_first,) = models.MotionLora().apply(image_first, "tiny_motion_lora.ckpt", 0.8)
    (image_first,) = models.ImageLora().apply(image_first, "sd15/style.safetensors", 0.5)
    np.testing.assert_array_equal(models.AnimateDiffGenerate().generate(image_first, **args)[0].numpy(), direct)


def test_loader_lora_controlnet_generate(models, pack):
    import comfy.utils

    with no_network():
        (model,) = models.AnimateDiffLoader().load("tiny_sd", "tiny_mm.ckpt", "Euler a", "linear", True, False)
        (controlnet,) = models.ControlNetLoader().load("[diffusers] tiny_cn")  # a name earlier versions saved
    (zoomed,) = models.MotionLora().apply(model, "tiny_motion_lora.ckpt", 0.8)
    assert zoomed.loras and not model.loras  # the loader's output is not changed by the LoRA node
    poses = torch.from_numpy(stick_figures(6)).float() / 255
    comfy.utils.UPDATES.clear()
    args = dict(prompt="0: a cat walking\n3: a dog running", negative_prompt="blurry", num_frames=6, width=32,
                height=32, steps=2, guidance=6.0, seed=3, context_length=4, context_overlap=2, fps=12.0)
    images, fps, segment_starts, overlap = models.AnimateDiffGenerate().generate(
        zoomed, **args, controlnet=controlnet, control_frames=poses, controlnet_strength=0.9)
    assert images.shape == (6, 32, 32, 3) and images.dtype == torch.float32 and fps == 12.0
    assert (segment_starts, overlap) == ("2", 2)  # windows (0, 4) and (2, 6) share frames 2 and 3
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    assert comfy.utils.UPDATES[-2:] == [(1, 2), (2, 2)]
    # the node adds nothing to the engine call
    direct = models.engine.generate(zoomed, {0: "a cat walking", 3: "a dog running"}, "blurry", num_frames=6,
                                    width=32, height=32, steps=2, guidance=6.0, seed=3, context_length=4,
                                    context_overlap=2, controlnet=controlnet, control_frames=poses, controlnet_scale=0.9)
    np.testing.assert_array_equal(images.numpy(), direct)


def test_interrupt_stops_generation(models):
    import comfy.model_management as mm

    (model,) = models.AnimateDiffLoader().load("[diffusers] tiny_sd", "tiny_mm.ckpt", "DDIM", "linear", False, False)
    mm.interrupt_current_processing(True)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            models.AnimateDiffGenerate().generate(model, "a cat", "", num_frames=4, width=32, height=32, steps=2,
                                                  guidance=7.5, seed=0, context_length=16, context_overlap=4,
                                                  fps=8.0)
    finally:
        mm.interrupt_current_processing(False)


def test_wrong_kind_in_motion_lora_node(models):
    import folder_paths

    wrong = os.path.join(folder_paths.models_dir, "animatediff_motion_lora", "not_a_lora.ckpt")
    shutil.copy(MM, wrong)
    try:
        (model,) = models.AnimateDiffLoader().load("[diffusers] tiny_sd", "tiny_mm.ckpt", "DDIM", "linear", False, False)
        with pytest.raises(models.engine.UnflickerError, match="motion module"):
            models.MotionLora().apply(model, "not_a_lora.ckpt", 1.0)
    finally:
        os.remove(wrong)


def test_wrong_kinds_in_image_lora_node(models):
    """A motion LoRA put in models/loras and an image LoRA put in models/animatediff_motion_lora are refused by
    their keys, each pointing to the node it belongs to."""
    import folder_paths

    motion_as_image = os.path.join(folder_paths.get_folder_paths("loras")[0], "zoom_in.ckpt")
    image_as_motion = os.path.join(folder_paths.models_dir, "animatediff_motion_lora", "style.safetensors")
    shutil.copy(LORA, motion_as_image)
    shutil.copy(IMAGE_LORA, image_as_motion)
    try:
        (model,) = models.AnimateDiffLoader().load("tiny_sd", "tiny_mm.ckpt", "DDIM", "linear", False, False)
        with pytest.raises(models.engine.UnflickerError, match="zoom_in.ckpt is a motion LoRA.*Motion LoRA node"):
            models.ImageLora().apply(model, "zoom_in.ckpt", 1.0)
        with pytest.raises(models.engine.UnflickerError,
                           match=r"style.safetensors is an SD 1.5 image LoRA.*Image LoRA \(AnimateDiff\) node"):
            models.MotionLora().apply(model, "style.safetensors", 1.0)
    finally:
        os.remove(motion_as_image)
        os.remove(image_as_motion)

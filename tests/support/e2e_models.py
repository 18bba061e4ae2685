"""The tiny random-weight models the ComfyUI end-to-end tests install, in ComfyUI's model folder layout
(served to the test servers through extra_model_paths). ``install_test_models(folder)`` writes them all; what was
written is listed in ``INSTALLED`` for the run's summary."""

import os
import time

from conftest import FIXTURES

MODEL_FOLDERS = ("checkpoints", "diffusers", "animatediff_models", "animatediff_motion_lora", "controlnet", "loras",
                 "openpose", "rife", "frame_interpolation", "unflicker", "diffusion_models", "vae",
                 "text_encoders")
WAN_SPLIT = os.path.join(FIXTURES, "wan_split")
INSTALLED: list[str] = []


def install_test_models(models_dir: str) -> None:
    """Tiny random-weight models for the workflows that load models, where their builders are in the repo."""
    for name in MODEL_FOLDERS:
        os.makedirs(os.path.join(models_dir, name), exist_ok=True)
    from unflicker.testing.tiny_svd import build_tiny_svd

    build_tiny_svd(os.path.join(models_dir, "diffusers", "tiny-svd"))
    INSTALLED.append("diffusers/tiny-svd")
    rife_param = os.path.join(FIXTURES, "rife-v4.6", "flownet.param")
    try:
        from unflicker.testing.ncnn_fixture import make_random_model
    except ImportError:
        make_random_model = None
    if make_random_model and os.path.isfile(rife_param):
        make_random_model(rife_param, os.path.join(models_dir, "rife", "rife-v4.6"), seed=0)
        INSTALLED.append("rife/rife-v4.6")
    _install_animatediff_models(models_dir)
    _install_openpose_body(models_dir)
    _install_interpolation_weights(models_dir)
    _install_videogen_models(models_dir)


def _install_videogen_models(models_dir: str) -> None:
    """Wan's tiny split files (ComfyUI layouts) in their three folders; tiny CogVideoX image-to-video and
    text-to-video folders."""
    import shutil

    for folder, name in (("diffusion_models", "wan_tiny_t2v.safetensors"), ("vae", "wan_tiny_vae.safetensors"),
                         ("text_encoders", "umt5_tiny.safetensors")):
        shutil.copy(os.path.join(WAN_SPLIT, name), os.path.join(models_dir, folder))
        INSTALLED.append(f"{folder}/{name}")
    from unflicker.testing.tiny_videogen import build_tiny_cogvideox

    build_tiny_cogvideox(os.path.join(models_dir, "diffusers", "tiny-cogvideox-i2v"), image_to_video=True)
    build_tiny_cogvideox(os.path.join(models_dir, "diffusers", "tiny-cogvideox-t2v"))
    INSTALLED.extend(["diffusers/tiny-cogvideox-i2v", "diffusers/tiny-cogvideox-t2v"])


# weight file in models/frame_interpolation -> the network the node must report for it
INTERPOLATION_FILES = {
    "rife_v4.26.safetensors": "torch RIFE v4.25/v4.26 layout",  # ComfyUI's own layout (blocks.N.)
    "rife49.pth": "torch RIFE v4.7-v4.15 layout",  # ComfyUI-Frame-Interpolation / Practical-RIFE (module.blockN.)
    "rife417.pkl": "torch RIFE v4.17-v4.19/v4.24 layout",
    "rife46.pth": "torch RIFE v4.5/v4.6 layout",
    "rife422.safetensors": "torch RIFE v4.21-v4.23 layout",
    "film_net_fp32.safetensors": "torch FILM film_net",  # ComfyUI's FILM layout
    "film_net_fp32.pt": "torch FILM film_net",  # TorchScript export
    "film_net.pth": "torch FILM film_net",
}


def _install_interpolation_weights(models_dir: str) -> None:
    """Random-weight RIFE v4.x and FILM networks (tiny widths, released layouts) in every accepted file layout,
    and one file of another kind that must be refused."""
    import torch

    from interp_weights import film_torchscript_state, save, save_torchscript, tiny_film, tiny_v4, v4_file_state

    folder = os.path.join(models_dir, "frame_interpolation")
    save(v4_file_state(tiny_v4("4.26"), "comfy"), os.path.join(folder, "rife_v4.26.safetensors"))
    save(v4_file_state(tiny_v4("4.7"), "practical"), os.path.join(folder, "rife49.pth"))
    save(v4_file_state(tiny_v4("4.17"), "practical"), os.path.join(folder, "rife417.pkl"))
    save(v4_file_state(tiny_v4("4.6"), "comfy"), os.path.join(folder, "rife46.pth"))
    save(v4_file_state(tiny_v4("4.22"), "practical"), os.path.join(folder, "rife422.safetensors"))
    film = tiny_film()
    save(film.state_dict(), os.path.join(folder, "film_net_fp32.safetensors"))
    save_torchscript(film_torchscript_state(film), os.path.join(folder, "film_net_fp32.pt"))
    save(film_torchscript_state(film), os.path.join(folder, "film_net.pth"))
    save({"first_stage_model.decoder.conv_in.weight": torch.zeros(4, 4, 3, 3)}, os.path.join(folder, "vae.safetensors"))
    INSTALLED.append(f"frame_interpolation/{{{','.join(INTERPOLATION_FILES)},vae.safetensors}} (random)")


def _install_animatediff_models(models_dir: str) -> None:
    """The AnimateDiff fixtures (tests/support/fixtures/animatediff): the tiny SD 1.5 single file and ControlNet saved as
    diffusers folders (converted with their tiny configs), motion module and motion LoRA in their original layouts."""
    import shutil

    from unflicker.generate import animatediff as ad

    fixtures = os.path.join(FIXTURES, "animatediff")
    config = os.path.join(fixtures, "tiny_config")
    if not os.path.isdir(config):
        return
    from diffusers import StableDiffusionPipeline

    sd = ad.load_sd15(os.path.join(fixtures, "tiny_sd15.safetensors"), config_dir=config)
    StableDiffusionPipeline(**sd.components).save_pretrained(os.path.join(models_dir, "diffusers", "tiny_sd"))
    shutil.copy(os.path.join(fixtures, "tiny_mm.ckpt"), os.path.join(models_dir, "animatediff_models"))
    shutil.copy(os.path.join(fixtures, "tiny_motion_lora.ckpt"), os.path.join(models_dir, "animatediff_motion_lora"))
    shutil.copy(os.path.join(fixtures, "tiny_image_lora.safetensors"), os.path.join(models_dir, "loras"))
    ad.load_controlnet(os.path.join(fixtures, "tiny_controlnet.pth"), config_dir=os.path.join(config, "controlnet")
                       ).save_pretrained(os.path.join(models_dir, "controlnet", "tiny_cn"))
    INSTALLED.extend(["diffusers/tiny_sd", "animatediff_models/tiny_mm.ckpt",
                      "animatediff_motion_lora/tiny_motion_lora.ckpt", "loras/tiny_image_lora.safetensors",
                      "controlnet/tiny_cn"])


def _install_openpose_body(models_dir: str) -> None:
    """A random-weight OpenPose body network (full size, ~200 MB) with the released file's key names."""
    import torch

    from unflicker.generate import pose as op

    started = time.monotonic()
    torch.manual_seed(0)
    state = {op.standard_key(k): v for k, v in op.BodyPoseNet().state_dict().items()}
    torch.save(state, os.path.join(models_dir, "openpose", op.BODY_WEIGHTS))
    INSTALLED.append(f"openpose/{op.BODY_WEIGHTS} (random, written in {time.monotonic() - started:.1f} s)")


def install_core_interpolation_only(folder: str, name: str = "rife47.pth") -> str:
    """A models/frame_interpolation folder holding one file as a user of core's frame interpolation has it (a
    tiny random RIFE v4.7 in ComfyUI-Frame-Interpolation's layout), and nothing else."""
    from interp_weights import save, tiny_v4, v4_file_state

    os.makedirs(folder, exist_ok=True)
    save(v4_file_state(tiny_v4("4.7"), "practical"), os.path.join(folder, name))
    return folder

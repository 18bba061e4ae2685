"""AnimateDiff engine on tiny random-weight models (tests/support/fixtures/animatediff, made by make_fixtures.py), real
diffusers pipelines on CPU. Every load below runs with sockets blocked: nothing may reach the network."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from tiny_animatediff import CKPT, CN, CONFIG, FIX, LORA, MM, SMALL, no_network, stick_figures
from unflicker.generate import animatediff as ad
from unflicker.errors import UnflickerError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    with no_network():
        return ad.load_animatediff(CKPT, MM, scheduler="DDIM", config_dir=CONFIG, vae_slicing=True, device="cpu")


@pytest.fixture(scope="module")
def controlnet():
    with no_network():
        return ad.load_controlnet(CN, config_dir=os.path.join(CONFIG, "controlnet"))


@pytest.fixture(scope="module")
def baseline(model):
    return ad.generate(model, "a cat walking", **SMALL)


def test_single_file_loading_is_offline_and_exact(model):
    """Original-layout checkpoint and motion module convert to the weights the fixture script started from."""
    from safetensors.torch import load_file

    ckpt = load_file(CKPT)
    unet = model.pipe.unet
    assert torch.equal(unet.conv_in.weight, ckpt["model.diffusion_model.input_blocks.0.0.weight"].float())
    assert torch.equal(model.pipe.vae.decoder.conv_out.weight, ckpt["first_stage_model.decoder.conv_out.weight"].float())
    mm = torch.load(MM, weights_only=True)
    key = "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.1.to_v.weight"
    assert torch.equal(unet.down_blocks[0].motion_modules[0].transformer_blocks[0].attn2.to_v.weight, mm[key].float())
    assert model.motion_length == 32 and model.pipe.motion_adapter.config.use_motion_mid_block
    assert type(model.pipe.tokenizer).__name__.startswith("CLIPTokenizer")
    assert model.pipe.tokenizer("a cat").input_ids == [49406, 320, 2368, 49407]  # the real CLIP BPE vocabulary


def test_controlnet_single_file_offline(controlnet):
    cn = torch.load(CN, weights_only=True)
    assert torch.equal(controlnet.controlnet_mid_block.weight, cn["control_model.middle_block_out.0.weight"].float())
    assert torch.equal(controlnet.controlnet_cond_embedding.blocks[0].weight,
                       cn["control_model.input_hint_block.2.weight"].float())


def test_text_to_video_and_seed_reproducibility(model, baseline):
    assert baseline.shape == (4, 32, 32, 3) and baseline.dtype == np.float32
    assert np.isfinite(baseline).all() and 0.0 <= baseline.min() and baseline.max() <= 1.0
    assert baseline.std() > 1e-3 and np.abs(np.diff(baseline, axis=0)).max() > 0  # frames differ
    again = ad.generate(model, "a cat walking", **SMALL)
    np.testing.assert_array_equal(again, baseline)
    other = ad.generate(model, "a cat walking", **{**SMALL, "seed": 8})
    assert np.abs(other - baseline).max() > 1e-3


def test_motion_lora_changes_output_strength_zero_does_not_and_loras_stack(model, baseline):
    one = ad.generate(model.with_lora(LORA, 1.0), "a cat walking", **SMALL)
    assert np.abs(one - baseline).max() > 1e-3
    # every projection of the file found its layer (PEFT skips unknown names silently)
    layers = [m for m in model.pipe.unet.modules() if "motion_lora_0" in getattr(m, "lora_A", {})]
    assert len(layers) == len(ad.motion_lora_state_dict(LORA)) // 2 == 56
    zero = ad.generate(model.with_lora(LORA, 0.0), "a cat walking", **SMALL)
    np.testing.assert_array_equal(zero, baseline)
    stacked = ad.generate(model.with_lora(LORA, 1.0).with_lora(LORA, 0.5), "a cat walking", **SMALL)
    assert np.abs(stacked - one).max() > 1e-4
    # the loader's own pipeline is left as it was: no LoRA once the model without LoRAs generates again
    np.testing.assert_array_equal(ad.generate(model, "a cat walking", **SMALL), baseline)


def test_motion_lora_in_diffusers_layout_matches_original(model, tmp_path):
    """The same LoRA saved as diffusers ships them (unet.-prefixed, diffusers block names) gives the same video."""
    from safetensors.torch import save_file

    converted = ad.motion_lora_state_dict(LORA)
    assert all(k.startswith("unet.") and ".temporal_transformer." not in k for k in converted)
    save_file(converted, str(tmp_path / "diffusion_pytorch_model.safetensors"))
    original = ad.generate(model.with_lora(LORA, 0.7), "a cat walking", **SMALL)
    diffusers_layout = ad.generate(model.with_lora(tmp_path, 0.7), "a cat walking", **SMALL)
    np.testing.assert_allclose(diffusers_layout, original, atol=1e-6)


def test_sliding_window_beyond_context_length(model, baseline):
    frames = ad.generate(model, "a cat walking", **{**SMALL, "num_frames": 10}, context_length=4, context_overlap=1)
    assert frames.shape == (10, 32, 32, 3) and np.isfinite(frames).all()
    assert model.pipe.free_noise_enabled and model.pipe._free_noise_context_stride == 3
    # windows off again for a short clip: exactly the plain pipeline
    np.testing.assert_array_equal(ad.generate(model, "a cat walking", **SMALL), baseline)
    assert not model.pipe.free_noise_enabled


def test_prompt_schedule(model, baseline):
    schedule = ad.parse_prompt_schedule("0: a cat walking\n2: a red car driving")
    assert schedule == {0: "a cat walking", 2: "a red car driving"}
    frames = ad.generate(model, schedule, **SMALL)
    assert frames.shape == baseline.shape
    assert np.abs(frames[-1] - baseline[-1]).max() > 1e-3  # later frames follow the second prompt
    assert ad.parse_prompt_schedule("just one prompt") == "just one prompt"
    assert ad.parse_prompt_schedule("8: late start") == {0: "late start", 8: "late start"}
    with pytest.raises(UnflickerError, match="outside"):
        ad.generate(model, {0: "a", 9: "b"}, **SMALL)


def test_controlnet_follows_pose_frames(model, controlnet, baseline):
    poses = stick_figures(4)
    posed = ad.generate(model, "a cat walking", **SMALL, controlnet=controlnet, control_frames=poses)
    assert posed.shape == baseline.shape and np.abs(posed - baseline).max() > 1e-3
    flipped = ad.generate(model, "a cat walking", **SMALL, controlnet=controlnet, control_frames=poses[:, :, ::-1])
    assert np.abs(flipped - posed).max() > 1e-2  # the video follows the pose, not just the ControlNet biases
    off = ad.generate(model, "a cat walking", **SMALL, controlnet=controlnet, control_frames=poses,
                      controlnet_scale=0.0)
    np.testing.assert_allclose(off, baseline, atol=1e-5)
    with pytest.raises(UnflickerError, match="control_frames"):
        ad.generate(model, "a cat walking", **SMALL, controlnet=controlnet, control_frames=poses[:2])


def test_progress_per_step_and_interrupt(model, baseline):
    seen = []
    ad.generate(model, "a cat walking", **SMALL, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop()

    with pytest.raises(Stop):
        ad.generate(model, "a cat walking", **SMALL, progress=stop)
    np.testing.assert_array_equal(ad.generate(model, "a cat walking", **SMALL), baseline)


def test_wrong_file_kinds_are_named(tmp_path):
    with pytest.raises(UnflickerError, match="motion LoRA.*Motion LoRA node"):
        ad.load_motion_adapter(LORA)
    with pytest.raises(UnflickerError, match="motion module.*AnimateDiff Loader"):
        ad.motion_lora_state_dict(MM)
    with pytest.raises(UnflickerError, match="checkpoint:.*motion module"):
        ad.load_sd15(MM, config_dir=CONFIG)
    with pytest.raises(UnflickerError, match="motion_module:.*Stable Diffusion checkpoint"):
        ad.load_animatediff(CKPT, CKPT, config_dir=CONFIG)
    with pytest.raises(UnflickerError, match="does not exist"):
        ad.load_motion_adapter(tmp_path / "missing.ckpt")
    import argparse

    torch.save({"state_dict": torch.load(MM, weights_only=True), "args": argparse.Namespace(lr=1)}, tmp_path / "p.ckpt")
    with pytest.raises(UnflickerError, match="pickled Python objects"):
        ad.load_motion_adapter(tmp_path / "p.ckpt")


def test_v3_style_module_without_mid_block_and_adapter_safetensors(model, tmp_path):
    """v3_sd15_mm.ckpt has no mid-block motion module; adapter .safetensors files use diffusers key names."""
    from safetensors.torch import save_file

    v3 = {k: v for k, v in torch.load(MM, weights_only=True).items() if not k.startswith("mid_block.")}
    torch.save(v3, tmp_path / "v3_style.ckpt")
    save_file(model.pipe.motion_adapter.state_dict(), str(tmp_path / "adapter.safetensors"))
    with no_network():
        loaded = ad.load_motion_adapter(tmp_path / "adapter.safetensors").state_dict()
        v3_model = ad.load_animatediff(CKPT, tmp_path / "v3_style.ckpt", config_dir=CONFIG, device="cpu")
    for key, value in model.pipe.motion_adapter.state_dict().items():
        assert torch.allclose(loaded[key], value, atol=1e-3 if key.endswith(".pe") else 0.0), key
    assert not v3_model.pipe.motion_adapter.config.use_motion_mid_block
    long = ad.generate(v3_model, "a cat walking", **{**SMALL, "num_frames": 6}, context_length=4, context_overlap=2)
    short = ad.generate(v3_model, "a cat walking", **SMALL)  # windows switched off again on a mid block without them
    assert long.shape[0] == 6 and short.shape[0] == 4 and np.isfinite(long).all()


def test_diffusers_folders_load_offline(model, controlnet, tmp_path):
    model.pipe.motion_adapter.save_pretrained(tmp_path / "adapter")
    controlnet.save_pretrained(tmp_path / "cn")
    from diffusers import StableDiffusionPipeline

    p = model.pipe
    StableDiffusionPipeline(vae=p.vae, text_encoder=p.text_encoder, tokenizer=p.tokenizer,
                            unet=ad.load_sd15(CKPT, config_dir=CONFIG).unet, scheduler=p.scheduler,
                            safety_checker=None, feature_extractor=None,
                            requires_safety_checker=False).save_pretrained(tmp_path / "sd")
    with no_network():
        folder_model = ad.load_animatediff(tmp_path / "sd", tmp_path / "adapter", device="cpu")
        assert ad.model_kind(str(tmp_path / "cn")) == "controlnet"
        ad.load_controlnet(tmp_path / "cn")
    for a, b in zip(folder_model.pipe.unet.parameters(), model.pipe.unet.parameters()):
        assert torch.equal(a, b)


def test_schedulers_and_shipped_sd15_configs():
    from accelerate import init_empty_weights
    from diffusers import ControlNetModel, UNet2DConditionModel

    base = dict(ad.make_scheduler("DDIM", {"beta_start": 0.00085, "beta_end": 0.012}).config)
    names = {name: type(ad.make_scheduler(name, base)).__name__ for name in ad.SCHEDULERS}
    assert names == {"DDIM": "DDIMScheduler", "Euler": "EulerDiscreteScheduler",
                     "Euler a": "EulerAncestralDiscreteScheduler", "DPM++ 2M": "DPMSolverMultistepScheduler",
                     "DPM++ 2M Karras": "DPMSolverMultistepScheduler", "LCM": "LCMScheduler"}
    assert ad.make_scheduler("LCM", base, beta_schedule="scaled_linear").config.beta_schedule == "linear"
    assert ad.make_scheduler("DPM++ 2M Karras", base).config.use_karras_sigmas
    with pytest.raises(UnflickerError, match="scheduler"):
        ad.make_scheduler("PLMS", base)
    # the shipped configs describe real SD 1.5 (parameter counts of the released UNet and ControlNet)
    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(str(ad.SD15_CONFIG_DIR / "unet")))
        cn = ControlNetModel.from_config(ControlNetModel.load_config(str(ad.SD15_CONFIG_DIR / "controlnet")))
    assert sum(p.numel() for p in unet.parameters()) == 859_520_964
    assert sum(p.numel() for p in cn.parameters()) == 361_279_120


def test_cli_writes_a_video_with_lora_and_controlnet(tmp_path):
    from unflicker import cli
    from unflicker.media import video

    control = str(tmp_path / "poses.mp4")
    video.write_video(control, stick_figures(4), 8.0)
    out = str(tmp_path / "clip.mp4")
    with no_network():
        code = cli.main(["animatediff", CKPT, MM, out, "--prompt", "0: a cat\n2: a dog",
                        "--frames", "4", "--width", "32", "--height", "32", "--steps", "2", "--config-dir", CONFIG,
                        "--lora", f"{LORA}:0.8", "--controlnet", CN, "--control-video", control, "--fps", "12"])
    assert code == 0
    frames, info = video.read_video(out)
    assert frames.shape == (4, 32, 32, 3) and abs(info.fps - 12.0) < 0.01
    assert cli.main(["animatediff", CKPT, LORA, out, "--prompt", "x", "--config-dir", CONFIG]) == 2

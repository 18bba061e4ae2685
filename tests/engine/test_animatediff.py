"""AnimateDiff engine on tiny random-weight models (tests/support/fixtures/animatediff, made by make_fixtures.py), real
diffusers pipelines on CPU. Every load below runs with sockets blocked: nothing may reach the network."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from tiny_animatediff import (CKPT, CN, CONFIG, FIX, IMAGE_LORA, IMAGE_LORA_PEFT, LORA, MM, SMALL, no_network,
                               stick_figures)
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


def _layers_with(module, adapter: str) -> int:
    return sum(adapter in getattr(m, "lora_A", {}) for m in module.modules())


def test_image_lora_changes_output_strength_zero_does_not(model, baseline):
    one = ad.generate(model.with_image_lora(IMAGE_LORA, 1.0), "a cat walking", **SMALL)
    assert np.abs(one - baseline).max() > 1e-3
    # every layer of the kohya file found its layer, in the UNet and in the text encoder (PEFT skips unknown names
    # silently; transformers >= 5.6 names the text encoder's layers without "text_model.", the file with it)
    unet, text = _layers_with(model.pipe.unet, "image_lora_0"), _layers_with(model.pipe.text_encoder, "image_lora_0")
    assert (unet, text) == (48, 6) and unet + text == ad.lora_layer_count(ad.image_lora_state_dict(IMAGE_LORA))
    assert _layers_with(model.pipe.unet.down_blocks[0].motion_modules, "image_lora_0") == 0  # spatial layers only
    half = ad.generate(model.with_image_lora(IMAGE_LORA, 0.5), "a cat walking", **SMALL)
    assert 1e-4 < np.abs(half - baseline).max() and np.abs(half - one).max() > 1e-4
    zero = ad.generate(model.with_image_lora(IMAGE_LORA, 0.0), "a cat walking", **SMALL)
    np.testing.assert_array_equal(zero, baseline)
    np.testing.assert_array_equal(ad.generate(model, "a cat walking", **SMALL), baseline)  # nothing left loaded


def test_image_lora_kohya_and_diffusers_layouts_agree(model, tmp_path):
    """The kohya/A1111 file (alpha applied by diffusers), the same LoRA in the diffusers/PEFT layout, that file in a
    folder as diffusers saves it, and a PEFT save of its UNet part without the "unet." prefix."""
    from safetensors.torch import load_file, save_file

    kohya = ad.generate(model.with_image_lora(IMAGE_LORA, 0.8), "a cat walking", **SMALL)
    peft = ad.generate(model.with_image_lora(IMAGE_LORA_PEFT, 0.8), "a cat walking", **SMALL)
    np.testing.assert_allclose(peft, kohya, atol=1e-5)
    (tmp_path / "folder").mkdir()
    save_file(load_file(IMAGE_LORA_PEFT), str(tmp_path / "folder" / "pytorch_lora_weights.safetensors"))
    np.testing.assert_array_equal(ad.generate(model.with_image_lora(tmp_path / "folder", 0.8), "a cat walking",
                                              **SMALL), peft)
    unet_only = {k: v for k, v in load_file(IMAGE_LORA_PEFT).items() if k.startswith("unet.")}
    save_file(unet_only, str(tmp_path / "unet_peft.safetensors"))
    save_file({f"base_model.model.{k[5:]}": v for k, v in unet_only.items()}, str(tmp_path / "bare.safetensors"))
    np.testing.assert_array_equal(ad.generate(model.with_image_lora(tmp_path / "bare.safetensors", 0.8),
                                              "a cat walking", **SMALL),
                                  ad.generate(model.with_image_lora(tmp_path / "unet_peft.safetensors", 0.8),
                                              "a cat walking", **SMALL))


def test_motion_and_image_loras_stack_in_either_order(model, baseline):
    motion = ad.generate(model.with_lora(LORA, 0.8), "a cat walking", **SMALL)
    image = ad.generate(model.with_image_lora(IMAGE_LORA, 0.7), "a cat walking", **SMALL)
    both = ad.generate(model.with_lora(LORA, 0.8).with_image_lora(IMAGE_LORA, 0.7), "a cat walking", **SMALL)
    assert min(np.abs(both - motion).max(), np.abs(both - image).max(), np.abs(both - baseline).max()) > 1e-3
    # motion LoRAs load before image LoRAs whatever the chain's order: the same adapters, the same sums
    reverse = ad.generate(model.with_image_lora(IMAGE_LORA, 0.7).with_lora(LORA, 0.8), "a cat walking", **SMALL)
    np.testing.assert_array_equal(reverse, both)
    # each at its own strength: one at 0 leaves exactly the other
    np.testing.assert_array_equal(ad.generate(model.with_image_lora(IMAGE_LORA, 0.0).with_lora(LORA, 0.8),
                                              "a cat walking", **SMALL), motion)
    other = ad.generate(model.with_lora(LORA, 0.8).with_image_lora(IMAGE_LORA, 0.3), "a cat walking", **SMALL)
    assert np.abs(other - both).max() > 1e-4
    # two image LoRAs stack too
    two = ad.generate(model.with_image_lora(IMAGE_LORA, 0.7).with_image_lora(IMAGE_LORA_PEFT, 0.5),
                      "a cat walking", **SMALL)
    assert np.abs(two - image).max() > 1e-4


def test_image_lora_with_windows_and_controlnet(model, controlnet, baseline):
    """Switching FreeNoise windows or the ControlNet pipeline reloads the LoRAs, text encoder included."""
    styled = model.with_image_lora(IMAGE_LORA, 0.9)
    one = ad.generate(styled, "a cat walking", **SMALL)
    windowed = ad.generate(styled, "a cat walking", **{**SMALL, "num_frames": 6}, context_length=4, context_overlap=2)
    plain_windowed = ad.generate(model, "a cat walking", **{**SMALL, "num_frames": 6}, context_length=4,
                                 context_overlap=2)
    assert windowed.shape[0] == 6 and np.abs(windowed - plain_windowed).max() > 1e-3
    poses = stick_figures(4)
    posed = ad.generate(styled, "a cat walking", **SMALL, controlnet=controlnet, control_frames=poses)
    plain_posed = ad.generate(model, "a cat walking", **SMALL, controlnet=controlnet, control_frames=poses)
    assert np.abs(posed - plain_posed).max() > 1e-3
    np.testing.assert_array_equal(ad.generate(styled, "a cat walking", **SMALL), one)


def _save_lora(path, keys, width=32):
    from safetensors.torch import save_file

    state = {}
    for key in keys:
        state[key] = torch.zeros(2, width) if "down" in key or "lora_A" in key else torch.zeros(width, 2)
    save_file(state, str(path))
    return path


def test_wrong_kinds_refused_as_image_and_motion_loras(model, baseline, tmp_path):
    with pytest.raises(UnflickerError, match="lora_name: tiny_motion_lora.ckpt is a motion LoRA, not an SD 1.5 "
                                             "image LoRA; load it with the Motion LoRA node"):
        model.with_image_lora(LORA, 1.0)
    with pytest.raises(UnflickerError, match=r"tiny_image_lora.safetensors is an SD 1.5 image LoRA, not a motion "
                                             r"LoRA; load it with the Image LoRA \(AnimateDiff\) node"):
        model.with_lora(IMAGE_LORA, 1.0)
    with pytest.raises(UnflickerError, match="is an SD 1.5 image LoRA, not an AnimateDiff motion module"):
        ad.load_motion_adapter(IMAGE_LORA)
    with pytest.raises(UnflickerError, match="is a Stable Diffusion checkpoint, not an SD 1.5 image LoRA"):
        model.with_image_lora(CKPT, 1.0)
    with pytest.raises(UnflickerError, match="is an AnimateDiff motion module, not an SD 1.5 image LoRA"):
        ad.image_lora_state_dict(MM)
    with pytest.raises(UnflickerError, match="is a ControlNet, not an SD 1.5 image LoRA"):
        model.with_image_lora(CN, 1.0)
    sdxl = _save_lora(tmp_path / "sdxl.safetensors", ["lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight",
                                                      "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight"])
    with pytest.raises(UnflickerError, match="sdxl.safetensors is an SDXL LoRA"):
        model.with_image_lora(sdxl, 1.0)
    loha = _save_lora(tmp_path / "loha.safetensors", ["lora_unet_mid_block_attentions_0_proj_in.hada_w1_a"])
    with pytest.raises(UnflickerError, match="loha.safetensors is a LyCORIS LoHa/LoKr file"):
        model.with_image_lora(loha, 1.0)
    with pytest.raises(UnflickerError, match="strength"):
        model.with_image_lora(IMAGE_LORA, 11.0)


def test_image_lora_of_another_model_is_refused_when_loaded(model, baseline, tmp_path):
    """LoRA files of other models, which only loading tells apart: Flux-style kohya and diffusers files (no such
    layers) and an SD 1.5-named file of other widths (as an SD 2 or SDXL UNet LoRA); nothing stays loaded after."""
    flux = _save_lora(tmp_path / "flux.safetensors", ["lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight",
                                                      "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight"])
    with pytest.raises(UnflickerError, match="flux.safetensors does not fit this SD 1.5 model"):
        ad.generate(model.with_lora(LORA, 0.8).with_image_lora(flux, 1.0), "a cat walking", **SMALL)
    name = "transformer.single_transformer_blocks.0.attn.to_q"
    flux = _save_lora(tmp_path / "flux_diffusers.safetensors", [f"{name}.lora_A.weight", f"{name}.lora_B.weight"])
    with pytest.raises(UnflickerError, match="none of the 1 layers of flux_diffusers.safetensors exist in this SD"):
        ad.generate(model.with_image_lora(flux, 1.0), "a cat walking", **SMALL)
    name = "unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k"
    wide = _save_lora(tmp_path / "wide.safetensors", [f"{name}.lora_A.weight", f"{name}.lora_B.weight"], width=64)
    with pytest.raises(UnflickerError, match="wide.safetensors does not fit this SD 1.5 model"):
        ad.generate(model.with_image_lora(wide, 1.0), "a cat walking", **SMALL)
    assert _layers_with(model.pipe.unet, "motion_lora_0") == 0
    np.testing.assert_array_equal(ad.generate(model, "a cat walking", **SMALL), baseline)


def test_sliding_window_beyond_context_length(model, baseline):
    frames = ad.generate(model, "a cat walking", **{**SMALL, "num_frames": 10}, context_length=4, context_overlap=1)
    assert frames.shape == (10, 32, 32, 3) and np.isfinite(frames).all()
    assert model.pipe.free_noise_enabled and model.pipe._free_noise_context_stride == 3
    # the windows the plan reports are those diffusers ran: (0, 4), (3, 7), (6, 10)
    from diffusers.models.attention import FreeNoiseTransformerBlock

    block = next(m for m in model.pipe.unet.modules() if isinstance(m, FreeNoiseTransformerBlock))
    assert [start for start, _ in block._get_frame_indices(10)] == ad.window_starts(10, 4, 3) == [0, 3, 6]
    decided = ad.plan(ad.AnimateDiffSettings(prompt="a cat walking", **{**SMALL, "num_frames": 10},
                                             context_length=4, context_overlap=1))
    assert (decided.segment_starts, decided.window_overlap) == ((3, 6), 1)
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
                        "--lora", f"{LORA}:0.8", "--image-lora", f"{IMAGE_LORA}:0.7", "--image-lora",
                        IMAGE_LORA_PEFT, "--controlnet", CN, "--control-video", control, "--fps", "12"])
    assert code == 0
    frames, info = video.read_video(out)
    assert frames.shape == (4, 32, 32, 3) and abs(info.fps - 12.0) < 0.01
    assert cli.main(["animatediff", CKPT, LORA, out, "--prompt", "x", "--config-dir", CONFIG]) == 2
    assert cli.main(["animatediff", CKPT, MM, out, "--prompt", "x", "--config-dir", CONFIG, "--frames", "4",
                     "--width", "32", "--height", "32", "--steps", "1", "--image-lora", f"{LORA}:0.5"]) == 2


@pytest.mark.parametrize("frames, length, overlap, starts, shared", [
    (48, 16, 4, (12, 24, 32), 4),  # the long workflow: windows 0, 12, 24 and one ending on the last frame (32)
    (16, 16, 4, (), 0),  # one window: no seams
    (8, 16, 4, (), 0),
    (30, 16, 4, (12,), 4),  # the last window (14) lies in the overlap that starts at 12: one blend, not two
    (40, 16, 12, (4, 16), 12),  # heavy overlap: starts a whole overlap apart, so the blends tile the clip
    (32, 16, 0, (16,), 0),  # no overlap: a hard cut
])
def test_window_segment_starts(frames, length, overlap, starts, shared):
    decided = ad.plan(ad.AnimateDiffSettings(prompt="a cat", num_frames=frames, context_length=length,
                                             context_overlap=overlap))
    assert (decided.segment_starts, decided.window_overlap) == (starts, shared)
    scheduled = ad.plan(ad.AnimateDiffSettings(prompt="0: a cat\n4: a dog", num_frames=8, context_length=16))
    assert scheduled.window is not None and (scheduled.segment_starts, scheduled.window_overlap) == ((), 0)

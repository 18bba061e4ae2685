"""Single-file SVD checkpoints in the original layout -> diffusers, checked against ComfyUI's own models.

The fixture was made by tests/support/fixtures/make_svd_single_file.py with ComfyUI's model classes; its reference file
holds ComfyUI's outputs for fixed inputs, so these tests compare our conversion + diffusers with ComfyUI.
"""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from unflicker.generate import svd, svd_convert
from unflicker.errors import UnflickerError
from conftest import FIXTURES

CHECKPOINT = os.path.join(FIXTURES, "svd_tiny_single_file.safetensors")
TINY_CONFIG = os.path.join(FIXTURES, "svd_tiny_config")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module", autouse=True)
def free_pipeline_after():
    yield
    svd.free_pipeline()



@pytest.fixture(scope="module")
def converted():
    return svd_convert.pipeline_from_single_file(CHECKPOINT, torch.float32, config=TINY_CONFIG)


@pytest.fixture(scope="module")
def reference():
    return load_file(os.path.join(FIXTURES, "svd_tiny_reference.safetensors"))


def clip_pixels():
    # Same formula as make_svd_single_file.clip_pixels.
    yy, xx = torch.meshgrid(torch.arange(224.0), torch.arange(224.0), indexing="ij")
    return torch.stack([torch.sin(xx / 7.0), torch.cos(yy / 11.0), torch.sin((xx + yy) / 13.0)])[None] * 1.5


def assert_close(actual, expected):
    # fp32 on both sides; differences are summation order only (observed max ~5e-5 on values ~0.4).
    torch.testing.assert_close(actual, expected, atol=2e-4, rtol=1e-3)


def test_unet_matches_comfyui(converted, reference):
    with torch.no_grad():
        out = converted.unet(reference["unet_x"][None], reference["unet_t"],
                             encoder_hidden_states=reference["unet_context"],
                             added_time_ids=reference["unet_time_ids"]).sample[0]
    assert_close(out, reference["unet_out"])


def test_vae_matches_comfyui(converted, reference):
    with torch.no_grad():
        moments = converted.vae.quant_conv(converted.vae.encoder(reference["vae_in"]))
        decoded = converted.vae.decode(reference["vae_z"], num_frames=len(reference["vae_z"])).sample
    assert_close(moments, reference["vae_moments"])
    assert_close(decoded, reference["vae_decoded"])


def test_image_encoder_matches_comfyui(converted, reference):
    with torch.no_grad():
        embeds = converted.image_encoder(clip_pixels()).image_embeds
    assert_close(embeds, reference["clip_embeds"])


def test_single_file_and_diffusers_folder_give_identical_videos(tmp_path):
    image = (np.random.default_rng(3).random((64, 64, 3)) * 255).astype(np.uint8)
    settings = dict(width=64, height=64, num_frames=4, steps=2, seed=7)
    from_file = svd.load_pipeline(CHECKPOINT, "cpu", config=TINY_CONFIG, cache=False)
    video_file = svd.generate(from_file, image, **settings).frames
    folder = str(tmp_path / "as-diffusers")
    from_file.pipe.save_pretrained(folder)
    from_folder = svd.load_pipeline(folder, "cpu", cache=False)
    for name in ("unet", "vae", "image_encoder"):
        a, b = getattr(from_file.pipe, name).state_dict(), getattr(from_folder.pipe, name).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    np.testing.assert_array_equal(video_file, svd.generate(from_folder, image, **settings).frames)
    assert video_file.shape == (4, 64, 64, 3)


def test_single_file_loading_touches_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    model = svd.load_pipeline(CHECKPOINT, "cpu", config=TINY_CONFIG, cache=False)
    assert model.pipe.unet.config.num_frames == 4


def _meta(shapes: dict) -> dict:
    return {k: torch.empty(v, device="meta") for k, v in shapes.items()}


def _diffusers_shapes(cls, config: dict) -> dict:
    with torch.device("meta"):
        model = cls.from_config(config)
    return {k: list(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", svd_convert.CONFIG_NAMES)
def test_real_svd_layout_converts_onto_the_shipped_configs(name):
    """ComfyUI's full-size SVD UNet/VAE key names and shapes map exactly onto diffusers models from our configs."""
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel

    with open(os.path.join(FIXTURES, "svd_real_keys.json")) as f:
        real = json.load(f)
    folder = svd_convert.config_dir(name)
    with open(os.path.join(folder, "unet", "config.json")) as f:
        unet_config = json.load(f)
    with open(os.path.join(folder, "vae", "config.json")) as f:
        vae_config = json.load(f)
    unet = {k: list(v.shape) for k, v in svd_convert.convert_unet(_meta(real["unet"]), 2).items()}
    assert unet == _diffusers_shapes(UNetSpatioTemporalConditionModel, unet_config)
    vae = {k: list(v.shape) for k, v in svd_convert.convert_vae(_meta(real["vae"])).items()}
    assert vae == _diffusers_shapes(AutoencoderKLTemporalDecoder, vae_config)


def test_open_clip_vit_h_layout_converts_onto_the_shipped_config():
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    width, layers = 1280, 32
    open_clip = {"class_embedding": [width], "positional_embedding": [257, width], "conv1.weight": [width, 3, 14, 14],
                 "ln_pre.weight": [width], "ln_pre.bias": [width], "ln_post.weight": [width],
                 "ln_post.bias": [width], "proj": [width, 1024]}
    for i in range(layers):
        p = f"transformer.resblocks.{i}."
        open_clip.update({p + "ln_1.weight": [width], p + "ln_1.bias": [width], p + "ln_2.weight": [width],
                          p + "ln_2.bias": [width], p + "attn.in_proj_weight": [3 * width, width],
                          p + "attn.in_proj_bias": [3 * width], p + "attn.out_proj.weight": [width, width],
                          p + "attn.out_proj.bias": [width], p + "mlp.c_fc.weight": [4 * width, width],
                          p + "mlp.c_fc.bias": [4 * width], p + "mlp.c_proj.weight": [width, 4 * width],
                          p + "mlp.c_proj.bias": [width]})
    converted = {k: list(v.shape) for k, v in svd_convert.convert_image_encoder(_meta(open_clip)).items()}
    with open(os.path.join(svd_convert.config_dir("svd"), "image_encoder", "config.json")) as f:
        config = {k: v for k, v in json.load(f).items() if k not in ("architectures",)}
    with torch.device("meta"):
        model = CLIPVisionModelWithProjection(CLIPVisionConfig(**config))
    expected = {k: list(v.shape) for k, v in model.state_dict().items() if not k.endswith("position_ids")}
    assert converted == expected


def test_config_is_chosen_from_the_file_name():
    assert svd_convert.config_dir("auto", "/m/svd_xt_1_1.safetensors").endswith(os.path.join("svd", "svd_xt"))
    assert svd_convert.config_dir("auto", "/m/svd.safetensors").endswith(os.path.join("svd", "svd"))
    for name, frames in (("svd", 14), ("svd_xt", 25)):
        with open(os.path.join(svd_convert.config_dir(name), "unet", "config.json")) as f:
            assert json.load(f)["num_frames"] == frames
    with pytest.raises(UnflickerError, match="config must be"):
        svd_convert.config_dir("svd_xxl")


def test_a_checkpoint_that_is_not_svd_is_refused(tmp_path):
    path = str(tmp_path / "sd15.safetensors")
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(4, 4, 3, 3)}, path)
    with pytest.raises(UnflickerError, match="not an SVD checkpoint"):
        svd.load_pipeline(path, "cpu", cache=False)
    # The right prefixes but the wrong shapes: refused with the keys named, not a half-loaded model.
    with pytest.raises(UnflickerError, match="does not match the SVD layout.*config"):
        svd_convert.pipeline_from_single_file(CHECKPOINT, torch.float32, config="svd")

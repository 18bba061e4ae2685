"""Wan from ComfyUI's split files: the tiny transformer/VAE/UMT5 fixtures were written with ComfyUI's own classes
(tests/support/fixtures/make_wan_split_files.py), with ComfyUI's outputs for fixed inputs beside them."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from unflicker.generate import videogen as vg
from unflicker.generate import wan_convert as wc
from unflicker.errors import UnflickerError

from videogen_tiny import WAN_FILES, WAN_SPLIT, cached_tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")
WAN = dict(num_frames=5, width=64, height=64, steps=3)
CONFIG = WAN_FILES["config_dir"]


@pytest.fixture(scope="module", autouse=True)
def free_pipeline_after():
    yield
    vg.free_pipeline()


@pytest.fixture(scope="module")
def reference():
    return load_file(os.path.join(WAN_SPLIT, "wan_tiny_reference.safetensors"))


def config(part):
    with open(os.path.join(CONFIG, part, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def test_transformer_computes_what_comfyui_computes(reference):
    model, variant = wc.load_transformer(WAN_FILES["transformer"], torch.float32, config("transformer"))
    with torch.no_grad():
        out = model(reference["tr_x"], reference["tr_t"], reference["tr_context"], return_dict=False)[0]
    assert variant == "custom"
    torch.testing.assert_close(out, reference["tr_out"], atol=1e-4, rtol=1e-4)


def test_vae_decodes_what_comfyui_decodes(reference):
    vae = wc.load_vae(WAN_FILES["vae"], torch.float32, config("vae"))
    with torch.no_grad():
        out = vae.decode(reference["vae_z"]).sample
    # diffusers clamps the decoded video to -1..1, ComfyUI clamps later
    torch.testing.assert_close(out, reference["vae_out"].clamp(-1, 1), atol=1e-4, rtol=1e-4)


def test_text_encoder_and_embedded_tokenizer_match_comfyui(reference):
    encoder, tokenizer = wc.load_text_encoder(WAN_FILES["text_encoder"], torch.float32, config("text_encoder"))
    ids = tokenizer("a red fox runs across a snowy field").input_ids
    assert ids == reference["te_ids"][0].tolist()  # ComfyUI's SentencePiece ids, end token included
    with torch.no_grad():
        hidden = encoder(reference["te_ids"], torch.ones_like(reference["te_ids"])).last_hidden_state
    torch.testing.assert_close(hidden, reference["te_hidden"], atol=1e-4, rtol=1e-4)


def test_split_files_make_the_same_video_as_the_diffusers_folder():
    split = vg.load_pipeline(vg.WanFiles(**WAN_FILES), "cpu", cache=False)
    folder = vg.load_pipeline(cached_tiny("wan"), "cpu", cache=False)
    assert split.messages == ["loaded from split files as custom"]
    a = vg.generate(split, "a red fox runs across a snowy field", negative_prompt="blurry", seed=7, **WAN).frames
    b = vg.generate(folder, "a red fox runs across a snowy field", negative_prompt="blurry", seed=7, **WAN).frames
    assert a.shape == (5, 64, 64, 3) and a.std() > 0.01
    np.testing.assert_array_equal(a, b)


def test_fp8_scaled_files_are_dequantised(tmp_path):
    """ComfyUI's *_fp8_scaled files: fp8 weights, one scale_weight each, a scaled_fp8 marker."""
    sd = load_file(WAN_FILES["transformer"])
    scaled = {"scaled_fp8": torch.zeros(0, dtype=torch.float8_e4m3fn)}
    for key, value in sd.items():
        if key.endswith(".weight") and value.ndim == 2:
            scale = value.float().abs().max() / 448.0
            scaled[key] = (value.float() / scale).to(torch.float8_e4m3fn)
            scaled[key[:-len("weight")] + "scale_weight"] = scale.reshape(1)
        else:
            scaled[key] = value
    path = str(tmp_path / "wan_tiny_t2v_fp8_e4m3fn_scaled.safetensors")
    save_file(scaled, path)
    exact, _ = wc.load_transformer(WAN_FILES["transformer"], torch.float32, config("transformer"))
    fp8, _ = wc.load_transformer(path, torch.float32, config("transformer"))
    for (name, a), (_, b) in zip(exact.state_dict().items(), fp8.state_dict().items()):
        assert b.dtype == torch.float32
        assert (a - b).abs().max() <= a.abs().max() * 0.07 + 1e-6, name  # within fp8 e4m3 rounding
    files = dict(WAN_FILES, transformer=path)
    video = vg.generate(vg.load_pipeline(vg.WanFiles(**files), "cpu", cache=False), "a cat", seed=1, **WAN).frames
    assert video.shape == (5, 64, 64, 3) and np.isfinite(video).all()


def test_shipped_configs_are_picked_by_shape():
    def fake(dim, in_ch, layers, image=False):
        sd = {"patch_embedding.weight": torch.empty(dim, in_ch, 1, 2, 2, device="meta")}
        sd.update({f"blocks.{i}.attn1.to_q.weight": None for i in range(layers)})
        if image:
            sd["condition_embedder.image_embedder.norm1.weight"] = None
        return sd

    assert wc.transformer_variant(fake(1536, 16, 30)) == "wan2.1_t2v_1.3b.json"
    assert wc.transformer_variant(fake(5120, 16, 40)) == "wan2.1_t2v_14b.json"  # also Wan 2.2 T2V A14B's experts
    assert wc.transformer_variant(fake(5120, 36, 40, image=True)) == "wan2.1_i2v_14b.json"
    assert wc.transformer_variant(fake(5120, 36, 40)) == "wan2.2_i2v_a14b.json"
    assert wc.transformer_variant(fake(3072, 48, 30)) == "wan2.2_ti2v_5b.json"
    with pytest.raises(UnflickerError, match="width 32, 16 input channels and 2 blocks is not one the pack knows"):
        wc.transformer_variant(fake(32, 16, 2))


def test_the_shipped_configs_build_on_the_meta_device():
    """Every shipped config builds its model (no weights) with the shapes of the published checkpoints."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    with init_empty_weights():
        small = WanTransformer3DModel.from_config(wc._config("transformer", "wan2.1_t2v_1.3b.json"))
        vae = AutoencoderKLWan.from_config(wc._config("vae", "wan2.1_vae.json"))
        te = UMT5EncoderModel(UMT5Config(**wc._config("text_encoder", "umt5_xxl.json")))
    assert 1.2e9 < sum(p.numel() for p in small.parameters()) < 1.5e9  # "1.3B"
    assert vae.config.z_dim == 16
    # UMT5-XXL encoder: 5.7B (embed_tokens is the shared embedding, counted once)
    assert 5.5e9 < sum(p.numel() for n, p in te.named_parameters() if "embed_tokens" not in n) < 6.0e9


def test_wrong_files_are_named(tmp_path):
    vae_path, te_path = WAN_FILES["vae"], WAN_FILES["text_encoder"]
    with pytest.raises(UnflickerError, match="transformer: .* is not a Wan diffusion model"):
        wc.load_transformer(vae_path, torch.float32)
    with pytest.raises(UnflickerError, match="vae: .* is not a Wan VAE"):
        wc.load_vae(te_path, torch.float32)
    with pytest.raises(UnflickerError, match="text_encoder: .* is not a UMT5/T5 encoder"):
        wc.load_text_encoder(vae_path, torch.float32)
    wan22 = {k: v for k, v in load_file(vae_path).items()}
    wan22["conv2.weight"] = torch.zeros(48, 48, 1, 1, 1)
    save_file(wan22, str(tmp_path / "wan2.2_vae.safetensors"))
    with pytest.raises(UnflickerError, match="Wan 2.2 VAE .* diffusers folder"):
        wc.load_vae(str(tmp_path / "wan2.2_vae.safetensors"), torch.float32)
    no_tok = {k: v for k, v in load_file(te_path).items() if k != "spiece_model"}
    save_file(no_tok, str(tmp_path / "umt5_no_tokenizer.safetensors"))
    with pytest.raises(UnflickerError, match="no embedded tokenizer .* as tokenizer"):
        wc.load_text_encoder(str(tmp_path / "umt5_no_tokenizer.safetensors"), torch.float32, config("text_encoder"))
    (tmp_path / "broken.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(UnflickerError, match="transformer: broken.safetensors could not be read"):
        wc.load_transformer(str(tmp_path / "broken.safetensors"), torch.float32)


def test_tokenizer_from_a_folder(tmp_path):
    """A text-encoder file without the embedded tokenizer loads with the tokenizer folder of a Wan download."""
    folder_tok = os.path.join(cached_tiny("wan"), "tokenizer")
    no_tok = {k: v for k, v in load_file(WAN_FILES["text_encoder"]).items() if k != "spiece_model"}
    path = str(tmp_path / "umt5_no_tokenizer.safetensors")
    save_file(no_tok, path)
    _, tokenizer = wc.load_text_encoder(path, torch.float32, config("text_encoder"), tokenizer_dir=folder_tok)
    _, embedded = wc.load_text_encoder(WAN_FILES["text_encoder"], torch.float32, config("text_encoder"))
    assert tokenizer("waves crash on the beach").input_ids == embedded("waves crash on the beach").input_ids


@pytest.fixture(scope="module")
def wan21_i2v_files(tmp_path_factory):
    """Wan 2.1 image-to-video split files: the ComfyUI-made tiny I2V transformer, plus a tiny CLIP vision model
    saved as ComfyUI's models/clip_vision files are (transformers' CLIPVisionModelWithProjection names)."""
    import shutil

    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    root = tmp_path_factory.mktemp("wan21-i2v")
    config = root / "config"
    shutil.copytree(CONFIG, config)
    shutil.rmtree(config / "transformer")
    (config / "transformer_i2v").rename(config / "transformer")
    torch.manual_seed(0)
    with open(config / "image_encoder" / "config.json", encoding="utf-8") as f:
        clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**json.load(f)))
    save_file({k: v.half().contiguous() for k, v in clip.state_dict().items()}, str(root / "clip_vision_tiny.safetensors"))
    return dict(WAN_FILES, transformer=os.path.join(WAN_SPLIT, "wan_tiny_i2v.safetensors"), config_dir=str(config),
                clip_vision=str(root / "clip_vision_tiny.safetensors"))


def test_i2v_transformer_computes_what_comfyui_computes(reference, wan21_i2v_files):
    with open(os.path.join(wan21_i2v_files["config_dir"], "transformer", "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    model, _ = wc.load_transformer(wan21_i2v_files["transformer"], torch.float32, cfg)
    with torch.no_grad():
        out = model(reference["i2v_x"], reference["tr_t"], reference["i2v_context"],
                    encoder_hidden_states_image=reference["i2v_clip"], return_dict=False)[0]
    torch.testing.assert_close(out, reference["i2v_out"], atol=1e-4, rtol=1e-4)


def test_wan21_i2v_split_files_make_the_same_video_as_a_diffusers_folder(wan21_i2v_files, tmp_path):
    files = vg.WanFiles(**wan21_i2v_files)
    with pytest.raises(UnflickerError, match="needs its CLIP image encoder: pick clip_vision_h.safetensors"):
        vg.load_pipeline(vg.WanFiles(**dict(wan21_i2v_files, clip_vision="")), "cpu", cache=False)
    split = vg.load_pipeline(files, "cpu", cache=False)
    assert split.info.image_to_video and split.pipe.image_encoder is not None
    split.pipe.save_pretrained(str(tmp_path / "wan21-i2v"))
    folder = vg.load_pipeline(str(tmp_path / "wan21-i2v"), "cpu", cache=False)
    rng = np.random.default_rng(1)
    image = (rng.random((48, 40, 3)) * 255).astype(np.uint8)
    a = vg.generate(split, "a cat", image=image, seed=5, **WAN).frames
    b = vg.generate(folder, "a cat", image=image, seed=5, **WAN).frames
    c = vg.generate(split, "a cat", image=image[::-1].copy(), seed=5, **WAN).frames
    assert a.shape == (5, 64, 64, 3)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3  # the image reaches the model

"""Tiny random-weight CogVideoX and Wan models in diffusers format, for tests and benchmarks.

The architectures are the real ones (CogVideoX 3D transformer + 3D VAE + T5 with a SentencePiece tokenizer; Wan
transformer + Wan VAE + UMT5), only narrow and shallow, so the real diffusers pipelines run on CPU in about a second.
``WAN_CONFIGS`` are the tiny Wan shapes; tests/support/fixtures/make_wan_split_files.py builds the same shapes with ComfyUI's
classes (ComfyUI's split-file layouts) and writes these configs beside them.
"""

from __future__ import annotations

import io
import os
import shutil

import torch

CORPUS = ["a red fox runs across a snowy field", "a cat sits on a warm mat", "waves crash on the beach at sunset",
          "a city street at night with neon lights", "a slow pan over green hills", "ugly blurry static frames"]

COG_TRANSFORMER = dict(num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4, time_embed_dim=8,
                       text_embed_dim=32, num_layers=1, sample_width=4, sample_height=4, sample_frames=9,
                       patch_size=2, temporal_compression_ratio=4, max_text_seq_length=16,
                       use_rotary_positional_embeddings=True)
COG_VAE = dict(in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
               up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
               layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4, sample_height=32, sample_width=32)
COG_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                     prediction_type="v_prediction", rescale_betas_zero_snr=True, set_alpha_to_one=True,
                     snr_shift_scale=3.0, timestep_spacing="trailing", steps_offset=0)
T5 = dict(vocab_size=256, d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2, feed_forward_proj="gated-gelu",
          relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)


# The tiny UMT5 as ComfyUI's T5 class takes it (also transformers' UMT5Config fields).
WAN_UMT5 = {"d_ff": 64, "d_kv": 8, "d_model": 32, "num_heads": 4, "num_layers": 2, "dense_act_fn": "gelu_pytorch_tanh",
        "is_gated_act": True, "model_type": "umt5", "relative_attention_num_buckets": 32, "vocab_size": 64,
        "layer_norm_epsilon": 1e-6, "eos_token_id": 1, "pad_token_id": 0, "decoder_start_token_id": 0,
        "tie_word_embeddings": False, "is_encoder_decoder": True}
WAN_LATENTS_MEAN = [round(0.1 * (i - 8) / 8, 4) for i in range(16)]
WAN_LATENTS_STD = [round(1.0 + 0.5 * i / 16, 4) for i in range(16)]

# diffusers/transformers configs of the tiny Wan parts, by component folder.
WAN_CONFIGS = {
    "transformer": {
        "_class_name": "WanTransformer3DModel", "patch_size": [1, 2, 2], "num_attention_heads": 2,
        "attention_head_dim": 16, "in_channels": 16, "out_channels": 16, "text_dim": 32, "freq_dim": 32,
        "ffn_dim": 64, "num_layers": 2, "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "eps": 1e-6,
        "image_dim": None, "added_kv_proj_dim": None, "rope_max_seq_len": 1024},
    "transformer_i2v": {
        "_class_name": "WanTransformer3DModel", "patch_size": [1, 2, 2], "num_attention_heads": 2,
        "attention_head_dim": 16, "in_channels": 36, "out_channels": 16, "text_dim": 32, "freq_dim": 32,
        "ffn_dim": 64, "num_layers": 2, "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "eps": 1e-6,
        "image_dim": 1280, "added_kv_proj_dim": 32, "rope_max_seq_len": 1024},
    "image_encoder": {
        "architectures": ["CLIPVisionModel"], "model_type": "clip_vision_model", "hidden_size": 1280,
        "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 16, "image_size": 224,
        "patch_size": 14, "projection_dim": 32, "hidden_act": "gelu", "layer_norm_eps": 1e-5, "num_channels": 3},
    "vae": {
        "_class_name": "AutoencoderKLWan", "base_dim": 8, "z_dim": 16, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2,
        "attn_scales": [], "temperal_downsample": [False, True, True], "dropout": 0.0,
        "latents_mean": WAN_LATENTS_MEAN, "latents_std": WAN_LATENTS_STD},
    "text_encoder": dict(WAN_UMT5, architectures=["UMT5EncoderModel"], num_decoder_layers=2,
                                     relative_attention_max_distance=128, feed_forward_proj="gated-gelu"),
    "scheduler": {
        "_class_name": "UniPCMultistepScheduler", "beta_end": 0.02, "beta_schedule": "linear", "beta_start": 0.0001,
        "disable_corrector": [], "dynamic_thresholding_ratio": 0.995, "final_sigmas_type": "zero",
        "flow_shift": 3.0, "lower_order_final": True, "num_train_timesteps": 1000, "predict_x0": True,
        "prediction_type": "flow_prediction", "rescale_betas_zero_snr": False, "sample_max_value": 1.0,
        "solver_order": 2, "solver_p": None, "solver_type": "bh2", "steps_offset": 0, "thresholding": False,
        "timestep_spacing": "linspace", "trained_betas": None, "use_beta_sigmas": False,
        "use_exponential_sigmas": False, "use_flow_sigmas": True, "use_karras_sigmas": False},
}

def spiece_model() -> bytes:
    """A SentencePiece model (T5/UMT5 id layout: pad 0, eos 1, unk 2) trained on a few sentences."""
    import sentencepiece as spm

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS * 10), model_writer=out, vocab_size=60,
                                   model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                   hard_vocab_limit=False, minloglevel=2)
    return out.getvalue()


def t5_tokenizer(folder: str, extra_ids: int = 100):
    from transformers import T5Tokenizer

    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "spiece.model"), "wb") as f:
        f.write(spiece_model())
    return T5Tokenizer.from_pretrained(folder, extra_ids=extra_ids, local_files_only=True)


def _signal(*modules):
    # Random init leaves several layers near zero (zero-initialised outputs): give every weight some signal
    # so the tests exercise every path and a wrong mapping changes the output.
    with torch.no_grad():
        for module in modules:
            for p in module.parameters():
                p.add_(torch.randn_like(p) * 0.02)


def build_tiny_cogvideox(folder: str, image_to_video: bool = False, seed: int = 0) -> str:
    from diffusers import (AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXImageToVideoPipeline,
                           CogVideoXPipeline, CogVideoXTransformer3DModel)
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    cfg = dict(COG_TRANSFORMER, in_channels=8 if image_to_video else 4)
    transformer = CogVideoXTransformer3DModel(**cfg)
    vae = AutoencoderKLCogVideoX(**COG_VAE)
    text_encoder = T5EncoderModel(T5Config(**T5))
    _signal(transformer, vae, text_encoder)
    tok_dir = os.path.join(folder + "-tok")
    tokenizer = t5_tokenizer(tok_dir)
    cls = CogVideoXImageToVideoPipeline if image_to_video else CogVideoXPipeline
    pipe = cls(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
               scheduler=CogVideoXDDIMScheduler(**COG_SCHEDULER))
    pipe.save_pretrained(folder)
    shutil.rmtree(tok_dir, ignore_errors=True)
    return folder


def build_tiny_cogvideox15(folder: str, seed: int = 0) -> str:
    """CogVideoX 1.5's layout: temporal patches of 2 latent frames (patch_size_t), no patch bias."""
    from diffusers import (AutoencoderKLCogVideoX, CogVideoXDPMScheduler, CogVideoXPipeline,
                           CogVideoXTransformer3DModel)
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    transformer = CogVideoXTransformer3DModel(**dict(COG_TRANSFORMER, patch_size_t=2, patch_bias=False))
    vae = AutoencoderKLCogVideoX(**COG_VAE)
    text_encoder = T5EncoderModel(T5Config(**T5))
    _signal(transformer, vae, text_encoder)
    tokenizer = t5_tokenizer(folder + "-tok")
    CogVideoXPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                      scheduler=CogVideoXDPMScheduler(**COG_SCHEDULER)).save_pretrained(folder)
    shutil.rmtree(folder + "-tok", ignore_errors=True)
    return folder


def build_tiny_wan(folder: str, image_to_video: bool = False, expand_timesteps: bool = False, seed: int = 0) -> str:
    """A tiny Wan from WAN_CONFIGS with random weights: text-to-video; ``image_to_video``: Wan 2.2-style I2V (36
    input channels: noise, first-frame latents, mask; no CLIP); ``expand_timesteps``: Wan 2.2 TI2V's layout (one
    model for text- and image-to-video)."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanPipeline
    from diffusers import WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    cfg = WAN_CONFIGS
    transformer = WanTransformer3DModel.from_config(dict(cfg["transformer"], in_channels=36 if image_to_video else 16))
    vae = AutoencoderKLWan.from_config(cfg["vae"])
    text_encoder = UMT5EncoderModel(UMT5Config(**cfg["text_encoder"]))
    _signal(transformer, vae, text_encoder)
    tokenizer = t5_tokenizer(folder + "-tok", extra_ids=0)
    parts = dict(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                 scheduler=UniPCMultistepScheduler.from_config(cfg["scheduler"]))
    if image_to_video:
        pipe = WanImageToVideoPipeline(image_encoder=None, image_processor=None, **parts)
    else:
        pipe = WanPipeline(expand_timesteps=expand_timesteps, **parts)
    pipe.save_pretrained(folder)
    shutil.rmtree(folder + "-tok", ignore_errors=True)
    return folder


BUILDERS = {
    "cogvideox": lambda d: build_tiny_cogvideox(d),
    "cogvideox-i2v": lambda d: build_tiny_cogvideox(d, image_to_video=True),
    "cogvideox15": build_tiny_cogvideox15,
    "wan-random": lambda d: build_tiny_wan(d),
    "wan-i2v": lambda d: build_tiny_wan(d, image_to_video=True),
    "wan-ti2v": lambda d: build_tiny_wan(d, expand_timesteps=True),
}
_built: dict = {}


def cached_tiny(kind: str) -> str:
    """A tiny model folder built once per process (test modules share it) in a temp folder removed at exit."""
    if kind not in _built:
        import atexit
        import tempfile

        root = tempfile.mkdtemp(prefix=f"unflicker-tiny-{kind}-")
        atexit.register(shutil.rmtree, root, True)
        _built[kind] = BUILDERS[kind](os.path.join(root, f"tiny-{kind}"))
    return _built[kind]

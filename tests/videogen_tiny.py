"""Tiny random-weight CogVideoX and Wan models, saved as diffusers folders / ComfyUI split files, for tests and benches.

The architectures are the real ones (CogVideoX 3D transformer + 3D VAE + T5 with a SentencePiece tokenizer; Wan
transformer + Wan VAE + UMT5), only narrow and shallow, so the real diffusers pipelines run on CPU in about a second.
The Wan split files are the ComfyUI-made fixtures in tests/fixtures/wan_split (see make_wan_split_files.py).
"""

from __future__ import annotations

import io
import os
import shutil

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
WAN_SPLIT = os.path.join(HERE, "fixtures", "wan_split")
WAN_FILES = dict(transformer=os.path.join(WAN_SPLIT, "wan_tiny_t2v.safetensors"),
                 vae=os.path.join(WAN_SPLIT, "wan_tiny_vae.safetensors"),
                 text_encoder=os.path.join(WAN_SPLIT, "umt5_tiny.safetensors"),
                 config_dir=os.path.join(WAN_SPLIT, "config"))
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


def build_tiny_wan_ti2v(folder: str) -> str:
    """Wan 2.2 TI2V's pipeline layout (expand_timesteps: one model for text- and image-to-video) on the tiny Wan."""
    from diffusers import WanPipeline

    from unflicker.videogen import WanFiles, load_pipeline

    p = load_pipeline(WanFiles(**WAN_FILES), "cpu", cache=False).pipe
    WanPipeline(tokenizer=p.tokenizer, text_encoder=p.text_encoder, vae=p.vae, scheduler=p.scheduler,
                transformer=p.transformer, expand_timesteps=True).save_pretrained(folder)
    return folder


def build_tiny_wan_folder(folder: str) -> str:
    """The split-file fixtures (ComfyUI layout) loaded and saved as a diffusers WanPipeline folder."""
    from unflicker.videogen import WanFiles, load_pipeline

    model = load_pipeline(WanFiles(**WAN_FILES), "cpu", cache=False)
    model.pipe.save_pretrained(folder)
    return folder


def build_tiny_wan_i2v(folder: str, seed: int = 0) -> str:
    """A Wan 2.2-style image-to-video model (36 input channels: noise, first-frame latents, mask; no CLIP)."""
    import json

    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    cfgs = os.path.join(WAN_SPLIT, "config")

    def read(part, name="config.json"):
        with open(os.path.join(cfgs, part, name), encoding="utf-8") as f:
            return json.load(f)

    transformer = WanTransformer3DModel.from_config(dict(read("transformer"), in_channels=36))
    vae = AutoencoderKLWan.from_config(read("vae"))
    text_encoder = UMT5EncoderModel(UMT5Config(**read("text_encoder")))
    _signal(transformer, vae, text_encoder)
    tok_dir = folder + "-tok"
    tokenizer = t5_tokenizer(tok_dir, extra_ids=0)
    pipe = WanImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                                   scheduler=UniPCMultistepScheduler.from_config(read("scheduler", "scheduler_config.json")),
                                   image_encoder=None, image_processor=None)
    pipe.save_pretrained(folder)
    shutil.rmtree(tok_dir, ignore_errors=True)
    return folder


BUILDERS = {
    "cogvideox": lambda d: build_tiny_cogvideox(d),
    "cogvideox-i2v": lambda d: build_tiny_cogvideox(d, image_to_video=True),
    "wan": build_tiny_wan_folder,
    "wan-i2v": build_tiny_wan_i2v,
    "cogvideox15": build_tiny_cogvideox15,
    "wan-ti2v": build_tiny_wan_ti2v,
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

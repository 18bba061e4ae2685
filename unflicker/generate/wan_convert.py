"""Wan from ComfyUI's split files: transformer, VAE and UMT5 text encoder in ComfyUI's single-file key layouts.

ComfyUI keeps Wan in three files: the diffusion transformer in ``models/diffusion_models``
(``wan2.1_t2v_1.3B_fp16.safetensors``, ...), the VAE in ``models/vae`` (``wan_2.1_vae.safetensors``) and the UMT5-XXL
text encoder in ``models/text_encoders`` (``umt5_xxl_fp16.safetensors``, which also carries its SentencePiece
tokenizer under the key ``spiece_model``). This module renames their keys with diffusers' own converters
(``convert_wan_transformer_to_diffusers`` / ``convert_wan_vae_to_diffusers``), builds the diffusers/transformers
models from configs shipped in ``unflicker/generate/configs/wan`` (picked by the tensors' shapes) and assembles a
WanPipeline / WanImageToVideoPipeline. Local files only: nothing is looked up on a hub.

fp8 files: "scaled" fp8 (``scaled_fp8`` marker, one ``scale_weight`` per weight) are dequantised (weight x scale)
to the load dtype; plain fp8 weights are cast. That costs the fp8 file's memory saving (the model is held in
bf16/fp16) but gives the same numbers ComfyUI computes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Optional

import torch

from ..errors import UnflickerError

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs", "wan")
FP8_DTYPES = tuple(getattr(torch, n) for n in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz")
                   if hasattr(torch, n))
# Wan 2.2 A14B: the high-noise expert runs while t >= ratio * 1000, the low-noise one after (Wan's own settings).
BOUNDARY_RATIO = {"t2v": 0.875, "i2v": 0.9}


def _config(kind: str, name: str) -> dict:
    with open(os.path.join(CONFIG_DIR, kind, name), encoding="utf-8") as f:
        return json.load(f)


def read_state_dict(path: str, name: str) -> dict:
    """Tensors of one checkpoint file; ``name`` is the input it came from, for the error message."""
    if not os.path.isfile(path):
        raise UnflickerError(f"{name}: {path!r} does not exist")
    try:
        if path.lower().endswith((".safetensors", ".sft")):
            from safetensors.torch import load_file

            return load_file(path)
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # damaged or not a checkpoint
        raise UnflickerError(f"{name}: {os.path.basename(path)} could not be read as a checkpoint ({e})") from e
    return sd.get("state_dict", sd) if isinstance(sd, dict) else {}


def dequantize(sd: dict, dtype: torch.dtype) -> dict:
    """fp8 weights -> ``dtype``: scaled fp8 (ComfyUI's ``scale_weight`` / ``weight_scale``) multiplied out."""
    sd.pop("scaled_fp8", None)
    out = {}
    for key, value in sd.items():
        if key.endswith((".scale_weight", ".weight_scale", ".scale_input", ".input_scale", ".comfy_quant")):
            continue
        if value.dtype in FP8_DTYPES:
            stem = key.rsplit(".", 1)[0]
            scale = sd.get(stem + ".scale_weight", sd.get(stem + ".weight_scale"))
            value = value.to(torch.float32)
            if scale is not None:
                value = value * scale.to(torch.float32)
        out[key] = value.to(dtype) if value.is_floating_point() else value
    return out


def _strip(sd: dict, prefixes) -> dict:
    for prefix in prefixes:
        if any(k.startswith(prefix) for k in sd):
            return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in sd.items()}
    return sd


def _build(cls, config: dict, sd: dict, name: str, path: str, dtype: torch.dtype):
    """Model from config with no random init (meta tensors), then the converted weights assigned strictly."""
    from accelerate import init_empty_weights

    with init_empty_weights():
        model = cls.from_config(config) if hasattr(cls, "from_config") else cls(config)
    expected = set(model.state_dict().keys())
    missing = sorted(expected - set(sd))
    unexpected = sorted(set(sd) - expected)
    if missing or unexpected:
        raise UnflickerError(
            f"{name}: {os.path.basename(path)} does not match the {cls.__name__} "
            f"layout it was detected as ({len(missing)} missing keys, e.g. {missing[:3]}; {len(unexpected)} "
            f"unexpected, e.g. {unexpected[:3]})")
    # What diffusers keeps in fp32 at a bf16/fp16 load (norms, time embedding, modulation), kept here too.
    keep = getattr(model, "_keep_in_fp32_modules", None) or []
    sd = {k: v.to(torch.float32 if any(m in k.split(".") for m in keep) else dtype) if v.is_floating_point() else v
          for k, v in sd.items()}
    model.load_state_dict(sd, strict=True, assign=True)
    return model.eval()


# --------------------------------------------------------------------------------------------- transformer

def transformer_variant(sd: dict) -> str:
    """Which shipped transformer config fits these (diffusers-named) tensors, from their shapes."""
    dim, in_channels = sd["patch_embedding.weight"].shape[:2]
    layers = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    has_image = any(k.startswith("condition_embedder.image_embedder.") for k in sd)
    for name in sorted(os.listdir(os.path.join(CONFIG_DIR, "transformer"))):
        cfg = _config("transformer", name)
        if (cfg["num_attention_heads"] * cfg["attention_head_dim"] == dim and cfg["in_channels"] == in_channels
                and cfg["num_layers"] == layers and (cfg["image_dim"] is not None) == has_image):
            return name
    raise UnflickerError(
        f"transformer: a Wan transformer with width {dim}, {in_channels} input channels and {layers} blocks is not "
        "one the pack knows (Wan 2.1 T2V 1.3B/14B, I2V 14B; Wan 2.2 T2V/I2V A14B, TI2V 5B); use its diffusers folder")


def load_transformer(path: str, dtype: torch.dtype, config: Optional[dict] = None):
    """ComfyUI's models/diffusion_models Wan file -> WanTransformer3DModel. Returns (model, variant name)."""
    from diffusers import WanTransformer3DModel
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    sd = dequantize(read_state_dict(path, "transformer"), dtype)
    if not any(k.endswith("head.modulation") for k in sd):
        raise UnflickerError(f"transformer: {os.path.basename(path)} is not a Wan diffusion model "
                             "(no head.modulation key); pick a Wan file from models/diffusion_models")
    if any(k.startswith(("vace_blocks.", "motion_encoder.", "face_adapter.")) for k in sd):
        raise UnflickerError(f"transformer: {os.path.basename(path)} is a Wan VACE/Animate model; only text/image "
                             "to video Wan models load here")
    sd = convert_wan_transformer_to_diffusers(sd)
    if config is None:
        variant = transformer_variant(sd)
        config = _config("transformer", variant)
    else:
        variant = "custom"
    return _build(WanTransformer3DModel, config, sd, "transformer", path, dtype), variant.replace(".json", "")


# --------------------------------------------------------------------------------------------- VAE

def load_vae(path: str, dtype: torch.dtype, config: Optional[dict] = None):
    """ComfyUI's models/vae Wan 2.1 file -> AutoencoderKLWan."""
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    sd = _strip(dequantize(read_state_dict(path, "vae"), dtype), ("vae.", "first_stage_model."))
    if "decoder.middle.0.residual.0.gamma" not in sd:
        raise UnflickerError(f"vae: {os.path.basename(path)} is not a Wan VAE; pick wan_2.1_vae.safetensors from "
                             "models/vae")
    if sd["conv2.weight"].shape[0] != 16:
        raise UnflickerError(f"vae: {os.path.basename(path)} is the Wan 2.2 VAE ({sd['conv2.weight'].shape[0]} latent "
                             "channels, for TI2V 5B): diffusers has no converter for its single-file layout, so load "
                             "TI2V 5B from its diffusers folder (models/diffusers)")
    return _build(AutoencoderKLWan, config or _config("vae", "wan2.1_vae.json"), convert_wan_vae_to_diffusers(sd),
                  "vae", path, dtype)


# --------------------------------------------------------------------------------------------- text encoder

def load_tokenizer(spiece_model: Optional[bytes], tokenizer_dir: str = "", source: str = ""):
    """The UMT5 tokenizer: from a local folder when given, else from the SentencePiece model ComfyUI's text-encoder
    file embeds (``spiece_model``)."""
    from transformers import AutoTokenizer, T5Tokenizer

    if tokenizer_dir:
        if not os.path.isdir(tokenizer_dir):
            raise UnflickerError(f"tokenizer: {tokenizer_dir!r} is not a folder")
        return AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    if spiece_model is None:
        raise UnflickerError(
            f"text_encoder: {source} has no embedded tokenizer (spiece_model); give the folder of the UMT5 tokenizer "
            "(spiece.model or tokenizer.json, e.g. the tokenizer/ folder of a Wan diffusers download) as tokenizer")
    tmp = tempfile.mkdtemp(prefix="unflicker-umt5-tok-")
    try:
        with open(os.path.join(tmp, "spiece.model"), "wb") as f:
            f.write(spiece_model)
        # extra_ids=0: the ids of the text pieces are SentencePiece's own, exactly what ComfyUI feeds UMT5
        return T5Tokenizer.from_pretrained(tmp, extra_ids=0, local_files_only=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_text_encoder(path: str, dtype: torch.dtype, config: Optional[dict] = None, tokenizer_dir: str = ""):
    """ComfyUI's models/text_encoders UMT5-XXL file -> (UMT5EncoderModel, tokenizer)."""
    from transformers import UMT5Config, UMT5EncoderModel

    raw = read_state_dict(path, "text_encoder")
    spiece = raw.pop("spiece_model", None)
    spiece = spiece.numpy().tobytes() if spiece is not None else None
    sd = _strip(dequantize(raw, dtype), ("text_encoders.umt5xxl.transformer.", "umt5xxl.transformer."))
    if "encoder.block.0.layer.0.SelfAttention.q.weight" not in sd or "shared.weight" not in sd:
        raise UnflickerError(f"text_encoder: {os.path.basename(path)} is not a UMT5/T5 encoder; pick "
                             "umt5_xxl_fp16.safetensors (or the fp8 one) from models/text_encoders")
    if "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight" not in sd:
        raise UnflickerError(f"text_encoder: {os.path.basename(path)} is a T5 (v1.1) encoder, not UMT5: Wan needs "
                             "umt5_xxl (the T5 XXL of Flux/SD3 gives it meaningless embeddings)")
    sd.setdefault("encoder.embed_tokens.weight", sd["shared.weight"])  # tied in transformers
    cfg = UMT5Config(**(config or _config("text_encoder", "umt5_xxl.json")))
    model = _build(UMT5EncoderModel, cfg, sd, "text_encoder", path, dtype)
    return model, load_tokenizer(spiece, tokenizer_dir, os.path.basename(path))


# --------------------------------------------------------------------------------------------- image encoder

def load_image_encoder(path: str, dtype: torch.dtype, config: Optional[dict] = None):
    """ComfyUI's models/clip_vision CLIP ViT-H file (clip_vision_h.safetensors, transformers' key names) ->
    (CLIPVisionModel, CLIPImageProcessor), for Wan 2.1 image-to-video."""
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    sd = _strip(dequantize(read_state_dict(path, "clip_vision"), dtype), ("clip_vision.",))
    sd.pop("visual_projection.weight", None)  # Wan uses the penultimate hidden states, not the projection
    if "vision_model.embeddings.class_embedding" not in sd:
        raise UnflickerError(f"clip_vision: {os.path.basename(path)} is not a CLIP vision model in transformers' "
                             "layout; pick clip_vision_h.safetensors from models/clip_vision")
    cfg = CLIPVisionConfig(**(config or _config("image_encoder", "clip_vision_h.json")))
    from accelerate import init_empty_weights

    with init_empty_weights():
        names = CLIPVisionModel(cfg).state_dict().keys()
    if not any(k.startswith("vision_model.") for k in names):  # transformers 5 drops the prefix in the module tree
        sd = _strip(sd, ("vision_model.",))
    model = _build(CLIPVisionModel, cfg, sd, "clip_vision", path, dtype)
    with open(os.path.join(CONFIG_DIR, "image_encoder", "preprocessor_config.json"), encoding="utf-8") as f:
        processor = CLIPImageProcessor(**{k: v for k, v in json.load(f).items() if k != "image_processor_type"})
    return model, processor


# --------------------------------------------------------------------------------------------- pipeline

def pipeline_from_split_files(transformer: str, vae: str, text_encoder: str, dtype: torch.dtype,
                              transformer_2: str = "", tokenizer_dir: str = "", config_dir: str = "",
                              clip_vision: str = ""):
    """WanPipeline (or WanImageToVideoPipeline when the transformer takes an image) from ComfyUI's split files.

    ``transformer_2``: Wan 2.2 A14B's low-noise expert (the ``..._low_noise_...`` file; ``transformer`` is then the
    high-noise one). ``clip_vision``: Wan 2.1 image-to-video's CLIP ViT-H image encoder (clip_vision_h.safetensors).
    ``config_dir``: a folder with transformer/, vae/, text_encoder/ (image_encoder/, scheduler/) configs to use
    instead of the shipped ones (tests use it for tiny models). The VAE is kept in fp32 as Wan's own code does.
    """
    from diffusers import UniPCMultistepScheduler, WanImageToVideoPipeline, WanPipeline

    def cfg(part: str, file: str = "config.json") -> Optional[dict]:
        if not config_dir or not os.path.isfile(os.path.join(config_dir, part, file)):
            return None
        with open(os.path.join(config_dir, part, file), encoding="utf-8") as f:
            return json.load(f)

    tr, variant = load_transformer(transformer, dtype, cfg("transformer"))
    image_parts = {}
    if tr.config.image_dim is not None:
        if not clip_vision:
            raise UnflickerError(
                f"clip_vision: {os.path.basename(transformer)} is Wan 2.1 image-to-video, which also needs its CLIP "
                "image encoder: pick clip_vision_h.safetensors (models/clip_vision)")
        encoder, processor = load_image_encoder(clip_vision, dtype, cfg("image_encoder"))
        image_parts = dict(image_encoder=encoder, image_processor=processor)
    tr2 = None
    if transformer_2:
        tr2, variant_2 = load_transformer(transformer_2, dtype, cfg("transformer"))
        if tr2.config.in_channels != tr.config.in_channels:
            raise UnflickerError("transformer_2: the low-noise expert does not match the transformer "
                                 f"({tr2.config.in_channels} vs {tr.config.in_channels} input channels)")
    te, tokenizer = load_text_encoder(text_encoder, dtype, cfg("text_encoder"), tokenizer_dir)
    vae_model = load_vae(vae, torch.float32, cfg("vae"))
    if tr.config.in_channels not in (vae_model.config.z_dim, 2 * vae_model.config.z_dim + 4):
        raise UnflickerError(f"vae: {os.path.basename(vae)} ({vae_model.config.z_dim} latent channels) does not fit "
                             f"the transformer ({tr.config.in_channels} input channels)")
    scheduler = UniPCMultistepScheduler.from_config(
        cfg("scheduler", "scheduler_config.json") or _config("scheduler", "scheduler_config.json"))
    i2v = tr.config.in_channels != tr.config.out_channels
    kind = "i2v" if i2v else "t2v"
    parts = dict(tokenizer=tokenizer, text_encoder=te, vae=vae_model, scheduler=scheduler, transformer=tr)
    if tr2 is not None:
        parts.update(transformer_2=tr2, boundary_ratio=BOUNDARY_RATIO[kind])
    if i2v:
        image_parts = image_parts or dict(image_encoder=None, image_processor=None)  # Wan 2.2 I2V: no CLIP
        return WanImageToVideoPipeline(**image_parts, **parts), variant
    return WanPipeline(**parts), variant

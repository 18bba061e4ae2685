"""Single-file SVD checkpoints (Stability's original layout, as ComfyUI loads them) -> diffusers components.

diffusers has no single-file loader for Stable Video Diffusion. A checkpoint such as ``svd_xt.safetensors`` holds
three models under these prefixes:

* ``model.diffusion_model.``   the spatio-temporal UNet (generative-models ``VideoUNet``)
* ``first_stage_model.``       the VAE: image encoder + temporal decoder (``VideoDecoder``)
* ``conditioner.embedders.0.open_clip.model.visual.``  OpenCLIP ViT-H/14 image tower

This module renames their keys to diffusers' ``UNetSpatioTemporalConditionModel``,
``AutoencoderKLTemporalDecoder`` and transformers' ``CLIPVisionModelWithProjection`` and builds the pipeline with
the component configs shipped in ``unflicker/generate/configs/svd/<svd|svd_xt>/``; nothing is fetched from a hub.
"""

from __future__ import annotations

import json
import os
import re
from typing import Mapping

import torch

from ..errors import UnflickerError

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_PREFIX = "conditioner.embedders.0.open_clip.model.visual."
CONFIG_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs", "svd")
CONFIG_NAMES = ("svd", "svd_xt")


# --------------------------------------------------------------------------------------------- UNet

_RESBLOCK = {"in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
             "out_layers.0": "norm2", "out_layers.3": "conv2", "skip_connection": "conv_shortcut"}


def _resnet_part(rest: str) -> str:
    """generative-models VideoResBlock key tail -> diffusers SpatioTemporalResBlock key tail."""
    if rest.startswith("time_mixer."):
        return rest
    branch = "spatial_res_block"
    if rest.startswith("time_stack."):
        branch, rest = "temporal_res_block", rest[len("time_stack."):]
    for old, new in _RESBLOCK.items():
        if rest.startswith(old + "."):
            return f"{branch}.{new}{rest[len(old):]}"
    raise KeyError(rest)


def _transformer_part(rest: str) -> str:
    """SpatialVideoTransformer key tail -> TransformerSpatioTemporalModel key tail."""
    if rest.startswith("time_stack."):
        return "temporal_transformer_blocks." + rest[len("time_stack."):]
    if rest.startswith("time_pos_embed.0."):
        return "time_pos_embed.linear_1." + rest[len("time_pos_embed.0."):]
    if rest.startswith("time_pos_embed.2."):
        return "time_pos_embed.linear_2." + rest[len("time_pos_embed.2."):]
    return rest  # norm, proj_in, transformer_blocks.*, proj_out, time_mixer.mix_factor keep their names


def convert_unet(sd: Mapping[str, torch.Tensor], layers_per_block: int) -> dict:
    """UNet state dict without the ``model.diffusion_model.`` prefix -> UNetSpatioTemporalConditionModel keys."""
    per_level = layers_per_block + 1  # resnets (+ attentions) then one down/upsampler per level
    fixed = {"time_embed.0.": "time_embedding.linear_1.", "time_embed.2.": "time_embedding.linear_2.",
             "label_emb.0.0.": "add_embedding.linear_1.", "label_emb.0.2.": "add_embedding.linear_2.",
             "input_blocks.0.0.": "conv_in.", "out.0.": "conv_norm_out.", "out.2.": "conv_out."}
    out = {}
    for key, value in sd.items():
        new = None
        for old, repl in fixed.items():
            if key.startswith(old):
                new = repl + key[len(old):]
                break
        if new is None and (m := re.match(r"middle_block\.(\d)\.(.+)$", key)):
            n, rest = int(m.group(1)), m.group(2)
            new = (f"mid_block.attentions.0.{_transformer_part(rest)}" if n == 1
                   else f"mid_block.resnets.{n // 2}.{_resnet_part(rest)}")
        if new is None:
            m = re.match(r"(input_blocks|output_blocks)\.(\d+)\.(\d+)\.(.+)$", key)
            if not m:
                raise KeyError(key)
            part, n, sub, rest = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
            if part == "input_blocks":
                level, j = divmod(n - 1, per_level)
                if j == layers_per_block:
                    new = f"down_blocks.{level}.downsamplers.0.conv.{rest.removeprefix('op.')}"
                elif sub == 0:
                    new = f"down_blocks.{level}.resnets.{j}.{_resnet_part(rest)}"
                else:
                    new = f"down_blocks.{level}.attentions.{j}.{_transformer_part(rest)}"
            else:
                level, j = divmod(n, per_level)
                if sub == 0:
                    new = f"up_blocks.{level}.resnets.{j}.{_resnet_part(rest)}"
                elif rest.startswith("conv."):
                    new = f"up_blocks.{level}.upsamplers.0.{rest}"
                else:
                    new = f"up_blocks.{level}.attentions.{j}.{_transformer_part(rest)}"
        out[new] = value
    return out


# --------------------------------------------------------------------------------------------- VAE

_VAE_ATTN = {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}
_VAE_TIME = {"in_layers.0": "norm1", "in_layers.2": "conv1", "out_layers.0": "norm2", "out_layers.3": "conv2"}


def _vae_resnet(rest: str, temporal: bool) -> str:
    rest = rest.replace("nin_shortcut", "conv_shortcut")
    if not temporal:
        return rest
    if rest.startswith("mix_factor"):
        return "time_mixer." + rest
    if rest.startswith("time_stack."):
        rest = rest[len("time_stack."):]
        for old, new in _VAE_TIME.items():
            if rest.startswith(old + "."):
                return f"temporal_res_block.{new}{rest[len(old):]}"
        raise KeyError(rest)
    return "spatial_res_block." + rest


def _vae_attention(rest: str, value: torch.Tensor) -> tuple[str, torch.Tensor]:
    name, _, tail = rest.partition(".")
    if value.ndim == 4:  # 1x1 convolutions in the original, linear layers in diffusers
        value = value[:, :, 0, 0]
    return f"{_VAE_ATTN[name]}.{tail}", value


def convert_vae(sd: Mapping[str, torch.Tensor]) -> dict:
    """VAE state dict without the ``first_stage_model.`` prefix -> AutoencoderKLTemporalDecoder keys."""
    levels = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"encoder\.down\.(\d+)\.", k)))
    out = {}
    for key, value in sd.items():
        side, _, rest = key.partition(".")
        if side in ("quant_conv", "post_quant_conv"):
            out[key] = value
            continue
        if side not in ("encoder", "decoder"):
            raise KeyError(key)
        temporal = side == "decoder"
        if m := re.match(r"(down|up)\.(\d+)\.block\.(\d+)\.(.+)$", rest):
            updown, i, j, tail = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
            block = f"down_blocks.{i}" if updown == "down" else f"up_blocks.{levels - 1 - i}"
            new = f"{block}.resnets.{j}.{_vae_resnet(tail, temporal)}"
        elif m := re.match(r"down\.(\d+)\.downsample\.conv\.(.+)$", rest):
            new = f"down_blocks.{m.group(1)}.downsamplers.0.conv.{m.group(2)}"
        elif m := re.match(r"up\.(\d+)\.upsample\.conv\.(.+)$", rest):
            new = f"up_blocks.{levels - 1 - int(m.group(1))}.upsamplers.0.conv.{m.group(2)}"
        elif m := re.match(r"mid\.block_(\d)\.(.+)$", rest):
            new = f"mid_block.resnets.{int(m.group(1)) - 1}.{_vae_resnet(m.group(2), temporal)}"
        elif rest.startswith("mid.attn_1."):
            tail, value = _vae_attention(rest[len("mid.attn_1."):], value)
            new = f"mid_block.attentions.0.{tail}"
        elif rest.startswith("norm_out."):
            new = "conv_norm_out." + rest[len("norm_out."):]
        elif rest.startswith("conv_out.time_mix_conv."):
            new = "time_conv_out." + rest[len("conv_out.time_mix_conv."):]
        elif rest.startswith(("conv_in.", "conv_out.")):
            new = rest
        else:
            raise KeyError(key)
        out[f"{side}.{new}"] = value
    if "quant_conv.weight" not in out:
        # generative-models' AutoencodingEngine has no quant conv; diffusers' model always applies one.
        channels = out["encoder.conv_out.weight"].shape[0]
        dtype = out["encoder.conv_out.weight"].dtype
        out["quant_conv.weight"] = torch.eye(channels, dtype=dtype)[:, :, None, None]
        out["quant_conv.bias"] = torch.zeros(channels, dtype=dtype)
    return out


# --------------------------------------------------------------------------------------------- image encoder

_CLIP_LAYER = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "attn.out_proj": "self_attn.out_proj",
               "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}


def convert_image_encoder(sd: Mapping[str, torch.Tensor]) -> dict:
    """OpenCLIP ``visual`` state dict (prefix removed) -> CLIPVisionModelWithProjection keys."""
    out = {}
    for key, value in sd.items():
        if key == "class_embedding":
            out["vision_model.embeddings.class_embedding"] = value
        elif key == "positional_embedding":
            out["vision_model.embeddings.position_embedding.weight"] = value
        elif key == "conv1.weight":
            out["vision_model.embeddings.patch_embedding.weight"] = value
        elif key.startswith("ln_pre."):
            out["vision_model.pre_layrnorm." + key[len("ln_pre."):]] = value
        elif key.startswith("ln_post."):
            out["vision_model.post_layernorm." + key[len("ln_post."):]] = value
        elif key == "proj":  # OpenCLIP multiplies x @ proj; a Linear layer stores the transpose
            out["visual_projection.weight"] = value.t().contiguous()
        elif m := re.match(r"transformer\.resblocks\.(\d+)\.(.+)$", key):
            layer, rest = f"vision_model.encoder.layers.{m.group(1)}", m.group(2)
            if rest.startswith("attn.in_proj_"):
                kind = rest[len("attn.in_proj_"):]  # weight or bias: q, k, v stacked
                for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                    out[f"{layer}.self_attn.{name}.{kind}"] = part.contiguous()
                continue
            for old, new in _CLIP_LAYER.items():
                if rest.startswith(old + "."):
                    out[f"{layer}.{new}{rest[len(old):]}"] = value
                    break
            else:
                raise KeyError(key)
        else:
            raise KeyError(key)
    return out


# --------------------------------------------------------------------------------------------- loading

def split_checkpoint(sd: Mapping[str, torch.Tensor]) -> tuple[dict, dict, dict]:
    """(unet, vae, image encoder) state dicts with their prefixes removed; other keys are ignored."""
    parts = ({}, {}, {})
    for key, value in sd.items():
        for part, prefix in zip(parts, (UNET_PREFIX, VAE_PREFIX, CLIP_PREFIX)):
            if key.startswith(prefix):
                part[key[len(prefix):]] = value
                break
    return parts


def read_checkpoint(path: str) -> dict:
    if path.lower().endswith((".safetensors", ".sft")):
        from safetensors.torch import load_file

        return load_file(path, device="cpu")
    return torch.load(path, map_location="cpu", weights_only=True)


def config_dir(config: str, path: str = "") -> str:
    """A shipped config name ('svd', 'svd_xt', 'auto' = by file name) or a folder of component configs."""
    if config == "auto":
        config = "svd_xt" if "xt" in os.path.basename(path).lower() else "svd"
    if config in CONFIG_NAMES:
        return os.path.join(CONFIG_ROOT, config)
    if os.path.isdir(config):
        return config
    raise UnflickerError(f"config must be auto, {', '.join(CONFIG_NAMES)} or a folder of component configs; "
                         f"got {config!r}")


def _load_json(folder: str, *parts: str) -> dict:
    with open(os.path.join(folder, *parts), encoding="utf-8") as f:
        return json.load(f)


def _instantiate(build, state_dict: dict, dtype: torch.dtype, what: str, path: str):
    """Build a model without allocating random weights, then take the converted tensors as its parameters."""
    state_dict = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state_dict.items()}
    try:
        from accelerate import init_empty_weights
    except ImportError:  # slower: random init first, then overwrite
        model = build()
        missing, unexpected = model.load_state_dict(state_dict, strict=False)
        model.to(dtype)
    else:
        with init_empty_weights(include_buffers=False):
            model = build()
        missing, unexpected = model.load_state_dict(state_dict, strict=False, assign=True)
    if missing or unexpected:
        raise UnflickerError(
            f"model: {os.path.basename(path)} does not match the SVD layout of the {what} config "
            f"({len(missing)} missing keys, e.g. {missing[:3]}; {len(unexpected)} unexpected, e.g. {unexpected[:3]}). "
            "Is it an SVD checkpoint, and is the config (svd / svd_xt) right?")
    return model.eval()


def pipeline_from_single_file(path: str, dtype: torch.dtype = torch.float32, config: str = "auto"):
    """A StableVideoDiffusionPipeline from one original-layout checkpoint file and shipped configs."""
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    folder = config_dir(config, path)
    unet_sd, vae_sd, clip_sd = split_checkpoint(read_checkpoint(path))
    missing = [name for name, sd in (("UNet (model.diffusion_model.*)", unet_sd), ("VAE (first_stage_model.*)", vae_sd),
                                     (f"image encoder ({CLIP_PREFIX}*)", clip_sd)) if not sd]
    if missing:
        raise UnflickerError(f"model: {os.path.basename(path)} is not an SVD checkpoint: no {', no '.join(missing)}")

    unet_config = _load_json(folder, "unet", "config.json")
    vae_config = _load_json(folder, "vae", "config.json")
    clip_config = CLIPVisionConfig(**{k: v for k, v in _load_json(folder, "image_encoder", "config.json").items()
                                      if not k.startswith("_") and k not in ("architectures", "torch_dtype", "dtype")})
    try:
        unet_sd = convert_unet(unet_sd, int(unet_config.get("layers_per_block", 2)))
        vae_sd = convert_vae(vae_sd)
        clip_sd = convert_image_encoder(clip_sd)
    except KeyError as e:
        raise UnflickerError(f"model: {os.path.basename(path)} does not match the SVD layout of the "
                             f"{os.path.basename(folder)} config (no place for key {e}). Is it an SVD checkpoint, "
                             "and is the config (svd / svd_xt) right?") from None

    unet = _instantiate(lambda: UNetSpatioTemporalConditionModel.from_config(unet_config), unet_sd, dtype, "UNet", path)
    vae = _instantiate(lambda: AutoencoderKLTemporalDecoder.from_config(vae_config), vae_sd, dtype, "VAE", path)
    image_encoder = _instantiate(lambda: CLIPVisionModelWithProjection(clip_config), clip_sd, dtype,
                                 "image encoder", path)
    scheduler = EulerDiscreteScheduler.from_config(_load_json(folder, "scheduler", "scheduler_config.json"))
    feature_extractor = CLIPImageProcessor(**{k: v for k, v in _load_json(
        folder, "feature_extractor", "preprocessor_config.json").items()
        if k not in ("feature_extractor_type", "image_processor_type")})
    return StableVideoDiffusionPipeline(vae=vae, image_encoder=image_encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=feature_extractor)

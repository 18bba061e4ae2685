"""AnimateDiff's files, from local files only: telling weight files apart (checkpoint, motion module, motion
LoRA, image LoRA, ControlNet), the original AnimateDiff layout converted to diffusers', SD 1.5 image LoRAs as
diffusers loads them, and the SD 1.5 parts (checkpoint, ControlNet, schedulers). Every ``from_pretrained``/
``from_single_file`` call is ``local_files_only``."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch

from ..errors import UnflickerError, check_choice
from .common import WEIGHT_EXTENSIONS

SD15_CONFIG_DIR = Path(__file__).resolve().parent / "configs" / "sd15"
SCHEDULERS = ("DDIM", "Euler", "Euler a", "DPM++ 2M", "DPM++ 2M Karras", "LCM")
# AnimateDiff's motion modules were trained with the "linear" beta schedule; SD 1.5 itself with "scaled_linear".
BETA_SCHEDULES = ("linear", "scaled_linear")

_KIND_TEXT = {
    "sd_checkpoint": "a Stable Diffusion checkpoint",
    "motion_module": "an AnimateDiff motion module",
    "motion_lora": "a motion LoRA",
    "controlnet": "a ControlNet",
    "lora": "an SD 1.5 image LoRA",
    "sdxl_lora": "an SDXL LoRA (AnimateDiff here runs SD 1.5)",
    "lycoris": "a LyCORIS LoHa/LoKr file (diffusers loads plain LoRA and LoCon only)",
    "unknown": "not a model this loader recognises",
}
_WHERE = {
    "sd_checkpoint": "load it as the checkpoint in AnimateDiff Loader",
    "motion_module": "load it as the motion_module in AnimateDiff Loader",
    "motion_lora": "load it with the Motion LoRA node",
    "lora": "load it with the Image LoRA (AnimateDiff) node",
    "controlnet": "load it with the ControlNet Loader",
}
# The name of each LoRA file's down (A) projection in the layouts diffusers loads: kohya/A1111, PEFT, and diffusers'
# older attention-processor and text-encoder names. One per LoRA layer, so counting them counts the layers.
_LORA_DOWN_SUFFIXES = ("lora_down.weight", "lora_A.weight", "lora.down.weight", "lora_linear_layer.down.weight")
# The SD 1.5 UNet's top-level parts: a PEFT-saved UNet LoRA names its layers from these without diffusers' "unet."
_UNET_PARTS = ("down_blocks.", "mid_block.", "up_blocks.", "conv_in.", "conv_out.", "time_embedding.")


# ---------------------------------------------------------------------------------------------------------------
# Reading weights and telling files apart


def _torch_load(path: str, mmap: bool = False):
    """``torch.load`` of tensors only: pickled code objects are refused rather than run."""
    import pickle

    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError:
            if not mmap:
                raise
            return torch.load(path, map_location="cpu", weights_only=True)  # legacy pickles cannot be mapped
    except pickle.UnpicklingError as exc:
        raise UnflickerError(f"{os.path.basename(path)} holds pickled Python objects besides tensors and is not "
                             f"loaded for safety; convert it to .safetensors") from exc


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a .safetensors or pickled checkpoint (loaded with ``weights_only``), unwrapped from "state_dict"."""
    path = str(path)
    if path.lower().endswith((".safetensors", ".sft")):
        from safetensors.torch import load_file

        state = load_file(path, device="cpu")
    else:
        state = _torch_load(path)
    while isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise UnflickerError(f"{os.path.basename(path)} holds no state dict of tensors")
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def _file_keys(path: str) -> list[str]:
    """Key names of a weights file without reading every tensor into memory where the format allows."""
    if path.lower().endswith((".safetensors", ".sft")):
        from safetensors import safe_open

        with safe_open(path, framework="pt") as f:
            return list(f.keys())
    state = _torch_load(path, mmap=True)
    while isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    return list(state.keys()) if isinstance(state, Mapping) else []


def weights_kind(keys: Iterable[str]) -> str:
    """Classify a state dict by its key names: sd_checkpoint, motion_module, motion_lora, controlnet, lora (an SD 1.5
    image LoRA), sdxl_lora, lycoris, unknown."""
    keys = list(keys)
    lowered = [k.lower() for k in keys]
    is_lora = any("lora" in k for k in lowered)
    is_motion = any("motion_modules." in k for k in keys)
    if is_motion:
        return "motion_lora" if is_lora else "motion_module"
    if any(k.startswith(("control_model.", "input_hint_block.", "controlnet_cond_embedding.")) for k in keys):
        return "controlnet"
    if any(k.startswith("lycoris_") or ".hada_w1" in k or ".lokr_w1" in k for k in lowered):
        return "lycoris"
    if is_lora:
        # SDXL files name their second text encoder; SD 1.5 has one
        sdxl = any(k.startswith(("lora_te1_", "lora_te2_", "text_encoder_2.")) for k in keys)
        return "sdxl_lora" if sdxl else "lora"
    if any(k.startswith("model.diffusion_model.") for k in keys):
        return "sd_checkpoint"
    return "unknown"


def folder_kind(path: str) -> str:
    """Classify a diffusers folder by its config files."""
    if os.path.isfile(os.path.join(path, "model_index.json")):
        return "sd_checkpoint"
    config = os.path.join(path, "config.json")
    if os.path.isfile(config):
        with open(config, encoding="utf-8") as f:
            name = json.load(f).get("_class_name", "")
        return {"MotionAdapter": "motion_module", "ControlNetModel": "controlnet"}.get(name, "unknown")
    weights = [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.lower().endswith(WEIGHT_EXTENSIONS)]
    return weights_kind(_file_keys(weights[0])) if weights else "unknown"


def model_kind(path: str) -> str:
    return folder_kind(path) if os.path.isdir(path) else weights_kind(_file_keys(path))


def _expect_kind(path: str, want: str, input_name: str, kind: str | None = None) -> None:
    kind = kind or model_kind(path)
    if kind != want:
        where = _WHERE.get(kind)
        hint = f"; {where}" if where else ""
        raise UnflickerError(f"{input_name}: {os.path.basename(os.path.normpath(path))} is {_KIND_TEXT[kind]}, "
                             f"not {_KIND_TEXT[want]}{hint}.")


def _check_exists(path, input_name: str) -> str:
    path = str(path)
    if not os.path.exists(path):
        raise UnflickerError(f"{input_name}: {path} does not exist")
    return path


# ---------------------------------------------------------------------------------------------------------------
# Motion modules and motion LoRAs in the original AnimateDiff layout


def convert_motion_keys(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Original AnimateDiff key names -> diffusers MotionAdapter names (positional tables are recomputed, dropped).

    Same renaming as diffusers' ``convert_animatediff_checkpoint_to_diffusers``; keys already in diffusers layout
    pass through unchanged.
    """
    out = {}
    for key, value in state_dict.items():
        if key.endswith(("pos_encoder.pe", "pos_embed.pe")):
            continue
        out[key.replace(".norms.0", ".norm1").replace(".norms.1", ".norm2").replace(".ff_norm", ".norm3")
               .replace(".attention_blocks.0", ".attn1").replace(".attention_blocks.1", ".attn2")
               .replace(".temporal_transformer", "")] = value
    return out


def motion_adapter_config(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """MotionAdapter config read off the weights of a motion module (original or diffusers layout).

    The head count (8) and group-norm groups (32) are not visible in the weights; every SD 1.5 AnimateDiff module
    (v1, v2, v3, AnimateLCM) uses these values.
    """
    channels: dict[int, int] = {}
    layers = 0
    transformer_layers = 0
    seq_len = None
    for key, value in state_dict.items():
        m = re.match(r"down_blocks\.(\d+)\.motion_modules\.(\d+)\.(?:temporal_transformer\.)?proj_in\.weight$", key)
        if m:
            channels[int(m.group(1))] = value.shape[0]
            layers = max(layers, int(m.group(2)) + 1)
        m = re.match(r"down_blocks\.0\.motion_modules\.0\.(?:temporal_transformer\.)?transformer_blocks\.(\d+)\.", key)
        if m:
            transformer_layers = max(transformer_layers, int(m.group(1)) + 1)
        if key.endswith(("pos_encoder.pe", "pos_embed.pe")) and seq_len is None:
            seq_len = value.shape[1]
    if not channels:
        raise UnflickerError("motion_module: no down-block motion modules found in the weights")
    return {
        "block_out_channels": tuple(channels[i] for i in sorted(channels)),
        "motion_layers_per_block": layers,
        "motion_transformer_layers_per_block": transformer_layers or 1,
        "motion_num_attention_heads": 8,
        "motion_norm_num_groups": 32,
        "motion_max_seq_length": seq_len or 32,
        "use_motion_mid_block": any(k.startswith("mid_block.motion_modules.") for k in state_dict),
    }


def load_motion_adapter(path, dtype: torch.dtype = torch.float32):
    """A diffusers MotionAdapter from a folder or from one weights file (original or diffusers layout)."""
    from diffusers import MotionAdapter

    path = _check_exists(path, "motion_module")
    if os.path.isdir(path):
        _expect_kind(path, "motion_module", "motion_module")
        return MotionAdapter.from_pretrained(path, local_files_only=True, torch_dtype=dtype)
    state = read_state_dict(path)
    _expect_kind(path, "motion_module", "motion_module", weights_kind(state))
    config = motion_adapter_config(state)
    adapter = MotionAdapter(**config)
    missing, unexpected = adapter.load_state_dict(convert_motion_keys(state), strict=False)
    missing = [k for k in missing if not k.endswith("pos_embed.pe")]
    if missing or unexpected:
        raise UnflickerError(f"motion_module: {os.path.basename(path)} does not match an SD 1.5 motion module "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return adapter.to(dtype)


def _lora_file(path) -> str:
    """A LoRA's weights file: the path itself, or the first weights file in a folder (as diffusers saves them)."""
    path = _check_exists(path, "lora_name")
    if os.path.isdir(path):
        files = [f for f in sorted(os.listdir(path)) if f.lower().endswith(WEIGHT_EXTENSIONS)]
        if not files:
            raise UnflickerError(f"lora_name: {path} holds no weights file")
        path = os.path.join(path, files[0])
    return path


def motion_lora_state_dict(path) -> dict[str, torch.Tensor]:
    """A motion LoRA as diffusers' ``load_lora_weights`` accepts it (``unet.``-prefixed, diffusers block names)."""
    path = _lora_file(path)
    state = read_state_dict(path)
    _expect_kind(path, "motion_lora", "lora_name", weights_kind(state))
    out = {}
    for key, value in convert_motion_keys(state).items():
        # attention-processor LoRA names (".processor.to_q_lora.down.weight", also on ff layers) -> PEFT names
        key = re.sub(r"\.processor\.(\w+?)_lora\.down\.weight$", r".\1.lora_A.weight", key)
        key = re.sub(r"\.processor\.(\w+?)_lora\.up\.weight$", r".\1.lora_B.weight", key)
        key = key.replace(".to_out.lora_", ".to_out.0.lora_")  # the Linear inside to_out
        out[key if key.startswith("unet.") else f"unet.{key}"] = value
    return out


# ---------------------------------------------------------------------------------------------------------------
# SD 1.5 image LoRAs (style, character, the AnimateLCM LoRA): UNet and text-encoder layers


def image_lora_state_dict(path) -> dict[str, torch.Tensor]:
    """An SD 1.5 image LoRA as diffusers' ``load_lora_weights`` takes it: kohya/A1111 (``lora_unet_``/``lora_te_``)
    and diffusers/PEFT (``unet.``/``text_encoder.``) files pass as they are; a PEFT file of the UNet alone, saved
    without diffusers' ``unet.`` prefix, gets it. Any other kind of file is refused by its keys."""
    path = _lora_file(path)
    state = read_state_dict(path)
    _expect_kind(path, "lora", "lora_name", weights_kind(state))
    known = ("lora_unet_", "lora_te_", "unet.", "text_encoder.")
    if not any(k.startswith(known) for k in state):
        bare = {k.removeprefix("base_model.model."): v for k, v in state.items()}
        if all(k.startswith(_UNET_PARTS) for k in bare):
            state = {f"unet.{k}": v for k, v in bare.items()}
    return state


def lora_layer_count(state_dict: Mapping[str, Any]) -> int:
    """How many layers a LoRA state dict (any layout diffusers loads) adapts."""
    return sum(k.endswith(_LORA_DOWN_SUFFIXES) for k in state_dict)


# ---------------------------------------------------------------------------------------------------------------
# SD 1.5, ControlNet, schedulers


def load_sd15(path, dtype: torch.dtype = torch.float32, config_dir=SD15_CONFIG_DIR):
    """A StableDiffusionPipeline (no safety checker) from a diffusers folder or one checkpoint file, offline.

    ``config_dir`` is a diffusers-layout folder of configs used to convert a single file (SD 1.5 by default);
    the CLIP tokenizer comes from its ``tokenizer`` subfolder, else from the shipped SD 1.5 one.
    """
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTokenizer

    path = _check_exists(path, "checkpoint")
    _expect_kind(path, "sd_checkpoint", "checkpoint")
    common = dict(local_files_only=True, torch_dtype=dtype, safety_checker=None, feature_extractor=None,
                  requires_safety_checker=False)
    if os.path.isdir(path):
        return StableDiffusionPipeline.from_pretrained(path, **common)
    config_dir = Path(config_dir)
    tokenizer_dir = config_dir / "tokenizer"
    if not (tokenizer_dir / "vocab.json").is_file():
        tokenizer_dir = SD15_CONFIG_DIR / "tokenizer"
    tokenizer = CLIPTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    return StableDiffusionPipeline.from_single_file(path, config=str(config_dir), tokenizer=tokenizer, **common)


def load_controlnet(path, dtype: torch.dtype = torch.float32, config_dir=SD15_CONFIG_DIR / "controlnet"):
    """A ControlNetModel from a diffusers folder or one file (original ``control_model.*`` or diffusers layout)."""
    from diffusers import ControlNetModel

    path = _check_exists(path, "controlnet_name")
    _expect_kind(path, "controlnet", "controlnet_name")
    if os.path.isdir(path):
        return ControlNetModel.from_pretrained(path, local_files_only=True, torch_dtype=dtype)
    return ControlNetModel.from_single_file(path, config=str(config_dir), local_files_only=True, torch_dtype=dtype)


def make_scheduler(name: str, base_config: Mapping[str, Any], beta_schedule: str = "linear"):
    """One of SCHEDULERS, built from an SD 1.5 scheduler config. LCM always uses the linear beta schedule
    (AnimateLCM was distilled with it)."""
    from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                           EulerDiscreteScheduler, LCMScheduler)

    check_choice("scheduler", name, SCHEDULERS)
    check_choice("beta_schedule", beta_schedule, BETA_SCHEDULES)
    config = {k: v for k, v in dict(base_config).items() if not k.startswith("_")}
    config.update(beta_schedule=beta_schedule, trained_betas=None, steps_offset=1, clip_sample=False)
    if name == "DDIM":
        return DDIMScheduler.from_config(config, timestep_spacing="linspace", set_alpha_to_one=False)
    if name == "Euler":
        return EulerDiscreteScheduler.from_config(config, timestep_spacing="linspace")
    if name == "Euler a":
        return EulerAncestralDiscreteScheduler.from_config(config, timestep_spacing="linspace")
    if name.startswith("DPM++ 2M"):
        return DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2,
                                                       use_karras_sigmas=name.endswith("Karras"))
    return LCMScheduler.from_config({**config, "beta_schedule": "linear"})

"""AnimateDiff text-to-video through diffusers, from local files only.

Loads an SD 1.5 checkpoint (diffusers folder, or one .safetensors/.ckpt file converted with the SD 1.5 configs and
CLIP tokenizer shipped in ``configs/sd15``), a motion module (diffusers MotionAdapter folder, or one file in the
original AnimateDiff layout such as ``mm_sd_v15_v2.ckpt`` / ``v3_sd15_mm.ckpt``, or a diffusers-layout adapter
file), stackable motion LoRAs and an optional ControlNet, and generates frames with:

* a sliding context window over the motion module (diffusers' FreeNoise: windows of ``context_length`` frames that
  overlap by ``context_overlap`` frames, blended with pyramid weights) when the clip is longer than one window;
* a prompt schedule ``{first_frame: prompt}`` (FreeNoise interpolates the text embeddings between keyframes);
* per-step progress that may raise to interrupt.

Nothing here reaches the network: every ``from_pretrained``/``from_single_file`` call is ``local_files_only``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch

from ..errors import UnflickerError, check_choice, check_range
from ..progress import ProgressFn, report
from ..settings import AnimateDiffSettings
from ..media.video import to_uint8

SD15_CONFIG_DIR = Path(__file__).resolve().parent / "configs" / "sd15"
SCHEDULERS = ("DDIM", "Euler", "Euler a", "DPM++ 2M", "DPM++ 2M Karras", "LCM")
# AnimateDiff's motion modules were trained with the "linear" beta schedule; SD 1.5 itself with "scaled_linear".
BETA_SCHEDULES = ("linear", "scaled_linear")
WEIGHT_EXTENSIONS = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin")

_KIND_TEXT = {
    "sd_checkpoint": "a Stable Diffusion checkpoint",
    "motion_module": "an AnimateDiff motion module",
    "motion_lora": "a motion LoRA",
    "controlnet": "a ControlNet",
    "lora": "an image LoRA (not a motion LoRA)",
    "unknown": "not a model this loader recognises",
}
_WHERE = {
    "sd_checkpoint": "load it as the checkpoint in AnimateDiff Loader",
    "motion_module": "load it as the motion_module in AnimateDiff Loader",
    "motion_lora": "load it with the Motion LoRA node",
    "controlnet": "load it with the ControlNet Loader",
}


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
    """Classify a state dict by its key names: sd_checkpoint, motion_module, motion_lora, controlnet, lora, unknown."""
    keys = list(keys)
    is_lora = any("lora" in k.lower() for k in keys)
    is_motion = any("motion_modules." in k for k in keys)
    if is_motion:
        return "motion_lora" if is_lora else "motion_module"
    if any(k.startswith(("control_model.", "input_hint_block.", "controlnet_cond_embedding.")) for k in keys):
        return "controlnet"
    if is_lora:
        return "lora"
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


def motion_lora_state_dict(path) -> dict[str, torch.Tensor]:
    """A motion LoRA as diffusers' ``load_lora_weights`` accepts it (``unet.``-prefixed, diffusers block names)."""
    path = _check_exists(path, "lora_name")
    if os.path.isdir(path):
        files = [f for f in sorted(os.listdir(path)) if f.lower().endswith(WEIGHT_EXTENSIONS)]
        if not files:
            raise UnflickerError(f"lora_name: {path} holds no weights file")
        path = os.path.join(path, files[0])
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


# ---------------------------------------------------------------------------------------------------------------
# The loaded model and what nodes pass around


@dataclass
class _Shared:
    """Mutable state of one loaded pipeline, shared by every AnimateDiffModel derived from it."""
    adapters: tuple = ()            # ((lora path, mtime), ...) currently loaded, adapter i named motion_lora_i
    lora_cache: dict = field(default_factory=dict)
    windows: bool = False           # FreeNoise blocks in the UNet
    controlnet_pipes: dict = field(default_factory=dict)
    offloaded_for: Any = None


@dataclass(frozen=True)
class MotionLora:
    path: str
    strength: float


@dataclass(frozen=True)
class AnimateDiffModel:
    """A loaded AnimateDiff pipeline plus the motion LoRAs to apply when generating (immutable: with_lora copies)."""
    pipe: Any
    device: torch.device
    cpu_offload: bool = False
    loras: tuple[MotionLora, ...] = ()
    shared: _Shared = field(default_factory=_Shared, compare=False, repr=False)

    @property
    def motion_length(self) -> int:
        return int(self.pipe.motion_adapter.config.motion_max_seq_length)

    def with_lora(self, path, strength: float) -> "AnimateDiffModel":
        path = _check_exists(path, "lora_name")
        _expect_kind(path, "motion_lora", "lora_name")
        check_range("strength", strength, -10.0, 10.0)
        return dataclasses.replace(self, loras=self.loras + (MotionLora(str(path), float(strength)),))


def load_animatediff(checkpoint, motion_module, scheduler: str = "DDIM", beta_schedule: str = "linear",
                     vae_slicing: bool = True, cpu_offload: bool = False, device=None, dtype: torch.dtype | None = None,
                     config_dir=SD15_CONFIG_DIR) -> AnimateDiffModel:
    """Build an AnimateDiffPipeline from local files. ``cpu_offload`` needs an accelerator and is ignored on CPU."""
    from diffusers import AnimateDiffPipeline

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = dtype or (torch.float16 if device.type == "cuda" else torch.float32)
    check_choice("scheduler", scheduler, SCHEDULERS)
    check_choice("beta_schedule", beta_schedule, BETA_SCHEDULES)
    _check_exists(motion_module, "motion_module")
    _expect_kind(str(motion_module), "motion_module", "motion_module")
    sd = load_sd15(checkpoint, dtype=dtype, config_dir=config_dir)
    adapter = load_motion_adapter(motion_module, dtype=dtype)
    pipe = AnimateDiffPipeline(vae=sd.vae, text_encoder=sd.text_encoder, tokenizer=sd.tokenizer, unet=sd.unet,
                               motion_adapter=adapter, scheduler=make_scheduler(scheduler, sd.scheduler.config,
                                                                                beta_schedule))
    del sd
    pipe.set_progress_bar_config(disable=True)
    if vae_slicing:
        pipe.vae.enable_slicing()
    offload = bool(cpu_offload) and device.type != "cpu"
    if offload:
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    return AnimateDiffModel(pipe=pipe, device=device, cpu_offload=offload)


# ---------------------------------------------------------------------------------------------------------------
# Generating


def parse_prompt_schedule(text: str) -> str | dict[int, str]:
    """``"0: a cat\\n16: a dog"`` -> {0: "a cat", 16: "a dog"}; text without ``N:`` lines stays one prompt.

    If the first keyframe is after frame 0, its prompt also covers the frames before it.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    keyed = [re.match(r"^\"?(\d+)\"?\s*:\s*(.*?)[\s,]*$", line) for line in lines]
    if not lines or not all(keyed):
        return text.strip()
    schedule: dict[int, str] = {}
    for m in keyed:
        schedule[int(m.group(1))] = m.group(2).strip().strip('"')
    first = min(schedule)
    schedule.setdefault(0, schedule[first])
    return dict(sorted(schedule.items()))


def _blocks_with_motion(unet):
    blocks = [*unet.down_blocks, unet.mid_block, *unet.up_blocks]
    return [b for b in blocks if hasattr(b, "motion_modules")]


def _set_windows(model: AnimateDiffModel, pipe, context_length: int | None, stride: int = 1) -> None:
    """FreeNoise sliding windows on (``context_length`` frames, moving by ``stride``) or off (plain diffusers).

    The UNet is shared by the plain and the ControlNet pipeline; LoRA layers are unloaded before the motion blocks
    are swapped because diffusers copies the blocks with a strict state-dict load.
    """
    state = model.shared
    if context_length is not None:
        if not state.windows:
            _unload_loras(model)
        pipe.enable_free_noise(context_length=context_length, context_stride=stride)  # swaps blocks or re-sets them
        state.windows = True
        return
    if state.windows:
        _unload_loras(model)
        for block in _blocks_with_motion(pipe.unet):
            pipe._disable_free_noise_in_block(block)
        state.windows = False
    pipe._free_noise_context_length = None


def _unload_loras(model: AnimateDiffModel) -> None:
    if model.shared.adapters:
        model.pipe.unload_lora_weights()
        model.shared.adapters = ()


def _apply_loras(model: AnimateDiffModel) -> None:
    """Load exactly the model's motion LoRAs (strength 0 ones are skipped) and set their strengths."""
    active = [lora for lora in model.loras if lora.strength != 0.0]
    wanted = tuple((lora.path, os.path.getmtime(lora.path)) for lora in active)
    state = model.shared
    if wanted != state.adapters:
        _unload_loras(model)
        for i, key in enumerate(wanted):
            if key not in state.lora_cache:
                state.lora_cache[key] = motion_lora_state_dict(key[0])
            model.pipe.load_lora_weights(dict(state.lora_cache[key]), adapter_name=f"motion_lora_{i}")
        state.adapters = wanted
    if active:
        model.pipe.set_adapters([f"motion_lora_{i}" for i in range(len(active))],
                                adapter_weights=[lora.strength for lora in active])


def _controlnet_pipe(model: AnimateDiffModel, controlnet):
    from diffusers import AnimateDiffControlNetPipeline

    pipes = model.shared.controlnet_pipes
    if id(controlnet) not in pipes:
        base = model.pipe
        pipe = AnimateDiffControlNetPipeline(vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer,
                                             unet=base.unet, motion_adapter=base.motion_adapter,
                                             controlnet=controlnet, scheduler=base.scheduler)
        pipe.set_progress_bar_config(disable=True)
        if not model.cpu_offload:
            controlnet.to(device=model.device, dtype=base.unet.dtype)
        pipes.clear()  # one ControlNet pipeline at a time keeps no stale model alive
        pipes[id(controlnet)] = (controlnet, pipe)
    return pipes[id(controlnet)][1]


def _to_pil_frames(frames, count: int, width: int, height: int):
    from PIL import Image

    out = []
    for frame in frames:
        if len(out) == count:
            break
        if isinstance(frame, torch.Tensor):
            frame = frame.detach().cpu().numpy()
        frame = to_uint8(frame)
        out.append(Image.fromarray(frame[..., :3]).resize((width, height), Image.BICUBIC))
    if len(out) < count:
        raise UnflickerError(f"control_frames: {len(out)} frames given for {count} frames to generate; "
                             f"give at least num_frames control frames")
    return out


def generate(model: AnimateDiffModel, prompt: str | Mapping[int, str], negative_prompt: str = "",
             settings: AnimateDiffSettings | None = None, *, controlnet=None, control_frames=None,
             progress: ProgressFn | None = None, **changes) -> np.ndarray:
    """Frames (num_frames, height, width, 3) float32 in 0..1, with ``settings`` (an AnimateDiffSettings) and/or
    its fields as keywords (``num_frames=24``).

    ``prompt`` may be a schedule {first frame: prompt}. Clips longer than ``context_length`` (or with a schedule)
    run FreeNoise sliding windows overlapping by ``context_overlap``. ``progress(step, steps)`` is called after each
    denoising step and may raise to stop.
    """
    s = dataclasses.replace(settings or AnimateDiffSettings(), **changes).validated()
    num_frames, width, height, steps = s.num_frames, s.width, s.height, s.steps
    context_length, context_overlap = s.context_length, s.context_overlap
    if isinstance(prompt, Mapping):
        prompt = {int(k): str(v) for k, v in prompt.items()}
        if not prompt:
            raise UnflickerError("prompt: the schedule is empty")
        late = [k for k in prompt if not 0 <= k < num_frames]
        if late:
            raise UnflickerError(f"prompt: schedule frames {late} are outside 0..{num_frames - 1}")
        if 0 not in prompt:
            prompt[0] = prompt[min(prompt)]
        if len(prompt) == 1:
            prompt = prompt[0]
    if (controlnet is None) != (control_frames is None):
        raise UnflickerError("controlnet and control_frames go together: give both or neither")

    pipe = model.pipe if controlnet is None else _controlnet_pipe(model, controlnet)
    scheduled = isinstance(prompt, dict)
    if num_frames > context_length or scheduled:
        window = min(context_length, num_frames)
        _set_windows(model, pipe, window, max(1, window - context_overlap))
    else:
        _set_windows(model, pipe, None)
    _apply_loras(model)
    if model.cpu_offload and model.shared.offloaded_for is not pipe:
        pipe.enable_model_cpu_offload(device=model.device)
        model.shared.offloaded_for = pipe

    def on_step_end(_pipe, step, _timestep, _kwargs):
        report(progress, step + 1, steps)
        return {}

    kwargs: dict[str, Any] = {}
    if controlnet is not None:
        kwargs.update(conditioning_frames=_to_pil_frames(control_frames, num_frames, width, height),
                      controlnet_conditioning_scale=float(s.controlnet_scale))
    out = pipe(prompt=prompt, negative_prompt=negative_prompt or None, num_frames=num_frames, width=width,
               height=height, num_inference_steps=steps, guidance_scale=s.guidance,
               generator=torch.Generator("cpu").manual_seed(int(s.seed)), output_type="np",
               callback_on_step_end=on_step_end, **kwargs)
    return np.asarray(out.frames[0], dtype=np.float32)

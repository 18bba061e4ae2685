"""AnimateDiff text-to-video through diffusers, from local files only.

Loads an SD 1.5 checkpoint (diffusers folder, or one .safetensors/.ckpt file converted with the SD 1.5 configs and
CLIP tokenizer shipped in ``configs/sd15``), a motion module (diffusers MotionAdapter folder, or one file in the
original AnimateDiff layout such as ``mm_sd_v15_v2.ckpt`` / ``v3_sd15_mm.ckpt``, or a diffusers-layout adapter
file), stackable motion LoRAs and SD 1.5 image LoRAs, and an optional ControlNet (the files:
:mod:`unflicker.generate.animatediff_files`).

The operation: :func:`plan` decides the prompt (one, or a schedule ``{first_frame: prompt}`` that FreeNoise
interpolates between keyframes), the sliding context window over the motion module (diffusers' FreeNoise: windows
of ``context_length`` frames that overlap by ``context_overlap`` frames, blended with pyramid weights) when the
clip is longer than one window, and the control frames needed; :func:`run` generates with per-step progress that
may raise to interrupt.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np
import torch

from ..errors import UnflickerError, check_choice, check_range
from ..media.video import to_uint8
from ..operation import Source
from ..progress import ProgressFn
from ..runtime import ModelCache, torch_device
from ..settings import AnimateDiffSettings
from ..settings.generate import ImageLoraSettings
from .animatediff_files import (BETA_SCHEDULES, SCHEDULERS, SD15_CONFIG_DIR, _check_exists,  # noqa: F401
                                _expect_kind, convert_motion_keys, folder_kind, image_lora_state_dict, load_controlnet,
                                load_motion_adapter, load_sd15, lora_layer_count, make_scheduler, model_kind,
                                motion_adapter_config, motion_lora_state_dict, read_state_dict, weights_kind)
from .common import cpu_generator, step_callback

log = logging.getLogger(__name__)
# The LoRA kinds in the order they are loaded, whatever order the nodes chained them in: PEFT adds each adapter's
# output in load order, so a fixed order gives the same result for motion -> image and image -> motion chains.
LORA_KINDS = ("motion_lora", "lora")
_ADAPTER_PREFIX = {"motion_lora": "motion_lora", "lora": "image_lora"}


# ---------------------------------------------------------------------------------------------------------------
# The loaded model and what nodes pass around


@dataclass
class _Shared:
    """Mutable state of one loaded pipeline, shared by every AnimateDiffModel derived from it."""
    adapters: tuple = ()            # ((kind, lora path, mtime), ...) currently loaded, in load order
    lora_files: ModelCache = field(default_factory=lambda: ModelCache(size=16))  # LoRA state dicts read
    windows: bool = False           # FreeNoise blocks in the UNet
    controlnet_pipe: ModelCache = field(default_factory=ModelCache)  # one keeps no stale ControlNet alive
    offloaded_for: Any = None


@dataclass(frozen=True)
class LoraFile:
    """One LoRA to apply: ``kind`` is "motion_lora" (motion modules) or "lora" (an SD 1.5 image LoRA)."""
    path: str
    strength: float
    kind: str


@dataclass(frozen=True)
class AnimateDiffModel:
    """A loaded AnimateDiff pipeline plus the motion and image LoRAs to apply when generating (immutable:
    with_lora / with_image_lora copy)."""
    pipe: Any
    device: torch.device
    cpu_offload: bool = False
    loras: tuple[LoraFile, ...] = ()
    shared: _Shared = field(default_factory=_Shared, compare=False, repr=False)

    @property
    def motion_length(self) -> int:
        return int(self.pipe.motion_adapter.config.motion_max_seq_length)

    def with_lora(self, path, strength: float) -> "AnimateDiffModel":
        """This model with one more motion LoRA (a file or a diffusers folder), checked by its keys."""
        path = _check_exists(path, "lora_name")
        _expect_kind(path, "motion_lora", "lora_name")
        check_range("strength", strength, -10.0, 10.0)
        return dataclasses.replace(self, loras=self.loras + (LoraFile(str(path), float(strength), "motion_lora"),))

    def with_image_lora(self, path, strength: float) -> "AnimateDiffModel":
        """This model with one more SD 1.5 image LoRA (UNet and text encoder), checked by its keys."""
        path = _check_exists(path, "lora_name")
        _expect_kind(path, "lora", "lora_name")
        ImageLoraSettings(strength=strength).validated()
        return dataclasses.replace(self, loras=self.loras + (LoraFile(str(path), float(strength), "lora"),))


def load_animatediff(checkpoint, motion_module, scheduler: str = "DDIM", beta_schedule: str = "linear",
                     vae_slicing: bool = True, cpu_offload: bool = False, device=None, dtype: torch.dtype | None = None,
                     config_dir=SD15_CONFIG_DIR) -> AnimateDiffModel:
    """Build an AnimateDiffPipeline from local files. ``cpu_offload`` needs an accelerator and is ignored on CPU;
    ``device`` None: :func:`unflicker.runtime.torch_device`'s choice, ``dtype`` None: fp16 on CUDA, else fp32."""
    from diffusers import AnimateDiffPipeline

    device = torch.device(device or torch_device())
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
# The plan


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


def _schedule(prompt, num_frames: int):
    """A prompt text (maybe a schedule), or a schedule {frame: prompt}, checked; a one-entry schedule is one prompt."""
    if isinstance(prompt, str):
        prompt = parse_prompt_schedule(prompt)
    if not isinstance(prompt, Mapping):
        return prompt
    prompt = {int(k): str(v) for k, v in prompt.items()}
    if not prompt:
        raise UnflickerError("prompt: the schedule is empty")
    late = [k for k in prompt if not 0 <= k < num_frames]
    if late:
        raise UnflickerError(f"prompt: schedule frames {late} are outside 0..{num_frames - 1}")
    if 0 not in prompt:
        prompt[0] = prompt[min(prompt)]
    return prompt[0] if len(prompt) == 1 else prompt


@dataclass(frozen=True)
class AnimateDiffPlan:
    """One generation, decided: the settings (validated), the prompt as the pipeline takes it, the FreeNoise
    window (frames, stride) or None for one pass, and whether control frames steer it."""

    settings: AnimateDiffSettings
    prompt: Any  # str, or {first frame: prompt}
    window: Optional[tuple[int, int]]
    controlled: bool
    frame_count: int
    width: int
    height: int
    fps: float

    @property
    def progress_steps(self) -> int:
        """What ``run`` reports progress against: one per denoising step."""
        return self.settings.steps

    @property
    def window_overlap(self) -> int:
        """Frames two neighbouring windows share (0 for one window): the deflicker blends its correction over them."""
        return 0 if self.window is None or self.window[0] >= self.frame_count else self.window[0] - self.window[1]

    @property
    def segment_starts(self) -> tuple:
        """Frames where a window after the first begins (its overlap with the one before starts there), for the
        deflicker's segment_starts. A start inside the previous reported start's overlap is left out: the deflicker
        blends each correction over ``window_overlap`` frames from its start, and those spans must not overlap
        (they would undo the same change twice)."""
        if self.window is None:
            return ()
        out: list = []
        for start in window_starts(self.frame_count, *self.window)[1:]:
            if not out or start >= out[-1] + self.window_overlap:
                out.append(start)
        return tuple(out)


def window_starts(num_frames: int, length: int, stride: int) -> list:
    """The first frame of each FreeNoise context window, as diffusers places them (its
    FreeNoiseTransformerBlock._get_frame_indices): every ``stride`` frames while a whole window fits, then one
    last window ending on the last frame if those left frames uncovered."""
    starts = list(range(0, num_frames - length + 1, stride))
    if starts[-1] + length < num_frames:
        starts.append(num_frames - length)
    return starts


def plan(settings: AnimateDiffSettings, control: Optional[Source] = None, controlnet: bool = False) -> AnimateDiffPlan:
    """Decide a generation. ``control`` is the control frames' :class:`Source` (with ``controlnet``: both or
    neither); clips longer than ``context_length``, or with a schedule, run sliding windows."""
    s = settings.validated()
    prompt = _schedule(s.prompt, s.num_frames)
    if (control is None) == controlnet:
        raise UnflickerError("controlnet and control_frames go together: give both or neither")
    if control is not None and control.frame_count is not None and control.frame_count < s.num_frames:
        _too_few_control_frames(control.frame_count, s.num_frames)
    window = None
    if s.num_frames > s.context_length or isinstance(prompt, dict):
        frames = min(s.context_length, s.num_frames)
        window = (frames, max(1, frames - s.context_overlap))
    return AnimateDiffPlan(s, prompt, window, control is not None, s.num_frames, s.width, s.height, float(s.fps))


def _too_few_control_frames(given: int, needed: int):
    raise UnflickerError(f"control_frames: {given} frames given for {needed} frames to generate; "
                         f"give at least num_frames control frames")


def frames_source(frames, name: str) -> Source:
    """What a batch of frames (array, tensor or list of H x W x C frames) is, for :func:`plan`."""
    count = len(frames)
    shape = np.shape(frames[0]) if count else (0, 0)
    return Source(shape[1], shape[0], count, name=name)


# ---------------------------------------------------------------------------------------------------------------
# The run


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


def _active_loras(model: AnimateDiffModel) -> list[LoraFile]:
    """The LoRAs to load: strength 0 ones left out (bit-identical to none), motion LoRAs before image LoRAs, each
    kind in chain order."""
    active = [lora for lora in model.loras if lora.strength != 0.0]
    return sorted(active, key=lambda lora: LORA_KINDS.index(lora.kind))


def _apply_loras(model: AnimateDiffModel) -> None:
    """Load exactly the model's active LoRAs and set their strengths; a file that does not fit leaves none loaded."""
    active = _active_loras(model)
    wanted = tuple((lora.kind, lora.path, os.path.getmtime(lora.path)) for lora in active)
    names = [f"{_ADAPTER_PREFIX[lora.kind]}_{i}" for i, lora in enumerate(active)]
    state = model.shared
    if wanted != state.adapters:
        _unload_loras(model)
        try:
            for name, key in zip(names, wanted):
                read = motion_lora_state_dict if key[0] == "motion_lora" else image_lora_state_dict
                _load_adapter(model.pipe, name, key[1], state.lora_files.get(key, lambda: read(key[1])))
        except BaseException:
            model.pipe.unload_lora_weights()  # the adapters loaded before the failing one
            raise
        state.adapters = wanted
    if active:
        model.pipe.set_adapters(names, adapter_weights=[lora.strength for lora in active])


def _adapter_layers(pipe, name: str) -> int:
    """How many layers of the UNet and the text encoder carry adapter ``name``."""
    modules = [*pipe.unet.modules(), *pipe.text_encoder.modules()]
    return sum(name in getattr(module, "lora_A", {}) for module in modules)


def _load_adapter(pipe, name: str, path: str, state_dict) -> None:
    """Load one LoRA as adapter ``name``. PEFT skips layer names the model lacks without a word, so a file none of
    whose layers exist here (a LoRA for another model) is refused, and a partial match is logged."""
    file = os.path.basename(os.path.normpath(path))
    try:
        pipe.load_lora_weights(dict(state_dict), adapter_name=name)
    except torch.cuda.OutOfMemoryError:
        raise
    except (RuntimeError, ValueError, KeyError, IndexError) as exc:  # shapes or names of another model
        raise UnflickerError(f"lora_name: {file} does not fit this SD 1.5 model: {exc}") from exc
    expected, found = lora_layer_count(state_dict), _adapter_layers(pipe, name)
    if found == 0:
        raise UnflickerError(f"lora_name: none of the {expected} layers of {file} exist in this SD 1.5 UNet or text "
                             f"encoder; it is a LoRA for another model")
    if found < expected:
        log.warning("%s: %d of its %d layers have no match in this SD 1.5 model and are left out", file,
                    expected - found, expected)


def _controlnet_pipe(model: AnimateDiffModel, controlnet):
    from diffusers import AnimateDiffControlNetPipeline

    def build():
        base = model.pipe
        pipe = AnimateDiffControlNetPipeline(vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer,
                                             unet=base.unet, motion_adapter=base.motion_adapter,
                                             controlnet=controlnet, scheduler=base.scheduler)
        pipe.set_progress_bar_config(disable=True)
        if not model.cpu_offload:
            controlnet.to(device=model.device, dtype=base.unet.dtype)
        return controlnet, pipe  # the ControlNet is kept with its pipeline, so its id stays its own

    return model.shared.controlnet_pipe.get(id(controlnet), build)[1]


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
        _too_few_control_frames(len(out), count)
    return out


def run(model: AnimateDiffModel, plan: AnimateDiffPlan, controlnet=None, control_frames=None,
        progress: ProgressFn | None = None) -> np.ndarray:
    """The planned frames (num_frames, height, width, 3) float32 in 0..1; ``progress(step, steps)`` is called after
    each denoising step and may raise to stop."""
    s = plan.settings
    pipe = model.pipe if controlnet is None else _controlnet_pipe(model, controlnet)
    _set_windows(model, pipe, *(plan.window or (None,)))
    _apply_loras(model)
    if model.cpu_offload and model.shared.offloaded_for is not pipe:
        pipe.enable_model_cpu_offload(device=model.device)
        model.shared.offloaded_for = pipe
    kwargs: dict[str, Any] = {}
    if plan.controlled:
        kwargs.update(conditioning_frames=_to_pil_frames(control_frames, s.num_frames, s.width, s.height),
                      controlnet_conditioning_scale=float(s.controlnet_scale))
    out = pipe(prompt=plan.prompt, negative_prompt=s.negative_prompt or None, num_frames=s.num_frames,
               width=s.width, height=s.height, num_inference_steps=s.steps, guidance_scale=s.guidance,
               generator=cpu_generator(s.seed), output_type="np", callback_on_step_end=step_callback(progress, s.steps),
               **kwargs)
    return np.asarray(out.frames[0], dtype=np.float32)


def generate(model: AnimateDiffModel, prompt: str | Mapping[int, str], negative_prompt: str = "",
             settings: AnimateDiffSettings | None = None, *, controlnet=None, control_frames=None,
             progress: ProgressFn | None = None, **changes) -> np.ndarray:
    """:func:`plan` + :func:`run`: frames (num_frames, height, width, 3) float32 in 0..1, with ``settings`` (an
    AnimateDiffSettings) and/or its fields as keywords (``num_frames=24``); ``prompt`` may be a schedule."""
    settings = dataclasses.replace(settings or AnimateDiffSettings(), prompt=prompt, negative_prompt=negative_prompt,
                                   **changes)
    control = None if control_frames is None else frames_source(control_frames, "control_frames")
    decided = plan(settings, control, controlnet is not None)
    return run(model, decided, controlnet, control_frames, progress)

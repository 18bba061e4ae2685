"""AnimateDiff through diffusers: loader, stackable motion LoRAs and SD 1.5 image LoRAs, ControlNet loader, generate
(sliding windows, prompt schedule, optional ControlNet frames). Thin wrappers over unflicker.generate.animatediff;
nothing is downloaded."""

from __future__ import annotations

import torch

import comfy.model_management

from ..unflicker.generate import animatediff as engine
from ..unflicker.generate.common import starts_text
from ..unflicker.settings.generate import ImageLoraSettings
from .comfy_bridge import node_progress
from .inputs import SEED, setting_input, setting_inputs
from .model_folders import ModelSource, register

MODEL_TYPE = "UNFLICKER_ANIMATEDIFF"
CONTROLNET_TYPE = "UNFLICKER_CONTROLNET"
CHECKPOINT = ModelSource("checkpoint", files="checkpoints", folders="diffusers")
MOTION_MODULE = ModelSource("motion_module", files="animatediff_models", folders="animatediff_models")
MOTION_LORA = ModelSource("lora_name", files="animatediff_motion_lora")
IMAGE_LORA = ModelSource("lora_name", files="loras")  # ComfyUI's own LoRA folder, listed as its LoraLoader lists it
CONTROLNET = ModelSource("controlnet_name", files="controlnet", folders="controlnet")


def register_model_folders() -> None:
    """models/animatediff_models and models/animatediff_motion_lora, unless another pack registered them already."""
    for kind in ("animatediff_models", "animatediff_motion_lora"):
        register(kind)


register_model_folders()


class AnimateDiffLoader:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("Loads an SD 1.5 checkpoint (single file or diffusers folder) with an AnimateDiff motion module "
                   "into a diffusers AnimateDiff pipeline, offline. Motion modules live in models/animatediff_models "
                   "(mm_sd_v15_v2.ckpt, v3_sd15_mm.ckpt, adapter safetensors or a diffusers folder).")
    RETURN_TYPES = (MODEL_TYPE,)
    RETURN_NAMES = ("animatediff",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "checkpoint": (CHECKPOINT.choices(), {"tooltip": "SD 1.5 checkpoint: a diffusers folder in models/diffusers (listed first) or a single file in models/checkpoints."}),
            "motion_module": (MOTION_MODULE.choices(), {"tooltip": "AnimateDiff motion module (not a motion LoRA)."}),
            "scheduler": (list(engine.SCHEDULERS), {"default": "DDIM", "tooltip": "LCM is for AnimateLCM (few steps, guidance ~1-2) and always uses the linear beta schedule."}),
            "beta_schedule": (list(engine.BETA_SCHEDULES), {"default": "linear", "tooltip": "linear: what AnimateDiff was trained with; scaled_linear: SD 1.5's own."}),
            "vae_slicing": ("BOOLEAN", {"default": True, "tooltip": "Decode frames one at a time: less memory, same result."}),
            "cpu_offload": ("BOOLEAN", {"default": False, "tooltip": "Keep models in RAM and move each to the GPU only while it runs (ignored on CPU)."}),
        }}

    @classmethod
    def VALIDATE_INPUTS(cls, checkpoint=None, motion_module=None):  # also accepts the names earlier versions saved
        return next((m for m in (CHECKPOINT.validate(checkpoint), MOTION_MODULE.validate(motion_module))
                     if m is not True), True)

    def load(self, checkpoint, motion_module, scheduler, beta_schedule, vae_slicing, cpu_offload):
        device = comfy.model_management.get_torch_device()
        model = engine.load_animatediff(CHECKPOINT.resolve(checkpoint),
                                        MOTION_MODULE.resolve(motion_module), scheduler=scheduler,
                                        beta_schedule=beta_schedule, vae_slicing=vae_slicing,
                                        cpu_offload=cpu_offload, device=device)
        return (model,)


class MotionLora:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("Adds a motion LoRA (zoom, pan, roll, tilt...) from models/animatediff_motion_lora. Chain several "
                   "to stack them; strength 0 leaves the motion unchanged.")
    RETURN_TYPES = (MODEL_TYPE,)
    RETURN_NAMES = ("animatediff",)
    FUNCTION = "apply"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "animatediff": (MODEL_TYPE,),
            "lora_name": (MOTION_LORA.choices(),),
            "strength": ("FLOAT", {"default": 1.0, "min": -2.0, "max": 2.0, "step": 0.05, "tooltip": "0.8 is a good start for zoom-in."}),
        }}

    @classmethod
    def VALIDATE_INPUTS(cls, lora_name=None):
        return MOTION_LORA.validate(lora_name)

    def apply(self, animatediff, lora_name, strength):
        return (animatediff.with_lora(MOTION_LORA.resolve(lora_name), strength),)


class ImageLora:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("Adds an SD 1.5 image LoRA (style, character, the AnimateLCM LoRA...) from models/loras to the UNet "
                   "and the text encoder; kohya/A1111 or diffusers files. Chain several, before or after Motion LoRA "
                   "nodes (same result either way), each at its own strength; strength 0 leaves the output unchanged.")
    RETURN_TYPES = (MODEL_TYPE,)
    RETURN_NAMES = ("animatediff",)
    FUNCTION = "apply"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "animatediff": (MODEL_TYPE,),
            "lora_name": (IMAGE_LORA.choices(), {"tooltip": "An SD 1.5 LoRA (not a motion LoRA, not SDXL)."}),
            "strength": setting_input(ImageLoraSettings, "strength"),
        }}

    @classmethod
    def VALIDATE_INPUTS(cls, lora_name=None):
        return IMAGE_LORA.validate(lora_name)

    def apply(self, animatediff, lora_name, strength):
        return (animatediff.with_image_lora(IMAGE_LORA.resolve(lora_name), strength),)


class ControlNetLoader:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("Loads an SD 1.5 ControlNet (e.g. control_v11p_sd15_openpose) from models/controlnet, single file "
                   "or diffusers folder, for AnimateDiff Generate.")
    RETURN_TYPES = (CONTROLNET_TYPE,)
    RETURN_NAMES = ("controlnet",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"controlnet_name": (CONTROLNET.choices(),)}}

    @classmethod
    def VALIDATE_INPUTS(cls, controlnet_name=None):  # also accepts the names earlier versions saved
        return CONTROLNET.validate(controlnet_name)

    def load(self, controlnet_name):
        device = comfy.model_management.get_torch_device()
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        return (engine.load_controlnet(CONTROLNET.resolve(controlnet_name), dtype=dtype),)


class AnimateDiffGenerate:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("Text-to-video with AnimateDiff. Clips longer than the context length are made in overlapping "
                   "windows (FreeNoise) so motion stays continuous. The prompt may be a schedule, one 'frame: prompt' "
                   "per line (e.g. '0: a cat sitting' / '16: a cat running'); prompts blend between keyframes. "
                   "With a ControlNet and control frames (e.g. OpenPose skeletons) the video follows them. "
                   "segment_starts and overlap: where the windows after the first begin and how many frames they "
                   "share, for the Deflicker's segment_starts and overlap (it removes the look steps between windows).")
    RETURN_TYPES = ("IMAGE", "FLOAT", "STRING", "INT")
    RETURN_NAMES = ("images", "fps", "segment_starts", "overlap")
    FUNCTION = "generate"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "animatediff": (MODEL_TYPE,),
                "prompt": ("STRING", {"multiline": True, "default": engine.AnimateDiffSettings.default("prompt")}),
                "negative_prompt": ("STRING", {"multiline": True,
                                               "default": engine.AnimateDiffSettings.default("negative_prompt")}),
                **setting_inputs(engine.AnimateDiffSettings, "num_frames", "width", "height", "steps", "guidance"),
                "seed": SEED,
                **setting_inputs(engine.AnimateDiffSettings, "context_length", "context_overlap"),
                "fps": setting_input(engine.AnimateDiffSettings, "fps"),
            },
            "optional": {
                "controlnet": (CONTROLNET_TYPE,),
                "control_frames": ("IMAGE", {"tooltip": "One control image per frame (at least num_frames)."}),
                "controlnet_strength": setting_input(engine.AnimateDiffSettings, "controlnet_scale"),
            },
        }

    def generate(self, animatediff, prompt, negative_prompt, seed, context_length, context_overlap, fps,
                 controlnet=None, control_frames=None, controlnet_strength=1.0, **settings):
        # The seed folded below 2**63 as this node always has, so saved workflows give the same video.
        settings = engine.AnimateDiffSettings(**settings, prompt=prompt, negative_prompt=negative_prompt,
                                              seed=seed % (2 ** 63), context_length=context_length,
                                              context_overlap=context_overlap, controlnet_scale=controlnet_strength,
                                              fps=fps).fitted()
        control = None if control_frames is None else engine.frames_source(control_frames, "control_frames")
        plan = engine.plan(settings, control, controlnet is not None)
        frames = engine.run(animatediff, plan, controlnet, control_frames, node_progress(plan.progress_steps))
        return (torch.from_numpy(frames), plan.fps, starts_text(plan.segment_starts), plan.window_overlap)

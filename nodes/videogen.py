"""CogVideoX and Wan nodes: loaders (offline, from ComfyUI's model folders) and generate nodes with the recipe's
coherence settings."""

from __future__ import annotations

import dataclasses
import os

from ..unflicker.generate import videogen as engine
from ..unflicker.generate.common import WEIGHT_EXTENSIONS as WEIGHTS
from ..unflicker.errors import UnflickerError
from ..unflicker.settings import CogVideoXSettings, WanSettings
from .comfy_bridge import node_progress
from .generation import NONE, first_frame, model_path, pipeline_device, validate_model, video_result
from .inputs import setting_input, setting_inputs
from .model_folders import ModelSource

COGVIDEOX_TYPE = "UNFLICKER_COGVIDEOX"
WAN_TYPE = "UNFLICKER_WAN"
NO_FILE = "(none)"

FOLDERS = ModelSource("model", folders="diffusers", markers=("model_index.json",),
                      hint="Put the diffusers download (model_index.json, transformer/, vae/, text_encoder/, "
                           "tokenizer/, scheduler/) in models/diffusers, or give a path.")
TRANSFORMER = ModelSource("transformer", files="diffusion_models", extensions=WEIGHTS, prefer=("wan",),
                          hint="Put e.g. wan2.1_t2v_1.3B_fp16.safetensors in models/diffusion_models.")
TRANSFORMER_2 = ModelSource("transformer_2", files="diffusion_models", extensions=WEIGHTS, prefer=("low_noise",))
VAE = ModelSource("vae", files="vae", extensions=WEIGHTS, prefer=("wan",),
                  hint="Put wan_2.1_vae.safetensors in models/vae.")
CLIP_VISION = ModelSource("clip_vision", files="clip_vision", extensions=WEIGHTS, prefer=("clip_vision_h",),
                          hint="Put clip_vision_h.safetensors in models/clip_vision (Wan 2.1 image-to-video only).")
TEXT_ENCODER = ModelSource("text_encoder", files="text_encoders", extensions=WEIGHTS, prefer=("umt5",),
                           hint="Put umt5_xxl_fp16.safetensors in models/text_encoders.")


def _folders(family: str) -> list[str]:
    """The diffusers folders under models/diffusers holding a pipeline of ``family``."""
    found = []
    for name in FOLDERS.folder_choices():
        full = FOLDERS.resolve(name)
        kind = engine.pipeline_kind(full)
        if kind and kind[0] == family:
            found.append(name)
    return found


def _device_dtype(dtype: str):
    return pipeline_device(dtype, ("bf16", "fp16"))  # the recipe says bf16; GPUs without it get fp16


def _memory_inputs() -> dict:
    return {
        "dtype": (list(engine.DTYPES), {"default": "auto", "tooltip": "auto: bf16 on a GPU that has it (the recipe's precision), else fp16; fp32 on the CPU."}),
        "offload": (list(engine.OFFLOAD), {"default": "none", "tooltip": "model: only the running part (text encoder, transformer, VAE) sits on the GPU - about the largest component in VRAM (the UMT5/T5 text encoder for Wan 1.3B and CogVideoX 2b), a little slower. sequential: weights stream layer by layer - least VRAM, several times slower."}),
        "vae_tiling": ("BOOLEAN", {"default": False, "tooltip": "Decode the video in overlapping tiles: much lower VRAM peak at the end of long/large clips (tile seams are blended)."}),
        "vae_slicing": ("BOOLEAN", {"default": False, "tooltip": "Decode one video of the batch at a time (lower peak with batches)."}),
        "keep_loaded": ("BOOLEAN", {"default": True, "tooltip": "Cache the pipeline in the pack so the next run with the same settings reuses it. Off: the pack keeps no copy (memory returns once ComfyUI drops this node's output)."}),
    }


class _FolderLoader:
    """A diffusers-folder loader for one family; the subclasses name the family and what the other loader is."""

    CATEGORY = "Unflicker/Generate"
    FUNCTION = "load"
    FAMILY = ""
    LABEL = ""  # the family as the tooltips name it
    OTHER_LOADER = ""  # the loader a pipeline of the other family belongs to

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": (_folders(cls.FAMILY) + [NONE], {"tooltip": f"{cls.LABEL} diffusers folders in models/diffusers.", "model_list": True}),
                             **_memory_inputs()},
                "optional": {"path": ("STRING", {"default": "", "tooltip": f"A {cls.LABEL} diffusers folder anywhere on disk; overrides model."})}}

    @classmethod
    def VALIDATE_INPUTS(cls, model=None, path=None):
        return validate_model(FOLDERS, model, path)

    def load(self, model, dtype, offload, vae_tiling, vae_slicing, keep_loaded, path=""):
        device, dtype = _device_dtype(dtype)
        loaded = engine.load_pipeline(model_path(FOLDERS, model, path), device, dtype, offload, vae_tiling, vae_slicing,
                                      cache=keep_loaded)
        if loaded.info.family != self.FAMILY:
            raise UnflickerError(f"model: {loaded.source} is {loaded.info.variant}; load it with the {self.OTHER_LOADER}")
        return (loaded,)


class CogVideoXLoader(_FolderLoader):
    DESCRIPTION = ("Loads CogVideoX (2b / 5b text-to-video, 5b-I2V image-to-video, CogVideoX 1.5) for CogVideoX "
                   "Generate, from a diffusers folder in models/diffusers or a path. Local files only.")
    RETURN_TYPES = (COGVIDEOX_TYPE,)
    RETURN_NAMES = ("cogvideox",)
    FAMILY, LABEL, OTHER_LOADER = "cogvideox", "CogVideoX", "Wan Loader"


class WanLoader(_FolderLoader):
    DESCRIPTION = ("Loads Wan 2.1 / 2.2 (T2V 1.3B/14B, I2V 14B, TI2V 5B, A14B) for Wan Generate from a diffusers "
                   "folder in models/diffusers or a path. For ComfyUI's split files use Wan Loader (split files).")
    RETURN_TYPES = (WAN_TYPE,)
    RETURN_NAMES = ("wan",)
    FAMILY, LABEL, OTHER_LOADER = "wan", "Wan", "CogVideoX Loader"


class WanSplitLoader:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("Loads Wan from ComfyUI's own split files: the transformer from models/diffusion_models "
                   "(wan2.1_t2v_1.3B_fp16.safetensors, ...; Wan 2.2 A14B: high-noise file here, low-noise as "
                   "transformer_2), the VAE from models/vae (wan_2.1_vae.safetensors) and UMT5-XXL from "
                   "models/text_encoders (umt5_xxl_fp16.safetensors; fp8-scaled files are dequantised); Wan 2.1 I2V also "
                   "its CLIP image encoder from models/clip_vision (clip_vision_h.safetensors). Configs ship "
                   "with the pack; the tokenizer is the one ComfyUI's UMT5 file carries. Nothing is downloaded.")
    RETURN_TYPES = (WAN_TYPE,)
    RETURN_NAMES = ("wan",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
                    "transformer": (TRANSFORMER.choices(), {"tooltip": TRANSFORMER.where()}),
                    "vae": (VAE.choices(), {"tooltip": VAE.where() + ". Wan 2.1 VAE (the Wan 2.2 TI2V VAE loads from a diffusers folder)."}),
                    "text_encoder": (TEXT_ENCODER.choices(), {"tooltip": TEXT_ENCODER.where()}),
                    **_memory_inputs()},
                "optional": {
                    "transformer_2": ([NO_FILE] + TRANSFORMER_2.choices(), {"default": NO_FILE, "tooltip": "Wan 2.2 A14B only: the low-noise expert (…_low_noise_….safetensors)."}),
                    "clip_vision": ([NO_FILE] + CLIP_VISION.choices(), {"default": NO_FILE, "tooltip": "Wan 2.1 image-to-video 14B only: its CLIP image encoder, clip_vision_h.safetensors from models/clip_vision."}),
                    "tokenizer": ("STRING", {"default": "", "tooltip": "Only for a UMT5 file without an embedded tokenizer: the tokenizer/ folder of a Wan diffusers download."}),
                    "config_dir": ("STRING", {"default": "", "tooltip": "Advanced: a folder with transformer/, vae/, text_encoder/ (and scheduler/) config.json files for a model the shipped configs do not describe. Empty: the shipped Wan configs, picked by the transformer's shapes."}),
                }}

    @classmethod
    def VALIDATE_INPUTS(cls, transformer=None, vae=None, text_encoder=None, transformer_2=None, clip_vision=None):
        for source, choice in ((TRANSFORMER, transformer), (VAE, vae), (TEXT_ENCODER, text_encoder),
                               (TRANSFORMER_2, transformer_2), (CLIP_VISION, clip_vision)):
            ok = True if choice == NO_FILE else source.validate(choice)
            if ok is not True:
                return ok
        return True

    def load(self, transformer, vae, text_encoder, dtype, offload, vae_tiling, vae_slicing, keep_loaded,
             transformer_2=NO_FILE, clip_vision=NO_FILE, tokenizer="", config_dir=""):
        device, dtype = _device_dtype(dtype)

        def optional(source, choice):
            return "" if choice in ("", NO_FILE) else source.resolve(choice)

        files = engine.WanFiles(TRANSFORMER.resolve(transformer), VAE.resolve(vae), TEXT_ENCODER.resolve(text_encoder),
                                optional(TRANSFORMER_2, transformer_2), os.path.expanduser(tokenizer.strip()),
                                os.path.expanduser(config_dir.strip()), optional(CLIP_VISION, clip_vision))
        return (engine.load_pipeline(files, device, dtype, offload, vae_tiling, vae_slicing, cache=keep_loaded),)


_GENERATE = ("num_frames", "width", "height", "steps", "guidance")


def _generate_inputs(model_type: str, settings) -> dict:
    extra = ("flow_shift",) if "flow_shift" in {f.name for f in dataclasses.fields(settings)} else ()
    return {"model": (model_type,),
            "prompt": setting_input(settings, "prompt", multiline=True),
            "negative_prompt": setting_input(settings, "negative_prompt", multiline=True),
            **setting_inputs(settings, *_GENERATE, *extra, "seed", "fps")}


FIRST_IMAGE = ("IMAGE", {"tooltip": "First frame for an image-to-video model (the first image of the batch)."})


def _run(model: engine.VideoModel, image, settings):
    first = first_frame(image)
    plan = engine.plan(model, settings, first)
    frames = engine.run(model, plan, first, node_progress(plan.progress_steps))
    return video_result(frames, plan.fps, plan.messages)


class _Generate:
    """A generate node of one family: its model type and settings class name the inputs."""

    CATEGORY = "Unflicker/Generate"
    RETURN_TYPES = ("IMAGE", "FLOAT", "STRING")
    RETURN_NAMES = ("images", "fps", "notes")
    FUNCTION = "generate"
    MODEL_TYPE = ""
    SETTINGS = CogVideoXSettings

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": _generate_inputs(cls.MODEL_TYPE, cls.SETTINGS), "optional": {"image": FIRST_IMAGE}}


class CogVideoXGenerate(_Generate):
    DESCRIPTION = ("CogVideoX text-to-video (or image-to-video with 5b-I2V: plug a first image) through diffusers "
                   "with the recipe's coherence settings: 49 frames, 40 steps, guidance 7.5, a locked seed. The notes "
                   "output says when settings cost temporal coherence. Progress per step; Cancel stops between steps.")
    MODEL_TYPE, SETTINGS = COGVIDEOX_TYPE, CogVideoXSettings

    def generate(self, model, prompt, negative_prompt, num_frames, width, height, steps, guidance, seed, fps,
                 image=None):
        return _run(model, image, CogVideoXSettings(prompt=prompt, negative_prompt=negative_prompt,
                                                    num_frames=num_frames, width=width, height=height, steps=steps,
                                                    guidance=guidance, seed=seed, fps=fps))


class WanGenerate(_Generate):
    DESCRIPTION = ("Wan 2.1 / 2.2 text-to-video (or image-to-video with an I2V / TI2V model: plug a first image) "
                   "through diffusers: 81 frames, 40 steps, guidance 5.0, flow shift 3.0 (480p) / 5.0 (720p), a "
                   "locked seed. The notes output says when settings cost temporal coherence.")
    MODEL_TYPE, SETTINGS = WAN_TYPE, WanSettings

    def generate(self, model, prompt, negative_prompt, num_frames, width, height, steps, guidance, flow_shift, seed,
                 fps, image=None):
        return _run(model, image, WanSettings(prompt=prompt, negative_prompt=negative_prompt, num_frames=num_frames,
                                              width=width, height=height, steps=steps, guidance=guidance, seed=seed,
                                              fps=fps, flow_shift=flow_shift))

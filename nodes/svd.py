"""Stable Video Diffusion nodes: load (offline, from ComfyUI's model folders), generate, extend."""

from __future__ import annotations

from ..unflicker.generate import svd as engine
from ..unflicker.generate.common import starts_text
from .comfy_bridge import node_progress
from .generation import NONE, first_frame, model_path, pipeline_device, validate_model, video_result
from .inputs import setting_inputs
from .model_folders import ModelSource

SVD_TYPE = "UNFLICKER_SVD"
MODEL = ModelSource("model", files="checkpoints", folders="diffusers", extensions=engine.SINGLE_FILE_EXTENSIONS,
                    pipeline="StableVideoDiffusionPipeline", prefer=("svd", "video"),
                    hint="Put a diffusers folder in models/diffusers or a single file in models/checkpoints, or give a path.")


def _model_choices() -> list[str]:
    # SVD diffusers folders, then SVD-looking checkpoints first: a checkpoints folder usually holds image models too
    return MODEL.choices() + [NONE]


class SVDLoader:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("Loads Stable Video Diffusion (img2vid / img2vid-xt) for the Unflicker SVD nodes, from local files "
                   "only: a diffusers folder in models/diffusers, a single-file checkpoint in models/checkpoints "
                   "(svd.safetensors, svd_xt.safetensors, svd_xt_1_1.safetensors) or a path. Nothing is downloaded.")
    RETURN_TYPES = (SVD_TYPE,)
    RETURN_NAMES = ("svd",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": (_model_choices(), {"tooltip": "A diffusers folder in models/diffusers (listed first) or a single file in the original layout in models/checkpoints."}),
                "dtype": (list(engine.DTYPES), {"default": "auto", "tooltip": "auto: what ComfyUI picks for this GPU (usually fp16), fp32 on the CPU."}),
                "cpu_offload": ("BOOLEAN", {"default": False, "tooltip": "Keep only the running part (image encoder, UNet or VAE) on the GPU: much less VRAM, a little slower."}),
                "forward_chunking": ("BOOLEAN", {"default": False, "tooltip": "Run the UNet's feed-forward layers in slices: lower peak VRAM."}),
                "keep_loaded": ("BOOLEAN", {"default": True, "tooltip": "Cache the pipeline in the pack so the next run with the same settings reuses it. Off: the pack keeps no copy (memory returns once ComfyUI drops this node's output)."}),
            },
            "optional": {
                "path": ("STRING", {"default": "", "tooltip": "A diffusers folder or checkpoint file anywhere on disk; overrides model."}),
                "config": (["auto", "svd", "svd_xt"], {"default": "auto", "tooltip": "Shipped component configs for a single file; auto decides from the file name (xt -> svd_xt)."}),
            },
        }

    @classmethod
    def VALIDATE_INPUTS(cls, model=None, path=None):
        return validate_model(MODEL, model, path)  # also accepts the names earlier versions saved

    def load(self, model, dtype, cpu_offload, forward_chunking, keep_loaded, path="", config="auto"):
        device, dtype = pipeline_device(dtype, ("fp16", "bf16"))  # SVD is published in fp16
        loaded = engine.load_pipeline(model_path(MODEL, model, path), device, dtype, cpu_offload, forward_chunking,
                                      config, cache=keep_loaded)
        return (loaded,)


_GENERATE = ("width", "height", "num_frames", "steps", "min_guidance", "max_guidance", "motion_bucket_id", "fps",
             "noise_aug_strength", "decode_chunk_size", "seed")


def _generate_inputs() -> dict:
    return {
        "svd": (SVD_TYPE,),
        "image": ("IMAGE", {"tooltip": "First frame (the first image of the batch is used)."}),
        **setting_inputs(engine.SVDSettings, *_GENERATE),
        "stability_guard": ("BOOLEAN", {"default": True, "tooltip": "Clamp noise_aug_strength to 0.05 (and say so). Off: the value is used and a warning is given."}),
    }


def _generate(svd: engine.SVDModel, image, stability_guard: bool, chain, settings: dict):
    plan = engine.plan(svd, engine.SVDSettings(**settings), chain, stability_guard=stability_guard)
    return plan, engine.run(svd, first_frame(image), plan, node_progress(plan.progress_steps))


class SVDGenerate:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("Stable Video Diffusion image-to-video through diffusers, with a stability guard against the "
                   "usual flicker cause (noise_aug_strength above 0.05). Progress per denoising step; Cancel stops "
                   "it between steps.")
    RETURN_TYPES = ("IMAGE", "FLOAT", "STRING")
    RETURN_NAMES = ("images", "fps", "notes")
    FUNCTION = "generate"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": _generate_inputs()}

    def generate(self, svd: engine.SVDModel, image, stability_guard, **settings):
        plan, frames = _generate(svd, image, stability_guard, None, settings)
        return video_result(frames, plan.fps, plan.messages)


class SVDExtend:
    CATEGORY = "Unflicker/Generate"
    DESCRIPTION = ("A longer SVD video from chained segments: the last frame of each segment starts the next, the "
                   "repeated frame is dropped, and colour/brightness drift is pulled back toward the first segment "
                   "so the seams do not jump. Segment k uses seed + k. segment_starts: the frames where each "
                   "later segment begins, for the Deflicker's segment_starts (it removes what is left of the seams).")
    RETURN_TYPES = ("IMAGE", "FLOAT", "INT", "STRING", "STRING")
    RETURN_NAMES = ("images", "fps", "frame_count", "notes", "segment_starts")
    FUNCTION = "extend"

    @classmethod
    def INPUT_TYPES(cls):
        inputs = _generate_inputs()
        inputs.update(setting_inputs(engine.SVDExtendSettings, "segments", "drift_correction"))
        return {"required": inputs}

    def extend(self, svd: engine.SVDModel, image, stability_guard, segments, drift_correction, **settings):
        chain = engine.SVDExtendSettings(segments=segments, drift_correction=drift_correction)
        plan, frames = _generate(svd, image, stability_guard, chain, settings)
        result = video_result(frames, plan.fps, plan.messages, plan.frame_count)
        result["result"] += (starts_text(plan.segment_starts),)  # appended: saved workflows' links stay valid
        return result


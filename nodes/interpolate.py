"""RIFE Interpolate: more frames per second from an IMAGE batch, RIFE (ncnn) or the weight-free flow backend."""

from __future__ import annotations

from ..unflicker.errors import UnflickerError
from ..unflicker.interpolate import BACKENDS, MODEL_LAYOUT, MULTIPLIERS, interpolate_frames, output_count
from .comfy_bridge import check_image, frames_to_image, image_frames, node_progress
from .inputs import IMAGES, fps_input
from .model_folders import ModelSource, folders, register

# models/rife/<model name>/flownet.param + flownet.bin, one sub-folder per model
MODEL = ModelSource("model", folders="rife", markers=("flownet.param",),
                    hint=f"Each model is a sub-folder: models/rife/{MODEL_LAYOUT}.")
register("rife")
NO_MODELS = "(no models: put rife-v4.6/ with flownet.param + flownet.bin in models/rife)"


def rife_models() -> list[str]:
    return MODEL.choices()


def rife_model_path(name: str) -> str | None:
    """The folder of a listed model, or None for the no-model placeholder."""
    return None if name == NO_MODELS else MODEL.resolve(name)


class RIFEInterpolate:
    CATEGORY = "Unflicker/Fix"
    DESCRIPTION = ("Frame interpolation: n frames become n + (n-1)(multiplier-1) and fps becomes fps x multiplier. "
                   "RIFE through ncnn (a model folder in models/rife/, Vulkan GPU or CPU) or a weight-free optical-"
                   "flow backend. Scene cuts are never blended (the earlier frame is held) and identical frames are "
                   "repeated. The backend output says which backend ran and why.")
    RETURN_TYPES = ("IMAGE", "FLOAT", "STRING")
    RETURN_NAMES = ("images", "fps", "backend")
    FUNCTION = "interpolate"

    @classmethod
    def INPUT_TYPES(cls):
        models = rife_models() or [NO_MODELS]
        return {
            "required": {
                "images": IMAGES,
                "fps": fps_input("Input frame rate; the fps output is fps x multiplier."),
                "multiplier": (list(MULTIPLIERS), {"default": 2, "tooltip":
                               "Frames out = n + (n-1)(multiplier-1) for n frames in (8 frames x4 -> 29); "
                               "originals stay at positions 0, m, 2m, ..."}),
                "model": (models, {"tooltip": "Sub-folders of models/rife/ holding flownet.param + flownet.bin "
                                   "(an ncnn RIFE model, e.g. rife-v4.6/). Not needed by the flow backend."}),
                "backend": (list(BACKENDS), {"default": "auto", "tooltip":
                            "auto: ncnn when the model and device work, else flow (the reason is reported). "
                            "ncnn: RIFE only, errors if it cannot run. flow: weight-free optical flow."}),
                "scene_threshold": ("FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.01, "tooltip":
                                    "Cut score at or above which a pair is a scene cut: the earlier frame is held "
                                    "instead of blending two shots. Lower finds more cuts; 1.0 turns detection off."}),
                "gpu_id": ("INT", {"default": 0, "min": -1, "max": 63,
                                   "tooltip": "Vulkan device for ncnn; -1 runs ncnn on the CPU."}),
                "threads": ("INT", {"default": 4, "min": 1, "max": 64, "tooltip": "ncnn worker threads."}),
                "uhd": ("BOOLEAN", {"default": False, "tooltip": "RIFE UHD mode: flow at half scale, for 4K input."}),
                "tta": ("BOOLEAN", {"default": False,
                                    "tooltip": "RIFE test-time augmentation: slower, a bit cleaner."}),
            },
        }

    def interpolate(self, images, fps, multiplier, model, backend, scene_threshold, gpu_id, threads, uhd, tta):
        check_image("images", images)
        n = len(images)
        if n < 2:
            raise UnflickerError(f"images has {n} frame; interpolation needs at least 2")
        if backend == "ncnn" and model == NO_MODELS:
            raise UnflickerError(f"backend ncnn needs a model: put one in {folders('rife')[0]} "
                                 f"as {MODEL_LAYOUT}; or choose backend flow")
        run, frames = interpolate_frames(image_frames(images), multiplier, backend, rife_model_path(model), gpu_id,
                                         threads, uhd, tta, scene_threshold, progress=node_progress(n - 1), total=n)
        out = frames_to_image((frame for frame, _ in frames), output_count(n, multiplier))
        return (out, fps * multiplier, run.summary())

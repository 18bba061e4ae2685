"""RIFE Interpolate: more frames per second from an IMAGE batch, RIFE (ncnn) or the weight-free flow backend."""

from __future__ import annotations

from ..unflicker.errors import UnflickerError
from ..unflicker.interpolate import MODEL_LAYOUT, interpolate_frames, output_count
from ..unflicker.settings import InterpolateSettings
from .comfy_bridge import check_image, frames_to_image, image_frames, node_progress
from .inputs import IMAGES, fps_input, setting_input, setting_inputs
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
                "multiplier": setting_input(InterpolateSettings, "multiplier"),
                "model": (models, {"tooltip": "Sub-folders of models/rife/ holding flownet.param + flownet.bin "
                                   "(an ncnn RIFE model, e.g. rife-v4.6/). Not needed by the flow backend."}),
                **setting_inputs(InterpolateSettings, "backend", "scene_threshold", "gpu_id", "threads", "uhd", "tta"),
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
        run, frames = interpolate_frames(image_frames(images), multiplier=multiplier, backend=backend,
                                         model=rife_model_path(model), gpu_id=gpu_id, threads=threads, uhd=uhd,
                                         tta=tta, scene_threshold=scene_threshold, progress=node_progress(n - 1),
                                         total=n)
        out = frames_to_image((frame for frame, _ in frames), output_count(n, multiplier))
        return (out, fps * multiplier, run.summary())

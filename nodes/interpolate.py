"""RIFE Interpolate: more frames per second from an IMAGE batch: RIFE/FILM in PyTorch on ComfyUI's device, RIFE
through ncnn, or the weight-free flow backend."""

from __future__ import annotations

import logging
import os

import torch

import comfy.model_management
import comfy.model_patcher

from ..unflicker.errors import UnflickerError
from ..unflicker.fix import interpolate
from ..unflicker.fix.interpolate import MODEL_LAYOUT, TORCH_EXTENSIONS, TORCH_LAYOUT, is_torch_model
from ..unflicker.fix.interpolate.backends import MissingModel
from ..unflicker.fix.interpolate.models import load_model
from ..unflicker.fix.interpolate.torch_backend import TorchInterpolator
from ..unflicker.runtime import ModelCache
from ..unflicker.settings import InterpolateSettings
from .comfy_bridge import frames_to_image, image_frames, image_source, node_progress
from .inputs import IMAGES, fps_input, setting_input, setting_inputs
from .model_folders import ModelSource, folders, register
from .video_stream import CRF_INPUT, FORMAT_INPUT, VIDEO, stream_video

# models/rife/<model name>/flownet.param + flownet.bin (ncnn, one sub-folder per model), and weight files for the
# torch backend in models/frame_interpolation/ (where ComfyUI's own loader looks) or models/rife/
NCNN_OR_FILE = ModelSource("model", files="rife", folders="rife", markers=("flownet.param",),
                           extensions=TORCH_EXTENSIONS, hint=f"{TORCH_LAYOUT}; ncnn models are sub-folders: "
                                                             f"models/rife/{MODEL_LAYOUT}.")
WEIGHT_FILE = ModelSource("model", files="frame_interpolation", extensions=TORCH_EXTENSIONS, hint=TORCH_LAYOUT,
                          prefer=("rife",))  # RIFE v4 renders any timestep in one pass, FILM bisects and is slow
register("rife")
register("frame_interpolation")
# saved workflows hold this exact text when no model was installed: keep it
NO_MODELS = "(no models: put rife-v4.6/ with flownet.param + flownet.bin in models/rife)"
SEARCHED = "models/rife or models/frame_interpolation"  # where a model name is looked for, as users know it


def rife_models() -> list[str]:
    """Every model found, the best first (the combo's default): weight files in models/frame_interpolation (core's
    folder; RIFE before FILM), then ncnn folders in models/rife, then weight files in models/rife."""
    names = WEIGHT_FILE.choices()
    return names + [n for n in NCNN_OR_FILE.choices() if n not in names]


def find_model(name: str) -> tuple[str | None, MissingModel | None]:
    """(path, None) for a model in the model folders; (None, None) for the no-model placeholder; (None, what is
    missing) for a name that is not there, e.g. a workflow naming rife-v4.6 where the user has none: the engine
    decides what runs without it."""
    if name == NO_MODELS:
        return None, None
    for source in (WEIGHT_FILE, NCNN_OR_FILE):
        if source.canonical(name):
            return source.resolve(name), None
    return None, MissingModel(name, SEARCHED, tuple(folders("rife") + folders("frame_interpolation")))


def model_for_backend(model: str, backend: str) -> tuple[str | None, MissingModel | None]:
    """The chosen model as the engine's plan takes it (``find_model``); refuses a model that the backend asked
    for cannot run, naming where the right kind goes."""
    if backend in ("ncnn", "torch") and model == NO_MODELS:
        where = (f"put one in {folders('rife')[0]} as {MODEL_LAYOUT}" if backend == "ncnn"
                 else f"put a weight file in {folders('frame_interpolation')[0]}. {TORCH_LAYOUT}")
        raise UnflickerError(f"backend {backend} needs a model: {where}; or choose backend flow")
    path, missing = find_model(model)
    if path and backend == "ncnn" and is_torch_model(path):
        raise UnflickerError(f"model {model!r} is a weight file: it runs on backend torch (or auto); ncnn needs "
                             f"a model folder: models/rife/{MODEL_LAYOUT}")
    if path and backend == "torch" and not is_torch_model(path):
        raise UnflickerError(f"backend torch needs a weight file, and {model!r} is an ncnn model folder: "
                             f"use backend ncnn or auto. {TORCH_LAYOUT}")
    return path, missing


def validate_model(model=None) -> bool:
    """For VALIDATE_INPUTS: every model name can run (a missing one with the flow backend, or an error naming
    where the model goes when torch or ncnn is asked for), so none is refused before the run. Declaring the input
    there is what keeps ComfyUI from refusing a name that is not in the combo."""
    return True


def _settings(multiplier, backend, scene_threshold, gpu_id, threads, uhd, tta, target_fps, loop, batch_size,
              max_side) -> InterpolateSettings:
    return InterpolateSettings(multiplier=multiplier, backend=backend, scene_threshold=scene_threshold,
                               gpu_id=gpu_id, threads=threads, uhd=uhd, tta=tta, target_fps=target_fps, loop=loop,
                               batch_size=batch_size, max_side=max_side)


def managed_interpolator(plan) -> TorchInterpolator | None:
    """A weight file runs on ComfyUI's device through its model management; ncnn and flow open in the engine."""
    if plan.backend != "torch":
        return None
    settings = plan.settings
    return torch_interpolator(plan.model, settings.batch_size, settings.max_side,
                              plan.source.width * plan.source.height)


_managed = ModelCache()  # the weight file's network, held by a ModelPatcher: ComfyUI moves it on and off the GPU


def torch_interpolator(path: str, batch: int, max_side: int, frame_pixels: int = 0) -> TorchInterpolator:
    """The network of ``path`` on ComfyUI's device (fp16 where ComfyUI uses it), loaded through its model
    management so that other models can push it out of VRAM and it comes back when needed."""
    mm = comfy.model_management
    device = mm.get_torch_device()
    dtype = torch.float16 if mm.should_use_fp16(device) else torch.float32
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size, str(device), dtype)
    patcher = _managed.get(key, lambda: comfy.model_patcher.ModelPatcher(
        load_model(path).to(dtype), load_device=device, offload_device=mm.unet_offload_device()))
    # fully loaded (a partial low-VRAM load leaves weights on the CPU, which only ComfyUI's own layer classes
    # handle; these networks are 10-140 MB), with room for one batch's activations (~60 frame-sized maps a frame)
    mm.load_models_gpu([patcher], memory_required=frame_pixels * 3 * 4 * 60 * batch, force_full_load=True)
    return TorchInterpolator(patcher.model, device, dtype, batch, max_side)


class RIFEInterpolate:
    CATEGORY = "Unflicker/Fix"
    DESCRIPTION = ("Frame interpolation: n frames become n + (n-1)(multiplier-1) at fps x multiplier, or any "
                   "target_fps (frame k at exactly k / target_fps). RIFE v4.x, RIFE HD v3 and FILM weight files "
                   "(models/frame_interpolation/, the files ComfyUI's own loader reads) run in PyTorch on ComfyUI's "
                   "device; ncnn RIFE folders (models/rife/) on Vulkan or CPU; without a model a weight-free "
                   "optical-flow backend. Scene cuts are never blended (the earlier frame is held), identical "
                   "frames are repeated, loop also fills the last -> first gap. The backend output says what ran.")
    RETURN_TYPES = ("IMAGE", "FLOAT", "STRING")
    RETURN_NAMES = ("images", "fps", "backend")
    FUNCTION = "interpolate"

    @classmethod
    def INPUT_TYPES(cls):
        models = rife_models() or [NO_MODELS]
        return {
            "required": {
                "images": IMAGES,
                "fps": fps_input("Input frame rate; the fps output is fps x multiplier (or target_fps)."),
                "multiplier": setting_input(InterpolateSettings, "multiplier"),
                "model": (models, {"tooltip": "Weight files in models/frame_interpolation/ or models/rife/ "
                                   "(rife_v4.26.safetensors, rife47.pth, flownet.pkl, film_net_fp32.pt: torch "
                                   "backend), or sub-folders of models/rife/ holding flownet.param + flownet.bin "
                                   "(an ncnn RIFE model, e.g. rife-v4.6/). Not needed by the flow backend."}),
                **setting_inputs(InterpolateSettings, "backend", "scene_threshold", "gpu_id", "threads", "uhd", "tta"),
            },
            # added later, optional: workflows saved before them load unchanged and run as before
            "optional": setting_inputs(InterpolateSettings, "target_fps", "loop", "batch_size", "max_side"),
        }

    @classmethod
    def VALIDATE_INPUTS(cls, model=None):
        return validate_model(model)

    def interpolate(self, images, fps, multiplier, model, backend, scene_threshold, gpu_id, threads, uhd, tta,
                    target_fps=0.0, loop=False, batch_size=4, max_side=0):
        source = image_source("images", images, fps)
        settings = _settings(multiplier, backend, scene_threshold, gpu_id, threads, uhd, tta, target_fps, loop,
                             batch_size, max_side)
        path, missing = model_for_backend(model, backend)
        plan = interpolate.plan(source, settings, path, missing_model=missing)
        run, frames = interpolate.run(image_frames(images), plan, node_progress(plan.progress_steps),
                                      managed_interpolator(plan))
        out = frames_to_image((frame for frame, _ in frames), plan.frame_count)
        logging.info("Unflicker RIFE Interpolate: %s", run.summary())  # which backend ran, in ComfyUI's console
        return (out, float(plan.rate), run.summary())


class VideoInterpolate:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("Frame interpolation on a VIDEO, streamed (any length, constant memory): n frames become "
                   "n + (n-1)(multiplier-1) at fps x multiplier, or any target_fps, same duration, so the sound stays "
                   "in sync. RIFE/FILM weight files on ComfyUI's device, ncnn RIFE (models/rife/) or the weight-free "
                   "flow backend, as in RIFE Interpolate; the backend output says which ran.")
    RETURN_TYPES = ("VIDEO", "STRING")
    RETURN_NAMES = ("video", "backend")
    FUNCTION = "interpolate"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "video": VIDEO,
                # the RIFE node's own entries (images and fps come from the VIDEO here)
                **{k: v for k, v in RIFEInterpolate.INPUT_TYPES()["required"].items() if k not in ("images", "fps")},
            },
            "optional": {"format": FORMAT_INPUT, "crf": CRF_INPUT, **RIFEInterpolate.INPUT_TYPES()["optional"]},
        }

    @classmethod
    def VALIDATE_INPUTS(cls, model=None):
        return validate_model(model)

    def interpolate(self, video, multiplier, model, backend, scene_threshold, gpu_id, threads, uhd, tta,
                    format="mp4", crf=16, target_fps=0.0, loop=False, batch_size=4, max_side=0):
        path, missing = model_for_backend(model, backend)
        settings = _settings(multiplier, backend, scene_threshold, gpu_id, threads, uhd, tta, target_fps, loop,
                             batch_size, max_side)
        runs = []

        def run(frames, plan, progress):
            summary, out = interpolate.run(frames, plan, progress, managed_interpolator(plan))
            runs.append(summary)
            return (frame for frame, _ in out)

        result, _ = stream_video(video, lambda source: interpolate.plan(source, settings, path, missing_model=missing),
                                 run, "interpolate", format, crf)
        return (result, runs[0].summary() if runs else backend)

"""Repair Frames: flash frames and single-frame content breaks (the analyzer's, or a list) rebuilt from their
good neighbours with RIFE Interpolate's backends and models."""

from __future__ import annotations

import logging

import numpy as np
import torch

from ..unflicker.analysis import file_source
from ..unflicker.fix import repair
from ..unflicker.media import video as videoio
from ..unflicker.settings import RepairSettings
from .comfy_bridge import image_frames, image_source, node_progress
from .inputs import IMAGES, fps_input, setting_inputs
from .interpolate import NO_MODELS, managed_interpolator, model_for_backend, rife_models, validate_model
from .video_stream import CRF_INPUT, FORMAT_INPUT, VIDEO, source_file, stream_video

_OPTIONS = ("use_analysis", "scene_threshold", "gpu_id", "threads", "uhd", "tta", "batch_size", "max_side")
_DIAGNOSIS = ("STRING", {"forceInput": True, "tooltip": (
    "The json output of Analyze Flicker: its damaged_frames (flash frames, single-frame content breaks) are "
    "rebuilt. Without it (and use_analysis on) the analyzer's check runs here.")})


def _inputs(first: dict) -> dict:
    """The inputs both nodes share after their own first ones (images + fps, or video)."""
    return {
        "required": {
            **first,
            "model": (rife_models() or [NO_MODELS], {"tooltip": (
                "The interpolation model that rebuilds the frames, as in RIFE Interpolate: weight files in "
                "models/frame_interpolation/ (torch), ncnn folders in models/rife/; not needed by the flow "
                "backend, and a missing one runs flow with auto.")}),
            **setting_inputs(RepairSettings, "backend"),
        },
        "optional": {"diagnosis": _DIAGNOSIS, **setting_inputs(RepairSettings, "frames", *_OPTIONS)},
    }


def _settings(backend: str, options: dict) -> RepairSettings:
    return RepairSettings(backend=backend, **options).validated()


class RepairFrames:
    CATEGORY = "Unflicker/Fix"
    DESCRIPTION = ("Rebuilds damaged frames from their good neighbours with an interpolation backend: the flash "
                   "frames and single-frame content breaks (a corrupted or melted frame, one from elsewhere in the "
                   "clip) that Analyze Flicker flags, and any frames you list. One bad frame is rebuilt at t = 0.5, "
                   "two in a row at 1/3 and 2/3; longer runs, runs at either end and runs beside a scene cut are "
                   "left as they are. Every other frame passes through unchanged. repaired says what was done.")
    RETURN_TYPES = ("IMAGE", "STRING")
    RETURN_NAMES = ("images", "repaired")
    FUNCTION = "repair"

    @classmethod
    def INPUT_TYPES(cls):
        return _inputs({"images": IMAGES, "fps": fps_input("Frame rate of the clip (passed through).")})

    @classmethod
    def VALIDATE_INPUTS(cls, model=None):
        return validate_model(model)

    def repair(self, images, fps, model, backend, diagnosis=None, **options):
        path, missing = model_for_backend(model, backend)
        plan = repair.plan(image_source("images", images, fps), _settings(backend, options), diagnosis or None,
                           path, missing)
        if not plan.acts:
            return (images, repair.unchanged(plan).summary())
        run, frames = repair.run(lambda: image_frames(images), plan, node_progress(plan.progress_steps),
                                 lambda: managed_interpolator(plan.interpolation))
        out = _with_rebuilt(images, frames)
        logging.info("Unflicker Repair Frames: %s", run.summary())
        return (out, run.summary())


def _with_rebuilt(images: torch.Tensor, frames) -> torch.Tensor:
    """``images`` with the rebuilt frames put in (copied on the first one): the others stay the very same
    values, not a round trip through 8 bits."""
    out = images
    for frame, meta in frames:
        if meta["kind"] != "rebuilt":
            continue
        if out is images:
            out = images.clone()
        out[meta["index"], ..., :3] = torch.from_numpy(np.divide(frame, np.float32(255.0), dtype=np.float32))
    return out


class VideoRepairFrames:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("Repair Frames on a VIDEO, streamed (a few frames in memory): the damaged frames rebuilt from "
                   "their neighbours, sound, frame rate and colour tags kept. A clip with nothing to repair comes "
                   "out as it went in (the same VIDEO, not re-encoded).")
    RETURN_TYPES = ("VIDEO", "STRING")
    RETURN_NAMES = ("video", "repaired")
    FUNCTION = "repair"

    @classmethod
    def INPUT_TYPES(cls):
        types = _inputs({"video": VIDEO})
        types["optional"].update(format=FORMAT_INPUT, crf=CRF_INPUT)
        return types

    @classmethod
    def VALIDATE_INPUTS(cls, model=None):
        return validate_model(model)

    def repair(self, video, model, backend, diagnosis=None, format="mp4", crf=16, **options):
        path, missing = model_for_backend(model, backend)
        settings = _settings(backend, options)
        with source_file(video) as source_path:
            info, frames = videoio.iter_frames(source_path)
            frames.close()
            plan = repair.plan(file_source(info, "video"), settings, diagnosis or None, path, missing,
                               expected_frames=info.frame_count)
            if plan.detect:  # the first pass here: a clip with nothing to repair is not re-encoded
                plan = repair.find(plan, videoio.iter_frames(source_path)[1], node_progress(info.frame_count),
                                   info.frame_count)
        if not plan.acts:
            return (video, repair.unchanged(plan).summary())
        runs = []

        def run(frames, _plan, progress):
            summary, out = repair.run(frames, plan, progress, lambda: managed_interpolator(plan.interpolation))
            runs.append(summary)
            return (frame for frame, _ in out)

        result, _ = stream_video(video, lambda _source: plan, run, "repair", format, crf)
        return (result, runs[0].summary())


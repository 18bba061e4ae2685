"""Deflicker (flow-guided): brightness, regional, colour and texture flicker removed along optical flow."""

from __future__ import annotations

from ..unflicker.fix import deflicker
from ..unflicker.settings import DeflickerSettings
from .comfy_bridge import frames_to_image, image_frames, image_source, node_progress
from .inputs import FPS_SOCKET, IMAGES, setting_inputs
from .video_stream import CRF_INPUT, FORMAT_INPUT, VIDEO, stream_video

# the seam stage's inputs: optional, so workflows saved before them load unchanged
SEAM_INPUTS = ("segment_length", "overlap", "segment_starts", "drift")
REFERENCE = ("IMAGE", {"tooltip": "With drift = hold: the look to hold (its colours' means and spread), instead of "
                                  "the first segment's."})


DIAGNOSIS = ("STRING", {"forceInput": True, "tooltip": (
    "The json output of Analyze Flicker. With mode auto, fix exactly the kinds it found "
    "(a steady clip passes through untouched).")})


def _reference(reference):
    """The first image of an optional reference IMAGE as uint8 RGB, or None."""
    return None if reference is None else next(image_frames(reference[:1], "reference"))


class Deflicker:
    CATEGORY = "Unflicker/Fix"
    DESCRIPTION = ("Removes flicker while keeping real motion, fades and sharpness: each frame is compared with its "
                   "neighbours lined up by optical flow and the whole shot is solved at once. Fixes whole-frame "
                   "brightness pumping, regional breathing, colour casts that shift between frames and fine "
                   "texture re-sampled every frame (which FFmpeg's deflicker cannot). Resets at scene cuts. "
                   "Classical, no model weights.")
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    FUNCTION = "deflicker"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": IMAGES,
                **setting_inputs(DeflickerSettings, "mode", "strength", "window"),
            },
            "optional": {
                "fps": FPS_SOCKET,
                "diagnosis": DIAGNOSIS,
                **setting_inputs(DeflickerSettings, *SEAM_INPUTS),
                "reference": REFERENCE,
            },
        }

    def deflicker(self, images, mode, strength, window, fps=8.0, diagnosis=None, segment_length=0, overlap=0,
                  segment_starts="", drift="keep", reference=None):
        settings = DeflickerSettings(mode=mode, strength=strength, window=window, segment_length=segment_length,
                                     overlap=overlap, segment_starts=segment_starts, drift=drift)
        plan = deflicker.plan(image_source("images", images, fps), settings, diagnosis or None,
                              _reference(reference))
        if plan.passthrough:
            return (images,)  # the analyzer found nothing to fix
        # a function, not an iterator: the engine reads the batch twice (measure the whole shot, then correct)
        frames = deflicker.run(lambda: image_frames(images), plan, node_progress(plan.progress_steps))
        return (frames_to_image(frames, plan.frame_count),)


class VideoDeflicker:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("Flow-guided deflicker on a VIDEO, streamed from its file (any length, constant memory); sound, "
                   "frame rate and colour tags are kept. Same method as Deflicker (flow-guided) on IMAGE.")
    RETURN_TYPES = ("VIDEO",)
    RETURN_NAMES = ("video",)
    FUNCTION = "deflicker"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "video": VIDEO,
                **setting_inputs(DeflickerSettings, "mode", "strength", "window"),
            },
            "optional": {"format": FORMAT_INPUT, "crf": CRF_INPUT, **setting_inputs(DeflickerSettings, *SEAM_INPUTS),
                         "reference": REFERENCE,
                         # added later: Analyze Flicker (VIDEO)'s json, as on the IMAGE node
                         "diagnosis": DIAGNOSIS},
        }

    def deflicker(self, video, mode, strength, window, format="mp4", crf=16, segment_length=0, overlap=0,
                  segment_starts="", drift="keep", reference=None, diagnosis=None):
        settings = DeflickerSettings(mode=mode, strength=strength, window=window, segment_length=segment_length,
                                     overlap=overlap, segment_starts=segment_starts,
                                     drift=drift).validated()  # before decoding
        ref = _reference(reference)
        return (stream_video(video, lambda source: deflicker.plan(source, settings, diagnosis or None, ref), deflicker.run,
                             "deflicker", format, crf, reopen=True)[0],)

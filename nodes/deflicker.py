"""Deflicker (flow-guided): brightness, regional, colour and texture flicker removed along optical flow."""

from __future__ import annotations

from ..unflicker.analysis import kinds_from_json
from ..unflicker.fix.deflicker import deflicker_frames
from ..unflicker.settings import DeflickerSettings
from .comfy_bridge import check_image, frames_to_image, image_frames, node_progress
from .inputs import FPS_SOCKET, IMAGES, setting_inputs
from .video_stream import CRF_INPUT, FORMAT_INPUT, VIDEO, stream_video


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
                "diagnosis": ("STRING", {"forceInput": True, "tooltip": (
                    "The json output of Analyze Flicker. With mode auto, fix exactly the kinds it found "
                    "(a steady clip passes through untouched).")}),
            },
        }

    def deflicker(self, images, mode, strength, window, fps=8.0, diagnosis=None):
        check_image("images", images)
        kinds = mode
        if mode == "auto" and diagnosis:
            kinds = kinds_from_json(diagnosis)
            if not set(kinds) - {"steady", "scene_cuts"}:
                return (images,)  # the analyzer found nothing to fix
        n = images.shape[0]
        # a function, not an iterator: the engine reads the batch twice (measure the whole shot, then correct)
        frames = deflicker_frames(lambda: image_frames(images), fps, kinds, strength, window, node_progress(2 * n), n)
        return (frames_to_image(frames, n),)


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
            "optional": {"format": FORMAT_INPUT, "crf": CRF_INPUT},
        }

    def deflicker(self, video, mode, strength, window, format="mp4", crf=16):
        DeflickerSettings(mode=mode, strength=strength, window=window).validated()

        def process(frames, info, progress):
            return deflicker_frames(frames, info.fps, mode, strength, window, progress, info.frame_count)

        return (stream_video(video, process, "deflicker", format, crf, two_pass=True)[0],)

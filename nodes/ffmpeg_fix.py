"""FFmpeg Deflicker + Deband: the classic codec/brightness fix on an IMAGE batch."""

from __future__ import annotations

from ..unflicker.ffmpeg_fix import DEFLICKER_MODES, FFmpegFixSettings, fix_frames
from .comfy_bridge import check_image, frames_to_image, image_frames, node_progress


class FFmpegDeflickerDeband:
    CATEGORY = "Unflicker/Fix"
    DESCRIPTION = ("FFmpeg deflicker (one brightness gain per frame from a window of frames) followed by deband "
                   "(smooths codec banding). Fixes whole-frame brightness pumping and banding; for regional, colour "
                   "or texture flicker use Deflicker (flow-guided).")
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    FUNCTION = "fix"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "deflicker": ("BOOLEAN", {"default": True}),
                "size": ("INT", {"default": 5, "min": 2, "max": 129, "tooltip": "Frames in the deflicker window."}),
                "mode": (list(DEFLICKER_MODES), {"default": "am", "tooltip": "How the window's brightness is averaged (am = arithmetic mean). FFmpeg's median mode is left out: it is broken."}),
                "deband": ("BOOLEAN", {"default": True}),
                "deband_threshold": ("FLOAT", {"default": 0.02, "min": 0.00003, "max": 0.5, "step": 0.001,
                                               "tooltip": "deband 1thr/2thr/3thr: higher smooths stronger steps."}),
                "deband_range": ("INT", {"default": 16, "min": 1, "max": 64}),
                "blur": ("BOOLEAN", {"default": False, "tooltip": "deband blur (off keeps detail)."}),
            },
            "optional": {
                "fps": ("FLOAT", {"default": 8.0, "min": 0.01, "max": 240.0, "forceInput": True}),
            },
        }

    def fix(self, images, deflicker, size, mode, deband, deband_threshold, deband_range, blur, fps=8.0):
        check_image("images", images)
        settings = FFmpegFixSettings(deflicker, size, mode, deband, deband_threshold, deband_range, blur).validated()
        n, h, w = images.shape[:3]
        frames = fix_frames(image_frames(images), w, h, fps, settings, node_progress(n), n)
        return (frames_to_image(frames, n),)

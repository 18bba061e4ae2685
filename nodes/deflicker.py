"""Deflicker (flow-guided): brightness, regional, colour and texture flicker removed along optical flow."""

from __future__ import annotations

from ..unflicker.analysis import kinds_from_json
from ..unflicker.deflicker import DEFAULT_WINDOW, MODES, deflicker_frames
from .comfy_bridge import check_image, frames_to_image, image_frames, node_progress


class Deflicker:
    CATEGORY = "Unflicker/Fix"
    DESCRIPTION = ("Removes flicker while keeping real motion, fades and sharpness: each frame is compared with its "
                   "neighbours lined up by optical flow and the whole shot is solved at once. Fixes whole-frame "
                   "brightness pumping, regional breathing, colour casts that shift between frames and fine texture re-sampled every frame (which FFmpeg's "
                   "deflicker cannot). Resets at scene cuts. Classical, no model weights.")
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    FUNCTION = "deflicker"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "mode": (list(MODES), {"default": "auto", "tooltip": (
                    "auto: each kind only where it is measured (a steady clip passes through unchanged). "
                    "brightness: one gain per frame. regional: a smooth gain field. colour: offsets per channel. "
                    "texture: flow-aligned temporal averaging of fine grain. all: everything.")}),
                "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.05,
                                       "tooltip": "1 removes the measured flicker fully; 0 returns the input."}),
                "window": ("INT", {"default": DEFAULT_WINDOW, "min": 3, "max": 31, "step": 2, "tooltip": (
                    "Brightness changes slower than this many frames (and never faster than 2 s) count as real, "
                    "like a fade; faster ones as flicker. Longer removes slower flicker but follows quick real "
                    "lighting changes less closely.")}),
            },
            "optional": {
                "fps": ("FLOAT", {"default": 8.0, "min": 0.01, "max": 240.0, "forceInput": True}),
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

"""Side by Side: two IMAGE batches in one labelled frame, for judging a fix by eye."""

from __future__ import annotations

from ..unflicker.compare import side_by_side, slowed_fps
from .comfy_bridge import check_image, frames_to_image, image_frames, node_progress


class SideBySide:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("Stack two clips left/right with labels. slow_motion lowers the output fps (4 = quarter speed), "
                   "which makes flicker easy to see; wire fps_out into Save Video.")
    RETURN_TYPES = ("IMAGE", "FLOAT")
    RETURN_NAMES = ("images", "fps")
    FUNCTION = "compare"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images_a": ("IMAGE",),
                "images_b": ("IMAGE",),
                "label_a": ("STRING", {"default": "before"}),
                "label_b": ("STRING", {"default": "after"}),
                "fps": ("FLOAT", {"default": 8.0, "min": 0.01, "max": 240.0, "step": 0.01}),
                "slow_motion": ("FLOAT", {"default": 1.0, "min": 1.0, "max": 16.0, "step": 0.5,
                                          "tooltip": "Playback slow-down factor; the seed compares at 4 (1/4 speed)."}),
            },
        }

    def compare(self, images_a, images_b, label_a, label_b, fps, slow_motion):
        check_image("images_a", images_a)
        check_image("images_b", images_b)
        n = max(len(images_a), len(images_b))
        frames = side_by_side(image_frames(images_a), image_frames(images_b), label_a, label_b,
                              progress=node_progress(n), total=n)
        return (frames_to_image(frames, n), slowed_fps(fps, slow_motion))

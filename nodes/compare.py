"""Side by Side: two IMAGE batches in one labelled frame, for judging a fix by eye."""

from __future__ import annotations

import os
import uuid

import folder_paths

from ..unflicker.analysis import side_by_side
from ..unflicker.media.audio import retime
from ..unflicker.media.video import write_video
from ..unflicker.settings import SideBySideSettings
from .comfy_bridge import audio_input, audio_output, frames_to_image, image_frames, image_source, node_progress
from .inputs import IMAGES, fps_input, setting_input, setting_inputs
from .video_io import video_mime

PREVIEW_CRF = 23  # a preview only: smaller file, quick to encode
# a socket: the second clip's own rate (e.g. RIFE Interpolate's fps output); 0 = the same as fps
FPS_B = ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1000.0, "step": 0.01, "forceInput": True,
                   "tooltip": "Frame rate of images_b when it differs from fps (e.g. an interpolated clip); 0 = fps. "
                              "The clips are aligned by time: the output runs at the higher rate and the slower "
                              "clip's frames repeat."})


class SideBySide:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("Stack two clips left/right with labels. slow_motion lowers the output fps (4 = quarter speed), "
                   "which makes flicker easy to see; wire fps_out into Save Video. The first clip's sound (audio_a, "
                   "optional) comes out slowed with the pictures (pitch kept) for Save Video's audio. The node shows "
                   "a playable preview (a temporary mp4) at the slowed rate.")
    RETURN_TYPES = ("IMAGE", "FLOAT", "AUDIO")
    RETURN_NAMES = ("images", "fps", "audio")
    FUNCTION = "compare"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images_a": IMAGES,
                "images_b": IMAGES,
                **setting_inputs(SideBySideSettings, "label_a", "label_b"),
                "fps": fps_input("Frame rate of the clips; the output plays at fps / slow_motion."),
                "slow_motion": setting_input(SideBySideSettings, "slow_motion"),
            },
            "optional": {
                "audio_a": ("AUDIO", {"tooltip": "The first clip's sound (e.g. its Load Video's audio)."}),
                # added later, at the end: workflows saved before it load unchanged and pair the clips as before
                "fps_b": FPS_B,
            },
        }

    def compare(self, images_a, images_b, label_a, label_b, fps, slow_motion, audio_a=None, fps_b=0.0):
        # fps_b 0 (not wired): the second clip has the first one's rate
        sources = [image_source("images_a", images_a, fps), image_source("images_b", images_b, fps_b or fps)]
        settings = SideBySideSettings(slow_motion=slow_motion, label_a=label_a, label_b=label_b)
        plan = side_by_side.plan(*sources, settings)
        frames = side_by_side.run(image_frames(images_a, "images_a"), image_frames(images_b, "images_b"), plan,
                                  node_progress(plan.progress_steps))
        images = frames_to_image(frames, plan.frame_count)
        sound = audio_input(audio_a, "audio_a")
        if sound is not None:
            sound = retime(sound, plan.tempo)
        preview = write_preview(images, plan.fps, sound)
        return {"ui": {"unflicker_video": [preview]}, "result": (images, plan.fps, audio_output(sound))}


def write_preview(images, fps: float, audio=None) -> dict:
    """Encode an IMAGE batch as an mp4 in ComfyUI's temp folder (emptied at each start) for the node's preview."""
    temp_dir = folder_paths.get_temp_directory()
    os.makedirs(temp_dir, exist_ok=True)
    filename = f"unflicker_side_by_side_{uuid.uuid4().hex[:12]}.mp4"
    write_video(os.path.join(temp_dir, filename), image_frames(images), fps, "mp4", PREVIEW_CRF,
                progress=node_progress(len(images)), total=len(images), audio=audio)
    return {"filename": filename, "subfolder": "", "type": "temp", "format": video_mime("mp4"),
            "frame_rate": fps, "frame_count": len(images)}

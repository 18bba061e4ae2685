"""FFmpeg Deflicker + Deband: the classic codec/brightness fix on an IMAGE batch and on a VIDEO."""

from __future__ import annotations

from ..unflicker.fix import ffmpeg_fix
from ..unflicker.settings import FFmpegFixSettings
from .comfy_bridge import frames_to_image, image_frames, image_source, node_progress
from .inputs import FPS_SOCKET, IMAGES, setting_input, setting_inputs
from .video_stream import CRF_INPUT, FORMAT_INPUT, VIDEO, stream_video


def _setting_inputs() -> dict:
    return {
        **setting_inputs(FFmpegFixSettings, "deflicker", "size", "mode", "deband"),
        "deband_threshold": setting_input(FFmpegFixSettings, "threshold"),
        **setting_inputs(FFmpegFixSettings, "deband_range", "blur"),
    }


def _settings(deflicker, size, mode, deband, deband_threshold, deband_range, blur) -> FFmpegFixSettings:
    return FFmpegFixSettings(deflicker=deflicker, size=size, mode=mode, deband=deband, threshold=deband_threshold,
                             deband_range=deband_range, blur=blur).validated()


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
            "required": {"images": IMAGES, **_setting_inputs()},
            "optional": {
                "fps": FPS_SOCKET,
            },
        }

    def fix(self, images, deflicker, size, mode, deband, deband_threshold, deband_range, blur, fps=8.0):
        source = image_source("images", images, fps)
        plan = ffmpeg_fix.plan(source, _settings(deflicker, size, mode, deband, deband_threshold, deband_range, blur))
        frames = ffmpeg_fix.run(image_frames(images), plan, node_progress(plan.progress_steps))
        return (frames_to_image(frames, plan.frame_count),)


class VideoFFmpegDeflickerDeband:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("FFmpeg deflicker + deband on a VIDEO, streamed from its file (any length, constant memory); "
                   "sound, frame rate and colour tags are kept. Wire core's Load Video in and Save Video out.")
    RETURN_TYPES = ("VIDEO",)
    RETURN_NAMES = ("video",)
    FUNCTION = "fix"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"video": VIDEO, **_setting_inputs()},
            "optional": {"format": FORMAT_INPUT, "crf": CRF_INPUT},
        }

    def fix(self, video, deflicker, size, mode, deband, deband_threshold, deband_range, blur, format="mp4", crf=16):
        settings = _settings(deflicker, size, mode, deband, deband_threshold, deband_range, blur)

        return (stream_video(video, lambda source: ffmpeg_fix.plan(source, settings), ffmpeg_fix.run,
                             "ffmpeg_deflicker", format, crf)[0],)

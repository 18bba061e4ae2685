"""VIDEO in, VIDEO out: the post-processing nodes on ComfyUI's own VIDEO type, streamed.

Frames are decoded from the source file one at a time, run through the engine and encoded into a new file in
ComfyUI's temp folder (sound, exact frame rate, colour and container tags carried over), which is returned as
a VIDEO for core's Save Video. The clip is never held whole in memory. Interrupting removes the partial file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager

import folder_paths

from ..unflicker import analysis
from ..unflicker.media import video as videoio
from ..unflicker.fix.deflicker import deflicker_frames
from ..unflicker.errors import UnflickerError
from ..unflicker.fix.ffmpeg_fix import FFmpegFixSettings, fix_frames
from ..unflicker.media.formats import FORMATS
from ..unflicker.fix.interpolate import as_fraction, interpolate_frames, output_positions
from ..unflicker.settings import DeflickerSettings
from .analysis import _ui_report
from .comfy_bridge import frames_to_image, node_progress
from .inputs import setting_input, setting_inputs
from .interpolate import RIFEInterpolate, model_for_backend, torch_interpolator

VIDEO = ("VIDEO", {"tooltip": "ComfyUI's VIDEO, e.g. from core's Load Video; read from its file frame by frame."})
# VIDEO outputs are intermediate files: any format that carries sound (not GIF/WebP)
VIDEO_FORMATS = [name for name, f in FORMATS.items() if f.audio_codec]
_FORMAT = (VIDEO_FORMATS, {"default": "mp4", "tooltip": "Format of the file the VIDEO is written to (core's "
                                                      "Save Video with format auto keeps it as it is)."})
_CRF = ("INT", {"default": 16, "min": 0, "max": 51, "tooltip": "Quality of that file for H.264/H.265/VP9 "
                                                            "(lower = better)."})


def _video_from_file(path: str):
    from comfy_api.input_impl import VideoFromFile  # core's VIDEO backed by a file

    return VideoFromFile(path)


@contextmanager
def source_file(video, name: str = "video"):
    """The file behind a VIDEO: its path when it has one (core's Load Video); otherwise it is written to a temp
    file first (a VIDEO built in memory, e.g. by Create Video), removed afterwards."""
    if video is None:
        raise UnflickerError(f"{name}: connect a VIDEO (core's Load Video, or a node that gives one)")
    source = video.get_stream_source() if hasattr(video, "get_stream_source") else None
    if isinstance(source, str):
        if not os.path.isfile(source):
            raise UnflickerError(f"{name}: its file {source!r} does not exist")
        yield source
        return
    folder = tempfile.mkdtemp(prefix="unflicker_src_", dir=_temp_dir())
    try:
        path = os.path.join(folder, "source.mp4")
        if source is not None and hasattr(source, "read"):
            with open(path, "wb") as f:
                shutil.copyfileobj(source, f, 1 << 20)
        else:
            video.save_to(path)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _temp_dir() -> str:
    folder = os.path.join(folder_paths.get_temp_directory(), "unflicker")
    os.makedirs(folder, exist_ok=True)
    return folder


def stream_video(video, process, label: str, fmt: str = "mp4", crf: int = 16, timing=None, two_pass: bool = False):
    """Decode ``video``, run ``process(frames, info, progress)`` over it, encode into the temp folder; return
    (VIDEO, info). ``timing(info)`` -> (output frame rate, output frame count) where they differ from the
    source's (interpolation). ``two_pass``: ``frames`` is a function that opens the file afresh, for engines
    that read the clip twice (measure the whole shot, then correct it); progress then counts two steps per frame."""
    with source_file(video) as path:
        info, frames = videoio.iter_frames(path)
        rate, total = timing(info) if timing else (info.exact_rate, info.frame_count)
        if two_pass:
            frames.close()
            frames = lambda: videoio.iter_frames(path)[1]  # noqa: E731
        out = os.path.join(_temp_dir(), f"{label}_{uuid.uuid4().hex[:12]}.{FORMATS[fmt].ext}")
        messages: list[str] = []
        progress = node_progress(2 * total if two_pass else total)
        videoio.write_video(out, process(frames, info, progress), rate, fmt, crf,
                            warn=messages.append, **videoio.carry_from(path).kwargs())
    for line in messages:
        print(f"[Unflicker] {label}: {line}")
    return _video_from_file(out), info


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
            "required": {
                "video": VIDEO,
                **setting_inputs(FFmpegFixSettings, "deflicker", "size", "mode", "deband"),
                "deband_threshold": setting_input(FFmpegFixSettings, "threshold"),
                **setting_inputs(FFmpegFixSettings, "deband_range", "blur"),
            },
            "optional": {"format": _FORMAT, "crf": _CRF},
        }

    def fix(self, video, deflicker, size, mode, deband, deband_threshold, deband_range, blur, format="mp4", crf=16):
        settings = FFmpegFixSettings(deflicker=deflicker, size=size, mode=mode, deband=deband,
                                     threshold=deband_threshold, deband_range=deband_range, blur=blur).validated()

        def process(frames, info, progress):
            return fix_frames(frames, info.width, info.height, info.fps, settings, progress, info.frame_count)

        return (stream_video(video, process, "ffmpeg_deflicker", format, crf)[0],)


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
            "optional": {"format": _FORMAT, "crf": _CRF},
        }

    def deflicker(self, video, mode, strength, window, format="mp4", crf=16):
        DeflickerSettings(mode=mode, strength=strength, window=window).validated()

        def process(frames, info, progress):
            return deflicker_frames(frames, info.fps, mode, strength, window, progress, info.frame_count)

        return (stream_video(video, process, "deflicker", format, crf, two_pass=True)[0],)


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
            "optional": {"format": _FORMAT, "crf": _CRF, **RIFEInterpolate.INPUT_TYPES()["optional"]},
        }

    def interpolate(self, video, multiplier, model, backend, scene_threshold, gpu_id, threads, uhd, tta,
                    format="mp4", crf=16, target_fps=0.0, loop=False, batch_size=4, max_side=0):
        path, use_torch = model_for_backend(model, backend)
        runs = []

        def timing(info):
            positions = output_positions(info.frame_count, multiplier, info.exact_rate, target_fps or None, loop)
            return (as_fraction(target_fps) if target_fps else info.exact_rate * multiplier), len(positions)

        def process(frames, info, progress):
            if info.frame_count and info.frame_count < 2:
                raise UnflickerError(f"video has {info.frame_count} frame; interpolation needs at least 2")
            # a weight file runs on ComfyUI's device through its model management, as in RIFE Interpolate
            interpolator = torch_interpolator(path, batch_size, max_side, info.width * info.height) if use_torch \
                else None
            run, out = interpolate_frames(frames, multiplier=multiplier, backend=backend, model=path, gpu_id=gpu_id,
                                          threads=threads, uhd=uhd, tta=tta, scene_threshold=scene_threshold,
                                          total=info.frame_count, interpolator=interpolator, fps=info.exact_rate,
                                          target_fps=target_fps or None, loop=loop, batch=batch_size,
                                          max_side=max_side)
            runs.append(run)
            count = timing(info)[1]
            for done, (frame, _) in enumerate(out, start=1):
                progress(done, max(count, done))
                yield frame

        result, _ = stream_video(video, process, "interpolate", format, crf, timing)
        return (result, runs[0].summary() if runs else backend)


class VideoAnalyzeFlicker:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("Analyze Flicker on a VIDEO, streamed from its file (any length, constant memory): the kind of "
                   "flicker, where, and which fix; report, JSON, chart and verdict as Analyze Flicker gives.")
    RETURN_TYPES = ("STRING", "STRING", "IMAGE", "STRING")
    RETURN_NAMES = ("report", "json", "chart", "verdict")
    OUTPUT_NODE = True
    FUNCTION = "analyze"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"video": VIDEO}}

    def analyze(self, video):
        with source_file(video) as path:
            info, frames = videoio.iter_frames(path)
            rep = analysis.analyze_frames(frames, info.fps, progress=node_progress(info.frame_count),
                                          total=info.frame_count)
        chart = frames_to_image([analysis.render_chart(rep)], 1)
        return {"ui": {"unflicker_report": [_ui_report(rep)]},
                "result": (rep.text(), rep.to_json(), chart, rep.verdict)}

"""Load Video and Save Video: files in ComfyUI's input/output folders <-> IMAGE batches."""

from __future__ import annotations

import hashlib
import os

import folder_paths

from ..unflicker.media import video as videoio
from ..unflicker.errors import UnflickerError
from ..unflicker.media.formats import FORMATS
from ..unflicker.media.selection import read_selection
from .comfy_bridge import audio_input, audio_output, frames_to_image, image_frames, node_progress
from .inputs import IMAGES, fps_input, setting_inputs

_LOADABLE = videoio.VIDEO_EXTENSIONS + videoio.ANIMATED_EXTENSIONS


def _input_videos() -> list[str]:
    root = folder_paths.get_input_directory()
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.lower().endswith(_LOADABLE):
                found.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/"))
    return sorted(found)


def _resolve(video_name: str, path: str) -> str:
    if path.strip():
        return os.path.expanduser(path.strip())
    if not video_name:
        raise UnflickerError("video: no file chosen; upload one or give a path (a video, GIF/WebP or a folder of frames)")
    return folder_paths.get_annotated_filepath(video_name)


class LoadVideo:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("Load a video file, an animated GIF/WebP or a folder of frames as an IMAGE batch, with its fps "
                   "and its sound (AUDIO, cut to the frames selected). For long clips prefer core's Load Video and "
                   "our VIDEO nodes: they stream instead of holding every frame in memory.")
    RETURN_TYPES = ("IMAGE", "FLOAT", "INT", "AUDIO")
    RETURN_NAMES = ("images", "fps", "frame_count", "audio")
    OUTPUT_TOOLTIPS = ("The frames.", "Frame rate of the frames loaded.", "Frames loaded.",
                       "The clip's sound for the frames loaded (cut to match); None when it has none.")
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "video": (_input_videos(), {"video_upload": True, "tooltip": "A file in ComfyUI's input folder."}),
                **setting_inputs(videoio.ReadOptions, "force_rate", "skip_first_frames", "select_every_nth",
                                 "frame_load_cap"),
            },
            "optional": {
                "path": ("STRING", {"default": "", "tooltip": "A file or frame-folder path; overrides 'video' when set."}),
                "folder_fps": ("FLOAT", {"default": videoio.DEFAULT_FOLDER_FPS, "min": 0.1, "max": 240.0,
                                         "tooltip": "Frame rate of a folder of frames (it has none of its own)."}),
            },
        }

    @classmethod
    def IS_CHANGED(cls, video="", path="", **_):
        target = _resolve(video, path or "")
        if os.path.isdir(target):
            return str(sorted((n, os.path.getmtime(os.path.join(target, n))) for n in os.listdir(target)))
        h = hashlib.sha256()
        with open(target, "rb") as f:
            h.update(f.read(1 << 20))
        return f"{h.hexdigest()}:{os.path.getsize(target)}:{os.path.getmtime(target)}"

    @classmethod
    def VALIDATE_INPUTS(cls, video="", path="", **_):
        target = _resolve(video, path or "") if (video or path) else ""
        if not target or not os.path.exists(target):
            return f"video not found: {path or video!r}"
        return True

    def load(self, video, force_rate, skip_first_frames, select_every_nth, frame_load_cap, path="",
             folder_fps=videoio.DEFAULT_FOLDER_FPS):
        options = videoio.ReadOptions(force_rate=force_rate, skip_first_frames=skip_first_frames,
                                      select_every_nth=select_every_nth, frame_load_cap=frame_load_cap)
        frames, info, sound = read_selection(_resolve(video, path), options, folder_fps, node_progress(0))
        return (frames_to_image(frames, len(frames)), float(info.fps), len(frames), audio_output(sound))


class SaveVideo:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("Encode an IMAGE batch in ComfyUI's output folder: H.264 mp4 (default), H.265, ProRes, VP9, FFV1, "
                   "lossless H.264 4:4:4, GIF or WebP, with the sound wired to audio (cut or padded to the video) "
                   "and the workflow embedded, so dropping the file on ComfyUI brings the graph back. Never "
                   "overwrites: each save gets the next number.")
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("path",)
    FUNCTION = "save"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": IMAGES,
                "fps": fps_input("Frame rate to save at: connect Load Video's or a generator's fps output. Kept "
                                 "exact: 23.976 is written as 24000/1001, 29.97 as 30000/1001."),
                "filename_prefix": ("STRING", {"default": "Unflicker/video",
                                               "tooltip": "Inside the output folder; sub-folders allowed, '..' is not."}),
                "format": (list(videoio.WRITE_FORMATS), {"default": "mp4", "tooltip": "; ".join(
                    f"{f.name}: {f.description}" for f in FORMATS.values())}),
                "crf": ("INT", {"default": 19, "min": 0, "max": 51,
                                "tooltip": "H.264/H.265/VP9: quality (lower = better, 16-23 typical). WebP: quality 100 - crf (0 = lossless). ProRes, FFV1, lossless H.264, GIF: unused."}),
            },
            "optional": {
                "audio": ("AUDIO", {"tooltip": "Sound to put in the video (e.g. Load Video's audio); cut or padded "
                                               "with silence to the video's length."}),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    def save(self, images, fps, filename_prefix, format, crf, audio=None, prompt=None, extra_pnginfo=None):
        fmt = FORMATS.get(format)
        if fmt is None:
            raise UnflickerError(f"format must be one of {', '.join(videoio.WRITE_FORMATS)}; got {format!r}")
        prefix = safe_prefix(filename_prefix)
        output_dir = folder_paths.get_output_directory()
        folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(prefix, output_dir, images.shape[2], images.shape[1])
        os.makedirs(folder, exist_ok=True)
        while True:  # ComfyUI's counter parser expects the trailing "_"; never reuse a name already taken
            filename = f"{name}_{counter:05}_.{fmt.ext}"
            path = os.path.join(folder, filename)
            if not os.path.exists(path):
                break
            counter += 1
        messages = []
        videoio.write_video(path, image_frames(images), fps, format, crf, progress=node_progress(len(images)),
                            total=len(images), audio=audio_input(audio), metadata=workflow_metadata(prompt, extra_pnginfo),
                            warn=messages.append)
        for line in messages:
            print(f"[Unflicker] Save Video: {line}")
        preview = {"filename": filename, "subfolder": subfolder, "type": "output", "format": video_mime(format),
                   "frame_rate": fps, "frame_count": len(images)}
        return {"ui": {"images": [preview], "animated": (True,), "unflicker_video": [preview]}, "result": (path,)}


def workflow_metadata(prompt, extra_pnginfo) -> dict:
    """The tags core's SaveVideo embeds: each extra_pnginfo entry (the workflow) and the prompt, as JSON."""
    import json

    try:
        from comfy.cli_args import args  # ComfyUI's --disable-metadata
    except ImportError:
        args = None
    if getattr(args, "disable_metadata", False):
        return {}
    tags = {}
    for key, value in (extra_pnginfo or {}).items():
        tags[key] = json.dumps(value)
    if prompt is not None:
        tags["prompt"] = json.dumps(prompt)
    return tags


def video_mime(fmt: str) -> str:
    ext = FORMATS[fmt].ext
    return {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "mkv": "video/x-matroska",
            "webp": "image/webp", "gif": "image/gif"}[ext]


def safe_prefix(filename_prefix: str) -> str:
    """Refuse prefixes that would leave the output folder, before anything touches the disk."""
    prefix = (filename_prefix or "").strip().replace("\\", "/")
    parts = prefix.split("/")
    if not prefix or prefix.startswith("/") or os.path.isabs(prefix) or ".." in parts or any(":" in p for p in parts):
        raise UnflickerError(f"filename_prefix {filename_prefix!r} is not allowed: use a name or sub/folder/name inside the output folder, without '..' or an absolute path")
    return prefix

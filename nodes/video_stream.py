"""VIDEO in, VIDEO out: how the VIDEO twins of the post-processing nodes stream ComfyUI's own VIDEO type.

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

from ..unflicker.media import video as videoio
from ..unflicker.errors import UnflickerError
from ..unflicker.media.formats import FORMATS
from ..unflicker.operation import file_source
from .comfy_bridge import node_progress

VIDEO = ("VIDEO", {"tooltip": "ComfyUI's VIDEO, e.g. from core's Load Video; read from its file frame by frame."})
# VIDEO outputs are intermediate files: any format that carries sound (not GIF/WebP)
VIDEO_FORMATS = [name for name, f in FORMATS.items() if f.audio_codec]
FORMAT_INPUT = (VIDEO_FORMATS, {"default": "mp4", "tooltip": "Format of the file the VIDEO is written to (core's "
                                                      "Save Video with format auto keeps it as it is)."})
CRF_INPUT = ("INT", {"default": 16, "min": 0, "max": 51, "tooltip": "Quality of that file for H.264/H.265/VP9 "
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


def stream_video(video, make_plan, run, label: str, fmt: str = "mp4", crf: int = 16, reopen: bool = False):
    """Decode ``video``, run an operation over it, encode into the temp folder; return (VIDEO, plan).
    ``make_plan(source)`` plans the run for the file's Source; ``run(frames, plan, progress)`` yields the frames
    written at ``plan.rate``, progress counted to ``plan.progress_steps``. ``reopen``: ``frames`` is a function
    that opens the file afresh, for engines that read the clip twice (measure the whole shot, then correct it).
    A plan with ``passthrough`` set returns ``video`` itself, nothing re-encoded."""
    with source_file(video) as path:
        info, frames = videoio.iter_frames(path)
        plan = make_plan(file_source(info, "video"))
        if getattr(plan, "passthrough", False):  # the engine decided nothing changes: the VIDEO as it came
            frames.close()
            return video, plan
        if reopen:
            frames.close()
            frames = lambda: videoio.iter_frames(path)[1]  # noqa: E731
        out = os.path.join(_temp_dir(), f"{label}_{uuid.uuid4().hex[:12]}.{FORMATS[fmt].ext}")
        messages: list[str] = []
        videoio.write_video(out, run(frames, plan, node_progress(plan.progress_steps)), plan.rate, fmt, crf,
                            warn=messages.append, **videoio.carry_from(path).kwargs())
    for line in messages:
        print(f"[Unflicker] {label}: {line}")
    return _video_from_file(out), plan

"""Load Video's whole read: the frames a selection picks from a file, and the sound under exactly those frames."""

from __future__ import annotations

from typing import Optional

from ..errors import UnflickerError
from ..progress import ProgressFn, report
from .audio import PcmAudio, read_audio
from .video import DEFAULT_FOLDER_FPS, ReadOptions, VideoInfo, iter_frames, source_kind, start_seconds


def read_selection(path: str, options: ReadOptions = ReadOptions(), folder_fps: float = DEFAULT_FOLDER_FPS,
                   progress: Optional[ProgressFn] = None) -> tuple[list, VideoInfo, Optional[PcmAudio]]:
    """(frames, what they are — rate and size —, their sound or None). The sound starts where the selection
    starts and lasts as long as the frames read play at the selection's rate."""
    info, frames = iter_frames(path, options, folder_fps)
    collected = []
    for frame in frames:
        collected.append(frame)
        report(progress, len(collected), max(info.frame_count, len(collected)))
    if not collected:
        raise UnflickerError(f"no frames selected (skip_first_frames={options.skip_first_frames}, the clip has "
                             f"about {info.frame_count + options.skip_first_frames})")
    sound = None
    if source_kind(path) == "video":
        # skipped frames count at the source's rate (or the forced one), before every nth is taken
        start = start_seconds(options, info.exact_rate * options.select_every_nth)
        sound = read_audio(path, start, float(len(collected) / info.exact_rate))
    return collected, info, sound

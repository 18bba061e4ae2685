"""Stand-in for ComfyUI's comfy_api.input_impl.VideoFromFile: a VIDEO backed by a file (or bytes).

Just enough for node tests on CI: the same method names as core's, implemented with the ffmpeg binary the pack
uses (core uses PyAV). save_to remuxes (stream copy) like core's SaveVideo does for a matching container.
"""

import io
import json
import os
import subprocess
from types import SimpleNamespace

import imageio_ffmpeg
import numpy as np

from ..input import VideoInput


def _header(path):
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", path],
                          capture_output=True).stderr.decode("utf-8", "replace")


class VideoFromFile(VideoInput):
    def __init__(self, file):
        self._file = file

    def get_stream_source(self):
        if isinstance(self._file, io.BytesIO):
            self._file.seek(0)
        return self._file

    def _path(self):
        if not isinstance(self._file, str):
            raise TypeError("the stand-in reads file paths only")
        return self._file

    def get_dimensions(self):
        from unflicker.media import probe_media

        m = probe_media(self._path())
        return m.width, m.height

    def get_duration(self):
        from unflicker.media import probe_media

        return probe_media(self._path()).duration

    def get_container_format(self):
        return "mov,mp4,m4a,3gp,3g2,mj2" if self._path().endswith((".mp4", ".mov")) else "matroska,webm"

    def get_components(self):
        import torch

        from unflicker import audio, video

        frames, info = video.read_video(self._path())
        pcm = audio.read_audio(self._path())
        sound = None if pcm is None else {"waveform": torch.from_numpy(pcm.waveform).unsqueeze(0),
                                          "sample_rate": pcm.sample_rate}
        return SimpleNamespace(images=torch.from_numpy(frames).float() / 255.0, audio=sound,
                               frame_rate=info.exact_rate, metadata={})

    def save_to(self, path, format=None, codec=None, metadata=None):
        args = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                "-i", self._path(), "-map", "0", "-c", "copy", "-movflags", "use_metadata_tags"]
        for key, value in (metadata or {}).items():
            args += ["-metadata", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
        subprocess.run(args + [path], check=True, capture_output=True)


__all__ = ["VideoFromFile"]

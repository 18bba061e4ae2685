"""Clips with sound for the audio tests, made by ffmpeg's own lavfi sources (argument lists, no shell).

The reference clip: 24000/1001 fps, a 440 Hz tone at 0.2 and a one-sample click at 0.9 exactly at t = 1.000 s,
so a test finds where the sound ended up by the sample peak.
"""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction

import numpy as np

from unflicker.media import ffmpeg
from unflicker.media.audio import read_audio

RATE = Fraction(24000, 1001)
CLICK_AT = 1.0


def make_clip(path: str, seconds: float = 1.5, size: str = "96x64", rate: Fraction = RATE, sample_rate: int = 48000,
              layout: str | None = "stereo", audio_codec: str = "aac", video_args: tuple = (), extra: tuple = ()) -> str:
    """A testsrc2 clip with the tone + click on every channel (``layout`` None: no sound)."""
    args = ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate.numerator}/{rate.denominator}:d={seconds}"]
    if layout:
        click = int(CLICK_AT * sample_rate)
        # the expression is fixed test text; only numbers are formatted in
        expr = f"0.2*sin(2*PI*440*t)+0.7*eq(n\\,{click})"
        channels = "|".join([expr] * _channels(layout))
        args += ["-f", "lavfi", "-i", f"aevalsrc={channels}:s={sample_rate}:c={layout}:d={seconds}"]
    args += ["-map", "0:v"] + (["-map", "1:a", "-c:a", audio_codec] if layout else [])
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "12", *video_args, *extra, path]
    ffmpeg.run(args)
    return path


def _channels(layout: str) -> int:
    from unflicker.media.probe import channel_count

    return channel_count(layout)


def click_time(path: str, stream: int = 0) -> float:
    """Seconds at which the loudest sample (the click) of ``path``'s audio stream sits."""
    pcm = read_audio(path, stream=stream)
    assert pcm is not None, f"{os.path.basename(path)} has no sound"
    return float(np.argmax(np.abs(pcm.waveform).max(axis=0)) / pcm.sample_rate)


def audio_streams(path: str):
    from unflicker.media.probe import probe_media

    return probe_media(path).audio


def header(path: str) -> str:
    return subprocess.run([ffmpeg.ffmpeg_exe(), "-hide_banner", "-i", path], capture_output=True).stderr.decode()

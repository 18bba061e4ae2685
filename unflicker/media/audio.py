"""Sound: carried from a source file (all its audio streams) or from a waveform (ComfyUI's AUDIO) into a video.

The video is encoded first; ``mux`` then adds the sound in a second, cheap ffmpeg pass that copies the video.
Streams are copied untouched where the container takes their codec, else re-encoded (AAC in mp4, PCM in mov,
Opus in webm, FLAC in mkv) with a line saying so; either way the sound ends at the video's end. A stream ffmpeg
cannot read is left out with a warning naming it; the video is written anyway.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from . import ffmpeg
from ..errors import UnflickerError
from .formats import Format
from .probe import AudioStream, probe_media

Warn = Callable[[str], None]


@dataclass(frozen=True)
class SourceAudio:
    """The audio streams of ``path``, from ``start`` seconds, played at ``tempo`` (0.25 = quarter speed)."""

    path: str
    streams: tuple[AudioStream, ...]
    start: float = 0.0
    tempo: float = 1.0

    @classmethod
    def of(cls, path: str, start: float = 0.0, tempo: float = 1.0) -> Optional["SourceAudio"]:
        """All audio streams of a video file; None for silent files and for frame folders / GIF / WebP."""
        if os.path.isdir(path) or path.lower().endswith((".gif", ".webp")):
            return None
        streams = probe_media(path).audio
        return cls(path, streams, float(start), float(tempo)) if streams else None


@dataclass(frozen=True)
class PcmAudio:
    """A waveform (channels, samples), float32 in -1..1, starting with the first frame."""

    waveform: np.ndarray
    sample_rate: int

    def label(self) -> str:
        return f"audio input ({self.sample_rate} Hz, {self.waveform.shape[0]} channels)"


def _bitrate(codec: str, channels: int) -> list[str]:
    if codec == "aac":
        return ["{}k".format(min(512, 96 * max(1, channels)))]
    if codec == "libopus":
        return ["{}k".format(min(510, 64 * max(1, channels)))]
    return []


def _tempo_filters(tempo: float) -> list[str]:
    """atempo takes 0.5-100 per instance: chain halvings for slower speeds (numbers only, validated)."""
    if not 1 / 64 <= tempo <= 64:
        raise UnflickerError(f"audio tempo {tempo} is outside 1/64-64")
    out = []
    while tempo < 0.5:
        out.append("atempo=0.5")
        tempo /= 0.5
    if abs(tempo - 1.0) > 1e-9:
        out.append(f"atempo={tempo:.9f}")
    return out


def _metadata_args(fmt: Format, metadata: dict | None) -> list[str]:
    args = ["-map_metadata", "-1"]
    for key, value in (metadata or {}).items():
        args += ["-metadata", f"{key}={value}"]
    if fmt.container in ("mp4", "mov"):
        args += ["-movflags", "+faststart+use_metadata_tags"]
    return args


def _encode_args(j: int, codec: str, channels: int, filters: list[str], duration: float) -> list[str]:
    args = [f"-c:a:{j}", codec]
    if (rate := _bitrate(codec, channels)):
        args += [f"-b:a:{j}", rate[0]]
    # pad with silence to the end; -t below cuts what runs longer
    args += [f"-filter:a:{j}", ",".join(filters + ["apad"])]
    return args


def mux(video_path: str, out_path: str, fmt: Format, audio, duration: float, metadata: dict | None = None,
        warn: Optional[Warn] = None) -> list[str]:
    """Write ``out_path``: the video of ``video_path`` (copied) plus ``audio`` (SourceAudio, PcmAudio or None).

    Returns the lines said about the sound (also passed to ``warn``)."""
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        if warn:
            warn(line)

    if audio is None:
        _run_mux(video_path, out_path, fmt, [], [], duration, metadata)
        return said
    if not fmt.audio_codec:
        say(f"{fmt.name} cannot hold sound: {describe(audio)} left out")
        _run_mux(video_path, out_path, fmt, [], [], duration, metadata)
        return said
    if isinstance(audio, PcmAudio):
        _mux_pcm(video_path, out_path, fmt, audio, duration, metadata)
        return said
    inputs = (["-ss", f"{audio.start:.6f}"] if audio.start > 0 else []) + ["-i", audio.path]
    tempo = _tempo_filters(audio.tempo)

    def plan(streams: Sequence[AudioStream], force_encode: bool) -> tuple[list[str], list[str], list[int]]:
        maps, codecs, checks = [], [], []
        for j, s in enumerate(streams):
            maps += ["-map", f"1:a:{s.order}"]
            copyable = fmt.copy_audio is None or s.codec in fmt.copy_audio
            if copyable and not tempo and not force_encode:
                codecs += [f"-c:a:{j}", "copy"]
                checks.append(s.order)
            else:
                codecs += _encode_args(j, fmt.audio_codec, s.channels, tempo, duration)
        return maps, codecs, checks

    streams = list(audio.streams)
    needs_encoding = [s for s in streams if not (fmt.copy_audio is None or s.codec in fmt.copy_audio)]
    try:
        err = _run_mux(video_path, out_path, fmt, inputs, plan(streams, False), duration, metadata)
    except UnflickerError:
        err = None
        good = []
        for s in streams:  # find the stream(s) ffmpeg cannot carry, keep the rest
            try:
                _run_mux(video_path, out_path, fmt, inputs, plan([s], True), duration, metadata)
                good.append(s)
            except UnflickerError as exc:
                say(f"{s.label()} of {os.path.basename(audio.path)!r} cannot be read and is left out: {exc}")
        if good:
            err = _run_mux(video_path, out_path, fmt, inputs, plan(good, True), duration, metadata)
            for s in good:
                say(f"{s.label()} re-encoded as {_codec_name(fmt.audio_codec)}")
        else:
            _run_mux(video_path, out_path, fmt, [], [], duration, metadata)
        streams, needs_encoding = good, []
    for s in needs_encoding:
        say(f"{s.label()} cannot be copied into .{fmt.ext}: re-encoded as {_codec_name(fmt.audio_codec)}")
    if tempo and streams:
        say(f"sound re-encoded as {_codec_name(fmt.audio_codec)} at {audio.tempo:g}x speed to stay in sync with the video")
    if err:
        say(f"ffmpeg reported problems reading the sound of {os.path.basename(audio.path)!r} "
            f"({describe(audio)}): {err}")
    return said


def _mux_pcm(video_path, out_path, fmt, audio: PcmAudio, duration, metadata) -> None:
    wave = np.ascontiguousarray(np.asarray(audio.waveform, dtype=np.float32))
    if wave.ndim != 2 or wave.shape[0] < 1 or wave.shape[0] > 64:
        raise UnflickerError(f"audio waveform must be (channels, samples) with 1-64 channels; got shape {wave.shape}")
    rate = int(audio.sample_rate)
    if not 1000 <= rate <= 768000:
        raise UnflickerError(f"audio sample_rate must be 1000-768000 Hz; got {rate}")
    # beside the output (inside ComfyUI's folders), hidden, removed at once
    fd, raw = tempfile.mkstemp(prefix=".", suffix=".partial.f32", dir=os.path.dirname(os.path.abspath(out_path)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(wave.T.tobytes())  # interleaved samples
        inputs = ["-f", "f32le", "-ar", str(rate), "-ac", str(wave.shape[0]), "-i", raw]
        codecs = ["-map", "1:a:0"], _encode_args(0, fmt.audio_codec, wave.shape[0], [], duration), []
        _run_mux(video_path, out_path, fmt, inputs, codecs, duration, metadata)
    finally:
        os.remove(raw)


def _run_mux(video_path, out_path, fmt: Format, inputs: list[str], plan, duration: float,
             metadata: dict | None) -> str:
    maps, codecs, checks = plan if plan else ([], [], [])
    args = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", video_path, *inputs,
            "-map", "0:v:0", *maps, "-c:v", "copy", *codecs, "-t", f"{duration:.6f}",
            *_metadata_args(fmt, metadata), "-f", fmt.container, out_path]
    for order in checks:
        # a copied stream is never decoded on the way: decode it beside the copy (same read of the source) so
        # damage in it is reported, as it is for re-encoded streams
        args += ["-map", f"1:a:{order}", "-t", f"{duration:.6f}", "-f", "null", "-"]
    proc = subprocess.run(args, capture_output=True)
    if proc.returncode != 0:
        if os.path.exists(out_path):
            os.remove(out_path)
        raise UnflickerError(ffmpeg.stderr_summary(proc.stderr, 3))
    return ffmpeg.stderr_summary(proc.stderr, 3) if proc.stderr.strip() else ""


def describe(audio) -> str:
    if isinstance(audio, PcmAudio):
        return audio.label()
    return ", ".join(s.label() for s in audio.streams)


def _codec_name(codec: str) -> str:
    return {"aac": "AAC", "libopus": "Opus", "flac": "FLAC", "pcm_s24le": "24-bit PCM"}.get(codec, codec)


def read_audio(path: str, start: float = 0.0, duration: float = 0.0, stream: int = 0) -> Optional[PcmAudio]:
    """One audio stream of a file as a float32 waveform (channels, samples); None when the file has no sound."""
    src = SourceAudio.of(path)
    if src is None or stream >= len(src.streams):
        return None
    s = src.streams[stream]
    args = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    if start > 0:
        args += ["-ss", f"{start:.6f}"]
    args += ["-i", path, "-map", f"0:a:{s.order}"]
    if duration > 0:
        args += ["-t", f"{duration:.6f}"]
    args += ["-f", "f32le", "-c:a", "pcm_f32le", "-ar", str(s.sample_rate), "pipe:1"]
    proc = subprocess.run(args, capture_output=True)
    if proc.returncode != 0:
        raise UnflickerError(f"cannot read {s.label()} of {os.path.basename(path)!r}: {ffmpeg.stderr_summary(proc.stderr)}")
    channels = s.channels or 1
    data = np.frombuffer(proc.stdout, np.float32)
    data = data[: len(data) // channels * channels].reshape(-1, channels).T.copy()
    return PcmAudio(data, s.sample_rate)


def retime(pcm: PcmAudio, tempo: float) -> PcmAudio:
    """The waveform played at ``tempo`` (0.25 = quarter speed), pitch kept (FFmpeg's atempo)."""
    filters = _tempo_filters(float(tempo))
    if not filters:
        return pcm
    wave = np.ascontiguousarray(np.asarray(pcm.waveform, dtype=np.float32))
    channels = wave.shape[0]
    args = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "f32le",
            "-ar", str(int(pcm.sample_rate)), "-ac", str(channels), "-i", "pipe:0", "-af", ",".join(filters),
            "-f", "f32le", "-c:a", "pcm_f32le", "pipe:1"]
    proc = subprocess.run(args, input=wave.T.tobytes(), capture_output=True)
    if proc.returncode != 0:
        raise UnflickerError(f"cannot change the speed of the sound: {ffmpeg.stderr_summary(proc.stderr)}")
    data = np.frombuffer(proc.stdout, np.float32)
    return PcmAudio(data[: len(data) // channels * channels].reshape(-1, channels).T.copy(), pcm.sample_rate)

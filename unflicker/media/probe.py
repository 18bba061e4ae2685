"""What a media file holds, read from ffmpeg itself (imageio-ffmpeg ships no ffprobe).

One ffmpeg call decodes the first video frame through ``showinfo``: the header gives the streams, showinfo gives
the exact frame rate (24000/1001, not the header's rounded 23.98) and the colour tags the decoder really sees.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction

from . import ffmpeg
from ..errors import UnflickerError


@dataclass(frozen=True)
class ColorTags:
    """ffmpeg's names for the four colour tags; "" where the source leaves a tag unset."""

    primaries: str = ""
    transfer: str = ""
    matrix: str = ""
    range: str = ""

    def known(self) -> bool:
        return any((self.primaries, self.transfer, self.matrix, self.range))


BT709 = ColorTags("bt709", "bt709", "bt709", "tv")


@dataclass(frozen=True)
class AudioStream:
    index: int  # the stream's number in the file (#0:index)
    order: int  # its place among the audio streams (0:a:order)
    codec: str
    sample_rate: int
    channels: int
    layout: str

    def label(self) -> str:
        return f"audio stream #{self.index} ({self.codec}, {self.sample_rate} Hz, {self.layout})"


@dataclass(frozen=True)
class MediaInfo:
    width: int
    height: int
    rate: Fraction  # exact frame rate
    duration: float  # seconds, from the container (0 when unknown)
    frame_count: int  # estimated from duration x rate
    color: ColorTags = ColorTags()
    audio: tuple[AudioStream, ...] = field(default_factory=tuple)
    video_codec: str = ""
    pix_fmt: str = ""
    metadata: dict = field(default_factory=dict)


_VIDEO_LINE = re.compile(r"Stream #\d+:\d+\S*: Video: (\w+)(.*)")
_AUDIO_LINE = re.compile(r"Stream #\d+:(\d+)\S*: Audio: (\w+)[^,]*, (\d+) Hz, ([^,]+), ?(\w*)")
_SIZE = re.compile(r"[ ,](\d{1,5})x(\d{1,5})[ ,\[]")
_PIX_FMT = re.compile(r"^[^,]*, (\w+)")
_FPS = re.compile(r"([\d.]+)(k?) (fps|tbr)")
_DURATION = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")
_RATE = re.compile(r"config in time_base: \S+, frame_rate: (\d+)/(\d+)")
_COLOR = re.compile(r"color_range:(\S+) color_space:(\S+) color_primaries:(\S+) color_trc:(\S+)")
_CHANNELS = {"mono": 1, "stereo": 2, "downmix": 2, "2.1": 3, "3.0": 3, "3.0(back)": 3, "4.0": 4, "quad": 4,
             "quad(side)": 4, "3.1": 4, "5.0": 5, "5.0(side)": 5, "4.1": 5, "5.1": 6, "5.1(side)": 6, "6.0": 6,
             "6.0(front)": 6, "hexagonal": 6, "6.1": 7, "6.1(back)": 7, "6.1(front)": 7, "7.0": 7, "7.0(front)": 7,
             "7.1": 8, "7.1(wide)": 8, "7.1(wide-side)": 8, "octagonal": 8}


def channel_count(layout: str) -> int:
    layout = layout.strip()
    if layout in _CHANNELS:
        return _CHANNELS[layout]
    m = re.match(r"(\d+) channels", layout)
    return int(m.group(1)) if m else 0


def _tag(value: str) -> str:
    return "" if value in ("unknown", "unspecified", "reserved") else value


def probe_media(path: str) -> MediaInfo:
    """Streams, exact rate and colour tags of a video file. Raises UnflickerError naming the file."""
    name = os.path.basename(path)
    args = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path, "-map", "0:v:0", "-frames:v", "1",
            "-vf", "showinfo", "-f", "null", "-"]
    proc = subprocess.run(args, capture_output=True)
    text = proc.stderr.decode("utf-8", "replace")
    line = _VIDEO_LINE.search(text)
    if not line:
        if "Invalid data found" in text or "moov atom not found" in text:
            raise UnflickerError(f"video {name!r} is damaged or truncated: ffmpeg cannot read it ({ffmpeg.stderr_summary(proc.stderr, 2)})")
        raise UnflickerError(f"video {name!r} has no readable video stream")
    details = line.group(2) + " "
    size = _SIZE.search(details)
    if not size:
        raise UnflickerError(f"video {name!r}: could not read the frame size")
    w, h = int(size.group(1)), int(size.group(2))
    if (rot := _ROTATION.search(text)) and round(abs(float(rot.group(1)))) % 180 == 90:
        w, h = h, w  # ffmpeg auto-rotates on decode
    rate = None
    if (m := _RATE.search(text)) and int(m.group(1)) > 0 and int(m.group(2)) > 0:
        rate = Fraction(int(m.group(1)), int(m.group(2)))
    if rate is None and (m := _FPS.search(details)):
        rate = Fraction(float(m.group(1)) * (1000 if m.group(2) else 1)).limit_denominator(1001)
    if proc.returncode != 0 and not re.search(r"\] n: *0 ", text):
        raise UnflickerError(f"video {name!r} is damaged or truncated: its first frame cannot be decoded ({ffmpeg.stderr_summary(proc.stderr, 2)})")
    rate = rate or Fraction(24)
    color = ColorTags()
    if m := _COLOR.search(text):
        color = ColorTags(_tag(m.group(3)), _tag(m.group(4)), _tag(m.group(2)), _tag(m.group(1)))
    dur = _DURATION.search(text)
    seconds = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)) if dur else 0.0
    audio = []
    for order, a in enumerate(_AUDIO_LINE.finditer(text)):
        layout = a.group(4).strip()
        audio.append(AudioStream(int(a.group(1)), order, a.group(2), int(a.group(3)), channel_count(layout), layout))
    pix = _PIX_FMT.search(details)
    return MediaInfo(w, h, rate, seconds, int(round(seconds * rate)), color, tuple(audio), line.group(1),
                     pix.group(1) if pix else "", read_metadata_from_header(text))


def read_metadata_from_header(text: str) -> dict:
    """The input's container-level tags as the header prints them (multi-line values are joined)."""
    head = text.split("Stream #", 1)[0]
    m = re.search(r"\n  Metadata:\n((?:    .*\n)+)", head)
    tags: dict = {}
    if not m:
        return tags
    key = None
    for raw in m.group(1).splitlines():
        k, sep, v = raw[4:].partition(":")
        if sep and not raw[4:].startswith(" "):
            key = k.strip()
            tags[key] = v[1:] if v.startswith(" ") else v
        elif key is not None:
            tags[key] += "\n" + raw.split(": ", 1)[-1]
    return tags


def read_metadata(path: str) -> dict:
    """Container tags as stored (ffmetadata dump, unescaped), e.g. the embedded workflow and prompt. Keys in
    lower case: Matroska/WebM store tag names upper case."""
    proc = subprocess.run([ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", path,
                           "-f", "ffmetadata", "pipe:1"], capture_output=True)
    if proc.returncode != 0:
        raise UnflickerError(f"cannot read the metadata of {os.path.basename(path)!r}: {ffmpeg.stderr_summary(proc.stderr)}")
    text = proc.stdout.decode("utf-8", "replace")
    tags: dict = {}
    for entry in _split_unescaped(text, "\n"):
        if not entry or entry.startswith(";") or entry.startswith("["):
            if entry.startswith("["):
                break  # stream/chapter sections follow the global tags
            continue
        key, _, value = _partition_unescaped(entry, "=")
        tags[_unescape(key).lower()] = _unescape(value)
    return tags


# container bookkeeping that the muxer writes itself; everything else (title, comment, workflow...) is carried
_TECHNICAL_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder", "duration"}


def carried_metadata(path: str) -> dict:
    """The container tags a video-to-video step keeps from its source."""
    return {k: v for k, v in read_metadata(path).items() if k not in _TECHNICAL_TAGS}


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _partition_unescaped(text: str, sep: str) -> tuple[str, str, str]:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == sep:
            return text[:i], sep, text[i + 1:]
        i += 1
    return text, "", ""


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.S)

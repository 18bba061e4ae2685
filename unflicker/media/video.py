"""Video in and out: files through ffmpeg, animated GIF/WebP through Pillow, folders of frames.

Everything streams: readers yield one uint8 RGB frame (H, W, 3) at a time and writers take one at a time,
so a long clip is never held whole unless the caller collects it.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Iterable, Iterator, Optional

import numpy as np

from . import ffmpeg, probe as media
from .formats import FORMAT_NAMES, choose, video_filter
from ..errors import UnflickerError, check_choice, check_range
from ..progress import ProgressFn, report
from ..settings import ReadOptions

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v")
ANIMATED_EXTENSIONS = (".gif", ".webp")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
WRITE_FORMATS = FORMAT_NAMES  # see formats.FORMATS
MP4_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
DEFAULT_FOLDER_FPS = 8.0


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int  # exact for frame folders and GIF/WebP, estimated from duration for video files
    rate: Optional[Fraction] = None  # the exact frame rate (24000/1001); None: derive it from fps
    color: Optional[media.ColorTags] = None  # the source's colour tags (video files only)

    @property
    def exact_rate(self) -> Fraction:
        return self.rate if self.rate is not None else to_rate(self.fps)


def to_rate(fps) -> Fraction:
    """An exact frame rate: Fractions pass through; floats snap to the rational they stand for (23.976... ->
    24000/1001), so a rate that went through a FLOAT socket comes back exact."""
    return ffmpeg.exact_fps(fps if isinstance(fps, Fraction) else float(fps))


def to_uint8(frame) -> np.ndarray:
    """A frame (or a stack of frames) as uint8: uint8 passes through; float 0..1 is clipped, scaled and rounded."""
    arr = np.asarray(frame)
    if arr.dtype == np.uint8:
        return arr
    return (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0).round().astype(np.uint8)


def source_kind(path: str) -> str:
    if os.path.isdir(path):
        return "folder"
    if not os.path.isfile(path):
        raise UnflickerError(f"video not found: {path!r} (a video file, an animated GIF/WebP or a folder of frames)")
    ext = os.path.splitext(path)[1].lower()
    if ext in ANIMATED_EXTENSIONS:
        return "animated"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    allowed = ", ".join(VIDEO_EXTENSIONS + ANIMATED_EXTENSIONS)
    raise UnflickerError(f"video {os.path.basename(path)!r} has an unsupported extension; allowed: {allowed}, or a folder of PNG/JPG frames")


def probe(path: str, folder_fps: float = DEFAULT_FOLDER_FPS) -> VideoInfo:
    kind = source_kind(path)
    if kind == "folder":
        files = _frame_files(path)
        w, h = _image_size(files[0])
        return VideoInfo(w, h, float(folder_fps), len(files))
    if kind == "animated":
        from PIL import Image

        with Image.open(path) as im:
            n = getattr(im, "n_frames", 1)
            return VideoInfo(im.width, im.height, _pil_fps(im), n)
    return _probe_ffmpeg(path)


def _probe_ffmpeg(path: str) -> VideoInfo:
    m = media.probe_media(path)
    return VideoInfo(m.width, m.height, float(m.rate), m.frame_count, m.rate, m.color)


def _pil_fps(im) -> float:
    durations = []
    for i in range(min(getattr(im, "n_frames", 1), 50)):
        im.seek(i)
        im.load()  # WebP fills in the frame duration only once the frame is decoded
        durations.append(im.info.get("duration", 0) or 0)
    im.seek(0)
    mean_ms = float(np.mean(durations)) if durations else 0.0
    if mean_ms <= 0:
        return 10.0
    fps = 1000.0 / mean_ms
    # frame durations are whole milliseconds: 83 ms is 12 fps, not 12.048
    return float(round(fps)) if abs(fps - round(fps)) < 0.01 * fps else round(fps, 3)


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _frame_files(folder: str) -> list[str]:
    names = sorted((n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)), key=_natural_key)
    if not names:
        raise UnflickerError(f"folder {folder!r} holds no PNG/JPG/WebP/BMP/TIFF frames")
    return [os.path.join(folder, n) for n in names]


def _image_size(path: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.width, im.height


def _to_rgb(im) -> np.ndarray:
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _iter_raw(path: str, kind: str, force_rate: float, folder_fps: float, info: VideoInfo) -> Iterator[np.ndarray]:
    if kind == "folder":
        from PIL import Image

        files = _frame_files(path)
        size = None
        for f in files:
            with Image.open(f) as im:
                frame = _to_rgb(im)
            if size is None:
                size = frame.shape
            elif frame.shape != size:
                raise UnflickerError(f"frame {os.path.basename(f)!r} is {frame.shape[1]}x{frame.shape[0]}, the first frame is {size[1]}x{size[0]}: all frames in a folder must be the same size")
            yield frame
        return
    if kind == "animated":
        from PIL import Image, ImageSequence

        with Image.open(path) as im:
            for page in ImageSequence.Iterator(im):
                yield _to_rgb(page)
        return
    vf = f"fps={ffmpeg.fps_arg(force_rate)}" if force_rate else "null"
    args = [
        ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *ffmpeg.thread_args(), "-i", path,
        "-map", "0:v:0", *ffmpeg.filter_thread_args(), "-vf", vf, "-sws_flags", ffmpeg.SWS_FLAGS,
        "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ]
    import tempfile

    errors = tempfile.TemporaryFile()  # a file, not a pipe: a damaged clip's many messages cannot stall the decoder
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors)
    name = os.path.basename(path)
    try:
        decoded = 0
        for frame in ffmpeg.read_frames(proc.stdout, info.width, info.height):
            decoded += 1
            yield frame
        proc.wait()
        errors.seek(0)
        message = errors.read()
        if proc.returncode != 0:
            raise UnflickerError(f"ffmpeg could not decode {name!r}: {ffmpeg.stderr_summary(message)}")
        expected = info.frame_count if not force_rate else int(info.frame_count * force_rate / info.fps)
        if decoded < expected - 1 and _TRUNCATED.search(message.decode("utf-8", "replace")):
            # the container promised more than the data holds: a cut-off download or copy
            raise UnflickerError(f"video {name!r} is truncated or damaged: {decoded} of about {expected} frames could "
                                 f"be decoded (ffmpeg: {ffmpeg.stderr_summary(message, 2)})")
    finally:
        ffmpeg.stop(proc)
        errors.close()


_TRUNCATED = re.compile(r"partial file|Invalid NAL|corrupt|Error while decoding|missing picture|End of file", re.I)


def _resample(frames: Iterable[np.ndarray], src_fps: float, dst_fps: float) -> Iterator[np.ndarray]:
    """Nearest-frame rate change for sources ffmpeg does not decode (GIF/WebP via Pillow, folders)."""
    step = src_fps / dst_fps
    next_index = 0.0
    for i, frame in enumerate(frames):
        while next_index < i + 0.5 and next_index >= i - 0.5:
            yield frame
            next_index += step


def selection_info(src: VideoInfo, options: ReadOptions) -> VideoInfo:
    """What ``options`` select from a source described by ``src``: the rate and expected count of the frames read."""
    count = src.frame_count
    if options.force_rate and src.fps:
        count = int(round(count * options.force_rate / src.fps))
    count = -(-max(0, count - options.skip_first_frames) // options.select_every_nth)
    if options.frame_load_cap:
        count = min(count, options.frame_load_cap)
    fps = (options.force_rate or src.fps) / options.select_every_nth
    rate = (to_rate(options.force_rate) if options.force_rate else src.exact_rate) / options.select_every_nth
    return VideoInfo(src.width, src.height, fps, count, rate, src.color)


def start_seconds(options: ReadOptions, source_rate: Fraction) -> float:
    """Where the selection starts in the source, for cutting its sound to match."""
    rate = to_rate(options.force_rate) if options.force_rate else source_rate
    return float(options.skip_first_frames / rate)


def iter_frames(
    path: str,
    options: ReadOptions = ReadOptions(),
    folder_fps: float = DEFAULT_FOLDER_FPS,
    progress: Optional[ProgressFn] = None,
) -> tuple[VideoInfo, Iterator[np.ndarray]]:
    """Open ``path`` and return (info of the selected stream, frame iterator).

    ``info.fps`` is the fps of the frames yielded; ``info.frame_count`` the expected number of them.
    """
    options = options.validated()
    kind = source_kind(path)
    src = probe(path, folder_fps)
    rate = options.force_rate or src.fps
    info = selection_info(src, options)

    def generate() -> Iterator[np.ndarray]:
        raw = _iter_raw(path, kind, options.force_rate if kind == "video" else 0.0, folder_fps, src)
        if options.force_rate and kind != "video":
            raw = _resample(raw, src.fps, rate)
        emitted = 0
        try:
            for i, frame in enumerate(raw):
                if i < options.skip_first_frames or (i - options.skip_first_frames) % options.select_every_nth:
                    continue
                yield frame
                emitted += 1
                report(progress, emitted, info.frame_count)
                if options.frame_load_cap and emitted >= options.frame_load_cap:
                    break
        finally:
            raw.close()

    return info, generate()


def read_video(path: str, options: ReadOptions = ReadOptions(), folder_fps: float = DEFAULT_FOLDER_FPS,
               progress: Optional[ProgressFn] = None) -> tuple[np.ndarray, VideoInfo]:
    """Read the whole selection into one uint8 array (N, H, W, 3). Prefer iter_frames for long clips."""
    info, frames = iter_frames(path, options, folder_fps, progress)
    stack = list(frames)
    if not stack:
        raise UnflickerError(f"no frames selected from {os.path.basename(path)!r} (skip_first_frames={options.skip_first_frames}, source has about {info.frame_count + options.skip_first_frames})")
    return np.stack(stack), replace(info, frame_count=len(stack))


@dataclass(frozen=True)
class Carry:
    """What a video-to-video step keeps from its source besides the pictures: colour tags, sound, tags."""

    color: Optional[media.ColorTags] = None
    audio: object = None  # audio.SourceAudio / audio.PcmAudio / None
    metadata: Optional[dict] = None

    def kwargs(self) -> dict:
        return {"color": self.color, "audio": self.audio, "metadata": self.metadata}


def carry_from(path: str, options: ReadOptions = ReadOptions(), tempo: float = 1.0,
               metadata: Optional[dict] = None) -> Carry:
    """The Carry of ``path`` for the frames ``options`` select; ``tempo`` plays the sound faster/slower (a
    slow-motion comparison); ``metadata`` is added to the source's own tags (e.g. the workflow)."""
    from .audio import SourceAudio

    extra = dict(metadata or {})
    if source_kind(path) != "video":
        return Carry(None, None, extra or None)
    info = probe(path)
    sound = SourceAudio.of(path, start_seconds(options, info.exact_rate), tempo)
    return Carry(info.color, sound, {**media.carried_metadata(path), **extra} or None)


class VideoWriter:
    """Streaming writer for every format in formats.FORMATS (default by extension: .mp4 = H.264 4:2:0 BT.709).

    ``fps`` may be a Fraction (kept exact) or a float (snapped to its rational). ``crf`` is the quality for
    x264/x265/VP9 (0-51, lower is better); WebP uses quality 100 - crf (crf 0 = lossless); ProRes, FFV1, H.264
    lossless and GIF ignore it. ``color`` is the source's colour tags (carried; BT.709 where unset), ``audio`` a
    SourceAudio/PcmAudio muxed in and cut/padded to the video's length, ``metadata`` container tags (e.g. the
    workflow). The file appears under its name only once complete; on an exception nothing is left behind.
    """

    def __init__(self, path: str, fps, fmt: str | None = None, crf: int = 19, preset: str = "medium", loop: int = 0,
                 *, color: Optional[media.ColorTags] = None, audio=None, metadata: Optional[dict] = None,
                 warn=None):
        self.path = path
        self.rate = to_rate(fps)
        self.fps = float(check_range("fps", float(self.rate), 0.01, 1000))
        self.format = choose(fmt, path)
        self.fmt = self.format.name
        self.crf = int(check_range("crf", crf, 0, 51))
        self.preset = check_choice("preset", preset, MP4_PRESETS)
        self.loop = int(check_range("loop", loop, 0, 65535))
        self.color = color
        self.audio = audio
        self.metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
        self.warn = warn
        self.messages: list[str] = []
        self.frames_written = 0
        folder, name = os.path.split(os.path.abspath(path))
        self._partial = os.path.join(folder, f".{name}.partial.{self.format.ext}")
        self._proc: subprocess.Popen | None = None
        self._size: tuple[int, int] | None = None
        self._stderr = None

    def _output_args(self, w: int, h: int) -> list[str]:
        f = self.format
        args = ["-vf", video_filter(f, w, h, self.color), "-sws_flags", ffmpeg.SWS_FLAGS]
        if f.name == "webp":
            lossless = ["-lossless", "1"] if self.crf == 0 else ["-lossless", "0", "-quality", str(100 - self.crf)]
            return args + ["-c:v", "libwebp_anim", *lossless, "-loop", str(self.loop), "-f", "webp"]
        if f.name == "gif":
            return args + ["-loop", str(self.loop), "-f", "gif"]
        args += f.encoder_args(self.crf, self.preset)
        if self.audio is None:  # otherwise the sound pass writes the tags
            for key, value in self.metadata.items():
                args += ["-metadata", f"{key}={value}"]
        if f.container in ("mp4", "mov"):
            args += ["-movflags", "+faststart+use_metadata_tags"]
        return args + ["-f", f.container]

    def write(self, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise UnflickerError(f"frames must be RGB (H, W, 3); got shape {frame.shape}")
        h, w = frame.shape[:2]
        if self._proc is None:
            self._size = (w, h)
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            import tempfile

            self._stderr = tempfile.TemporaryFile()
            args = [
                ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                *ffmpeg.rawvideo_input_args(w, h, self.rate), *ffmpeg.thread_args(), *self._output_args(w, h),
                self._partial,
            ]
            self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)
        elif (w, h) != self._size:
            raise UnflickerError(f"frame {self.frames_written} is {w}x{h}, earlier frames are {self._size[0]}x{self._size[1]}: a video needs one size")
        try:
            self._proc.stdin.write(frame.tobytes())
        except BrokenPipeError:
            self._finish()  # raises with ffmpeg's message
        self.frames_written += 1

    def _finish(self) -> None:
        proc = self._proc
        try:
            proc.stdin.close()
        except OSError:
            pass
        proc.wait()
        self._stderr.seek(0)
        err = self._stderr.read()
        self._stderr.close()
        if proc.returncode != 0:
            raise UnflickerError(f"ffmpeg could not write {os.path.basename(self.path)!r}: {ffmpeg.stderr_summary(err)}")

    @property
    def duration(self) -> float:
        return float(self.frames_written / self.rate)

    def close(self) -> str:
        if self._proc is None:
            raise UnflickerError("no frames to write: the video needs at least one frame")
        try:
            self._finish()
            if self.audio is not None and not self.format.audio_codec:
                from .audio import describe

                line = f"{self.fmt} cannot hold sound: {describe(self.audio)} left out"
                self.messages.append(line)
                if self.warn:
                    self.warn(line)
            elif self.audio is not None:
                from .audio import mux

                joined = self._partial + ".av." + self.format.ext
                try:
                    self.messages += mux(self._partial, joined, self.format, self.audio, self.duration,
                                         self.metadata, self.warn)
                except BaseException:
                    if os.path.exists(joined):
                        os.remove(joined)
                    raise
                os.replace(joined, self._partial)
            os.replace(self._partial, self.path)
        except BaseException:
            self._remove_partial()
            raise
        return self.path

    def _remove_partial(self) -> None:
        if os.path.exists(self._partial):
            os.remove(self._partial)

    def abort(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            if not self._stderr.closed:
                self._stderr.close()
        self._remove_partial()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def write_video(path: str, frames: Iterable[np.ndarray], fps, fmt: str | None = None, crf: int = 19,
                preset: str = "medium", progress: Optional[ProgressFn] = None, total: int = 0, *,
                color: Optional[media.ColorTags] = None, audio=None, metadata: Optional[dict] = None,
                warn=None) -> str:
    with VideoWriter(path, fps, fmt, crf, preset, color=color, audio=audio, metadata=metadata, warn=warn) as writer:
        for frame in frames:
            writer.write(frame)
            report(progress, writer.frames_written, total)
    return path

"""Video in and out: files through ffmpeg, animated GIF/WebP through Pillow, folders of frames.

Everything streams: readers yield one uint8 RGB frame (H, W, 3) at a time and writers take one at a time,
so a long clip is never held whole unless the caller collects it.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, replace
from typing import Iterable, Iterator, Optional

import numpy as np

from . import ffmpeg
from .errors import UnflickerError, check_choice, check_range
from .progress import ProgressFn, report
from .settings import Settings, setting

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v")
ANIMATED_EXTENSIONS = (".gif", ".webp")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
WRITE_FORMATS = ("mp4", "webp", "gif")
MP4_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
DEFAULT_FOLDER_FPS = 8.0


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int  # exact for frame folders and GIF/WebP, estimated from duration for video files


@dataclass(frozen=True)
class ReadOptions(Settings):
    """The Load Video selection, applied in this order: force_rate, skip_first_frames, select_every_nth, cap."""

    force_rate: float = setting(0.0, 0.0, 240.0, step=0.5, help="Resample to this fps (0 keeps the source rate).")
    skip_first_frames: int = setting(0, 0, 1_000_000)
    select_every_nth: int = setting(1, 1, 1000, help="Keep one frame in n; the output fps is divided by n.")
    frame_load_cap: int = setting(0, 0, 1_000_000, help="Most frames to load (0 = all).")

    def output_fps(self, source_fps: float) -> float:
        return (self.force_rate or source_fps) / self.select_every_nth

    def expected_count(self, source_count: int) -> int:
        n = max(0, source_count - self.skip_first_frames)
        n = -(-n // self.select_every_nth)
        return min(n, self.frame_load_cap) if self.frame_load_cap else n


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


_VIDEO_LINE = re.compile(r"Stream #\S+.*?: Video: (.*)")
_SIZE = re.compile(r"[ ,](\d{2,5})x(\d{2,5})[ ,\[]")
_FPS = re.compile(r"([\d.]+)(k?) (fps|tbr)")
_DURATION = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")


def _probe_ffmpeg(path: str) -> VideoInfo:
    proc = subprocess.run(
        [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path], capture_output=True
    )  # exits 1 ("At least one output file must be specified"); the header is all we want
    text = proc.stderr.decode("utf-8", "replace")
    line = _VIDEO_LINE.search(text)
    if not line:
        raise UnflickerError(f"video {os.path.basename(path)!r} has no readable video stream")
    size = _SIZE.search(line.group(1) + " ")
    if not size:
        raise UnflickerError(f"video {os.path.basename(path)!r}: could not read the frame size")
    w, h = int(size.group(1)), int(size.group(2))
    rot = _ROTATION.search(text)
    if rot and round(abs(float(rot.group(1)))) % 180 == 90:
        w, h = h, w  # ffmpeg auto-rotates on decode
    fps = 0.0
    for m in _FPS.finditer(line.group(1)):
        fps = float(m.group(1)) * (1000 if m.group(2) else 1)
        break
    dur = _DURATION.search(text)
    seconds = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)) if dur else 0.0
    return VideoInfo(w, h, fps or 24.0, int(round(seconds * fps)) if fps else 0)


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


def _iter_raw(path: str, kind: str, force_rate: float, folder_fps: float) -> Iterator[np.ndarray]:
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
    info = _probe_ffmpeg(path)
    vf = f"fps={ffmpeg.fps_arg(force_rate)}" if force_rate else "null"
    args = [
        ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", path,
        "-map", "0:v:0", "-vf", vf, "-sws_flags", ffmpeg.SWS_FLAGS,
        "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield from ffmpeg.read_frames(proc.stdout, info.width, info.height)
        proc.wait()
        if proc.returncode != 0:
            raise UnflickerError(f"ffmpeg could not decode {os.path.basename(path)!r}: {ffmpeg._tail(proc.stderr.read())}")
    finally:
        ffmpeg.stop(proc)


def _resample(frames: Iterable[np.ndarray], src_fps: float, dst_fps: float) -> Iterator[np.ndarray]:
    """Nearest-frame rate change for sources ffmpeg does not decode (GIF/WebP via Pillow, folders)."""
    step = src_fps / dst_fps
    next_index = 0.0
    for i, frame in enumerate(frames):
        while next_index < i + 0.5 and next_index >= i - 0.5:
            yield frame
            next_index += step


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
    count = src.frame_count
    if options.force_rate and src.fps:
        count = int(round(count * options.force_rate / src.fps))
    info = VideoInfo(src.width, src.height, options.output_fps(src.fps), options.expected_count(count))

    def generate() -> Iterator[np.ndarray]:
        raw = _iter_raw(path, kind, options.force_rate if kind == "video" else 0.0, folder_fps)
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


class VideoWriter:
    """Streaming writer for mp4 (h264, yuv420p, BT.709 tagged), animated WebP and GIF.

    ``quality`` is x264's crf for mp4 (0-51, lower is better); WebP uses quality 100 - crf (crf 0 = lossless);
    GIF ignores it. Odd mp4 sizes are padded to even by repeating the last row/column (yuv420p needs even
    sizes). On an exception the partial file is removed.
    """

    def __init__(self, path: str, fps: float, fmt: str | None = None, crf: int = 19, preset: str = "medium", loop: int = 0):
        self.path = path
        self.fps = float(check_range("fps", fps, 0.01, 1000))
        self.fmt = check_choice("format", (fmt or os.path.splitext(path)[1].lstrip(".")).lower(), WRITE_FORMATS)
        self.crf = int(check_range("crf", crf, 0, 51))
        self.preset = check_choice("preset", preset, MP4_PRESETS)
        self.loop = int(check_range("loop", loop, 0, 65535))
        self.frames_written = 0
        self._proc: subprocess.Popen | None = None
        self._size: tuple[int, int] | None = None
        self._stderr = None

    def _output_args(self, w: int, h: int) -> list[str]:
        if self.fmt == "mp4":
            pad = "" if w % 2 == 0 and h % 2 == 0 else "pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0,fillborders=right=1:bottom=1:mode=smear,"
            return [
                "-vf", f"{pad}scale=out_color_matrix=bt709:out_range=tv,format=yuv420p", "-sws_flags", ffmpeg.SWS_FLAGS,
                "-c:v", "libx264", "-crf", str(self.crf), "-preset", self.preset, *ffmpeg.COLOR_TAGS,
                "-movflags", "+faststart", "-f", "mp4",
            ]
        if self.fmt == "webp":
            lossless = ["-lossless", "1"] if self.crf == 0 else ["-lossless", "0", "-quality", str(100 - self.crf)]
            return ["-vf", "format=bgra", "-c:v", "libwebp_anim", *lossless, "-loop", str(self.loop), "-f", "webp"]
        return [
            "-vf", "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=sierra2_4a",
            "-loop", str(self.loop), "-f", "gif",
        ]

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
                *ffmpeg.rawvideo_input_args(w, h, self.fps), *self._output_args(w, h), self.path,
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
            raise UnflickerError(f"ffmpeg could not write {os.path.basename(self.path)!r}: {ffmpeg._tail(err)}")

    def close(self) -> str:
        if self._proc is None:
            raise UnflickerError("no frames to write: the video needs at least one frame")
        self._finish()
        return self.path

    def abort(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._stderr.close()
        if os.path.exists(self.path):
            os.remove(self.path)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def write_video(path: str, frames: Iterable[np.ndarray], fps: float, fmt: str | None = None, crf: int = 19,
                preset: str = "medium", progress: Optional[ProgressFn] = None, total: int = 0) -> str:
    with VideoWriter(path, fps, fmt, crf, preset) as writer:
        for frame in frames:
            writer.write(frame)
            report(progress, writer.frames_written, total)
    return path

"""The ffmpeg binary from imageio-ffmpeg, driven through argument lists (never a shell).

Filter graphs are assembled here from validated numbers and fixed names only; no user-supplied text ever
becomes filter-graph text.
"""

from __future__ import annotations

import subprocess
import threading
from fractions import Fraction
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..errors import UnflickerError

_exe: str | None = None
_threads: int | None = None  # None: ffmpeg chooses (as many as the machine has)


def ffmpeg_exe() -> str:
    global _exe
    if _exe is None:
        try:
            import imageio_ffmpeg
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise UnflickerError("imageio-ffmpeg is not installed: pip install imageio-ffmpeg") from exc
        _exe = imageio_ffmpeg.get_ffmpeg_exe()
    return _exe


def limit_threads(threads: int | None) -> None:
    """Run every later ffmpeg of this process with at most ``threads`` threads for each decoder, filter graph and
    encoder (a batch worker's clip stays on that worker's share of the cores); None lifts the limit."""
    global _threads
    _threads = threads


def thread_args() -> list[str]:
    """``-threads N`` (for the decoder before an ``-i``, for the encoder after it); nothing when not limited."""
    return [] if _threads is None else ["-threads", str(_threads)]


def filter_thread_args() -> list[str]:
    return [] if _threads is None else ["-filter_threads", str(_threads)]


def exact_fps(fps) -> Fraction:
    """The rational a frame rate stands for: a Fraction as it is; the NTSC rates as typed (23.976, 29.97, 59.94,
    119.88, 47.952: within 0.0005 of N * 1000/1001) or as a float of one -> N * 1000/1001; others the nearest
    fraction with a denominator up to 1001 (25 -> 25, 12.5 -> 25/2)."""
    if isinstance(fps, Fraction):
        rate = fps
    else:
        if not fps or fps <= 0:
            raise UnflickerError(f"fps must be positive, got {fps!r}")
        n = round(float(fps) * 1001 / 1000)
        ntsc = Fraction(n * 1000, 1001)
        rate = ntsc if n >= 2 and abs(float(fps) - ntsc) < 0.0005 else Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise UnflickerError(f"fps must be positive, got {fps!r}")
    return rate


def fps_arg(fps) -> str:
    """fps as an exact ffmpeg rational (``exact_fps``: 29.97 -> 30000/1001), so long clips do not drift."""
    rate = exact_fps(fps)
    return f"{rate.numerator}/{rate.denominator}"


def run(args: Sequence[str], *, input_bytes: bytes | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg with ``args`` (list, no shell); raise UnflickerError with ffmpeg's own message on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args]
    proc = subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise UnflickerError(f"ffmpeg failed: {stderr_summary(proc.stderr)}")
    return proc


def stderr_summary(stderr: bytes, n: int = 6) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return " | ".join(lines[-n:]) or "(no message)"


# BT.709, limited range, tagged: players and our reader then agree on the colours (untagged yuv420p is read
# as BT.601 by some players and BT.709 by others, the classic tint shift after a round trip).
SWS_FLAGS = "bicubic+accurate_rnd+full_chroma_int+full_chroma_inp"
COLOR_TAGS = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]


def rawvideo_input_args(width: int, height: int, fps: float) -> list[str]:
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", fps_arg(fps), "-i", "pipe:0"]


def filter_frames(
    frames: Iterable[np.ndarray],
    width: int,
    height: int,
    fps: float,
    filtergraph: str,
    *,
    out_size: tuple[int, int] | None = None,
) -> Iterator[np.ndarray]:
    """Stream uint8 RGB frames through an ffmpeg filter graph and yield the filtered frames.

    A writer thread feeds stdin while this generator reads stdout, so memory stays bounded to a few frames
    plus whatever the filter itself buffers. Closing the generator early kills ffmpeg.
    """
    ow, oh = out_size or (width, height)
    args = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
        *rawvideo_input_args(width, height, fps), *filter_thread_args(),
        "-vf", filtergraph, "-sws_flags", SWS_FLAGS,
        "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    errors: list[BaseException] = []
    stderr_chunks: list[bytes] = []

    def feed():
        try:
            for frame in frames:
                frame = np.ascontiguousarray(frame, dtype=np.uint8)
                if frame.shape != (height, width, 3):
                    raise UnflickerError(f"frames must all be {width}x{height} RGB; got shape {frame.shape}")
                proc.stdin.write(frame.tobytes())
        except BrokenPipeError:
            pass
        except BaseException as exc:  # surfaced in the reading thread
            errors.append(exc)
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def drain_stderr():
        stderr_chunks.append(proc.stderr.read())

    writer = threading.Thread(target=feed, daemon=True)
    err_reader = threading.Thread(target=drain_stderr, daemon=True)
    writer.start()
    err_reader.start()
    try:
        yield from read_frames(proc.stdout, ow, oh)
        writer.join()
        proc.wait()
        err_reader.join()
        if errors:
            raise errors[0]
        if proc.returncode != 0:
            raise UnflickerError(f"ffmpeg failed: {stderr_summary(b''.join(stderr_chunks))}")
    finally:
        stop(proc)


def read_frames(stream, width: int, height: int) -> Iterator[np.ndarray]:
    """uint8 RGB frames (height, width, 3) from an ffmpeg rawvideo rgb24 pipe, until it ends."""
    nbytes = width * height * 3
    while True:
        buf = _read_exact(stream, nbytes)
        if buf is None:
            return
        yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)


def stop(proc: subprocess.Popen) -> None:
    """Kill an ffmpeg still running (its reader stopped early) and close its output pipes."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for stream in (proc.stdout, proc.stderr):
        try:
            if stream is not None:  # None: that output went to a file, not a pipe
                stream.close()
        except OSError:
            pass


def _read_exact(stream, n: int) -> bytes | None:
    data = stream.read(n)
    if not data:
        return None
    while len(data) < n:
        more = stream.read(n - len(data))
        if not more:
            return None  # truncated last frame: ffmpeg was stopped mid-frame
        data += more
    return data

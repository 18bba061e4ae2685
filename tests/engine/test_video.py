"""Video I/O through the real ffmpeg: round trips, selection options, streaming, errors."""

import os

import numpy as np
import pytest
from PIL import Image

from unflicker.media import synthetic, video
from unflicker.errors import UnflickerError


@pytest.fixture(scope="module")
def clip():
    return synthetic.moving_clip("objects", frames=16, height=96, width=128, seed=3)


def _mae(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_mp4_round_trip_keeps_count_fps_size_and_colours(tmp_path, clip):
    path = str(tmp_path / "clip.mp4")
    video.write_video(path, clip, fps=12.0, crf=12)
    frames, info = video.read_video(path)
    assert frames.shape == clip.shape
    assert (info.width, info.height, info.frame_count) == (128, 96, 16)
    assert info.fps == pytest.approx(12.0)
    # h264 crf 12 + 4:2:0 chroma: small error, and no tint: per-channel means within half a level
    assert _mae(frames, clip) < 2.5
    shift = frames.reshape(-1, 3).mean(0) - clip.reshape(-1, 3).mean(0)
    assert np.all(np.abs(shift) < 0.5), shift


def test_mp4_is_tagged_bt709(tmp_path, clip):
    from unflicker.media import ffmpeg
    import subprocess

    path = str(tmp_path / "clip.mp4")
    video.write_video(path, clip[:3], fps=8)
    header = subprocess.run([ffmpeg.ffmpeg_exe(), "-hide_banner", "-i", path], capture_output=True).stderr.decode()
    assert "yuv420p(tv, bt709" in header


def test_fractional_fps_survives(tmp_path, clip):
    path = str(tmp_path / "ntsc.mp4")
    video.write_video(path, clip[:6], fps=30000 / 1001)
    assert video.probe(path).fps == pytest.approx(29.97, abs=0.01)


def test_odd_size_is_padded_to_even_for_mp4(tmp_path, clip):
    path = str(tmp_path / "odd.mp4")
    odd = clip[:, :95, :127]
    video.write_video(path, odd, fps=8)
    frames, info = video.read_video(path)
    assert (info.width, info.height) == (128, 96)
    assert _mae(frames[:, :95, :127], odd) < 3  # the picture itself is untouched


@pytest.mark.parametrize("fmt,max_mae", [("webp", 0.0), ("gif", 12.0)])
def test_webp_and_gif_round_trip(tmp_path, clip, fmt, max_mae):
    path = str(tmp_path / f"clip.{fmt}")
    video.write_video(path, clip, fps=12.0, crf=0)  # crf 0 = lossless WebP
    frames, info = video.read_video(path)
    assert frames.shape == clip.shape
    assert info.fps == pytest.approx(12.0)
    assert _mae(frames, clip) <= max_mae


def test_folder_of_frames(tmp_path, clip):
    for i, frame in enumerate(clip[:10]):
        Image.fromarray(frame).save(tmp_path / f"frame_{i}.png")  # natural sort: frame_2 before frame_10
    frames, info = video.read_video(str(tmp_path), folder_fps=6)
    assert info.fps == 6 and len(frames) == 10
    np.testing.assert_array_equal(frames, clip[:10])


def test_folder_with_mixed_sizes_is_refused(tmp_path, clip):
    Image.fromarray(clip[0]).save(tmp_path / "a.png")
    Image.fromarray(clip[1][:50]).save(tmp_path / "b.png")
    with pytest.raises(UnflickerError, match="same size"):
        video.read_video(str(tmp_path))


def test_read_options(tmp_path):
    ramp = np.stack([np.full((32, 48, 3), i * 10, np.uint8) for i in range(20)])  # frame i has level 10*i
    path = str(tmp_path / "ramp.mp4")
    video.write_video(path, ramp, fps=10, crf=0)
    opts = video.ReadOptions(skip_first_frames=3, select_every_nth=2, frame_load_cap=5)
    frames, info = video.read_video(path, opts)
    assert len(frames) == 5 and info.fps == pytest.approx(5.0)
    levels = np.round(frames.reshape(5, -1).mean(1) / 10).astype(int)
    assert list(levels) == [3, 5, 7, 9, 11]
    frames, info = video.read_video(path, video.ReadOptions(force_rate=5))
    assert info.fps == 5 and len(frames) == 10


def test_iter_frames_streams_and_stops_early(tmp_path, clip):
    path = str(tmp_path / "clip.mp4")
    video.write_video(path, clip, fps=8)
    info, frames = video.iter_frames(path)
    first = next(frames)
    assert first.shape == (96, 128, 3)
    frames.close()  # kills the decoder; nothing left running


def test_unsupported_and_missing_inputs(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UnflickerError, match="unsupported extension"):
        video.probe(str(tmp_path / "notes.txt"))
    with pytest.raises(UnflickerError, match="not found"):
        video.probe(str(tmp_path / "missing.mp4"))


def test_writer_refuses_bad_values_and_cleans_up(tmp_path, clip):
    with pytest.raises(UnflickerError, match="format"):
        video.VideoWriter(str(tmp_path / "x.avi"), fps=8)
    with pytest.raises(UnflickerError, match="crf"):
        video.VideoWriter(str(tmp_path / "x.mp4"), fps=8, crf=99)
    path = tmp_path / "partial.mp4"
    with pytest.raises(RuntimeError):
        with video.VideoWriter(str(path), fps=8) as w:
            w.write(clip[0])
            raise RuntimeError("stop")
    assert not path.exists()

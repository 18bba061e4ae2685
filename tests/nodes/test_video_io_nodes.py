"""Foundation nodes run as ComfyUI would call them: Load/Save Video, FFmpeg fix, Side by Side."""

import os

import numpy as np
import pytest
import torch

from unflicker.media import synthetic, video


@pytest.fixture
def clip():
    return synthetic.moving_clip("pan", frames=12, height=64, width=80, seed=2)


@pytest.fixture
def images(clip):
    return torch.from_numpy(clip).float() / 255.0


def test_load_video_from_input_folder_with_selection(pack, comfy_dirs, clip):
    os.makedirs(os.path.join(comfy_dirs.get_input_directory(), "clips"))
    video.write_video(os.path.join(comfy_dirs.get_input_directory(), "clips", "in.mp4"), clip, fps=12, crf=10)
    node = pack.nodes.video_io.LoadVideo
    choices = node.INPUT_TYPES()["required"]["video"][0]
    assert "clips/in.mp4" in choices
    assert node.VALIDATE_INPUTS(video="clips/in.mp4") is True
    assert node.VALIDATE_INPUTS(video="clips/nope.mp4") != True
    images, fps, count, audio = node().load("clips/in.mp4", 0.0, 2, 2, 4)
    assert images.dtype == torch.float32 and tuple(images.shape) == (4, 64, 80, 3)
    assert fps == pytest.approx(6.0) and count == 4
    assert audio is None  # a silent clip: no AUDIO, as core gives
    assert float(images.min()) >= 0 and float(images.max()) <= 1


def test_load_video_from_a_path(pack, tmp_path, clip):
    path = str(tmp_path / "x.webp")
    video.write_video(path, clip, fps=10, crf=0)
    images, fps, count, audio = pack.nodes.video_io.LoadVideo().load("", 0.0, 0, 1, 0, path=path)
    assert count == 12 and fps == pytest.approx(10.0) and audio is None
    np.testing.assert_array_equal((images.numpy() * 255).round().astype(np.uint8), clip)


def test_save_video_writes_into_output_folder_and_reports_preview(pack, comfy_dirs, images):
    out = pack.nodes.video_io.SaveVideo().save(images, 12.0, "tests/run", "mp4", 18)
    path = out["result"][0]
    assert path.startswith(comfy_dirs.get_output_directory()) and os.path.isfile(path)
    preview = out["ui"]["unflicker_video"][0]
    assert preview["subfolder"] == "tests" and preview["type"] == "output" and preview["format"] == "video/mp4"
    frames, info = video.read_video(path)
    assert len(frames) == 12 and info.fps == pytest.approx(12.0)
    second = pack.nodes.video_io.SaveVideo().save(images, 12.0, "tests/run", "gif", 18)["result"][0]
    assert second != path and second.endswith("run_00002_.gif")


@pytest.mark.parametrize("prefix", ["../../x", "/tmp/evil", "a/../../b", "..", "C:/x", ""])
def test_save_video_refuses_prefixes_leaving_output(pack, comfy_dirs, images, prefix, tmp_path):
    before = set(os.listdir(os.path.dirname(comfy_dirs.get_output_directory())))
    with pytest.raises(ValueError, match="filename_prefix"):
        pack.nodes.video_io.SaveVideo().save(images, 12.0, prefix, "mp4", 18)
    assert os.listdir(comfy_dirs.get_output_directory()) == []
    assert set(os.listdir(os.path.dirname(comfy_dirs.get_output_directory()))) == before


def test_ffmpeg_fix_node_and_its_validation(pack, images):
    node = pack.nodes.ffmpeg_fix.FFmpegDeflickerDeband()
    (out,) = node.fix(images, True, 5, "am", True, 0.02, 16, False, fps=12.0)
    assert out.shape == images.shape and out.dtype == torch.float32
    with pytest.raises(ValueError, match="mode must be one of"):
        node.fix(images, True, 5, "am,drawtext=text=x", True, 0.02, 16, False)


def test_side_by_side_node(pack, images):
    out, fps, audio = pack.nodes.compare.SideBySide().compare(images, images[:6], "before", "after", 12.0, 4.0)["result"]
    assert audio is None
    assert tuple(out.shape) == (12, 64, 80 * 2 + 4, 3)
    assert fps == pytest.approx(3.0)
    # the shorter clip holds its last frame
    assert torch.equal(out[-1, 40:, -80:], out[5, 40:, -80:])


def test_interrupt_stops_a_node_and_leaves_no_file(pack, comfy_dirs, images):
    import comfy.model_management as mm

    if not hasattr(mm, "interrupt_current_processing"):
        pytest.skip("needs ComfyUI's interrupt flag")
    mm.interrupt_current_processing(True)
    with pytest.raises(mm.InterruptProcessingException):
        pack.nodes.video_io.SaveVideo().save(images, 12.0, "tests/interrupted", "mp4", 18)
    assert not os.path.exists(os.path.join(comfy_dirs.get_output_directory(), "tests")) or \
        os.listdir(os.path.join(comfy_dirs.get_output_directory(), "tests")) == []


def test_progress_is_reported(pack, images):
    import comfy.utils

    if not hasattr(comfy.utils, "UPDATES"):
        pytest.skip("the progress recorder exists only in the test stand-in")
    comfy.utils.UPDATES.clear()
    pack.nodes.ffmpeg_fix.FFmpegDeflickerDeband().fix(images, True, 5, "am", False, 0.02, 16, False)
    assert comfy.utils.UPDATES[-1] == (12, 12)

"""Side by Side as ComfyUI calls it: stacked IMAGE + slowed fps, and a playable preview in the temp folder."""

import os

import pytest
import torch

from unflicker.media import synthetic, video


@pytest.fixture
def images():
    clip = synthetic.moving_clip("pan", frames=8, height=48, width=64, seed=3)
    return torch.from_numpy(clip).float() / 255.0


def test_side_by_side_returns_images_fps_and_a_temp_preview(pack, comfy_dirs, images):
    out = pack.nodes.compare.SideBySide().compare(images, images[:5], "before", "after", 12.0, 4.0)
    stacked, fps, audio = out["result"]
    assert audio is None  # no audio_a wired
    assert tuple(stacked.shape) == (8, 48, 64 * 2 + 4, 3) and fps == pytest.approx(3.0)

    (preview,) = out["ui"]["unflicker_video"]
    assert preview["type"] == "temp" and preview["subfolder"] == "" and preview["format"] == "video/mp4"
    assert preview["frame_count"] == 8 and preview["frame_rate"] == pytest.approx(3.0)
    path = os.path.join(comfy_dirs.get_temp_directory(), preview["filename"])
    frames, info = video.read_video(path)
    # the preview is the stacked clip itself, at the slowed rate (mp4 pads odd sizes, these are even)
    assert frames.shape == (8, 48, 132, 3) and info.fps == pytest.approx(3.0)
    assert abs(frames.astype(float).mean() - float(stacked.mean()) * 255) < 3
    assert os.listdir(comfy_dirs.get_output_directory()) == []  # nothing lands in the output folder


def test_side_by_side_previews_get_unique_names(pack, comfy_dirs, images):
    node = pack.nodes.compare.SideBySide()
    a = node.compare(images[:2], images[:2], "a", "b", 8.0, 1.0)["ui"]["unflicker_video"][0]["filename"]
    b = node.compare(images[:2], images[:2], "a", "b", 8.0, 1.0)["ui"]["unflicker_video"][0]["filename"]
    assert a != b and sorted(os.listdir(comfy_dirs.get_temp_directory())) == sorted([a, b])


def test_side_by_side_takes_any_size_and_returns_the_planned_rate(pack, comfy_dirs):
    a, b = torch.rand(3, 1, 1, 3), torch.rand(4, 3, 2, 3)
    stacked, fps, _ = pack.nodes.compare.SideBySide().compare(a, b, "a", "b", 23.976, 3.3)["result"]
    # the right clip scaled to the left's height (1 pixel), the gap, 4 frames (the longer clip's)
    assert tuple(stacked.shape) == (4, 1, 1 + 4 + 1, 3)
    assert fps == 23.976 / 3.3  # the FLOAT output is the float division, as it always was

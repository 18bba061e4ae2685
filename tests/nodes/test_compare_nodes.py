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


def numbered(count: int) -> torch.Tensor:
    """An IMAGE batch whose frame i carries its index: a flat picture of value i / 255."""
    return torch.arange(count, dtype=torch.float32).div(255).view(count, 1, 1, 1).expand(count, 4, 4, 3).contiguous()


def test_side_by_side_aligns_an_8_fps_clip_with_its_60_fps_version_by_time(pack, comfy_dirs):
    """fps_b (e.g. RIFE Interpolate's fps output) gives images_b its own rate: the output runs at 60 fps slowed,
    each half shows its clip's frame on screen at k / 60 s (8 fps frame i for k in [7.5 i, 7.5 (i + 1))), and
    both end together after 1 s."""
    out = pack.nodes.compare.SideBySide().compare(numbered(8), numbered(60), "", "", 8.0, 2.0, None, fps_b=60.0)
    stacked, fps, _ = out["result"]
    assert tuple(stacked.shape) == (60, 4, 4 + 4 + 4, 3) and fps == 30.0
    left = [round(float(f[:, :4].mean()) * 255) for f in stacked]
    right = [round(float(f[:, -4:].mean()) * 255) for f in stacked]
    assert right == list(range(60)) and left == [k * 8 // 60 for k in range(60)]
    assert out["ui"]["unflicker_video"][0]["frame_count"] == 60
    # the other way round: the output still runs at the higher rate, fps_b 0 = the same rate as fps
    stacked, fps, _ = pack.nodes.compare.SideBySide().compare(numbered(60), numbered(8), "", "", 60.0, 1.0,
                                                               fps_b=8.0)["result"]
    assert len(stacked) == 60 and fps == 60.0
    stacked, fps, _ = pack.nodes.compare.SideBySide().compare(numbered(8), numbered(60), "", "", 8.0, 1.0,
                                                               fps_b=0.0)["result"]
    assert len(stacked) == 60 and fps == 8.0  # both at 8 fps: frame i beside frame i, the shorter one held


def test_fps_b_is_an_optional_socket_added_last(pack):
    inputs = pack.nodes.compare.SideBySide.INPUT_TYPES()
    assert list(inputs["required"]) == ["images_a", "images_b", "label_a", "label_b", "fps", "slow_motion"]
    assert list(inputs["optional"]) == ["audio_a", "fps_b"]
    kind, options = inputs["optional"]["fps_b"]
    assert kind == "FLOAT" and options["default"] == 0.0 and options["min"] == 0.0 and options["forceInput"]

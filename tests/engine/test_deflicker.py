"""Flow-guided deflicker: the issue's quality margins on small seeded clips, streaming, cuts, errors."""

import functools
import threading

import cv2
import numpy as np
import pytest

from unflicker.measure import flow
from unflicker.measure import metrics
from unflicker.media import synthetic
from unflicker.fix.deflicker import TEXTURE_RADIUS, deflicker_frames, kinds_to_fix
from unflicker.kinds import DEFLICKER_MODES
from unflicker.settings import DeflickerSettings
from unflicker.errors import UnflickerError
from unflicker.fix.ffmpeg_fix import fix_frames
from unflicker.settings import FFmpegFixSettings

MOTIONS = ("pan", "zoom", "objects", "fade")
H, W, N, FPS = 96, 128, 24, 8.0


@functools.lru_cache(maxsize=None)
def clean_clip(motion: str) -> np.ndarray:
    return synthetic.moving_clip(motion, N, H, W, seed=3 + MOTIONS.index(motion), speed=1.5)


@functools.lru_cache(maxsize=None)
def flickered(kind: str, motion: str) -> np.ndarray:
    clean = clean_clip(motion)
    return clean if kind == "clean" else synthetic.inject(kind, clean, seed=3 + 100 * MOTIONS.index(motion))


@functools.lru_cache(maxsize=None)
def ours(kind: str, motion: str, mode: str = "auto") -> np.ndarray:
    """The default path: a re-readable clip (what the node and the fix command pass), the whole shot solved."""
    return np.stack(list(deflicker_frames(flickered(kind, motion), FPS, mode)))


@functools.lru_cache(maxsize=None)
def ours_streamed(kind: str, motion: str, mode: str = "auto") -> np.ndarray:
    """A one-shot iterator: read once, with a short look-ahead."""
    return np.stack(list(deflicker_frames(iter(flickered(kind, motion)), FPS, mode)))


def ffmpeg(clip: np.ndarray) -> np.ndarray:
    settings = FFmpegFixSettings(deflicker=True, size=5, mode="am", deband=False)
    return np.stack(list(fix_frames(iter(clip), W, H, FPS, settings)))


def mean_psnr(kind: str, fixer) -> float:
    return float(np.mean([metrics.psnr(fixer(kind, m), clean_clip(m)) for m in MOTIONS]))


# ---------------------------------------------------------------- the margins (means over the clips)
# margins re-derived for the whole-shot solve (measured: brightness +7.2 dB over FFmpeg, regional +4.9 and colour
# +8.1 over the input, texture +4.3; a one-shot stream +5.7 over FFmpeg)
def test_brightness_beats_ffmpeg_by_5_db():
    mine = mean_psnr("brightness", ours)
    theirs = mean_psnr("brightness", lambda k, m: ffmpeg(flickered(k, m)))
    assert mine >= theirs + 5.0, (mine, theirs)


def test_regional_gains_4_db():
    mine, before = mean_psnr("regional", ours), mean_psnr("regional", flickered)
    assert mine >= before + 4.0, (mine, before)


def test_colour_gains_6_db():
    mine, before = mean_psnr("colour", ours), mean_psnr("colour", flickered)
    assert mine >= before + 6.0, (mine, before)


def test_texture_gains_3_db_and_cuts_warping_error_by_30_percent():
    mine, before = mean_psnr("texture", ours), mean_psnr("texture", flickered)
    assert mine >= before + 3.0, (mine, before)
    err_before, err_after = [], []
    for m in MOTIONS:
        flows = flow.reference_flows(clean_clip(m))
        err_before.append(flow.warping_error(flickered("texture", m), flows))
        err_after.append(flow.warping_error(ours("texture", m), flows))
    assert np.mean(err_after) <= 0.7 * np.mean(err_before), (np.mean(err_after), np.mean(err_before))


def fine_detail_clip(h: int = 288, w: int = 384, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Fine random detail (1 px scale) turning, zooming and drifting by sub-pixel steps, in frames larger than the
    deflicker's work size, and the same with grain re-drawn every frame: (clean, grainy)."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (2 * h, 2 * w, 3)).astype(np.float32), (0, 0), 1.2)
    base = cv2.normalize(base, None, 40, 215, cv2.NORM_MINMAX)
    frames = []
    for i in range(n):
        m = cv2.getRotationMatrix2D((w, h), 0.25 * i, 1.0 + 0.004 * i)
        m[:, 2] += (0.7 * i - w / 2, 0.3 * i - h / 2)
        frames.append(cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_CUBIC))
    clean = np.clip(np.stack(frames), 0, 255).round().astype(np.uint8)
    grain = [cv2.GaussianBlur(g, (0, 0), 0.7)[..., None] for g in rng.normal(0, 8, (n, h, w)).astype(np.float32)]
    return clean, np.clip(clean + np.stack(grain), 0, 255).round().astype(np.uint8)


def test_texture_keeps_fine_moving_detail_larger_than_the_work_size():
    # the texture stage lines neighbours up with its own flow at (up to 640 px) full size: the small copy's flow,
    # scaled up, misplaced 1 px detail by a fraction of a pixel and the averaging blurred it (measured: 36.1 dB
    # against the grainy input's 37.8; now 41.5)
    clean, grainy = fine_detail_clip()
    out = np.stack(list(deflicker_frames(grainy, FPS, "texture")))
    assert metrics.psnr(out, clean) >= metrics.psnr(grainy, clean) + 2.5
    assert metrics.ssim(out, clean) >= metrics.ssim(grainy, clean) + 0.015
    flows = flow.reference_flows(clean)
    assert flow.warping_error(out, flows) <= 0.5 * flow.warping_error(grainy, flows)


def test_clean_input_passes_through_at_45_db():
    assert mean_psnr("clean", ours) >= 45.0
    # every explicit mode too: what it measures on clean motion is too small to harm it
    for mode in ("brightness", "regional", "colour"):
        assert metrics.psnr(ours("clean", "pan", mode), clean_clip("pan")) >= 45.0, mode


@pytest.mark.parametrize("kind", ["clean", "brightness", "colour"])
def test_the_fade_survives(kind):
    clean = metrics.mean_luma(clean_clip("fade"))
    fixed = metrics.mean_luma(ours(kind, "fade"))
    assert clean[-1] < 0.3 * clean[0]  # the clip really fades
    assert np.abs(fixed - clean).mean() <= 2.0 and np.abs(fixed - clean).max() <= 5.0, np.abs(fixed - clean)
    # FFmpeg's forward-looking window drags the same fade (the comparison the issue asks for)
    theirs = metrics.mean_luma(ffmpeg(flickered(kind, "fade")))
    assert np.abs(theirs - clean).mean() > np.abs(fixed - clean).mean()


def test_real_motion_and_sharpness_are_kept():
    grad = lambda c: float(np.mean([np.abs(np.diff(f.astype(np.float32), axis=1)).mean() for f in c]))
    for m in ("pan", "objects"):
        clean = clean_clip(m)
        assert metrics.ssim(ours("texture", m), clean) > metrics.ssim(flickered("texture", m), clean) + 0.05
        # every stage on (texture averaging included) over moving content: edges are not smeared
        out = ours("brightness", m, "all")
        assert abs(grad(out) / grad(clean) - 1.0) < 0.05, (grad(out), grad(clean))
        assert metrics.psnr(out, clean) >= metrics.psnr(flickered("brightness", m), clean) + 5.0


def test_a_one_shot_stream_still_beats_ffmpeg():
    # read once with a short look-ahead: each frame's curve solved over what has been seen
    mine = mean_psnr("brightness", ours_streamed)
    theirs = mean_psnr("brightness", lambda k, m: ffmpeg(flickered(k, m)))
    assert mine >= theirs + 4.0, (mine, theirs)
    clean = metrics.mean_luma(clean_clip("fade"))
    gap = np.abs(metrics.mean_luma(ours_streamed("brightness", "fade")) - clean)
    assert gap.mean() <= 2.5, gap


def test_flash_frames_go_and_breathing_is_removed():
    clean = clean_clip("pan")
    t = np.arange(N)
    for gains in (1.0 + 0.3 * np.isin(t, (5, 13, 19)),  # single flash frames
                  1.0 + 0.08 * np.sin(2 * np.pi * 2.0 * t / FPS)):  # 2 Hz breathing
        bad = np.clip(np.round(clean * gains[:, None, None, None]), 0, 255).astype(np.uint8)
        out = np.stack(list(deflicker_frames(bad, FPS)))
        assert metrics.psnr(out, clean) >= metrics.psnr(bad, clean) + 8.0, (metrics.psnr(out, clean), metrics.psnr(bad, clean))


def test_auto_reports_what_it_corrected_and_leaves_steady_clips_alone():
    run = deflicker_frames(clean_clip("objects"), FPS)
    assert np.array_equal(np.stack(list(run)), clean_clip("objects")) and run.corrected == set()
    run = deflicker_frames(flickered("brightness", "pan"), FPS)
    list(run)
    assert "brightness" in run.corrected and "texture" not in run.corrected


def test_a_source_read_twice_must_give_the_same_frames():
    clip = flickered("brightness", "pan")
    reads = [0]

    def source():
        reads[0] += 1
        return iter(clip if reads[0] == 1 else np.concatenate([clip, clip[:2]]))

    with pytest.raises(UnflickerError, match="second read"):
        list(deflicker_frames(source, FPS, "brightness"))


# ---------------------------------------------------------------- behaviour
def test_scene_cut_resets_the_window():
    a = synthetic.moving_clip("pan", 10, H, W, seed=21)
    b = (synthetic.moving_clip("pan", 10, H, W, seed=55).astype(np.float32) * 0.5).astype(np.uint8)
    clip = np.concatenate([a, b])
    out = np.stack(list(deflicker_frames(iter(clip), FPS, "all")))
    # without the reset the frames next to the cut would be pulled towards the other shot's brightness
    for t in (8, 9, 10, 11):
        assert metrics.psnr(out[t:t + 1], clip[t:t + 1]) >= 40.0, t


def test_a_real_lighting_change_is_not_smeared():
    clip = clean_clip("pan").astype(np.float32)
    clip[12:] *= 0.55  # the light goes down for good at frame 12
    clip = np.clip(clip, 0, 255).astype(np.uint8)
    out = np.stack(list(deflicker_frames(iter(clip), FPS)))
    gap = np.abs(metrics.mean_luma(out) - metrics.mean_luma(clip))
    assert gap.max() <= 1.0, gap


def test_streams_with_a_bounded_window():
    clip = flickered("brightness", "pan")
    pulled = [0]

    def source():
        for f in clip:
            pulled[0] += 1
            yield f

    lags = []
    for i, _ in enumerate(deflicker_frames(source(), FPS, "all", window=5)):
        lags.append(pulled[0] - i)
    assert len(lags) == N
    # lag: the window reaches r ahead (2r at the start of a shot), texture TEXTURE_RADIUS more
    assert max(lags) <= 2 * (5 // 2) + TEXTURE_RADIUS + 1
    assert max(lags[8:-4]) <= 5 // 2 + TEXTURE_RADIUS + 1


def test_strength_zero_and_steady_return_the_input():
    clip = flickered("regional", "objects")
    half = np.stack(list(deflicker_frames(iter(clip), FPS, "regional", strength=0.5)))
    clean = clean_clip("objects")
    assert metrics.psnr(clip, clean) < metrics.psnr(half, clean) < metrics.psnr(ours("regional", "objects"), clean)
    assert np.array_equal(np.stack(list(deflicker_frames(iter(clip), FPS, "all", strength=0.0))), clip)
    assert np.array_equal(np.stack(list(deflicker_frames(iter(clip), FPS, ["steady", "scene_cuts"]))), clip)


def test_kinds_accept_modes_and_analyzer_names():
    assert kinds_to_fix("all")[0] == {"brightness", "regional", "colour", "texture"}
    assert kinds_to_fix("auto", ["codec", "colour"]) == (frozenset({"texture", "colour"}), False)
    assert kinds_to_fix("auto")[1] is True
    assert set(DEFLICKER_MODES) == {"auto", "brightness", "regional", "colour", "texture", "all"}


class Stop(Exception):
    """What a progress callback raises to stop a run (as ComfyUI's interrupt does)."""


def stop_at(step: int):
    def progress(done, total):
        if done == step:
            raise Stop

    return progress


def test_progress_reports_each_frame_and_can_stop():
    clip = flickered("brightness", "pan")[:8]
    seen = []
    list(deflicker_frames(iter(clip), FPS, "brightness", progress=lambda d, t: seen.append((d, t)), total=8))
    assert seen == [(i, 8) for i in range(1, 9)]
    with pytest.raises(Stop):
        list(deflicker_frames(iter(clip), FPS, "auto", progress=stop_at(3), total=8))


def test_the_first_pass_threads_change_nothing_and_end_with_the_run():
    """Pass 1 runs the grain probe's alignment and further pair fits on worker threads where OpenCV may use more
    than one thread: the frames are the same as in one thread, and no worker outlives the run (nor an interrupt)."""
    clip = np.concatenate([flickered("texture", "objects")[:12], flickered("brightness", "pan")[:12]])
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        alone = np.stack(list(deflicker_frames(clip, FPS)))
        cv2.setNumThreads(2)
        run = deflicker_frames(clip, FPS)
        assert np.array_equal(np.stack(list(run)), alone) and run.corrected
        with pytest.raises(Stop):
            list(deflicker_frames(clip, FPS, progress=stop_at(5), total=len(clip)))
    finally:
        cv2.setNumThreads(before)
    assert not [t for t in threading.enumerate() if t.name.startswith("deflicker-measure")]


@pytest.mark.parametrize("kwargs, word", [
    ({"kinds": "sparkle"}, "mode"), ({"kinds": ["brightness", "wobble"]}, "kinds"),
    ({"strength": 1.5}, "strength"), ({"window": 1}, "window"), ({"window": 99}, "window"), ({"fps": 0}, "fps"),
])
def test_bad_settings_name_the_input(kwargs, word):
    args = {"kinds": "auto", "strength": 1.0, "window": DeflickerSettings.default("window"), "fps": FPS} | kwargs
    with pytest.raises(UnflickerError, match=word):
        deflicker_frames(iter([]), args.pop("fps"), **args)  # checked before any frame is read


def test_bad_frames_are_refused():
    with pytest.raises(UnflickerError, match="uint8"):
        list(deflicker_frames(iter([np.zeros((8, 8, 3), np.float32)]), FPS))
    with pytest.raises(UnflickerError, match="same size"):
        list(deflicker_frames(iter([np.zeros((16, 16, 3), np.uint8), np.zeros((16, 20, 3), np.uint8)]), FPS))


def test_short_and_tiny_clips():
    assert list(deflicker_frames(iter([]), FPS)) == []
    one = np.full((5, 7, 3), 100, np.uint8)
    (out,) = list(deflicker_frames(iter([one]), FPS, "all"))
    assert np.array_equal(out, one)
    two = list(deflicker_frames(iter([one, one]), FPS, "all"))
    assert len(two) == 2


def test_a_fast_real_brightening_is_left_alone():
    # a light comes on over three frames and stays on, more than doubling the middle of the picture: no gain and
    # offset explains it, so it is real change, not brightness flicker (the trend must not drag it)
    yy, xx = np.mgrid[:H, :W]
    light = np.exp(-(((xx - 0.4 * W) / (0.3 * W)) ** 2 + ((yy - 0.5 * H) / (0.4 * H)) ** 2))[..., None]
    for motion in ("pan", "zoom", "objects"):
        clip = clean_clip(motion).astype(np.float32)
        for t in range(N):
            clip[t] *= 1.0 + 1.2 * light * min(max((t - 15) / 3.0, 0.0), 1.0)
        clip = np.clip(np.round(clip), 0, 255).astype(np.uint8)
        run = deflicker_frames(clip, FPS)
        out = np.stack(list(run))
        got = metrics.psnr(out, clip)
        assert got >= 45.0 and run.corrected == set(), (motion, got, run.corrected)


@pytest.mark.parametrize("drop, start, frames", [(0.35, 2, 4), (0.3, 8, 3)])
def test_a_fast_real_exposure_change_is_left_alone(drop, start, frames):
    # the exposure falls by a third within half a second and stays there: faster than the trend's two seconds,
    # but a ramp, not flicker; auto must not "correct" it
    ramp = 1.0 - drop * np.clip((np.arange(N) - start) / frames, 0.0, 1.0)
    for motion in ("pan", "zoom", "objects"):
        clip = np.clip(np.round(clean_clip(motion) * ramp[:, None, None, None]), 0, 255).astype(np.uint8)
        run = deflicker_frames(clip, FPS)
        out = np.stack(list(run))
        got = metrics.psnr(out, clip)
        assert got >= 45.0 and run.corrected == set(), (motion, got, run.corrected)


def test_content_sweeping_in_is_not_taken_for_regional_flicker():
    # the statistics of a steady real clip whose last frames an out-of-focus foreground sweeps across (seen on
    # a 45-frame real generation): those pair fits leave 4-8x the shot's residual and their "field" is the new
    # content's (log gains of +-1). Before, they alone opened auto's regional gate and the whole clip was
    # "corrected" (25.6 dB); such pairs measure no field now
    from unflicker.fix.deflicker.basics import LUMA
    from unflicker.fix.deflicker.field import GATE_REGIONAL
    from unflicker.fix.deflicker.pairs import Pair
    from unflicker.fix.deflicker.solve import solve
    from unflicker.fix.deflicker.stats import Stats

    rng = np.random.default_rng(5)
    n, cells = 45, (4, 4)
    stats = []
    for i in range(n):
        pairs = []
        for k in (1, 2):
            if i - k < 0:
                continue
            swept = i >= 41
            res = np.full(3, 25.0 if swept else 5.0 + rng.uniform(-1, 1))
            field = rng.normal(0, 1.0 if swept else 0.01, cells)
            pairs.append(Pair(k, rng.normal(0, 0.003, 3), rng.normal(0, 0.3, 3), np.full(3, 1e4), np.full(3, 50.0),
                              res, field, np.full(cells, 0.3)))
        stats.append(Stats(i, 0, np.full(3, 100.0 - 0.5 * i), pairs))
    assert float(stats[-1].pairs[0].residual @ LUMA) > 4 * float(stats[10].pairs[0].residual @ LUMA)
    measures = {}
    corrections, done = solve(stats, frozenset({"brightness", "colour", "regional"}), True, 1.0, 30.0, measures)
    assert measures["regional"] < GATE_REGIONAL / 2, measures
    assert "regional" not in done and all(c.field is None for c in corrections)
    # the same steady frames without the swept ones measure the same: the sweep adds nothing
    alone = {}
    solve(stats[:41], frozenset({"regional"}), True, 1.0, 30.0, alone)
    assert measures["regional"] < 2 * alone["regional"] + 1e-3, (measures, alone)


# ---------------------------------------------------------------- the operation: plan, then run
def test_the_plan_decides_kinds_time_scale_and_passthrough():
    from fractions import Fraction

    from unflicker.fix import deflicker
    from unflicker.operation import Source

    src = Source(W, H, N, Fraction(24000, 1001))
    auto = deflicker.plan(src, DeflickerSettings())
    assert (auto.kinds, auto.auto, auto.strength, auto.window) == (frozenset(DEFLICKER_MODES[1:-1]), True, 1.0, 9)
    assert auto.period == 2.0 * 24000 / 1001 and auto.lookahead == 4 and auto.progress_steps == 2 * N and not auto.passthrough
    slow = deflicker.plan(Source(W, H, N, 2.0), DeflickerSettings(mode="colour", window=31))
    assert (slow.kinds, slow.auto, slow.period) == ({"colour"}, False, 31.0)
    # mode auto with Analyze Flicker's json: exactly what it found (codec is fixed as texture)
    found = deflicker.plan(src, DeflickerSettings(), '{"kinds": ["codec", "regional", "scene_cuts"]}')
    assert (found.kinds, found.auto, found.passthrough) == ({"texture", "regional"}, False, False)
    steady = deflicker.plan(src, DeflickerSettings(), '{"kinds": ["steady"]}')
    assert steady.passthrough and not steady.acts
    # another mode than auto ignores the diagnosis
    assert deflicker.plan(src, DeflickerSettings(mode="brightness"), '{"kinds": ["steady"]}').kinds == {"brightness"}
    # the plan runs: the same frames as the one-call form
    clip = flickered("brightness", "pan")
    ran = np.stack(list(deflicker.run(clip, deflicker.plan(Source(W, H, N, FPS), DeflickerSettings()))))
    assert np.array_equal(ran, ours("brightness", "pan"))


@pytest.mark.parametrize("source, word", [
    (dict(width=0, height=16), "0x16 pixels"), (dict(width=16, height=16, fps=0), "fps"),
    (dict(width=16, height=16, fps=None), "fps"),
])
def test_the_plan_refuses_what_it_cannot_take(source, word):
    from unflicker.fix import deflicker, ffmpeg_fix
    from unflicker.operation import Source

    src = Source(**({"fps": FPS} | source))
    with pytest.raises(UnflickerError, match=word):
        deflicker.plan(src, DeflickerSettings())
    with pytest.raises(UnflickerError, match=word):
        ffmpeg_fix.plan(src, FFmpegFixSettings())


@pytest.mark.parametrize("height, width", [(1, 1), (2, 2), (16, 2000), (2000, 16), (24, 200)])
def test_any_size_is_deflickered(height, width):
    """Tiny frames and long strips (on which OpenCV's DIS flow crashes: 16x2000, 24x200) go through every path."""
    rng = np.random.default_rng(height * width)
    base = rng.integers(40, 200, (1, height, width, 3)).astype(np.float32)
    gains = 1.0 + 0.2 * (np.arange(8) % 2)
    clip = np.clip(base * gains[:, None, None, None], 0, 255).astype(np.uint8)
    for frames in (clip, iter(clip)):
        out = np.stack(list(deflicker_frames(frames, FPS, "all")))
        assert out.shape == clip.shape and out.dtype == np.uint8
    ffmpeg = np.stack(list(fix_frames(clip, width, height, FPS, FFmpegFixSettings())))
    assert ffmpeg.shape == clip.shape


def _hard_start_fade(start: int, frames: int = N) -> np.ndarray:
    """Gain per frame: 1 until ``start``, then straight down to 0.35 at the last frame (a fade starting at once)."""
    t = np.arange(frames)
    return np.where(t < start, 1.0, 1.0 - 0.65 * (t - start) / (frames - 1 - start))


def test_a_fade_with_a_hard_start_on_a_short_shot_is_left_alone():
    # a shot shorter than the trend's period (24 frames at 15 fps, two seconds = 30 frames) fading over its last
    # 7 frames, with a 1 % frame-to-frame wobble (what real content shows, under auto's gate): the trend must
    # follow the fade's corner, not round it off into a wave that reads as brightness flicker (it did: 28.6-28.9 dB)
    gains = _hard_start_fade(16) * (1.0 + 0.01 * np.random.default_rng(1).choice([-1.0, 1.0], N))
    for motion in ("pan", "zoom", "objects"):
        clip = np.clip(np.round(clean_clip(motion) * gains[:, None, None, None]), 0, 255).astype(np.uint8)
        run = deflicker_frames(clip, 15.0)
        assert np.array_equal(np.stack(list(run)), clip) and run.corrected == set(), (motion, run.corrected)


def test_flicker_on_a_fade_with_a_hard_start_is_still_removed():
    # the same kind of fade with +-10 % brightness flicker on top: the corner is no licence to keep the flicker
    # (measured +6.9 to +7.0 dB over the input, the fade's mean luma within 2.6 levels on average)
    gains = _hard_start_fade(14)
    flicker = gains * (1.0 + np.random.default_rng(0).uniform(-0.1, 0.1, N))
    for motion in ("pan", "zoom", "objects"):
        faded = np.clip(np.round(clean_clip(motion) * gains[:, None, None, None]), 0, 255).astype(np.uint8)
        bad = np.clip(np.round(clean_clip(motion) * flicker[:, None, None, None]), 0, 255).astype(np.uint8)
        run = deflicker_frames(bad, FPS)
        out = np.stack(list(run))
        assert "brightness" in run.corrected
        assert metrics.psnr(out, faded) >= metrics.psnr(bad, faded) + 5.0, (motion, metrics.psnr(out, faded))
        assert np.abs(metrics.mean_luma(out) - metrics.mean_luma(faded)).mean() <= 3.0

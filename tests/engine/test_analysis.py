"""The analyzer on a labelled synthetic set (real motion, injected flicker of each kind, real ffmpeg damage)."""

import json
import os

import numpy as np
import pytest

from unflicker.analysis.cases import FPS, build_cases, judge
from unflicker import analysis, demo
from unflicker.media import synthetic, video
from unflicker.errors import UnflickerError


@pytest.fixture(scope="module")
def results():
    return [(name, clip, expected, analysis.analyze_frames(iter(clip), FPS)) for name, clip, expected in build_cases()]


def _classic_right(expected: set, mean_diff: float) -> bool:
    """The classic rule has two answers; it is right when the clip is texture ("generative") or codec damage."""
    verdict = analysis.classic_rule(mean_diff)
    return ("texture" in expected and verdict == "generative") or ("codec" in expected and verdict == "codec")


def test_diagnosis_accuracy_on_labelled_set(results, capsys):
    assert len(results) >= 40
    right = [judge(expected, rep.kinds) for _, _, expected, rep in results]
    classic = [_classic_right(expected, rep.measures["mean_diff"]) for _, _, expected, rep in results]
    # lenient reading of the classic rule: "> 12 means flicker" against "the clip flickers"
    classic_flags = [(rep.measures["mean_diff"] > analysis.CLASSIC_THRESHOLD) == (expected != {"steady"} and expected - {"steady", "scene_cuts"} != set())
                  for _, _, expected, rep in results]
    wrong = [(name, sorted(expected), rep.kinds) for (name, _, expected, rep), ok in zip(results, right) if not ok]
    with capsys.disabled():
        print(f"\nanalyzer: {sum(right)}/{len(right)} right ({100 * np.mean(right):.1f} %); "
              f"classic rule: {sum(classic)}/{len(classic)} ({100 * np.mean(classic):.1f} %) by its own labels, "
              f"{sum(classic_flags)}/{len(classic_flags)} ({100 * np.mean(classic_flags):.1f} %) as a flicker/no-flicker flag; "
              f"wrong: {wrong}")
    assert np.mean(right) >= 0.95, wrong


def test_every_kind_is_in_the_set_and_found(results):
    found = {k for _, _, expected, rep in results for k in expected if k in rep.kinds}
    assert found == set(analysis.KINDS)


def test_fast_clean_motion_reads_steady_where_classic_rule_says_generative(results):
    fast = [(name, rep) for name, _, _, rep in results if name.startswith("fast-")]
    assert len(fast) >= 4
    for name, rep in fast:
        assert rep.kinds == ["steady"], (name, rep.kinds)
    assert any(analysis.classic_rule(rep.measures["mean_diff"]) == "generative" for _, rep in fast)


def test_fade_is_not_flicker(results):
    rep = next(rep for name, _, _, rep in results if name == "fade/clean")
    assert rep.kinds == ["steady"]
    assert rep.measures["luma_std"] > 10  # the fade changes brightness a lot, slowly


def test_classic_measures_match_the_full_analysis(results):
    name, clip, _, rep = results[7]
    assert rep.measures["mean_diff"] == pytest.approx(demo.mean_abs_diff(clip), rel=1e-6)
    classic = analysis.classic_measures(iter(clip))
    assert classic["mean_diff_avg"] == pytest.approx(rep.measures["mean_diff"], rel=1e-9)
    assert classic["mean_diff"] == pytest.approx(list(rep.series["mean_diff"]))
    assert classic["classic_verdict"] == analysis.classic_rule(rep.measures["mean_diff"])
    assert classic["seed_verdict"] == classic["classic_verdict"]  # the earlier key, kept for one release
    assert rep.series["luma"] == pytest.approx(demo.mean_luma(clip), abs=1e-3)
    assert rep.measures["temporal_flickering"] == pytest.approx((255 - demo.mean_abs_diff(clip)) / 255)


def test_scene_cuts_found_and_skipped(results):
    for name, _, expected, rep in results:
        if name.startswith("cut-"):
            assert rep.scene_cuts == [10], name
            assert rep.series["warp_error"][10] == 0.0


def test_report_json_text_and_contract(results):
    _, _, _, rep = next(r for r in results if r[0] == "cut-pan+static/brightness")
    d = json.loads(rep.to_json())
    assert set(d["kinds"]) <= set(analysis.KINDS) and d["kinds"] == rep.kinds
    for key in ("mean_diff", "warp_error", "luma_hf"):
        assert len(d["series"][key]) == rep.frame_count
    assert d["scene_cuts"] == [10] and d["findings"][0]["kind"] == "brightness"
    assert d["findings"][0]["frames"] and "Deflicker" in d["findings"][0]["fix"]
    text = rep.text()
    assert "brightness" in text and "classic rule" in text and "seed" not in text and rep.verdict in text


def test_chart_is_a_picture_with_cuts_marked(results):
    _, _, _, rep = next(r for r in results if r[0] == "cut-pan+static/brightness")
    chart = analysis.render_chart(rep)
    assert chart.shape == (600, 960, 3) and chart.dtype == np.uint8
    red = (chart[..., 0] > 200) & (chart[..., 1] < 40) & (chart[..., 2] < 40)
    assert red.sum() > 100  # dashed cut lines
    assert (chart < 128).any(axis=-1).mean() > 0.01  # text and curves drawn


def test_compare_verdict_uses_motion_compensated_measures():
    clean = synthetic.moving_clip("pan", 16, 96, 128, seed=3, speed=3.0)
    flicker = synthetic.brightness_flicker(clean, 0.1, 1)[0]
    cmp = analysis.compare_reports(analysis.analyze_frames(flicker, FPS), analysis.analyze_frames(clean, FPS))
    assert cmp.verdict.startswith("Fixed")
    assert cmp.changes["luma_hf_pct"] < -80 and cmp.changes["warp_error"] < -50
    assert "classic diff" in cmp.verdict and "mean_diff" in cmp.changes
    worse = analysis.compare_reports(analysis.analyze_frames(clean, FPS), analysis.analyze_frames(flicker, FPS))
    assert worse.verdict.startswith("Worse")
    # a fix that trades brightness flicker for a colour cast is not "Fixed"
    traded = analysis.compare_reports(analysis.analyze_frames(flicker, FPS),
                                      analysis.analyze_frames(synthetic.colour_flicker(clean, 5, seed=2), FPS))
    assert not traded.verdict.startswith("Fixed") and "colour (new)" in traded.verdict


def test_streams_a_generator_and_reports_progress():
    clip = synthetic.moving_clip("zoom", 8, 64, 80, seed=1)
    calls = []
    rep = analysis.analyze_frames((f for f in clip), FPS, progress=lambda d, t: calls.append((d, t)), total=8)
    assert rep.frame_count == 8 and calls[-1] == (8, 8)


def test_interrupt_stops_the_loop():
    clip = synthetic.moving_clip("pan", 8, 64, 80, seed=1)
    seen = []

    def frames():
        for f in clip:
            seen.append(1)
            yield f

    def stop(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        analysis.analyze_frames(frames(), FPS, progress=stop)
    assert len(seen) == 3


def test_bad_input_is_named():
    with pytest.raises(UnflickerError, match="at least two"):
        analysis.analyze_frames([np.zeros((32, 32, 3), np.uint8)], FPS)
    with pytest.raises(UnflickerError, match="uint8 RGB"):
        analysis.analyze_frames([np.zeros((32, 32), np.float32)] * 2, FPS)
    with pytest.raises(UnflickerError, match="one clip needs one size"):
        analysis.analyze_frames([np.zeros((32, 32, 3), np.uint8), np.zeros((32, 40, 3), np.uint8)], FPS)
    with pytest.raises(UnflickerError, match="fps"):
        analysis.analyze_frames([np.zeros((32, 32, 3), np.uint8)] * 2, 0)


def test_cli_analyze_writes_json_and_plot(tmp_path, capsys):
    from unflicker.cli import main

    clip = synthetic.brightness_flicker(synthetic.moving_clip("pan", 12, 96, 128, seed=2), 0.12, 3)[0]
    path = video.write_video(str(tmp_path / "in.mp4"), clip, FPS, crf=14)
    assert main(["analyze", path, "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "r.png")]) == 0
    out = capsys.readouterr().out
    assert "brightness" in out
    assert json.load(open(tmp_path / "r.json"))["kinds"][0] == "brightness"
    assert os.path.getsize(tmp_path / "r.png") > 5000


def _encode_with_keyframes(clip, tmp_path, crf: int, gop: int):
    """A real x264 encode with a keyframe every ``gop`` frames (the usual cause of periodic pumping)."""
    import subprocess

    from unflicker.media import ffmpeg

    src = video.write_video(str(tmp_path / "src.mp4"), clip, FPS, crf=0)
    out = str(tmp_path / "gop.mp4")
    subprocess.run([ffmpeg.ffmpeg_exe(), "-y", "-loglevel", "error", "-i", src, "-c:v", "libx264", "-crf", str(crf),
                    "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", out], check=True)
    return video.read_video(out)[0]


def test_keyframe_pumping_reads_as_codec(tmp_path):
    from unflicker.analysis.cases import scene

    clip = scene("pan", 40, 7, 2.0)
    assert analysis.analyze_frames(clip, FPS).kinds == ["steady"]
    rep = analysis.analyze_frames(_encode_with_keyframes(clip, tmp_path, 40, 8), FPS)
    assert "codec" in rep.kinds and rep.measures["gop_period"] == 8
    codec = next(f for f in rep.findings if f.kind == "codec")
    assert "every 8 frames" in codec.explanation and set(codec.frames) <= {8, 16, 24, 32}


def test_streaming_memory_does_not_grow_with_the_clip():
    import tracemalloc

    size = 192
    base = synthetic.texture(size, size + 2 * 120, seed=9)

    def frames(n):
        for t in range(n):
            yield np.ascontiguousarray(base[:, 2 * t:2 * t + size])

    def peak(n):
        tracemalloc.start()
        try:
            assert analysis.analyze_frames(frames(n), FPS).frame_count == n
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(4)  # first-use imports
    short, long = peak(15), peak(120)
    clip_bytes = 120 * size * size * 3
    assert long < short * 1.25 + 200_000, (short, long)  # per-pair working set only
    assert long < 0.5 * clip_bytes, (long, clip_bytes)  # a float copy of the clip would be 4x its bytes


# ---------------------------------------------------------------- the operation: plan, then run
def _clip(width: int, height: int, count: int) -> list:
    rng = np.random.default_rng(width * 1000 + height)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


def test_plan_decides_the_measuring_size_and_run_matches_analyze_frames():
    from fractions import Fraction

    from unflicker.operation import Source
    from unflicker.settings import AnalysisSettings

    clip = list(synthetic.moving_clip("pan", 12, 96, 160, seed=3))
    plan = analysis.plan(Source(160, 96, len(clip), Fraction(24000, 1001), "images"), AnalysisSettings(long_side=64))
    assert (plan.width, plan.height, plan.flow_size, plan.progress_steps) == (160, 96, (64, 38), len(clip))
    assert plan.fps == float(Fraction(24000, 1001))
    report = analysis.run(iter(clip), plan)
    same = analysis.analyze_frames(iter(clip), float(Fraction(24000, 1001)), settings=AnalysisSettings(long_side=64))
    assert report.to_json() == same.to_json()
    assert (report.width, report.height, report.frame_count) == (160, 96, len(clip))


@pytest.mark.parametrize("width, height", [(1, 1), (2, 2), (8, 8), (11, 8), (200, 3)])
def test_frames_optical_flow_cannot_take_are_refused_with_their_size(width, height):
    from unflicker.operation import Source

    with pytest.raises(UnflickerError, match=rf"images is {width}x{height} pixels; .*at least 8x8 pixels, 12 on the longer"):
        analysis.plan(Source(width, height, 5, 24, "images"))
    with pytest.raises(UnflickerError, match=rf"the clip is {width}x{height} pixels"):
        analysis.analyze_frames(_clip(width, height, 5), FPS)


@pytest.mark.parametrize("width, height", [(12, 8), (8, 12), (300, 1), (1, 300), (4, 1000)])
def test_small_or_thin_frames_flow_can_take_are_analysed(width, height):
    report = analysis.analyze_frames(_clip(width, height, 4), FPS)
    assert (report.width, report.height, report.frame_count) == (width, height, 4)
    assert report.kinds


def test_one_frame_is_refused_before_reading():
    from unflicker.operation import Source

    with pytest.raises(UnflickerError, match="images has 1 frame; flicker analysis needs at least 2"):
        analysis.plan(Source(64, 64, 1, 24, "images"))
    with pytest.raises(UnflickerError, match="frame rate"):
        analysis.plan(Source(64, 64, 4, None, "images"))


def test_frames_of_another_size_than_planned_are_refused():
    from unflicker.operation import Source

    plan = analysis.plan(Source(64, 48, 3, 24, "images"))
    with pytest.raises(UnflickerError, match="frame 0 is 40x32, the clip is 64x48"):
        analysis.run(_clip(40, 32, 3), plan)


def test_long_side_under_what_flow_takes_is_refused_by_the_settings():
    from unflicker.settings import AnalysisSettings

    with pytest.raises(UnflickerError, match="long_side must be 0 .* at least 12"):
        AnalysisSettings(long_side=8).validated()
    assert AnalysisSettings(long_side=0).validated().long_side == 0


def test_analyzer_cuts_are_the_shared_scene_cut_decision():
    """The analyzer's cut list is scenecut.PairChecker's verdict on the pairs flow could not line up."""
    from unflicker.measure import scenecut

    shot_a = list(synthetic.moving_clip("pan", 4, 64, 96, seed=1))
    shot_b = [np.ascontiguousarray(f[..., ::-1]) for f in synthetic.moving_clip("zoom", 4, 64, 96, seed=7)]
    report = analysis.analyze_frames(shot_a + shot_b, FPS)
    assert report.scene_cuts == [4]
    checker = scenecut.PairChecker(0.5)
    assert checker.is_cut(shot_a[-1], shot_b[0])
    assert not checker.is_cut(shot_a[-1], shot_b[0], aligned=scenecut.ALIGNED_NO_CUT)

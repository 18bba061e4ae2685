"""Repair Frames on real frames: the analyzer flags flash frames and content breaks, the engine rebuilds them
from their neighbours at the right time with interpolation's backends, and every other frame passes bit-exact."""

import json
from fractions import Fraction

import numpy as np
import pytest

from unflicker import analysis
from unflicker.analysis.damage import DamagedFrame, describe, find_damaged
from unflicker.errors import UnflickerError
from unflicker.fix import interpolate, repair
from unflicker.measure.metrics import psnr
from unflicker.media.synthetic import moving_clip
from unflicker.operation import Source
from unflicker.settings import InterpolateSettings, RepairSettings, parse_frame_list

FLOW = RepairSettings(backend="flow")


def clip(motion="pan", frames=16, seed=3):
    return moving_clip(motion, frames, 96, 128, seed=seed, speed=2.5)


def flash(frame):
    return np.clip(frame.astype(np.float32) * 1.4, 0, 255).astype(np.uint8)


def source(frames, count=True):
    return Source(frames.shape[2], frames.shape[1], len(frames) if count else None, 24.0)


def repaired(frames, settings=FLOW, flagged=None, **kw):
    plan = repair.plan(source(frames), settings, flagged, **kw)
    run, out = repair.run(list(frames), plan)
    out = list(out)
    return run, [f for f, _ in out], [m for _, m in out]


def changed(a, b):
    return [i for i, (x, y) in enumerate(zip(a, b)) if not np.array_equal(x, y)]


@pytest.mark.parametrize("motion", ["pan", "objects"])
def test_flash_and_content_break_found_and_rebuilt_closer_to_the_original(motion):
    original = clip(motion)
    bad = original.copy()
    bad[5] = flash(original[5])
    bad[10] = original[1]  # a frame from elsewhere in the clip
    assert [(d.frame, d.kind) for d in find_damaged(bad)] == [(5, "flash"), (10, "content_break")]
    run, out, meta = repaired(bad)
    assert changed(out, bad) == [5, 10]  # every other frame is the input, bit for bit
    assert all(out[i] is not None and np.array_equal(out[i], bad[i]) for i in range(16) if i not in (5, 10))
    for i in (5, 10):
        assert meta[i] == {"index": i, "kind": "rebuilt", "t": Fraction(1, 2)}
        assert psnr(out[i], original[i]) > psnr(bad[i], original[i]) + 10
    assert run.summary().startswith("rebuilt 5 (flash, t=0.5), 10 (content break, t=0.5) with flow")


def test_rebuilt_frame_is_what_interpolation_renders_between_the_neighbours():
    original = clip()
    bad = original.copy()
    bad[7] = flash(original[7])
    _, out, _ = repaired(bad)
    plan = interpolate.plan(Source(128, 96, 2), InterpolateSettings(backend="flow", scene_threshold=1.0),
                            duplicate_mad=0.0)
    _, frames = interpolate.run([original[6], original[8]], plan)
    assert np.array_equal(out[7], [f for f, m in frames if m["kind"] == "interpolated"][0])


def test_two_in_a_row_are_rebuilt_at_one_third_and_two_thirds():
    original = clip()
    bad = original.copy()
    bad[6], bad[7] = original[14], original[15]
    assert [(d.frame, d.kind) for d in find_damaged(bad)] == [(6, "content_break"), (7, "content_break")]
    run, out, meta = repaired(bad)
    assert changed(out, bad) == [6, 7]
    assert [meta[6]["t"], meta[7]["t"]] == [Fraction(1, 3), Fraction(2, 3)]
    assert run.rebuilt == [repair.Rebuild((6, 7), "content_break", 5, 8)]
    assert "6-7 (content break, t=1/3, 2/3)" in run.summary()
    for i in (6, 7):
        assert psnr(out[i], original[i]) > psnr(bad[i], original[i]) + 10
    # two flashes in a row
    bad = original.copy()
    bad[9], bad[10] = flash(original[9]), flash(original[10])
    assert [(d.frame, d.kind) for d in find_damaged(bad)] == [(9, "flash"), (10, "flash")]


def test_frames_next_to_the_ends_are_found():
    original = clip()
    bad = original.copy()
    bad[1], bad[14] = flash(original[1]), original[3]  # judged as the first and the last frame with two neighbours
    assert [(d.frame, d.kind) for d in find_damaged(bad)] == [(1, "flash"), (14, "content_break")]
    run, out, _ = repaired(bad)
    assert changed(out, bad) == [1, 14]


@pytest.mark.parametrize("motion", ["pan", "zoom", "objects", "fade", "static"])
def test_clean_clip_passes_through_bit_exact_and_opens_no_backend(motion):
    original = clip(motion)
    run, out, meta = repaired(original, RepairSettings(backend="torch"), model_path=__file__)  # would fail to load
    assert changed(out, original) == [] and len(out) == 16
    assert {m["kind"] for m in meta} == {"original"}
    assert run.backend == "" and run.found == []
    assert run.summary() == "nothing to repair: no damaged frame found; 16 frames, the others passed through unchanged"


def test_a_list_of_frames_is_rebuilt_and_the_analysis_can_be_off():
    original = clip()
    run, out, _ = repaired(original, RepairSettings(backend="flow", frames="3, 8-9", use_analysis=False))
    assert changed(out, original) == [3, 8, 9]
    assert [r.frames for r in run.rebuilt] == [(3,), (8, 9)] and run.found is None
    assert [r.kind for r in run.rebuilt] == ["listed", "listed"]
    assert "3 (listed, t=0.5), 8-9 (listed, t=1/3, 2/3)" in run.summary()


def test_runs_too_long_and_at_the_ends_are_left_with_the_reason():
    original = clip()
    run, out, _ = repaired(original, RepairSettings(backend="flow", frames="0, 4-6, 15", use_analysis=False))
    assert changed(out, original) == [] and run.rebuilt == []
    text = run.summary()
    assert text.startswith("nothing rebuilt; left as they are: 0 (listed: no earlier frame to rebuild from), "
                           "4-6 (listed: 3 frames in a row: at most 2 are rebuilt), 15 (listed: no later frame")


def test_a_scene_cut_is_never_bridged():
    shots = np.concatenate([clip("pan", 8, seed=1), clip("objects", 8, seed=9)])
    bad = shots.copy()
    bad[8] = flash(shots[8])  # the first frame of the second shot: its neighbours 7 and 9 are in different shots
    bad[11] = flash(shots[11])
    run, out, meta = repaired(bad, RepairSettings(backend="flow", frames="8, 11", use_analysis=False))
    assert changed(out, bad) == [11] and meta[8]["kind"] == "left"
    assert "8 (listed: 7 and 9 are in different shots (a scene cut is never bridged))" in run.summary()
    # with cut detection off (scene_threshold 1) the frame is bridged
    _, out, _ = repaired(bad, RepairSettings(backend="flow", frames="8", use_analysis=False, scene_threshold=1.0))
    assert changed(out, bad) == [8]


def test_the_analyzers_json_names_the_damaged_frames_and_drives_the_repair():
    original = clip()
    bad = original.copy()
    bad[4] = flash(original[4])
    bad[11] = original[2]
    report = analysis.analyze_frames(list(bad), 24.0)
    data = json.loads(report.to_json())
    assert data["damaged_frames"] == [{"frame": 4, "kind": "flash"}, {"frame": 11, "kind": "content_break"}]
    assert "Damaged frames: 4 (flash), 11 (content break); Repair Frames rebuilds them" in report.text()
    assert json.loads(analysis.analyze_frames(list(original), 24.0).to_json())["damaged_frames"] == []
    plan = repair.plan(source(bad), FLOW, report.to_json())
    assert not plan.detect and [r.frames for r in plan.rebuilds] == [(4,), (11,)]
    run, frames = repair.run(iter(bad), plan)  # a diagnosis needs one pass: a one-shot stream is enough
    assert changed([f for f, _ in frames], bad) == [4, 11]
    # the diagnosis of another clip is refused
    with pytest.raises(UnflickerError, match="diagnosis is of a clip of 16 frames; images has 15"):
        repair.plan(Source(128, 96, 15, 24.0, "images"), FLOW, report.to_json())
    with pytest.raises(UnflickerError, match="json output of Analyze Flicker"):
        repair.plan(source(bad), FLOW, json.dumps({"kinds": ["steady"]}))
    # use_analysis off: the diagnosis is not used, only the list
    plan = repair.plan(source(bad), RepairSettings(frames="7", use_analysis=False), report.to_json())
    assert [r.frames for r in plan.rebuilds] == [(7,)]


def test_bad_input_is_refused_naming_it():
    one = clip(frames=1)
    with pytest.raises(UnflickerError, match="images has 1 frame; Repair Frames .* needs at least 3"):
        repair.plan(Source(128, 96, 1, 24.0, "images"), FLOW)
    with pytest.raises(UnflickerError, match="frames: 'x3' is not a frame number or a range"):
        repair.plan(source(clip()), RepairSettings(frames="2, x3"))
    with pytest.raises(UnflickerError, match="range '9-4' runs backwards"):
        RepairSettings(frames="9-4").validated()
    with pytest.raises(UnflickerError, match="frames: 16, 20 are past the end of images, which has 16 frames"):
        repair.plan(Source(128, 96, 16, 24.0, "images"), RepairSettings(frames="3, 16, 20"))
    with pytest.raises(UnflickerError, match="nothing to repair: frames is empty and use_analysis is off"):
        repair.plan(source(clip()), RepairSettings(use_analysis=False))
    with pytest.raises(UnflickerError, match="reads the clip twice"):
        list(repair.run(iter(clip()), repair.plan(source(clip()), FLOW))[1])
    with pytest.raises(UnflickerError, match="backend torch needs a weight file"):
        repair.plan(source(clip()), RepairSettings(backend="torch"))
    assert len(one) == 1


def test_a_stream_of_unknown_length_and_frames_past_its_end():
    original = clip()
    bad = original.copy()
    bad[5] = flash(original[5])
    plan = repair.plan(source(original, count=False), RepairSettings(backend="flow", frames="5, 15, 30"),
                       expected_frames=16)
    assert plan.progress_steps == 32 and plan.detect
    steps = []
    run, frames = repair.run(lambda: iter(bad), plan, lambda done, total: steps.append((done, total)))
    assert changed([f for f, _ in frames], bad) == [5]
    assert steps[-1] == (32, 32) and len(steps) == 32
    assert "15 (listed: no later frame to rebuild from), 30 (listed: past the clip's end (16 frames))" in run.summary()


def test_a_torch_weight_file_rebuilds_the_frame(tmp_path):
    from interp_weights import save, tiny_v4, v4_file_state

    path = str(tmp_path / "tiny_v4.26.safetensors")
    save(v4_file_state(tiny_v4("4.26"), "comfy"), path)
    original = clip()
    bad = original.copy()
    bad[6], bad[7] = flash(original[6]), flash(original[7])
    run, out, meta = repaired(bad, RepairSettings(backend="auto", batch_size=2), model_path=path, device="cpu")
    assert changed(out, bad) == [6, 7] and run.backend.startswith("torch RIFE v4.25/v4.26")
    assert psnr(out[6], original[6]) > psnr(bad[6], original[6])


def test_frame_lists_and_descriptions():
    assert parse_frame_list("12, 40-41") == (12, 40, 41)
    assert parse_frame_list(" 3 - 5;7  9,,") == (3, 4, 5, 7, 9)
    assert parse_frame_list("") == ()
    assert describe([DamagedFrame(12, "flash"), DamagedFrame(40, "content_break"),
                     DamagedFrame(41, "content_break")]) == "12 (flash), 40-41 (content break)"


def test_command_line_finds_and_rebuilds_keeping_the_rate(tmp_path, capsys):
    from unflicker.cli import main
    from unflicker.media import probe, video

    original = clip(frames=20)
    bad = original.copy()
    bad[8] = flash(original[8])
    src, out = str(tmp_path / "in.mkv"), str(tmp_path / "out.mkv")
    video.write_video(src, iter(bad), Fraction(30000, 1001), "ffv1")
    assert main(["repair", src, out, "--backend", "flow", "--frames", "14"]) == 0
    printed = capsys.readouterr().out
    assert "rebuilt 8 (flash, t=0.5), 14 (listed, t=0.5) with flow" in printed
    info = probe.probe_media(out)
    assert info.rate == Fraction(30000, 1001) and info.frame_count == 20
    _, frames = video.iter_frames(out)
    repaired_frames = list(frames)
    assert psnr(repaired_frames[8], original[8]) > psnr(bad[8], original[8]) + 10
    assert main(["repair", src, out, "--no-analysis"]) == 2  # nothing to do: refused, naming why
    assert "frames is empty and use_analysis is off" in capsys.readouterr().err

"""Drift: the analyzer's kind for a change of look of persisting content across a shot, measured on flow-tracked
keyframes (unflicker.analysis.drift), on real frames of a synthetic moving clip."""

from fractions import Fraction

import numpy as np
import pytest

from unflicker.analysis import analyze_frames, render_chart
from unflicker.analysis import drift as drifts
from unflicker.analysis.cases import eased_look
from unflicker.fix.deflicker import plan, run
from unflicker.kinds import FIXED_BY, LOOK, REPORTED, kinds_from_json
from unflicker.media import synthetic
from unflicker.operation import Source
from unflicker.settings import DeflickerSettings

FPS = 8.0


@pytest.fixture(scope="module")
def clean():
    return synthetic.moving_clip("pan", 40, 96, 128, seed=3, speed=1.5)


def gained(clip, gains):
    return np.clip(np.round(clip.astype(np.float64) * np.asarray(gains)[:, None, None, None]), 0, 255).astype(np.uint8)


def test_a_look_in_log_levels_tells_a_gain_from_a_cast_and_a_saturation_change():
    rng = np.random.default_rng(0)
    x = rng.uniform(30, 220, (3, 4000))
    grey = np.full((3, 3), 1.0 / 3.0)
    look = drifts.log_look(x, 0.5 * x)  # a fade to half: all common, no colour
    assert look[0] == pytest.approx(np.log(0.5), abs=0.02) and np.abs(look[1:4]).max() < 0.01 and abs(look[4]) < 0.02
    cast = drifts.drift_of(drifts.log_look(x, x + np.array([[8.0], [0.0], [-8.0]])), x.mean(1), 40)
    assert cast.channels[0] > 5 and cast.channels[2] < -5 and abs(cast.saturation) < 0.05
    richer = (grey + 1.2 * (np.eye(3) - grey)) @ x
    saturated = drifts.drift_of(drifts.log_look(x, richer), x.mean(1), 40)
    assert saturated.saturation == pytest.approx(0.2, abs=0.06) and abs(saturated.contrast) < 0.05


def test_a_clean_clip_and_intended_changes_read_no_drift(clean):
    n = len(clean)
    fade = gained(clean, np.r_[np.ones(n - 14), np.linspace(1, 0.35, 14)])
    light = gained(clean, np.r_[np.ones(20), np.full(n - 20, 0.55)])  # a light going down and staying
    for clip in (clean, fade, light):
        report = analyze_frames(clip, FPS)
        assert "drift" not in report.kinds, report.drift
        assert report.drift["calibrated"] and not report.drift["flagged"]
        assert report.measures["drift_score"] < 0.5
    assert analyze_frames(fade, FPS).measures["drift_contrast_pct"] < -40  # the fade is the common gain


def test_an_eased_cast_reads_as_drift_with_its_channels(clean):
    report = analyze_frames(eased_look(clean, 0.15, (12, 0, -12)), FPS)
    assert "drift" in report.kinds and report.drift["flagged"] and report.drift["calibrated"]
    m = report.measures
    assert m["drift_r"] > 8 and m["drift_b"] < -8 and abs(m["drift_g"]) < 4
    assert m["drift_saturation_pct"] > 5
    finding = next(f for f in report.findings if f.kind == "drift")
    assert finding.frames == [0, len(clean) - 1] and "drift = hold" in finding.fix
    # the per-frame curve grows with the cast, and the look says so for the node's display
    assert report.series["drift"][-1] >= 1 > report.series["drift"][4]
    look = report.look()
    assert look["drift"]["found"] and look["drift"]["levels"][0] > 8 and not look["seams"]["found"]
    assert "drift" in kinds_from_json(report.to_json())
    assert render_chart(report).shape[2] == 3


def test_drift_is_measured_per_shot(clean):
    other = synthetic.moving_clip("zoom", 20, 96, 128, seed=9, speed=1.0)
    report = analyze_frames(np.concatenate([eased_look(clean, 0.0, (0, 0, 14)), other]), FPS)
    assert report.scene_cuts == [len(clean)]
    assert "drift" in report.kinds and report.drift["frames"] == [0, len(clean) - 1]
    assert report.measures["drift_b"] > 8


def test_the_tracker_holds_few_small_frames_and_links_little(clean):
    tracker = drifts.DriftTracker()
    big = np.stack([np.repeat(np.repeat(f, 2, 0), 2, 1) for f in clean])  # 256 wide: keyframes are smaller
    held, side = 0, 0
    for i, frame in enumerate(big):
        tracker.add(i, frame)
        keys = {id(k): k for k in (tracker.anchor, tracker.last) if k is not None}
        held = max(held, len(keys) + (tracker.pending is not None))
        side = max([side] + [max(k.rgb.shape[:2]) for k in keys.values()])
    (shot,) = tracker.finish()
    assert held <= 3 and side <= drifts.KEY_SIDE
    # links only where the content moved on: far fewer than the keyframes (10 here), never a chain of pairs
    assert 1 <= shot.links <= 6 and shot.frames == len(clean)


def test_drift_is_a_look_kind_that_a_diagnosis_does_not_fix(clean):
    assert "drift" in REPORTED and "drift" in LOOK and FIXED_BY["drift"] == ()
    drifting = eased_look(clean, 0.15, (12, 0, -12))
    report = analyze_frames(drifting, FPS)
    assert report.kinds == ["drift"]
    source = Source(drifting.shape[2], drifting.shape[1], len(drifting), Fraction(8))
    out = np.stack(list(run(drifting, plan(source, DeflickerSettings(), report.to_json()))))
    assert np.array_equal(out, drifting)  # a diagnosis naming drift alone changes nothing: drift = hold is asked for


def test_compare_and_the_report_text_show_seams_and_drift(clean):
    from unflicker.analysis import compare_reports

    drifting = eased_look(clean, 0.15, (12, 0, -12))
    flickering = synthetic.inject("brightness", drifting, seed=1)
    before, after = analyze_frames(flickering, FPS), analyze_frames(drifting, FPS)
    assert {"brightness", "drift"} <= set(before.kinds) and after.kinds == ["drift"]
    cmp = compare_reports(before, after)
    # drift kept by the fix (the deflicker keeps it unless asked) is named, and does not stop a fix from counting
    assert cmp.verdict.startswith("Fixed") and "after: drift" in cmp.verdict
    assert {"seam_count", "seam_step", "drift_score"} <= set(cmp.changes) and "drift from start to end" in cmp.text
    text = after.text()
    assert "* drift (" in text and "drift = hold" in text and "seams / drift" in text
    assert after.verdict.startswith(("Mild drift", "Moderate drift", "Strong drift"))

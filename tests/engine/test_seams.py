"""Seams and drift: the analyzer's kinds and the deflicker's seam stage on real frames (a synthetic moving clip
whose segments get chained looks)."""

from fractions import Fraction

import numpy as np
import pytest

from unflicker.analysis import analyze_frames
from unflicker.analysis import seams as looks
from unflicker.errors import UnflickerError
from unflicker.fix.deflicker import plan, run
from unflicker.fix.deflicker.seams import SeamPlan, parse_starts
from unflicker.kinds import FIXED_BY, REPORTED, kinds_from_json
from unflicker.media import synthetic
from unflicker.operation import Source
from unflicker.settings import DeflickerSettings

GREY = np.full((3, 3), 1.0 / 3.0)


@pytest.fixture(scope="module")
def clean():
    return synthetic.moving_clip("pan", 40, 96, 128, seed=3, speed=1.5)


def chained(clip, every=10, seed=0):
    """Each segment of ``every`` frames darker, cast and more saturated than the one before."""
    rng = np.random.default_rng(seed)
    out, gain, offset = clip.astype(np.float64), np.eye(3), np.zeros(3)
    starts = list(range(every, len(clip), every))
    for t in starts:
        sat = GREY + (1 + rng.uniform(0.04, 0.08)) * (np.eye(3) - GREY)
        gain = (1 - rng.uniform(0.03, 0.05)) * sat @ gain
        offset = (1 - 0.04) * sat @ offset + rng.uniform(2, 4, 3) * rng.choice([-1, 1], 3)
        out[t:] = clip[t:].astype(np.float64) @ gain.T + offset
    return np.clip(np.round(out), 0, 255).astype(np.uint8), starts


def psnr(a, b):
    return 10 * np.log10(255.0 ** 2 / max(float(np.mean((a.astype(np.float64) - b) ** 2)), 1e-9))


def fix(clip, reference=None, **settings):
    source = Source(clip.shape[2], clip.shape[1], len(clip), Fraction(8))
    result = run(clip, plan(source, DeflickerSettings(**settings), reference=reference))
    return np.stack(list(result)), result


def test_affine_fit_recovers_a_colour_transform():
    rng = np.random.default_rng(0)
    x = rng.uniform(20, 230, (3, 4000))
    a = np.hstack([0.95 * (GREY + 1.07 * (np.eye(3) - GREY)), np.array([[3.0], [-2.0], [1.0]])])
    y = a[:, :3] @ x + a[:, 3:] + rng.normal(0, 1.0, x.shape)
    m = looks.moments(x, y)
    got = looks.fit_look(m)
    assert np.abs(got[:, :3] - a[:, :3]).max() < 0.002 and np.abs(got[:, 3] - a[:, 3]).max() < 0.2
    assert looks.step_size(a, m) > 3.0
    assert looks.residual(looks.fit_look(m), m) == pytest.approx(1.0, abs=0.15)


def test_seams_are_found_with_their_period_and_removed_by_auto(clean):
    bad, starts = chained(clean)
    out, result = fix(bad)
    assert result.seams.found.frames == starts
    assert result.seams.found.period == 10
    assert "seams" in result.corrected
    assert psnr(out, clean) >= psnr(bad, clean) + 6


def test_given_segments_match_the_first(clean):
    bad, starts = chained(clean, seed=1)
    by_list, _ = fix(bad, mode="brightness", segment_starts=", ".join(map(str, starts)))
    by_length, res = fix(bad, mode="brightness", segment_length=10)
    assert res.seams.boundaries == starts
    last = lambda c: np.abs(c[starts[-1]:].reshape(-1, 3).mean(0) - clean[starts[-1]:].reshape(-1, 3).mean(0))  # noqa
    assert last(by_list).max() < 2.0 and last(by_length).max() < 2.0
    assert psnr(by_list, clean) >= psnr(bad, clean) + 6


def test_the_analyzer_reports_seams_and_auto_fixes_them_from_its_json(clean):
    bad, starts = chained(clean, seed=2)
    report = analyze_frames(bad, 8.0)
    assert "seams" in report.kinds
    seams = next(f for f in report.findings if f.kind == "seams")
    assert seams.frames == starts and report.measures["seam_period"] == 10
    assert "seams" in kinds_from_json(report.to_json())
    assert "seam_step" in report.series and report.to_dict()["measures"]["seam_count"] == len(starts)
    source = Source(bad.shape[2], bad.shape[1], len(bad), Fraction(8))
    out = np.stack(list(run(bad, plan(source, DeflickerSettings(), report.to_json()))))
    assert psnr(out, clean) >= psnr(bad, clean) + 6
    steady = analyze_frames(clean, 8.0)
    assert "seams" not in steady.kinds and "drift" not in steady.kinds


def test_no_seams_passes_through_exactly_and_a_fade_stays(clean):
    out, result = fix(clean)
    assert np.array_equal(out, clean) and result.seams.found.frames == []
    n = len(clean)
    fade = np.clip(np.round(clean * np.r_[np.ones(n - 14), np.linspace(1, 0.35, 14)][:, None, None, None]),
                   0, 255).astype(np.uint8)
    light = clean.copy()
    light[20:] = np.round(light[20:] * 0.55).astype(np.uint8)  # a light going down and staying
    for changed in (fade, light):
        out, result = fix(changed)
        assert "seams" not in result.corrected
        assert psnr(out, changed) >= 50


def test_drift_hold_holds_the_first_look_or_a_reference(clean):
    n = len(clean)
    drifting = clean.astype(np.float64)
    drifting[..., 0] += np.linspace(0, 12, n)[:, None, None]  # the red channel creeps up
    drifting = np.clip(np.round(drifting), 0, 255).astype(np.uint8)
    held, result = fix(drifting, mode="brightness", drift="hold")
    assert "drift" in result.corrected
    red = lambda c: c[-5:, ..., 0].mean() - clean[-5:, ..., 0].mean()  # noqa: E731
    assert abs(red(held)) < 0.4 * abs(red(drifting))
    reference = np.full((16, 16, 3), (150, 110, 90), np.uint8)
    reference[::2] = (170, 120, 80)
    to_ref, _ = fix(clean, mode="brightness", drift="hold", reference=reference)
    assert np.abs(to_ref[0].reshape(-1, 3).mean(0) - reference.reshape(-1, 3).mean(0)).max() < 3.0


def test_settings_and_inputs_are_checked(clean):
    with pytest.raises(UnflickerError, match="overlap"):
        DeflickerSettings(segment_length=8, overlap=8).validated()
    with pytest.raises(UnflickerError, match="segment_starts"):
        parse_starts("12, x")
    assert parse_starts("24 12,24") == (12, 24)
    assert SeamPlan(segment_length=10, overlap=2).boundaries(30) == [10, 18, 26]
    source = Source(128, 96, 40, Fraction(8))
    with pytest.raises(UnflickerError, match="drift to hold"):
        plan(source, DeflickerSettings(), reference=clean[0])
    with pytest.raises(UnflickerError, match="twice"):
        list(run(iter(clean), plan(source, DeflickerSettings(segment_length=10))))


def test_kinds_name_seams_and_drift():
    assert "seams" in REPORTED and FIXED_BY["seams"] == ("seams",)
    # drift is reported, but a diagnosis naming it changes nothing: it may be intended (drift = hold is a choice)
    assert "drift" in REPORTED and FIXED_BY["drift"] == ()


def test_the_analyzer_measures_drift_in_its_json(clean):
    n = len(clean)
    drifting = clean.astype(np.float64)
    drifting[..., 2] += np.linspace(0, 20, n)[:, None, None]  # the blue channel creeps up 20 levels
    drifting = np.clip(np.round(drifting), 0, 255).astype(np.uint8)
    report = analyze_frames(drifting, 8.0).to_dict()
    assert report["drift"]["flagged"] and report["drift"]["calibrated"]
    assert report["drift"]["drift_b"] > 10 and "drift" in report["kinds"]
    assert not analyze_frames(clean, 8.0).to_dict()["drift"]["flagged"]


def test_given_segments_carry_their_look_over_a_cut(clean):
    # one generation chain whose content cuts to another scene: the look keeps drifting over the cut, and every
    # segment after it still matches the first
    other = synthetic.moving_clip("objects", 25, 96, 128, seed=9, speed=1.5)
    joined = np.concatenate([clean[:15], other])
    bad, starts = chained(joined, seed=4)
    out, res = fix(bad, mode="brightness", segment_length=10)
    assert res.seams.boundaries == [10, 20, 30]
    err = np.abs(out[30:].reshape(-1, 3).mean(0) - joined[30:].reshape(-1, 3).mean(0))
    assert err.max() < 2.0, err


def _pair_looks(transforms, seed=0):
    """Consecutive pair looks as the analyzer and the deflicker measure them: per frame the fit of aligned samples
    of a real-looking palette (channels strongly correlated) taken through that frame's 3x4 transform, plus noise."""
    rng = np.random.default_rng(seed)
    grey = rng.uniform(30, 220, 3000)
    x = np.clip(grey + rng.normal(0, 12, (3, grey.size)), 0, 255)
    out = [None]
    for a in transforms[1:]:
        y = a[:, :3] @ x + a[:, 3:] + rng.normal(0, 2.0, x.shape)
        m = looks.moments(x, y)
        out.append((looks.fit_look(m), m))
    return out


def _look(gain, offset=(0.0, 0.0, 0.0)):
    return np.hstack([gain * np.eye(3), np.asarray(offset, float)[:, None]])


def test_a_seam_is_measured_beyond_the_change_around_it_and_a_neighbours_burst_is_ignored():
    seam = _look(0.97, (3.0, -2.5, 3.5))
    # a burst of light two frames before the seam, then the clip settles: the step at the seam is the seam's
    transforms = [looks.IDENTITY] * 30
    transforms[13], transforms[14] = _look(1.3), _look(1 / 1.3)
    transforms[15] = seam
    pairs = _pair_looks(transforms)
    m = pairs[15][1]
    err = looks.step_size(looks.compose(looks.seam_step(pairs, 15), looks.invert(seam)), m)
    assert err < 0.5 and looks.step_size(seam, m) > 3.0
    # a clip brightening 1.2 % a frame whose seam darkens: the pair step shows less than the seam, the excess all
    trend = [_look(1.012)] * 40
    trend[20] = looks.compose(seam, _look(1.012))
    pairs = _pair_looks(trend, seed=2)
    assert looks.find_seams(pairs).frames == [20]
    excess, _ = looks.excess_steps(pairs)
    assert abs(excess[20] - looks.step_size(seam, pairs[20][1])) < 0.5
    assert looks.find_seams(_pair_looks([_look(1.012)] * 40, seed=2)).frames == []  # the trend alone: no seam


def test_two_seams_at_p_and_2p_read_as_period_p():
    # frame 0 starts the first segment (decoder tiles start with the clip): seams at 12 and 24 of 25 frames are a
    # grid of period 12, while the same two seams in a clip long enough for a third (36) that is missing are not
    assert looks.find_period([12, 24], 25) == 12
    assert looks.find_period([12, 24], 40) == 0
    assert looks.find_period([10, 24], 25) == 0
    seam = _look(0.96, (3.0, -3.0, 2.5))
    transforms = [looks.IDENTITY] * 25
    transforms[12] = transforms[24] = seam
    report = looks.find_seams(_pair_looks(transforms, seed=3))
    assert report.frames == [12, 24] and report.period == 12


def test_a_lone_seam_with_weaker_ones_on_its_grid_is_a_period():
    # a strong step of brightness alone at 8 is no seam (a light can do that), but the weaker colour steps at 16
    # and 24 line up with it and frame 0: decoder tiles of 8 frames, each too weak to stand out alone
    rng = np.random.default_rng(5)
    transforms = [_look(1 + rng.normal(0, 0.008)) for _ in range(30)]
    transforms[8] = _look(0.9)
    report = looks.find_seams(_pair_looks(transforms, seed=1))
    assert report.frames == [] and report.candidates == [8]
    transforms[16] = transforms[24] = _look(0.985, (1.0, -1.0, 0.5))
    report = looks.find_seams(_pair_looks(transforms, seed=1))
    assert report.frames == [8, 16, 24] and report.period == 8


def test_a_grid_point_may_fail_one_persistence_span():
    # the content's own change a frame before and two after a seam takes back a quarter of its step on each side:
    # the span over both keeps half of it, too little for a seam alone, enough for a point of a grid
    transforms = [looks.IDENTITY] * 20
    transforms[10] = _look(0.9)
    transforms[9] = transforms[12] = _look(0.9 ** -0.25)
    pairs = _pair_looks(transforms, seed=2)
    steps = np.array([0.0] + [looks.step_size(*got) for got in pairs[1:]])
    assert not looks._persists(pairs, steps, 10)
    assert looks._persists(pairs, steps, 10, may_fail=1)
    assert looks._persists(pairs, steps, 19)  # no span to judge at the clip's end


def test_periodic_seams_found_carry_their_look_over_a_cut(clean):
    # seams every 10 frames through a cut of content (tiles of one generation): auto finds the period and every
    # segment after the cut still matches the first (matched within the shot, the second shot kept its look)
    other = synthetic.moving_clip("objects", 25, 96, 128, seed=9, speed=1.5)
    joined = np.concatenate([clean[:15], other])
    bad, starts = chained(joined, seed=4)
    out, res = fix(bad)
    assert res.seams.found.period == 10 and res.seams.boundaries == starts == [10, 20, 30]
    err = np.abs(out[30:].reshape(-1, 3).mean(0) - joined[30:].reshape(-1, 3).mean(0))
    assert err.max() < 1.0, err

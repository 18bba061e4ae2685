"""Side by side aligned by time: each output frame shows, for each clip, the frame on screen at that moment (clips
of different rates and lengths), at the higher rate, slowed as asked; equal rates pair frame i with frame i."""

import math
from fractions import Fraction

import numpy as np
import pytest

from unflicker.analysis import side_by_side
from unflicker.analysis.side_by_side import draw_label
from unflicker.errors import UnflickerError
from unflicker.media import video
from unflicker.operation import Source
from unflicker.settings import SideBySideSettings

UNLABELLED = SideBySideSettings(label_a="", label_b="", gap=0)  # plain pixels: each half is its clip's frame
SIZE = 4  # each test frame is SIZE x SIZE pixels


def numbered(count: int, step: int = 1) -> list:
    """Frames that carry their index: frame i is a flat picture of value i * step."""
    return [np.full((SIZE, SIZE, 3), i * step, np.uint8) for i in range(count)]


def shown_indices(frames: list, step: int = 1) -> list:
    """(left index, right index) read back from each stacked frame of two numbered clips."""
    return [(round(float(f[:, :SIZE].mean()) / step), round(float(f[:, SIZE:].mean()) / step)) for f in frames]


def on_screen(k: int, timeline_rate: Fraction, rate: Fraction, count: int) -> int:
    """The frame of a clip on screen at output frame k's time: the i with i / rate <= t < (i + 1) / rate, or the
    last frame once the clip has ended."""
    t = Fraction(k) / timeline_rate
    return next((i for i in range(count) if Fraction(i) / rate <= t < Fraction(i + 1) / rate), count - 1)


def side(left: list, right: list, left_rate, right_rate, settings=UNLABELLED, expected_frames=(0, 0)):
    plan = side_by_side.plan(Source(SIZE, SIZE, len(left), left_rate, "a"), Source(SIZE, SIZE, len(right),
                             right_rate, "b"), settings)
    return plan, list(side_by_side.run(iter(left), iter(right), plan))


@pytest.mark.parametrize("fast_count, fast_rate", [(60, 60), (57, 64), (70, 60), (24, Fraction(24000, 1001))])
@pytest.mark.parametrize("fast_on_the_right", [True, False])
def test_every_output_frame_shows_the_frame_on_screen_at_its_time(fast_count, fast_rate, fast_on_the_right):
    """8 fps against the same second at a higher rate (RIFE to 60 fps, x8 = 57 frames at 64 fps, a longer
    60 fps clip, 23.976 fps): output at the higher rate, each clip's frame on screen at k / rate, the clip that
    ends first holds its last frame and both end together at the longer duration."""
    slow, fast = numbered(8), numbered(fast_count)
    fast_rate = Fraction(fast_rate)
    if fast_on_the_right:
        plan, frames = side(slow, fast, 8, fast_rate)
    else:
        plan, frames = side(fast, slow, fast_rate, 8)
    duration = max(Fraction(8, 8), fast_count / fast_rate)
    assert plan.rate == fast_rate and plan.fps == float(fast_rate)
    assert len(frames) == plan.frame_count == math.ceil(duration * fast_rate)
    for k, (left, right) in enumerate(shown_indices(frames)):
        slow_i, fast_i = (left, right) if fast_on_the_right else (right, left)
        assert slow_i == on_screen(k, fast_rate, Fraction(8), 8), k
        assert fast_i == on_screen(k, fast_rate, fast_rate, fast_count), k
    # both end together: the last output frame is in the longer clip's last frame's time on screen
    assert (len(frames) - 1) / fast_rate < duration <= len(frames) / fast_rate


def test_8_fps_against_its_60_fps_interpolation():
    """The before/after check users make after RIFE to 60 fps: frame i of the 8 fps clip stays on screen for
    7.5 output frames (alternately 8 and 7), the 60 fps clip's frame k is output frame k, both end at 1 s."""
    plan, frames = side(numbered(8), numbered(60), 8, 60)
    shown = shown_indices(frames)
    assert len(frames) == 60 and [right for _, right in shown] == list(range(60))
    assert [sum(1 for left, _ in shown if left == i) for i in range(8)] == [8, 7, 8, 7, 8, 7, 8, 7]
    assert shown[-1] == (7, 59) and plan.timeline_rate == 60 and plan.clip_rates == (8, 60)


def reference_pairs_by_index(left: list, right: list, settings: SideBySideSettings) -> list:
    """What side by side gave before it aligned by time: frame i beside frame i, the shorter clip holding its last
    frame, the right clip scaled to the left's height (side_by_side.py up to 3367790)."""
    import cv2

    out = []
    for i in range(max(len(left), len(right))):
        a = draw_label(left[min(i, len(left) - 1)], settings.label_a)
        b = right[min(i, len(right) - 1)]
        if b.shape[0] != a.shape[0]:
            width = max(1, round(b.shape[1] * a.shape[0] / b.shape[0]))
            b = cv2.resize(b, (width, a.shape[0]), interpolation=cv2.INTER_AREA)
        b = draw_label(b, settings.label_b)
        out.append(np.concatenate([a, np.zeros((a.shape[0], settings.gap, 3), np.uint8), b], axis=1))
    return out


@pytest.mark.parametrize("counts", [(6, 6), (6, 4), (3, 7)])
@pytest.mark.parametrize("rates", [(24, 24.0), (Fraction(24000, 1001), 23.976)])
def test_equal_rates_give_the_frames_paired_by_index(counts, rates):
    """Equal rates (also the same rate given as a float and as the exact fraction): exactly what side by side
    always gave, labels, scaling and the held last frame included."""
    rng = np.random.default_rng(sum(counts))
    left = [rng.integers(0, 256, (30, 40, 3), dtype=np.uint8) for _ in range(counts[0])]
    right = [rng.integers(0, 256, (60, 20, 3), dtype=np.uint8) for _ in range(counts[1])]
    settings = SideBySideSettings(slow_motion=4.0, label_a="before", label_b="after", gap=2)
    plan = side_by_side.plan(Source(40, 30, counts[0], rates[0], "a"), Source(20, 60, counts[1], rates[1], "b"),
                             settings)
    frames = list(side_by_side.run(left, right, plan))
    expected = reference_pairs_by_index(left, right, settings)
    assert plan.frame_count == len(expected) == max(counts) and plan.rate == Fraction(rates[0]) / 4
    assert len(frames) == len(expected) and all(np.array_equal(f, e) for f, e in zip(frames, expected))


def test_run_streams_both_clips_reading_each_frame_once_when_needed():
    """Never holding the clips: when output frame k is given, each clip has been read only up to its frame on
    screen then."""
    read = {"a": 0, "b": 0}

    def stream(name, frames):
        for frame in frames:
            read[name] += 1
            yield frame

    plan = side_by_side.plan(Source(SIZE, SIZE, 8, 8, "a"), Source(SIZE, SIZE, 60, 60, "b"), UNLABELLED)
    for k, frame in enumerate(side_by_side.run(stream("a", numbered(8)), stream("b", numbered(60)), plan)):
        left, right = shown_indices([frame])[0]
        assert (read["a"], read["b"]) == (left + 1, right + 1), k
    assert (read["a"], read["b"]) == (8, 60)


def test_plan_decides_size_rate_tempo_and_count():
    """Output at the higher exact rate slowed by slow_motion (the FLOAT fps is the faster clip's fps divided, as a
    FLOAT output always carried it), the sound's tempo, frames over the longer clip's duration."""
    settings = SideBySideSettings(slow_motion=4.0, gap=2)
    plan = side_by_side.plan(Source(40, 30, 5, Fraction(24000, 1001), "a"), Source(20, 60, 3, Fraction(25), "b"),
                             settings)
    # 5 frames at 23.976 fps last 0.2085 s: 6 frames at 25 fps (3 frames at 25 fps: 0.12 s)
    assert (plan.width, plan.height, plan.frame_count) == (40 + 2 + 10, 30, 6)
    assert plan.rate == Fraction(25, 4) and plan.fps == 25 / 4 and plan.tempo == 0.25
    frames = list(side_by_side.run(numbered_sized(40, 30, 5), numbered_sized(20, 60, 3), plan))
    assert len(frames) == plan.frame_count and all(f.shape == (plan.height, plan.width, 3) for f in frames)
    # on a tie the left clip's rate and float fps; a right clip without a rate is taken at the left's
    plan = side_by_side.plan(Source(8, 8, 5, 23.976, "a"), Source(8, 8, 3, Fraction(24000, 1001), "b"), settings)
    assert (plan.rate, plan.fps, plan.frame_count) == (Fraction(6000, 1001), 23.976 / 4, 5)
    plan = side_by_side.plan(Source(8, 8, 5, 30, "a"), Source(8, 8, 7, None, "b"), settings)
    assert (plan.rate, plan.frame_count, plan.clip_rates) == (Fraction(30, 4), 7, (30, 30))
    # streams of unknown length: the estimates count; a float rate stays the float division
    plan = side_by_side.plan(Source(1, 1, None, 12.5, "a"), Source(1, 1, None, 12.5, "b"),
                             SideBySideSettings(slow_motion=2.5), expected_frames=(7, 9))
    assert (plan.width, plan.height, plan.frame_count, plan.fps) == (1 + 4 + 1, 1, 9, 12.5 / 2.5)


def numbered_sized(width: int, height: int, count: int) -> list:
    return [np.full((height, width, 3), 10 * i, np.uint8) for i in range(count)]


def test_plan_refuses_empty_clips_and_bad_settings():
    with pytest.raises(UnflickerError, match="b has 0 frames; side by side needs at least 1"):
        side_by_side.plan(Source(8, 8, 3, 24, "a"), Source(8, 8, 0, 24, "b"))
    with pytest.raises(UnflickerError, match="a is 0x8 pixels"):
        side_by_side.plan(Source(0, 8, 3, 24, "a"), Source(8, 8, 3, 24, "b"))
    with pytest.raises(UnflickerError, match="a: side by side needs the clip's frame rate"):
        side_by_side.plan(Source(8, 8, 3, None, "a"), Source(8, 8, 3, 24, "b"))
    with pytest.raises(UnflickerError, match="slow"):
        side_by_side.plan(Source(8, 8, 3, 24, "a"), Source(8, 8, 3, 24, "b"), SideBySideSettings(slow_motion=0.5))
    with pytest.raises(UnflickerError, match="gap"):
        side_by_side.plan(Source(8, 8, 3, 24, "a"), Source(8, 8, 3, 24, "b"), SideBySideSettings(gap=65))


def test_compare_command_aligns_files_by_time(tmp_path):
    """``compare`` reads its files' exact rates into the plan: an 8 fps clip against its 60 fps version gives 60
    frames at 60 / slow fps, each half showing the frame on screen at that moment."""
    from unflicker.cli import main

    a, b, out = (str(tmp_path / name) for name in ("a.mkv", "b.mkv", "out.mkv"))
    step = 4  # frame values 0, 4, 8, ...: a lossless file's colour conversion moves them by 1 at most
    video.write_video(a, numbered_big(8, step), 8.0, "ffv1")
    video.write_video(b, numbered_big(60, step), 60.0, "ffv1")
    assert main(["compare", a, b, out, "--slow", "2", "--labels", "", ""]) == 0
    frames, info = video.read_video(out)
    assert info.fps == 30.0 and len(frames) == 60
    width = frames.shape[2] // 2 - 2  # the gap (4 pixels) in the middle
    shown = [(round(float(f[:, :width].mean()) / step), round(float(f[:, -width:].mean()) / step)) for f in frames]
    assert shown == [(on_screen(k, Fraction(60), Fraction(8), 8), k) for k in range(60)]


def numbered_big(count: int, step: int) -> list:
    return [np.full((32, 32, 3), i * step, np.uint8) for i in range(count)]

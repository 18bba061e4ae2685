import numpy as np

from unflicker.measure import scenecut
from unflicker.media.synthetic import moving_clip


def test_pair_checker_gives_is_cut_for_streamed_and_out_of_order_pairs():
    a = list(moving_clip("pan", frames=4, height=64, width=64, seed=1, speed=2))
    b = [np.ascontiguousarray(255 - f[::-1]) for f in moving_clip("pan", frames=4, height=64, width=64, seed=7)]
    frames = a + b
    checker = scenecut.PairChecker(0.5)
    verdicts = [checker.is_cut(x, y) for x, y in zip(frames, frames[1:])]
    assert verdicts == [scenecut.is_cut(x, y, 0.5) for x, y in zip(frames, frames[1:])]
    assert verdicts == [False, False, False, True, False, False, False]
    # a pair that does not continue the last one (a loop's wrap, a pair skipped as a duplicate) is checked afresh
    assert checker.is_cut(frames[-1], frames[0]) and not checker.is_cut(frames[1], frames[2])

"""DIS optical flow gives a frame pair the same flow whatever ran before it in the process."""

import numpy as np

from unflicker.media.synthetic import moving_clip
from unflicker.measure import flow


def test_flow_of_a_pair_does_not_depend_on_earlier_sizes():
    frames = moving_clip("pan", 2, 96, 128, seed=3, speed=2.5)
    a, b = (f.mean(axis=2).astype(np.uint8) for f in frames)
    first = flow.dis_flow(a, b, "ultrafast")
    small = np.random.default_rng(0).integers(0, 255, (37, 90), dtype=np.uint8)
    flow.dis_flow(small, small, "ultrafast")  # DIS lowers its finest scale for a frame this small
    assert np.array_equal(flow.dis_flow(a, b, "ultrafast"), first)

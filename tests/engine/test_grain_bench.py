"""bench/grain_real.py's grain injector and scoring: the grain has the std it is asked for at every blur, is
re-drawn every frame, and the texture stage gains on heavy grain (real engine, a small generated pan)."""

import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench")
sys.path.insert(0, BENCH)
grain_real = pytest.importorskip("grain_real")


@pytest.mark.parametrize("blur", [0.5, 1.0, 1.5])
def test_grain_has_the_asked_std_at_every_blur_and_is_new_every_frame(blur):
    clip = np.full((3, 96, 128, 3), 128, np.uint8)
    bad = grain_real.add_grain(clip, 6, blur, seed=1)
    noise = bad.astype(np.float32) - 128
    assert abs(float(noise.std()) - 6) < 0.3
    assert np.array_equal(bad[..., 0], bad[..., 2])  # luma grain: every channel alike
    assert abs(np.corrcoef(noise[0, ..., 0].ravel(), noise[1, ..., 0].ravel())[0, 1]) < 0.1


def test_texture_mode_gains_on_heavy_grain():
    yy, xx = np.mgrid[0:96, 0:128].astype(np.float32)
    base = 128 + 40 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    clip = np.stack([np.repeat(np.roll(base, t, axis=1)[..., None], 3, 2) for t in range(8)]).astype(np.uint8)
    bad = grain_real.add_grain(clip, 8, 0.5, seed=2)
    out = np.stack(list(grain_real.deflicker_frames(bad, 24.0, "texture")))
    assert grain_real._psnr(out, clip) > grain_real._psnr(bad, clip) + 1.0
    assert grain_real._psnr(clip, clip) == 99.0

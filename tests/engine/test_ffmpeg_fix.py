"""FFmpeg deflicker + deband on frames, through the real ffmpeg."""

import numpy as np
import pytest

from unflicker.media import synthetic
from unflicker.demo import mean_luma
from unflicker.errors import UnflickerError
from unflicker.fix.ffmpeg_fix import filtergraph, fix_frames
from unflicker.settings import FFmpegFixSettings


def test_deflicker_cuts_brightness_pumping_by_70_percent():
    clean = synthetic.moving_clip("pan", frames=40, height=96, width=128, seed=1, speed=1.0)
    gains = 1 + 0.12 * np.sin(np.arange(40) * 2.1)  # fast pumping, as in diffusion video
    pumped = np.clip(clean * gains[:, None, None, None], 0, 255).astype(np.uint8)
    fixed = np.stack(list(fix_frames(pumped, 128, 96, 12.0, FFmpegFixSettings(deband=False))))
    before, after = mean_luma(pumped).std(), mean_luma(fixed).std()
    assert len(fixed) == 40
    assert after <= 0.3 * before, (before, after)


def test_deband_smooths_a_banded_gradient():
    ramp = np.linspace(40, 90, 256)
    banded = (np.round(ramp / 6) * 6).astype(np.uint8)  # 6-level steps, as a starved encoder leaves them
    frame = np.repeat(np.repeat(banded[None, :, None], 64, 0), 3, 2)
    clip = np.stack([frame] * 4)
    out = np.stack(list(fix_frames(clip, 256, 64, 8.0, FFmpegFixSettings(deflicker=False, threshold=0.05))))
    assert out.shape == clip.shape
    steps_before = np.count_nonzero(np.diff(clip[2, 32, :, 1].astype(int)))
    steps_after = np.count_nonzero(np.diff(out[2, 32, :, 1].astype(int)))
    assert steps_after > 2 * steps_before  # big steps became many small ones


@pytest.mark.parametrize("kwargs,match", [
    ({"mode": "am,drawtext=text=pwned"}, "mode must be one of"),
    ({"mode": "median"}, "known broken"),
    ({"size": 1}, "size must be between 2 and 129"),
    ({"size": 500}, "size must be between"),
    ({"threshold": 0.9}, "deband threshold"),
    ({"threshold": float("nan")}, "deband threshold"),
    ({"deflicker": False, "deband": False}, "at least one stage"),
])
def test_hostile_and_out_of_range_settings_are_refused(kwargs, match):
    with pytest.raises(UnflickerError, match=match):
        filtergraph(FFmpegFixSettings(**kwargs))


def test_filtergraph_is_built_from_numbers_only():
    graph = filtergraph(FFmpegFixSettings(size=7, mode="gm", threshold=0.03, blur=True))
    d = "deflicker=size=7:mode=gm"
    assert graph == ("format=gbrp,extractplanes=r+g+b[r][g][b];"
                     f"[r]{d}[r2];[g]{d}[g2];[b]{d}[b2];[g2][b2][r2]mergeplanes=map0s=0:map1s=1:map2s=2:format=gbrp,"
                     "deband=1thr=0.030000:2thr=0.030000:3thr=0.030000:range=16:blur=1")


def test_deflicker_keeps_colours_together():
    """A brightness pump on a coloured frame comes back as a brightness change, not a colour cast."""
    base = np.zeros((32, 48, 3), np.float32)
    base[..., 0], base[..., 1], base[..., 2] = 200, 100, 50
    base[:16, :, 1] = 40
    gains = np.array([1, 1.1, 0.9, 1.05, 0.95, 1.1, 0.92, 1.0, 1.08, 0.94] * 2)
    pumped = np.stack([np.clip(base * g, 0, 255).round().astype(np.uint8) for g in gains])
    out = np.stack(list(fix_frames(pumped, 48, 32, 8.0, FFmpegFixSettings(deband=False)))).astype(np.float32)
    means = out.reshape(len(out), -1, 3).mean(1)
    ratios = means / means.mean(1, keepdims=True)  # each channel relative to the frame's overall level
    assert ratios.std(0).max() < 0.01, ratios.std(0)  # channels move together: no colour flicker

import numpy as np

from unflicker.media import synthetic


def _clip():
    return synthetic.moving_clip("pan", 6, 64, 80, seed=4)


def test_regional_flicker_varies_locally_not_globally():
    clip = _clip()
    out = synthetic.regional_flicker(clip, 0.1, seed=1)
    assert out.shape == clip.shape and out.dtype == np.uint8
    ratio = out.astype(np.float32) / np.maximum(clip.astype(np.float32), 1)
    assert np.abs(out.mean((1, 2, 3)) - clip.mean((1, 2, 3))).max() < 3  # frame brightness kept
    assert (ratio[:, :8, :8].mean((1, 2, 3)) - ratio[:, -8:, -8:].mean((1, 2, 3))).std() > 0.01


def test_colour_flicker_offsets_within_levels():
    clip = _clip()
    out = synthetic.colour_flicker(clip, 8, seed=1)
    diff = (out.astype(np.int16) - clip)[:, 20:40, 20:40].reshape(len(clip), -1, 3).mean(1)
    assert np.abs(diff).max() <= 8.5 and diff.std() > 2


def test_texture_flicker_is_fine_grain_changing_every_frame():
    clip = np.repeat(_clip()[:1], 4, axis=0)
    out = synthetic.texture_flicker(clip, 6.0, seed=1)
    delta = out.astype(np.float32) - clip
    assert 4 < delta.std() < 8 and np.abs(delta[0] - delta[1]).mean() > 3


def test_codec_damage_uses_real_ffmpeg():
    clip = _clip()
    out = synthetic.codec_damage(clip, crf=45)
    assert out.shape == clip.shape and out.dtype == np.uint8
    assert 1 < np.abs(out.astype(np.int16) - clip).mean() < 30

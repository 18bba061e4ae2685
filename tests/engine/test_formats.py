"""Every output format round-trips: frame count, exact fps, size, colour tags, embedded workflow; lossless ones
give back identical pixels."""

import json
from fractions import Fraction

import numpy as np
import pytest

from unflicker.media import formats, probe as media, synthetic, video
from unflicker.errors import UnflickerError

from media_cases import header, make_clip

WORKFLOW = {"nodes": [{"id": 1, "type": "UnflickerLoadVideo", "widgets_values": ["a=b;c#d\\\\e\nnext line"]}]}
PROMPT = {"1": {"class_type": "UnflickerLoadVideo", "inputs": {"video": "x.mp4"}}}


@pytest.fixture(scope="module")
def clip():
    return synthetic.moving_clip("objects", frames=9, height=48, width=64, seed=5)


@pytest.mark.parametrize("name", formats.FORMAT_NAMES)
def test_round_trip(tmp_path, clip, name):
    f = formats.FORMATS[name]
    path = str(tmp_path / f"clip.{f.ext}")
    rate = Fraction(24000, 1001)
    metadata = {"workflow": json.dumps(WORKFLOW), "prompt": json.dumps(PROMPT)}
    video.write_video(path, clip, rate, name, crf=10, metadata=metadata)
    frames, info = video.read_video(path)
    assert frames.shape == clip.shape  # frame count and size
    if name in ("gif", "webp"):
        # frame durations in whole ms (WebP) or 1/100 s (GIF): the nearest these formats can say
        assert info.fps == pytest.approx(float(rate), rel=0.05)
        return
    m = media.probe_media(path)
    assert m.rate == rate and m.frame_count == 9
    assert m.color == formats.written_color(f, None)
    assert (m.color.primaries, m.color.transfer) == ("bt709", "bt709")
    tags = media.read_metadata(path)
    assert json.loads(tags["workflow"]) == WORKFLOW and json.loads(tags["prompt"]) == PROMPT
    if f.lossless:
        np.testing.assert_array_equal(frames, clip)
    else:
        assert np.abs(frames.astype(int) - clip).mean() < 4


@pytest.mark.parametrize("name,pix_fmt", [("h264-10bit", "yuv420p10le"), ("h265-10bit", "yuv420p10le"),
                                          ("vp9-10bit", "yuv420p10le"), ("prores-hq", "yuv422p10le"),
                                          ("h264-lossless", "gbrp"), ("mp4", "yuv420p")])
def test_pixel_formats(tmp_path, clip, name, pix_fmt):
    path = str(tmp_path / f"clip.{formats.FORMATS[name].ext}")
    video.write_video(path, clip[:3], 24, name)
    assert media.probe_media(path).pix_fmt == pix_fmt


def test_source_colour_tags_are_carried(tmp_path):
    # a BT.601 (SMPTE 170M) full-range source, as phones write
    src = make_clip(str(tmp_path / "ntsc.mp4"), layout=None, video_args=(
        "-vf", "scale=out_color_matrix=bt601:out_range=pc,format=yuvj420p,"
               "setparams=color_primaries=smpte170m:color_trc=smpte170m:colorspace=smpte170m:range=pc"))
    tags = media.probe_media(src).color
    assert tags == media.ColorTags("smpte170m", "smpte170m", "smpte170m", "pc")
    frames, info = video.read_video(src)
    out = str(tmp_path / "out.mp4")
    video.write_video(out, frames, info.exact_rate, color=info.color)
    assert media.probe_media(out).color == tags
    back, _ = video.read_video(out)
    # converted with the matrix and range it is tagged with: no tint, no range squeeze (channel means hold)
    shift = back.reshape(-1, 3).mean(0) - frames.reshape(-1, 3).mean(0)
    assert np.all(np.abs(shift) < 1.0), shift
    assert back.min() <= 2 and back.max() >= 253


def test_exact_rates_survive(tmp_path, clip):
    for rate in (Fraction(30000, 1001), Fraction(25, 2), Fraction(60000, 1001)):
        path = str(tmp_path / "r.mp4")
        video.write_video(path, clip[:4], rate)
        assert video.probe(path).exact_rate == rate
    # a FLOAT that stands for 24000/1001 comes back as that rational
    assert video.to_rate(23.976023976023978) == Fraction(24000, 1001)
    # and so do the NTSC rates as people type them; other rates stay what they are
    typed = {23.976: Fraction(24000, 1001), 29.97: Fraction(30000, 1001), 59.94: Fraction(60000, 1001),
             119.88: Fraction(120000, 1001), 23.98: Fraction(1199, 50), 25: Fraction(25), 12.5: Fraction(25, 2),
             1: Fraction(1)}
    assert {fps: video.to_rate(fps) for fps in typed} == typed
    assert "23.98" in header(path) or "59.94" in header(path)


def test_format_and_extension_must_agree(tmp_path, clip):
    with pytest.raises(UnflickerError, match="writes .mov"):
        video.VideoWriter(str(tmp_path / "x.mp4"), 24, "prores-hq")
    with pytest.raises(UnflickerError, match="format must be one of"):
        video.VideoWriter(str(tmp_path / "x.mp4"), 24, "h266")
    assert video.VideoWriter(str(tmp_path / "x.mov"), 24).fmt == "prores-hq"
    assert video.VideoWriter(str(tmp_path / "x.mkv"), 24).fmt == "ffv1"
    assert video.VideoWriter(str(tmp_path / "x.webm"), 24).fmt == "vp9"


def test_odd_sizes_in_every_yuv_format(tmp_path, clip):
    odd = np.ascontiguousarray(clip[:3, :47, :63])
    for name in ("mp4", "h265", "prores-hq", "vp9", "ffv1"):
        path = str(tmp_path / f"odd.{formats.FORMATS[name].ext}")
        video.write_video(path, odd, 24, name)
        frames, info = video.read_video(path)
        assert len(frames) == 3 and abs(info.width - 63) <= 1 and abs(info.height - 47) <= 1


def test_cli_carries_the_sources_own_tags(tmp_path):
    from unflicker import cli

    src = make_clip(str(tmp_path / "tagged.mp4"), layout=None, extra=("-metadata", "title=Dawn take 3",
                                                                     "-metadata", "comment=graded"))
    out = tmp_path / "out.mov"
    assert cli.main(["ffmpeg-fix", src, str(out), "--format", "prores-hq"]) == 0
    tags = media.read_metadata(str(out))
    assert tags["title"] == "Dawn take 3" and tags["comment"] == "graded"
    assert media.probe_media(str(out)).video_codec == "prores"

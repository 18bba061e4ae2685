"""Sound through every video-to-video command: kept, in sync, cut to the new length; silent stays silent."""

import os

import numpy as np
import pytest

from unflicker import cli
from unflicker.media import probe as media, video
from unflicker.media.audio import PcmAudio, SourceAudio, read_audio

from media_cases import CLICK_AT, RATE, audio_streams, click_time, make_clip


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    return make_clip(str(tmp_path_factory.mktemp("tone") / "tone.mp4"))


def _run(*argv):
    assert cli.main([str(a) for a in argv]) == 0


def _assert_sound_kept(path, source, rate):
    (a,) = audio_streams(path)
    (s,) = audio_streams(source)
    assert (a.sample_rate, a.channels) == (s.sample_rate, s.channels)
    assert abs(click_time(path) - CLICK_AT) <= 1 / float(rate)  # within one output frame


@pytest.mark.parametrize("command", [
    ("fix",), ("fix", "--method", "ffmpeg"), ("ffmpeg-fix",),
    ("interpolate", "--multiplier", "2", "--backend", "flow"),
])
def test_video_to_video_commands_keep_the_sound_in_sync(tone, tmp_path, command):
    out = tmp_path / "out.mp4"
    _run(command[0], tone, out, *command[1:])
    m = 2 if command[0] == "interpolate" else 1
    info = media.probe_media(str(out))
    assert info.rate == RATE * m  # exact: 48000/1001 after x2, not 47.95
    assert info.frame_count == (36 - 1) * m + 1
    _assert_sound_kept(str(out), tone, info.rate)
    # a copied stream: the same codec, untouched
    assert audio_streams(str(out))[0].codec == "aac"


def test_compare_keeps_the_first_clips_sound_and_slows_it_with_the_pictures(tone, tmp_path, capsys):
    silent = make_clip(str(tmp_path / "silent.mp4"), layout=None)
    out = tmp_path / "cmp.mp4"
    _run("compare", tone, silent, out, "--slow", "1")
    _assert_sound_kept(str(out), tone, RATE)
    slow = tmp_path / "cmp_slow.mp4"
    _run("compare", tone, silent, slow, "--slow", "2")
    assert media.probe_media(str(slow)).rate == RATE / 2
    assert abs(click_time(str(slow)) - 2 * CLICK_AT) <= 2 / float(RATE)  # the click stays on its frame
    assert "0.5x speed" in capsys.readouterr().err


def test_silent_source_gives_no_audio_stream(tmp_path):
    silent = make_clip(str(tmp_path / "silent.mp4"), layout=None)
    out = tmp_path / "out.mp4"
    _run("ffmpeg-fix", silent, out)
    assert audio_streams(str(out)) == ()
    assert SourceAudio.of(str(out)) is None and read_audio(str(out)) is None


@pytest.mark.parametrize("layout,sample_rate,codec", [
    ("5.1", 48000, "aac"), ("mono", 8000, "aac"), ("stereo", 96000, "aac"), ("stereo", 44100, "pcm_s16le"),
])
def test_channel_layouts_and_sample_rates_survive(tmp_path, layout, sample_rate, codec):
    src = make_clip(str(tmp_path / "src.mkv"), layout=layout, sample_rate=sample_rate, audio_codec=codec)
    out = tmp_path / "out.mp4"
    _run("ffmpeg-fix", src, out)
    (a,) = audio_streams(str(out))
    (s,) = audio_streams(src)
    assert (a.sample_rate, a.channels) == (sample_rate, s.channels)
    assert abs(click_time(str(out)) - CLICK_AT) <= 1 / float(RATE)


def test_pcm_cannot_go_into_mp4_untouched_so_it_is_reencoded_with_a_line(tmp_path, capsys):
    src = make_clip(str(tmp_path / "src.mov"), audio_codec="pcm_s16le")
    _run("ffmpeg-fix", src, tmp_path / "out.mp4")
    assert "re-encoded as AAC" in capsys.readouterr().err
    assert audio_streams(str(tmp_path / "out.mp4"))[0].codec == "aac"
    # .mov takes PCM as it is
    _run("ffmpeg-fix", src, tmp_path / "out.mov", "--format", "prores-hq")
    assert audio_streams(str(tmp_path / "out.mov"))[0].codec == "pcm_s16le"


def test_every_audio_stream_is_kept(tmp_path):
    src = make_clip(str(tmp_path / "two.mkv"), extra=("-map", "1:a"))  # the tone twice: two audio streams
    assert len(audio_streams(src)) == 2
    _run("ffmpeg-fix", src, tmp_path / "out.mkv", "--format", "ffv1")
    assert len(audio_streams(str(tmp_path / "out.mkv"))) == 2
    assert abs(click_time(str(tmp_path / "out.mkv"), stream=1) - CLICK_AT) <= 1 / float(RATE)


def test_sound_is_cut_to_a_shorter_video_and_padded_to_a_longer_one(tone, tmp_path):
    frames, info = video.read_video(tone, video.ReadOptions(frame_load_cap=12))
    short = str(tmp_path / "short.mp4")
    video.write_video(short, frames, info.exact_rate, audio=SourceAudio.of(tone))
    pcm = read_audio(short)
    assert abs(pcm.waveform.shape[1] / pcm.sample_rate - 12 / float(RATE)) < 0.03
    # a waveform shorter than the video is padded with silence to its end
    wave = np.full((2, 4800), 0.5, np.float32)
    long = str(tmp_path / "long.mp4")
    video.write_video(long, frames, info.exact_rate, audio=PcmAudio(wave, 48000))
    pcm = read_audio(long)
    assert abs(pcm.waveform.shape[1] / 48000 - 12 / float(RATE)) < 0.03
    assert np.abs(pcm.waveform[:, -2000:]).max() < 0.01


def test_damaged_audio_stream_still_gives_the_fixed_video_with_a_warning(tone, tmp_path, capsys):
    from unflicker.media import ffmpeg

    damaged = str(tmp_path / "damaged.mkv")
    # corrupt every audio packet's bits (FFmpeg's own noise bitstream filter); the video stays intact
    ffmpeg.run(["-i", tone, "-c", "copy", "-bsf:a", "noise=amount=4", damaged])
    out = tmp_path / "out.mp4"
    _run("ffmpeg-fix", damaged, out)
    err = capsys.readouterr().err
    assert "audio stream #1 (aac, 48000 Hz, stereo)" in err and "damaged.mkv" in err
    assert media.probe_media(str(out)).frame_count == 36


@pytest.mark.parametrize("faststart", [False, True])
def test_truncated_video_gives_a_clear_error_and_leaves_nothing(tone, tmp_path_factory, capsys, faststart):
    tmp_path = tmp_path_factory.mktemp("cut")
    src = tone
    if faststart:  # index first: the header reads fine, the pictures run out part-way
        src = str(tmp_path_factory.mktemp("src") / "indexed.mp4")
        _run("ffmpeg-fix", tone, src)
    data = open(src, "rb").read()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    out = tmp_path / "out.mp4"
    assert cli.main(["ffmpeg-fix", str(cut), str(out)]) == 2
    assert "truncated" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["cut.mp4"]  # no output, no partial file


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_formats_without_sound_say_so(tone, tmp_path, capsys, fmt):
    out = tmp_path / f"out.{fmt}"
    _run("ffmpeg-fix", tone, out)
    assert f"{fmt} cannot hold sound: audio stream #1 (aac, 48000 Hz, stereo) left out" in capsys.readouterr().err
    frames, _ = video.read_video(str(out))
    assert len(frames) == 36


@pytest.mark.parametrize("skip,nth,force", [(6, 1, 0), (6, 2, 0), (6, 3, 0), (5, 2, 12.0)])
def test_a_selections_sound_starts_where_its_first_frame_does(tone, skip, nth, force):
    from unflicker.media.selection import read_selection
    from unflicker.settings import ReadOptions

    options = ReadOptions(force_rate=force, skip_first_frames=skip, select_every_nth=nth)
    frames, info, sound = read_selection(tone, options)
    first_frame_at = skip / (force or RATE)  # skipped frames are counted at the source's (or forced) rate
    click = float(np.argmax(np.abs(sound.waveform).max(axis=0)) / sound.sample_rate)
    assert abs(click - (CLICK_AT - first_frame_at)) < 1e-3
    played = len(frames) / info.exact_rate  # the frames' playing time, cut where the source's sound ends
    assert abs(sound.waveform.shape[1] / sound.sample_rate - min(played, 1.5 - first_frame_at)) < 5e-3

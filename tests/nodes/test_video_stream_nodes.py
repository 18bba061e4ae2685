"""VIDEO/AUDIO nodes as ComfyUI calls them: sound from Load Video to Save Video, the streamed VIDEO nodes,
workflow metadata, no overwrites, interrupt."""

import json
import os

import pytest
import torch

from unflicker.media import probe as media, video

from media_cases import CLICK_AT, RATE, audio_streams, click_time, make_clip


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    return make_clip(str(tmp_path_factory.mktemp("tone") / "tone.mp4"))


def _video(path):
    from comfy_api.input_impl import VideoFromFile

    return VideoFromFile(path)


def _file(v):
    return v.get_stream_source()


def test_load_deflicker_save_with_audio_wired(pack, comfy_dirs, tone):
    images, fps, count, audio = pack.nodes.video_io.LoadVideo().load("", 0.0, 0, 1, 0, path=tone)
    assert audio["sample_rate"] == 48000 and tuple(audio["waveform"].shape[:2]) == (1, 2)
    assert audio["waveform"].dtype == torch.float32
    (fixed,) = pack.nodes.deflicker.Deflicker().deflicker(images, "auto", 1.0, 9, fps=fps)
    workflow = {"nodes": [{"id": 1, "type": "UnflickerLoadVideo"}], "links": []}
    prompt = {"1": {"class_type": "UnflickerLoadVideo", "inputs": {"path": tone}}}
    out = pack.nodes.video_io.SaveVideo().save(fixed, fps, "sound/fixed", "mp4", 18, audio=audio, prompt=prompt,
                                               extra_pnginfo={"workflow": workflow})
    path = out["result"][0]
    (a,) = audio_streams(path)
    assert (a.sample_rate, a.channels) == (48000, 2)
    assert abs(click_time(path) - CLICK_AT) <= 1 / float(RATE)
    info = media.probe_media(path)
    assert info.rate == RATE and info.frame_count == count  # FLOAT fps 23.976... saved as 24000/1001
    tags = media.read_metadata(path)
    assert json.loads(tags["workflow"]) == workflow and json.loads(tags["prompt"]) == prompt


def test_load_video_cuts_the_sound_to_the_selection(pack, tone):
    _, fps, count, audio = pack.nodes.video_io.LoadVideo().load("", 0.0, 12, 1, 12, path=tone)
    sr = audio["sample_rate"]
    assert abs(audio["waveform"].shape[-1] / sr - 12 / float(RATE)) < 0.01
    # frames 12..23 span 0.5 s - 1.0 s: the click at 1.0 s sits right at the end
    peak = int(audio["waveform"][0].abs().max(0).values.argmax())
    assert abs(peak / sr - (CLICK_AT - 12 / float(RATE))) <= 1 / float(RATE)


def test_save_video_never_overwrites(pack, comfy_dirs):
    images = torch.rand(3, 16, 16, 3)
    folder = os.path.join(comfy_dirs.get_output_directory(), "keep")
    os.makedirs(folder)
    open(os.path.join(folder, "clip_00001_.mkv"), "wb").write(b"precious")
    first = pack.nodes.video_io.SaveVideo().save(images, 8.0, "keep/clip", "ffv1", 0)["result"][0]
    second = pack.nodes.video_io.SaveVideo().save(images, 8.0, "keep/clip", "ffv1", 0)["result"][0]
    assert open(os.path.join(folder, "clip_00001_.mkv"), "rb").read() == b"precious"
    assert first.endswith("clip_00002_.mkv") and second.endswith("clip_00003_.mkv")


def test_save_video_every_format(pack, comfy_dirs):
    images = torch.rand(4, 48, 64, 3)
    for fmt in video.WRITE_FORMATS:
        out = pack.nodes.video_io.SaveVideo().save(images, 12.0, "formats/x", fmt, 18)
        frames, info = video.read_video(out["result"][0])
        assert len(frames) == 4 and (info.width, info.height) == (64, 48), fmt


@pytest.mark.parametrize("module,node,args,m", [
    ("ffmpeg_fix", "VideoFFmpegDeflickerDeband", (True, 5, "am", True, 0.02, 16, False), 1),
    ("deflicker", "VideoDeflicker", ("auto", 1.0, 9), 1),
    ("interpolate", "VideoInterpolate", (2, "(none)", "flow", 0.5, -1, 1, False, False), 2),
])
def test_video_nodes_stream_and_keep_sound_rate_and_count(pack, comfy_dirs, tone, module, node, args, m):
    cls = getattr(getattr(pack.nodes, module), node)
    if node == "VideoInterpolate":
        args = (args[0], cls.INPUT_TYPES()["required"]["model"][0][0], *args[2:])
    result = getattr(cls(), cls.FUNCTION)(_video(tone), *args)
    path = _file(result[0])
    assert path.startswith(comfy_dirs.get_temp_directory())
    info = media.probe_media(path)
    assert info.rate == RATE * m and info.frame_count == (36 - 1) * m + 1
    (a,) = audio_streams(path)
    assert (a.sample_rate, a.channels) == (48000, 2) and a.codec == "aac"
    assert abs(click_time(path) - CLICK_AT) <= 1 / float(info.rate)
    # core's Save Video writes the VIDEO with save_to
    saved = os.path.join(comfy_dirs.get_output_directory(), "saved.mp4")
    result[0].save_to(saved, metadata={"prompt": {"1": {}}})
    assert media.probe_media(saved).frame_count == info.frame_count and audio_streams(saved)


def test_video_node_from_bytes_and_silent_source(pack, comfy_dirs, tmp_path):
    import io

    from comfy_api.input_impl import VideoFromFile

    silent = make_clip(str(tmp_path / "silent.mp4"), layout=None)
    (out,) = pack.nodes.deflicker.VideoDeflicker().deflicker(VideoFromFile(io.BytesIO(open(silent, "rb").read())),
                                                              "brightness", 1.0, 5)
    assert audio_streams(_file(out)) == ()
    assert os.listdir(os.path.join(comfy_dirs.get_temp_directory(), "unflicker")) == [os.path.basename(_file(out))]


def test_video_analyze(pack, tone):
    out = pack.nodes.analysis.VideoAnalyzeFlicker().analyze(_video(tone))
    report, js, chart, verdict = out["result"]
    assert json.loads(js)["frame_count"] == 36 and chart.shape[0] == 1 and verdict


def test_video_deflicker_takes_the_video_analyzers_diagnosis(pack, comfy_dirs, tone):
    """Analyze Flicker (VIDEO)'s json drives Deflicker (VIDEO) as on IMAGE: a diagnosis naming no flicker kind
    returns the VIDEO itself (nothing re-encoded); one naming brightness runs the brightness stage."""
    source = _video(tone)
    steady = json.dumps({"kinds": ["steady"]})
    (out,) = pack.nodes.deflicker.VideoDeflicker().deflicker(source, "auto", 1.0, 5, diagnosis=steady)
    assert out is source
    flicker = json.dumps({"kinds": ["brightness"]})
    (fixed,) = pack.nodes.deflicker.VideoDeflicker().deflicker(source, "auto", 1.0, 5, diagnosis=flicker)
    assert fixed is not source and video.probe(_file(fixed)).frame_count == 36


def test_interrupt_removes_the_partial_file(pack, comfy_dirs, tone):
    import comfy.model_management as mm

    if not hasattr(mm, "interrupt_current_processing"):
        pytest.skip("needs ComfyUI's interrupt flag")
    mm.interrupt_current_processing(True)
    with pytest.raises(mm.InterruptProcessingException):
        pack.nodes.deflicker.VideoDeflicker().deflicker(_video(tone), "auto", 1.0, 9)
    temp = os.path.join(comfy_dirs.get_temp_directory(), "unflicker")
    assert not os.path.isdir(temp) or os.listdir(temp) == []


def test_side_by_side_keeps_the_first_clips_sound_slowed_with_the_pictures(pack, comfy_dirs, tone):
    images, fps, count, audio = pack.nodes.video_io.LoadVideo().load("", 0.0, 0, 1, 0, path=tone)
    out = pack.nodes.compare.SideBySide().compare(images, images, "a", "b", fps, 2.0, audio_a=audio)
    stacked, slow_fps, slow_audio = out["result"]
    assert slow_audio["sample_rate"] == 48000
    assert abs(slow_audio["waveform"].shape[-1] / 48000 - 2 * count / float(RATE)) < 0.05
    path = pack.nodes.video_io.SaveVideo().save(stacked, slow_fps, "sbs/x", "mp4", 23, audio=slow_audio)["result"][0]
    assert media.probe_media(path).rate == RATE / 2
    assert abs(click_time(path) - 2 * CLICK_AT) <= 1 / float(RATE / 2)  # the click stays on its frame
    preview = os.path.join(comfy_dirs.get_temp_directory(), out["ui"]["unflicker_video"][0]["filename"])
    assert audio_streams(preview)


@pytest.mark.usefixtures("one_torch_thread")
def test_video_interpolate_runs_a_weight_file_on_comfys_device_at_a_target_rate(pack, comfy_dirs, tone):
    # the VIDEO node takes the RIFE node's options and runs a weight file through ComfyUI's model management
    import shutil

    import comfy.model_management
    import folder_paths

    from interp_weights import save, tiny_v4, v4_file_state
    from unflicker.fix import interpolate
    from unflicker.operation import Source
    from unflicker.settings import InterpolateSettings

    root = os.path.join(folder_paths.models_dir, "frame_interpolation")
    os.makedirs(root, exist_ok=True)
    save(v4_file_state(tiny_v4("4.26"), "comfy"), os.path.join(root, "tiny_v4.26.safetensors"))
    try:
        cls = pack.nodes.interpolate.VideoInterpolate
        assert {"target_fps", "loop", "batch_size", "max_side"} <= set(cls.INPUT_TYPES()["optional"])
        result, backend = cls().interpolate(_video(tone), 2, "tiny_v4.26.safetensors", "auto", 0.5, -1, 1, False,
                                            False, target_fps=59.94, loop=True, batch_size=2)
        assert backend.startswith("torch RIFE v4.25/v4.26") and "on cpu" in backend and "59.94 fps, loop" in backend
        managed = pack.nodes.interpolate._managed
        assert comfy.model_management.LOADED[-1].model is managed.kept()[-1].model
        info = media.probe_media(_file(result))
        # 24000/1001 -> 60000/1001: exactly x2.5, 36 frames with the wrap -> 90
        plan = interpolate.plan(Source(64, 64, 36, RATE), InterpolateSettings(target_fps=59.94, loop=True, backend="flow"))
        assert info.rate == plan.rate == RATE * 5 / 2 and info.frame_count == plan.frame_count == 90
        (a,) = audio_streams(_file(result))
        assert (a.sample_rate, a.channels) == (48000, 2)
        assert abs(click_time(_file(result)) - CLICK_AT) <= 1 / float(info.rate)
        with pytest.raises(pack.unflicker.errors.UnflickerError, match="backend torch needs a model"):
            cls().interpolate(_video(tone), 2, pack.nodes.interpolate.NO_MODELS, "torch", 0.5, -1, 1, False, False)
    finally:
        shutil.rmtree(root, ignore_errors=True)

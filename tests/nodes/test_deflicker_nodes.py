"""Deflicker (flow-guided) node through the pack as ComfyUI loads it; the fix command; the demo's new output."""

import os

import numpy as np
import pytest
import torch

from unflicker import cli
from unflicker.kinds import DEFLICKER_MODES
from unflicker.settings import DeflickerSettings
from unflicker.measure import metrics
from unflicker.media import synthetic, video


def _clip(n=12, h=64, w=80):
    clean = synthetic.moving_clip("pan", n, h, w, seed=4, speed=1.5)
    return clean, synthetic.inject("brightness", clean, seed=4)


def test_node_is_registered(pack):
    cls, title = pack.nodes.NODES["UnflickerDeflicker"]
    assert title == "Deflicker (flow-guided)"
    assert pack.NODE_CLASS_MAPPINGS["UnflickerDeflicker"] is cls
    req = cls.INPUT_TYPES()["required"]
    assert req["mode"][0] == list(DEFLICKER_MODES) and req["mode"][1]["default"] == "auto"
    assert req["window"][1]["default"] == DeflickerSettings.default("window")
    assert cls.CATEGORY.startswith("Unflicker/")


def test_node_fixes_an_image_batch_and_moves_the_bar(pack):
    import comfy.utils

    clean, bad = _clip()
    images = torch.from_numpy(bad).float() / 255.0
    node = pack.nodes.deflicker.Deflicker()
    comfy.utils.UPDATES.clear()
    (out,) = node.deflicker(images, "brightness", 1.0, 9, fps=8.0)
    assert out.shape == images.shape and out.dtype == torch.float32
    fixed = (out.numpy() * 255).round().astype(np.uint8)
    assert metrics.psnr(fixed, clean) >= metrics.psnr(bad, clean) + 5.0
    # two steps per frame (measure the whole batch, then correct it), the bar ends full
    assert comfy.utils.UPDATES[-1] == (2 * len(bad), 2 * len(bad))
    assert [done for done, _ in comfy.utils.UPDATES] == list(range(1, 2 * len(bad) + 1))


def test_node_stops_on_interrupt(pack):
    import comfy.model_management as mm

    _, bad = _clip()
    node = pack.nodes.deflicker.Deflicker()
    mm.interrupt_current_processing(True)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            node.deflicker(torch.from_numpy(bad).float() / 255.0, "auto", 1.0, 9)
    finally:
        mm.interrupt_current_processing(False)


def test_node_refuses_bad_settings(pack):
    node = pack.nodes.deflicker.Deflicker()
    with pytest.raises(pack.unflicker.errors.UnflickerError, match="strength"):
        node.deflicker(torch.zeros((2, 16, 16, 3)), "auto", 2.0, 9)


def test_fix_command_matches_the_engine_and_writes_files(tmp_path):
    fix = cli.build_parser().parse_args(["fix", "a.mp4", "b.mp4"])  # defaults from the one settings class
    assert (fix.mode, fix.window, fix.strength) == ("auto", DeflickerSettings.default("window"), 1.0)
    # 2 s of video: the brightness trend is told from flicker over that long (a 12-frame clip is 1.5 s)
    clean, bad = _clip(n=16)
    src = video.write_video(str(tmp_path / "in.mp4"), bad, 8.0, crf=10)
    for method, extra in (("auto", []), ("flow", ["--mode", "regional", "--strength", "0.8"]), ("ffmpeg", [])):
        dst = str(tmp_path / f"{method}.mp4")
        assert cli.main(["fix", src, dst, "--method", method, *extra]) == 0
        out, info = video.read_video(dst)
        assert len(out) == len(bad) and (info.width, info.height) == (80, 64)
    flow_out, _ = video.read_video(str(tmp_path / "auto.mp4"))
    assert metrics.psnr(flow_out, clean) > metrics.psnr(bad, clean) + 3.0


def test_fix_command_refuses_bad_arguments(tmp_path, capsys):
    _, bad = _clip(4)
    src = video.write_video(str(tmp_path / "in.mp4"), bad, 8.0)
    assert cli.main(["fix", src, str(tmp_path / "o.mp4"), "--window", "99"]) == 2
    assert "window" in capsys.readouterr().err
    assert cli.main(["fix", src, str(tmp_path / "o.mp4"), "--method", "ffmpeg", "--mode", "colour"]) == 2
    assert not os.path.exists(tmp_path / "o.mp4")


def test_demo_writes_our_fix_beside_ffmpegs(tmp_path):
    from unflicker.demo import run_demo

    report = run_demo(str(tmp_path), frames=12, height=64, width=80)
    for name in ("sample_flickering.mp4", "fixed_ffmpeg.mp4", "side_by_side.mp4", "fixed_flow.mp4", "report.txt"):
        assert (tmp_path / name).exists(), name
    assert "flow-guided" in report and "PSNR vs clean" in report


def test_auto_mode_follows_the_analyzers_diagnosis(pack):
    clean, bad = _clip(n=16, h=96, w=128)
    analyze = pack.nodes.analysis.AnalyzeFlicker()
    node = pack.nodes.deflicker.Deflicker()

    def diagnosis(clip):
        out = analyze.analyze(torch.from_numpy(clip).float() / 255.0, 8.0)
        return out["result"][1] if isinstance(out, dict) else out[1]

    flickering = diagnosis(bad)
    assert "brightness" in pack.unflicker.analysis.kinds_from_json(flickering)
    (out,) = node.deflicker(torch.from_numpy(bad).float() / 255.0, "auto", 1.0, 9, fps=8.0, diagnosis=flickering)
    fixed = (out.numpy() * 255).round().astype(np.uint8)
    assert metrics.psnr(fixed, clean) >= metrics.psnr(bad, clean) + 5.0

    steady = diagnosis(clean)
    assert pack.unflicker.analysis.kinds_from_json(steady) == ["steady"]
    images = torch.from_numpy(clean).float() / 255.0
    (out,) = node.deflicker(images, "auto", 1.0, 9, fps=8.0, diagnosis=steady)
    assert out is images  # nothing to fix: untouched


def test_diagnosis_must_be_the_analyzers_json(pack):
    _, bad = _clip()
    node = pack.nodes.deflicker.Deflicker()
    with pytest.raises(ValueError, match="diagnosis must be"):
        node.deflicker(torch.from_numpy(bad).float() / 255.0, "auto", 1.0, 9, diagnosis="not json")
    with pytest.raises(ValueError, match="diagnosis kinds"):
        node.deflicker(torch.from_numpy(bad).float() / 255.0, "auto", 1.0, 9, diagnosis='{"kinds": ["drawtext"]}')


@pytest.mark.parametrize("height, width", [(1, 1), (2, 2), (16, 2000)])
def test_nodes_take_any_size(pack, height, width):
    """Both fixes' IMAGE nodes on tiny frames and a long strip: every frame back, the size kept."""
    rng = np.random.default_rng(width)
    clip = rng.integers(0, 255, (6, height, width, 3), dtype=np.uint8)
    images = torch.from_numpy(clip).float() / 255.0
    (out,) = pack.nodes.deflicker.Deflicker().deflicker(images, "all", 1.0, 9, fps=8.0)
    assert out.shape == images.shape
    (out,) = pack.nodes.ffmpeg_fix.FFmpegDeflickerDeband().fix(images, True, 5, "am", True, 0.02, 16, False)
    assert out.shape == images.shape


def test_fix_command_takes_a_long_strip(tmp_path):
    clip = np.random.default_rng(3).integers(0, 255, (6, 16, 2000, 3), dtype=np.uint8)
    src = video.write_video(str(tmp_path / "strip.mkv"), clip, 8.0, "ffv1")
    for method in ("flow", "ffmpeg"):
        dst = str(tmp_path / f"{method}.mkv")
        assert cli.main(["fix", src, dst, "--method", method]) == 0
        out, info = video.read_video(dst)
        assert len(out) == len(clip) and (info.width, info.height) == (2000, 16)

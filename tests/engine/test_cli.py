"""The command line as a user runs it: python -m unflicker ..."""

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from unflicker.media import synthetic, video


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "unflicker", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def flickering_file(tmp_path_factory):
    clean = synthetic.moving_clip("pan", frames=20, height=64, width=80, seed=4)
    pumped, _ = synthetic.brightness_flicker(clean, amplitude=0.12, seed=4)
    path = str(tmp_path_factory.mktemp("cli") / "in.mp4")
    video.write_video(path, pumped, fps=10, crf=12)
    return path


def test_demo_writes_its_outputs_into_the_current_folder(tmp_path):
    proc = run_cli("demo", "--frames", "24", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "unflicker-demo"
    for name in ("sample_flickering.mp4", "fixed_ffmpeg.mp4", "side_by_side.mp4", "report.txt"):
        assert (out / name).is_file(), name
    assert "std of per-frame mean luma" in (out / "report.txt").read_text()
    assert "std of per-frame mean luma" in proc.stdout


def test_ffmpeg_fix_on_files(tmp_path, flickering_file):
    out = str(tmp_path / "fixed.mp4")
    proc = run_cli("ffmpeg-fix", flickering_file, out, "--crf", "16", "--preset", "veryfast")
    assert proc.returncode == 0, proc.stderr
    frames, info = video.read_video(out)
    assert len(frames) == 20 and info.fps == pytest.approx(10)


def test_hostile_values_are_refused_and_nothing_is_written(tmp_path, flickering_file):
    out = tmp_path / "never.mp4"
    proc = run_cli("ffmpeg-fix", flickering_file, str(out), "--mode", "am,drawtext=text=x")
    assert proc.returncode == 2 and "mode must be one of" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    proc = run_cli("ffmpeg-fix", "missing.mp4", str(out))
    assert proc.returncode == 2 and "not found" in proc.stderr
    assert not out.exists()


def test_compare_slows_playback(tmp_path, flickering_file):
    out = str(tmp_path / "sbs.mp4")
    proc = run_cli("compare", flickering_file, flickering_file, out, "--slow", "4")
    assert proc.returncode == 0, proc.stderr
    frames, info = video.read_video(out)
    assert info.fps == pytest.approx(2.5) and frames.shape[2] == 2 * 80 + 4

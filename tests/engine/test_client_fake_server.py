"""The client's whole path on CI, against tests/support/fake_comfy.py: queue, websocket progress, history, downloads,
uploads, and the server's refusals and failures as clear messages (the real ComfyUI: test_e2e_comfyui.py)."""

import json
import os
import subprocess
import sys

import pytest

from fake_comfy import FakeComfy
from unflicker.comfy.client import ComfyClient, ExecutionFailed, PromptRejected
from unflicker.comfy.object_info import offline_object_info
from unflicker.comfy.workflow import api_twin_path, bundled_workflows, load_workflow
from conftest import REPO

UI = next(p for p in bundled_workflows() if os.path.basename(p) == "codec_fix.json")  # its node ids are used below
API = api_twin_path(UI)


@pytest.fixture(scope="module")
def server(pack):
    with FakeComfy(offline_object_info()) as fake:
        yield fake


def test_run_follows_progress_and_downloads_outputs(server, tmp_path, capsys):
    logs = []
    result = ComfyClient(server.url, timeout=60).run(load_workflow(API), ["2.size=7"], str(tmp_path),
                                                     progress=True, log=logs.append)
    assert server.prompts[-1]["2"]["inputs"]["size"] == 7
    api = load_workflow(API)
    saves = sorted(nid for nid, e in api.items() if e["class_type"] == "UnflickerSaveVideo")
    assert sorted(result.outputs) == saves  # from the history, filed after success
    # one file per output node: images/unflicker_video list the same file once, temp previews are skipped
    assert sorted(os.path.relpath(f, tmp_path) for f in result.files) == \
        [os.path.join("Unflicker", f"{nid}_00001.mp4") for nid in saves]
    for f in result.files:
        assert open(f, "rb").read().startswith(b"video of node")
    assert any(line.startswith("saved ") for line in logs)
    err = capsys.readouterr().err
    assert "node 2 FFmpeg Deflicker + Deband" in err and "3/3" in err  # one progress bar per node


def test_ui_format_is_converted_with_the_servers_definitions(server, tmp_path):
    result = ComfyClient(server.url).run(load_workflow(UI), [], str(tmp_path), progress=False, log=lambda _: None)
    assert server.prompts[-1] == load_workflow(API)
    assert result.files


def test_local_file_is_uploaded_for_an_upload_input(server, tmp_path):
    clip = tmp_path / "mine.mp4"
    clip.write_bytes(b"not really a video")
    ComfyClient(server.url).run(load_workflow(API), [f"Load Video (Unflicker).video={clip}"], None,
                                progress=False, log=lambda _: None)
    assert "mine.mp4" in server.uploads
    assert server.prompts[-1]["1"]["inputs"]["video"] == "unflicker/mine.mp4"


def test_refused_workflow_carries_each_nodes_message(server):
    with pytest.raises(PromptRejected) as info:
        ComfyClient(server.url).run(load_workflow(API), ["2.mode=bogus"], None, progress=False, log=lambda _: None)
    assert "node 2 (FFmpeg Deflicker + Deband, UnflickerFFmpegDeflickerDeband)" in str(info.value)
    assert "'bogus' is not one of the allowed values" in str(info.value)


def test_failing_node_raises_with_its_message(server):
    with pytest.raises(ExecutionFailed, match=r"node 3 \(Save fixed video, UnflickerSaveVideo\) failed: "
                                              r"FAIL: no room"):
        ComfyClient(server.url).run(load_workflow(API), ["3.filename_prefix=FAIL: no room"], None,
                                    progress=False, log=lambda _: None)


@pytest.mark.parametrize("sets, expect", [
    (["2.mode=bogus"], "ComfyUI refused the workflow"),
    (["3.filename_prefix=FAIL: disk full"], "failed: FAIL: disk full"),
])
def test_cli_errors_exit_nonzero_without_traceback(server, tmp_path, sets, expect):
    args = [a for s in sets for a in ("--set", s)]
    proc = subprocess.run([sys.executable, "-m", "unflicker", "run", API, "--server", server.url, "--out",
                           str(tmp_path), "--no-progress", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and expect in proc.stderr and "Traceback" not in proc.stderr + proc.stdout


def test_unknown_node_type_in_api_workflow(server, tmp_path):
    api = load_workflow(API)
    api["2"]["class_type"] = "NoSuchNode"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(api))
    proc = subprocess.run([sys.executable, "-m", "unflicker", "run", str(path), "--server", server.url,
                           "--no-progress"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "node NoSuchNode does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr

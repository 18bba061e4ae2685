"""The headless client without a server: unreachable server, readable server errors, CLI exit codes.

Runs against a real ComfyUI are in test_e2e_comfyui.py (COMFYUI_DIR)."""

import os
import socket
import subprocess
import sys

import pytest

from unflicker.comfy.client import ComfyClient, ServerUnreachable, _safe_parts, format_execution_error, format_rejection
from unflicker.comfy.workflow import bundled_workflows
from conftest import REPO



def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the with-block ends: nothing listens there


def test_stopped_server_is_a_clear_error():
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(ServerUnreachable, match=f"cannot reach ComfyUI at {url}"):
        ComfyClient(url).object_info()


def test_cli_against_stopped_server_exits_nonzero_without_traceback():
    url = f"http://127.0.0.1:{_closed_port()}"
    proc = subprocess.run([sys.executable, "-m", "unflicker", "run", bundled_workflows()[0], "--server", url],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert f"cannot reach ComfyUI at {url}" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_cli_bad_override_exits_nonzero_without_traceback(tmp_path):
    api = os.path.join(os.path.dirname(bundled_workflows()[0]), "api", os.path.basename(bundled_workflows()[0]))
    proc = subprocess.run([sys.executable, "-m", "unflicker", "run", api, "--set", "nonsense",
                           "--server", f"http://127.0.0.1:{_closed_port()}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "NODE.INPUT=VALUE" in proc.stderr and "Traceback" not in proc.stderr


def test_rejection_lists_each_node_message_once():
    api = {"2": {"class_type": "UnflickerFFmpegDeflickerDeband", "inputs": {}, "_meta": {"title": "Fix"}},
           "1": {"class_type": "UnflickerLoadVideo", "inputs": {}, "_meta": {"title": "Load"}}}
    answer = {  # the shape of ComfyUI's HTTP 400 answer from POST /prompt
        "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                  "details": "", "extra_info": {}},
        "node_errors": {
            "2": {"errors": [{"type": "value_not_in_list", "message": "Value not in list",
                              "details": "mode: 'bogus' not in ['am', 'gm']", "extra_info": {}}],
                  "dependent_outputs": ["3"], "class_type": "UnflickerFFmpegDeflickerDeband"},
            "1": {"errors": [{"type": "custom_validation_failed", "message": "Custom validation failed for node",
                              "details": f"{name} - video not found: 'x.mp4'", "extra_info": {}}
                             for name in ("video", "force_rate", "path")],
                  "dependent_outputs": ["3"], "class_type": "UnflickerLoadVideo"}}}
    text = format_rejection(answer, api)
    assert text.splitlines() == [
        "ComfyUI refused the workflow: Prompt outputs failed validation",
        "  node 2 (Fix, UnflickerFFmpegDeflickerDeband): Value not in list: mode: 'bogus' not in ['am', 'gm']",
        "  node 1 (Load, UnflickerLoadVideo): Custom validation failed for node: video not found: 'x.mp4'",
    ]


def test_execution_error_names_the_node():
    api = {"3": {"class_type": "UnflickerSaveVideo", "inputs": {}, "_meta": {"title": "Save"}}}
    data = {"prompt_id": "p", "node_id": "3", "node_type": "UnflickerSaveVideo", "executed": [],
            "exception_message": "filename_prefix '../x' is not allowed\n", "exception_type": "UnflickerError",
            "traceback": ["..."]}
    assert format_execution_error(data, api) == \
        "node 3 (Save, UnflickerSaveVideo) failed: filename_prefix '../x' is not allowed"


def test_downloads_stay_inside_the_output_folder():
    assert _safe_parts("../../etc") == ["etc"]
    assert _safe_parts("Unflicker/sub") == ["Unflicker", "sub"]
    assert _safe_parts("C:/x") == ["x"]

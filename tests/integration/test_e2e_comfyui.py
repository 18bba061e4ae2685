"""End to end in a real ComfyUI: the pack loads, /object_info lists every node, the bundled workflows are served
as templates and run through the headless client, and failures come back as clear messages.

Needs a ComfyUI checkout: ``COMFYUI_DIR=/path/to/ComfyUI python -m pytest tests/integration/test_e2e_comfyui.py``; the server
runs with COMFYUI_PYTHON, else a venv in/beside the checkout, else this Python (see tests/support/comfy_server.py).
The server python needs the pack's requirements.txt (e.g. peft for motion LoRAs), as ComfyUI-Manager installs them.
Nothing is written into the checkout. Set UNFLICKER_E2E_SUMMARY=FILE to also keep the summary in a file.

Every bundled workflow's API twin runs with test inputs: a synthetic clip uploaded to each Load Video (core's or
ours; the clip with sound for the workflows in SOUND_WORKFLOWS), a frame to each Load Image, and the small settings
in NODE_OVERRIDES for each node of a listed type (tiny models, few frames); EXPECTED_SAVES gives the frames, rate
and sound each named output must have. Every workflow that names an interpolation model runs a second time on a
server with no models/rife folder and only one other file in models/frame_interpolation (the model it names is
missing: auto falls back to flow). Adding a workflow whose nodes need models: build a tiny one in
tests/support/e2e_models.py (ComfyUI folder names, served through extra_model_paths) and add the node type's
settings to NODE_OVERRIDES (or to WORKFLOW_OVERRIDES for one workflow only).
"""

import json
import os
import socket
import subprocess
import sys
import time

from fractions import Fraction

import pytest

from e2e_models import INSTALLED, INTERPOLATION_FILES, MODEL_FOLDERS, install_core_interpolation_only, \
    install_test_models
from unflicker.fix.interpolate.timing import output_count
from unflicker.media import synthetic, video
from unflicker.comfy.client import ComfyClient
from unflicker.comfy.workflow import api_twin_path, bundled_workflows, check_workflow, load_workflow
from conftest import FIXTURES, REPO

COMFYUI_DIR = os.environ.get("COMFYUI_DIR", "")
pytestmark = [pytest.mark.comfyui,
              pytest.mark.skipif(not COMFYUI_DIR, reason="COMFYUI_DIR is not set: the end-to-end tests need a "
                                                         "real ComfyUI checkout")]

BUNDLED = bundled_workflows()
CODEC_FIX = next(p for p in BUNDLED if os.path.basename(p) == "codec_fix.json")  # error cases use its node types
CLIP_FRAMES = 12
WAN_SPLIT = os.path.join(FIXTURES, "wan_split")
# node type -> inputs set on every node of that type for the test run: tiny models, small sizes, few steps.
NODE_OVERRIDES: dict[str, dict] = {
    "UnflickerSVDLoader": {"model": "tiny-svd"},
    "UnflickerSVDGenerate": {"width": 64, "height": 64, "num_frames": 4, "steps": 2, "decode_chunk_size": 4},
    "UnflickerSVDExtend": {"width": 64, "height": 64, "num_frames": 4, "steps": 2, "decode_chunk_size": 4,
                           "segments": 2},
    "UnflickerRIFEInterpolate": {"threads": 2},
    # tiny SD/ControlNet as diffusers folders: single files are converted with the full-size SD 1.5 configs.
    # "[diffusers] tiny_sd" is how earlier versions named the folder: ComfyUI must still accept it.
    "UnflickerAnimateDiffLoader": {"checkpoint": "[diffusers] tiny_sd", "motion_module": "tiny_mm.ckpt"},
    "UnflickerMotionLora": {"lora_name": "tiny_motion_lora.ckpt"},
    "UnflickerImageLora": {"lora_name": "tiny_image_lora.safetensors"},
    "UnflickerControlNetLoader": {"controlnet_name": "tiny_cn"},
    "UnflickerAnimateDiffGenerate": {"num_frames": 4, "width": 64, "height": 64, "steps": 2, "context_length": 4,
                                     "context_overlap": 2},
    "UnflickerOpenPoseExtract": {"detect_resolution": 64},
    # Wan's split files in ComfyUI's layouts (tiny, so their component configs come with them) and tiny CogVideoX
    "UnflickerWanSplitLoader": {"transformer": "wan_tiny_t2v.safetensors", "vae": "wan_tiny_vae.safetensors",
                                "text_encoder": "umt5_tiny.safetensors", "offload": "none",
                                "config_dir": os.path.join(WAN_SPLIT, "config")},
    "UnflickerWanGenerate": {"num_frames": 5, "width": 64, "height": 64, "steps": 2},
    "UnflickerCogVideoXLoader": {"model": "tiny-cogvideox-i2v", "offload": "none", "vae_tiling": False},
    "UnflickerCogVideoXGenerate": {"num_frames": 9, "width": 32, "height": 32, "steps": 2},
    "UnflickerVideoInterpolate": {"threads": 2},
    "UnflickerRepairFrames": {"threads": 2},
    "UnflickerVideoRepairFrames": {"threads": 2},
}
# workflow name -> node type -> inputs, applied after NODE_OVERRIDES (OpenPose's full-size body net takes seconds
# per frame on CPU, so its reference clip is cut to the frames generated)
WORKFLOW_OVERRIDES: dict[str, dict[str, dict]] = {
    "animatediff_openpose_controlnet": {"UnflickerLoadVideo": {"frame_load_cap": 4}},
    "animatediff_openpose_to_60fps": {"UnflickerLoadVideo": {"frame_load_cap": 4}},
    # more frames than one window, and a schedule inside them
    "animatediff_long_prompt_schedule": {"UnflickerAnimateDiffGenerate": {
        "num_frames": 6, "prompt": "0: a red ball\n2: a blue ball\n4: a green ball"}},
    "cogvideox_t2v_to_24fps": {"UnflickerCogVideoXLoader": {"model": "tiny-cogvideox-t2v"}},
}
# workflows run on the sound reference clip (tone_clip: 36 frames at 24000/1001 with a tone), for their sound
SOUND_WORKFLOWS = ("animatediff_openpose_controlnet", "animatediff_openpose_to_60fps", "footage_fix_to_60fps",
                   "repair_frames", "repair_frames_video")
TONE_FRAMES, TONE_RATE = 36, Fraction(24000, 1001)
# workflow -> saved file prefix -> (frames in, their rate, target fps or None, sound expected)
EXPECTED_SAVES: dict[str, dict[str, tuple]] = {
    "svd_to_24fps": {"svd_24fps": (4, 6, 24, False)},
    "cogvideox_t2v_to_24fps": {"cogvideox_t2v_24fps": (9, 8, 24, False)},
    "cogvideox_i2v_to_24fps": {"cogvideox_i2v_24fps": (9, 8, 24, False)},
    "wan_t2v_to_30fps": {"wan_t2v_30fps": (5, 16, 30, False)},
    "animatediff_openpose_controlnet": {"animatediff_openpose": (4, 8, None, True)},
    "animatediff_openpose_to_60fps": {"animatediff_openpose_60fps": (4, 8, 60, True)},
    "animatediff_long_prompt_schedule": {"animatediff_long": (6, 8, None, False)},
    "footage_fix_to_60fps": {"footage_60fps": (TONE_FRAMES, TONE_RATE, 60, True)},
    "repair_frames": {"repaired": (TONE_FRAMES, TONE_RATE, None, True)},
    "repair_frames_video": {"repaired": (TONE_FRAMES, TONE_RATE, None, True)},
}
INTERPOLATION_MODEL = "rife_v4.26.safetensors"  # what the bundled workflows name (ComfyUI's own file)
SUMMARY: dict = {"nodes": [], "workflows": [], "errors": [], "models": []}


@pytest.fixture(scope="module")
def test_models(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    install_test_models(str(models))
    SUMMARY["models"] = list(INSTALLED) or ["none needed"]
    return models


@pytest.fixture(scope="module")
def comfy(test_models, request):
    from comfy_server import ComfyServer

    server = ComfyServer(COMFYUI_DIR, models={name: str(test_models / name) for name in MODEL_FOLDERS})
    started = time.monotonic()
    server.start()
    SUMMARY["startup_s"] = time.monotonic() - started
    SUMMARY["python"] = server.python
    yield server
    server.cleanup()
    assert server.proc is None
    _report(request.config)


def _report(config) -> None:
    lines = [f"ComfyUI e2e ({COMFYUI_DIR}, server python {SUMMARY.get('python')}): "
             f"server up in {SUMMARY.get('startup_s', 0):.1f} s; test models: {', '.join(SUMMARY['models'])}"]
    if SUMMARY["nodes"]:
        lines.append(f"  /object_info lists all {len(SUMMARY['nodes'])} pack nodes: {', '.join(SUMMARY['nodes'])}")
    for w in SUMMARY["workflows"]:
        lines.append(f"  workflow {w['name']} ({w['format']}): {w['seconds']:.1f} s, {len(w['files'])} output(s): "
                     f"{', '.join(w['files'])}")
    for e in SUMMARY["errors"]:
        lines.append(f"  error case {e['case']}: exit {e['rc']}, {e['seconds']:.1f} s: {e['message']}")
    text = "\n".join(lines)
    if os.environ.get("UNFLICKER_E2E_SUMMARY"):
        with open(os.environ["UNFLICKER_E2E_SUMMARY"], "w", encoding="utf-8") as f:
            f.write(text + "\n")
    config.pluginmanager.register(_SummaryPrinter(lines), "unflicker-e2e-summary")


class _SummaryPrinter:
    """Prints the summary in pytest's end-of-run section (also under -q)."""

    def __init__(self, lines):
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.section("ComfyUI end-to-end summary")
        for line in self.lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    """A still image for Load Image nodes."""
    import cv2

    path = str(tmp_path_factory.mktemp("frame") / "first_frame.png")
    cv2.imwrite(path, synthetic.texture(64, 64, seed=5)[..., ::-1])
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A short flickering clip made by unflicker.media.synthetic, on the client's side (it gets uploaded)."""
    frames = synthetic.moving_clip("pan", CLIP_FRAMES, 64, 96, seed=3)
    frames, _ = synthetic.brightness_flicker(frames, 0.15, seed=3)
    path = str(tmp_path_factory.mktemp("clip") / "flicker_clip.mp4")
    video.write_video(path, iter(frames), 8.0, crf=12)
    return path


def _cli(*args, timeout=300):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "unflicker", "run", "--no-progress", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    return proc, time.monotonic() - started


def _clip_overrides(api: dict, clip: str) -> list[str]:
    return [f"{nid}.video={clip}" for nid, e in api.items() if e["class_type"] == "UnflickerLoadVideo"]


def _test_overrides(api: dict, clip: str, frame: str, name: str = "") -> list[str]:
    sets = _clip_overrides(api, clip)
    sets += [f"{nid}.image={frame}" for nid, e in api.items() if e["class_type"] == "LoadImage"]
    for nid, e in api.items():
        for table in (NODE_OVERRIDES, WORKFLOW_OVERRIDES.get(name, {})):
            sets += [f"{nid}.{k}={json.dumps(v)}" for k, v in table.get(e["class_type"], {}).items()]
    return sets


def test_object_info_lists_every_node(comfy, pack):
    info = ComfyClient(comfy.url).object_info()
    missing = sorted(set(pack.NODE_CLASS_MAPPINGS) - set(info))
    assert not missing, f"not in /object_info: {missing}\n{comfy.log_tail()}"
    from unflicker.comfy.object_info import build_object_info

    offline = build_object_info(pack.NODE_CLASS_MAPPINGS, pack.NODE_DISPLAY_NAME_MAPPINGS)
    for name, entry in offline.items():  # the offline definitions are what the server serves
        live = info[name]
        for key in ("input_order", "output", "output_name", "display_name", "category", "output_node"):
            assert live[key] == entry[key], (name, key)
    SUMMARY["nodes"] = sorted(pack.NODE_CLASS_MAPPINGS)


def test_workflows_served_as_templates(comfy):
    client = ComfyClient(comfy.url)
    listed = client.get_json("/workflow_templates")
    names = sorted(os.path.splitext(os.path.basename(p))[0] for p in BUNDLED)
    assert sorted(listed.get("ComfyUI-Unflicker", [])) == names  # api/ twins are not listed as templates
    for path in BUNDLED:
        served = client.get_json(f"/api/workflow_templates/ComfyUI-Unflicker/{os.path.basename(path)}")
        assert served == load_workflow(path)


def _run_bundled(server, path: str, clip: str, tone_clip: str, frame: str, out: str):
    """Run a bundled workflow's API twin with the test inputs; core's Load Video gets the clip uploaded to the top
    of the input folder (the only place it lists)."""
    name = os.path.splitext(os.path.basename(path))[0]
    client = ComfyClient(server.url, timeout=600)
    assert check_workflow(load_workflow(path), client.object_info(), files_known=False) == []
    api = load_workflow(api_twin_path(path))
    source = tone_clip if name in SOUND_WORKFLOWS else clip
    overrides = _test_overrides(api, source, frame, name)
    core_loads = [nid for nid, e in api.items() if e["class_type"] == "LoadVideo"]
    if core_loads:
        uploaded = client.upload(source, subfolder="")
        overrides += [f"{nid}.file={json.dumps(uploaded)}" for nid in core_loads]
    result = client.run(api, overrides, out, progress=False, log=lambda _: None)
    expected = [nid for nid, e in api.items() if client.object_info()[e["class_type"]]["output_node"]]
    assert set(result.outputs) >= set(expected), f"outputs from {sorted(result.outputs)}, expected {expected}"
    assert result.files, "no output files were downloaded"
    for f in result.files:
        assert os.path.getsize(f) > 0
        if f.endswith((".mp4", ".webp", ".gif")):
            info, frames = video.iter_frames(f)
            assert sum(1 for _ in frames) >= 1 and info.width > 0
    return name, result, _check_saves(name, result.files)


def _check_saves(name: str, files: list[str]) -> list[str]:
    """Each output named in EXPECTED_SAVES has the frames, exact rate and sound the workflow promises: by a
    target rate the duration is kept (the engine's one frame-count rule)."""
    import re

    from media_cases import audio_streams

    from unflicker.media import probe as media

    found = []
    for prefix, (frames_in, rate_in, target, sound) in EXPECTED_SAVES.get(name, {}).items():
        (saved,) = [f for f in files if re.fullmatch(re.escape(prefix) + r"_\d{5}_?\.mp4", os.path.basename(f))]
        rate = Fraction(target) if target else Fraction(rate_in)
        count = output_count(frames_in, Fraction(rate_in) / rate, True, False) if target else frames_in
        info = media.probe_media(saved)
        decoded = sum(1 for _ in video.iter_frames(saved)[1])
        assert (decoded, info.rate) == (count, rate), (name, prefix, decoded, info.rate)
        assert bool(audio_streams(saved)) == sound, (name, prefix, "sound")
        found.append(f"{prefix}: {decoded} frames at {info.rate} fps{', sound' if sound else ''}")
    return found


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: os.path.basename(p))
def test_bundled_workflow_runs(comfy, clip, tone_clip, frame, path, tmp_path):
    name, result, checked = _run_bundled(comfy, path, clip, tone_clip, frame, str(tmp_path / "out"))
    if _names_interpolation_model(path) and "RIFEInterpolate" in json.dumps(load_workflow(api_twin_path(path))):
        logged = [line for line in comfy.log_tail(400).splitlines() if "RIFE Interpolate:" in line]
        assert logged and "torch" in logged[-1] and INTERPOLATION_MODEL in logged[-1], logged[-1:]  # the file ran
    SUMMARY["workflows"].append({"name": name, "format": "api", "seconds": result.seconds,
                                 "files": checked or [os.path.relpath(f, tmp_path / "out") for f in result.files]})


def _names_interpolation_model(path: str) -> bool:
    return any(e["inputs"].get("model") == INTERPOLATION_MODEL for e in load_workflow(api_twin_path(path)).values())


@pytest.fixture(scope="module")
def comfy_core_interpolation_only(test_models, tmp_path_factory):
    """A server with no models/rife folder and one core frame-interpolation file (rife47.pth), not the one the
    workflows name: what a user of core's frame interpolation has."""
    from comfy_server import ComfyServer

    folder = install_core_interpolation_only(str(tmp_path_factory.mktemp("core_interp")))
    models = {name: str(test_models / name) for name in MODEL_FOLDERS if name not in ("rife", "frame_interpolation")}
    server = ComfyServer(COMFYUI_DIR, models={**models, "frame_interpolation": folder})
    server.start()
    assert not os.path.exists(os.path.join(server.base, "models", "rife"))
    yield server
    server.cleanup()


@pytest.mark.parametrize("path", [p for p in BUNDLED if _names_interpolation_model(p)],
                         ids=lambda p: os.path.basename(p))
def test_interpolating_workflow_runs_with_only_a_core_interpolation_file(comfy_core_interpolation_only, clip,
                                                                         tone_clip, frame, path, tmp_path):
    """The workflow names rife_v4.26.safetensors, which this user has not got: ComfyUI accepts the run, auto falls
    back to flow and says so, and every output has its frames, rate and sound."""
    server = comfy_core_interpolation_only
    listed = ComfyClient(server.url).object_info()["UnflickerRIFEInterpolate"]["input"]["required"]["model"][0]
    assert listed == ["rife47.pth"], listed  # the one file there is the combo's choice (and its default)
    name, result, checked = _run_bundled(server, path, clip, tone_clip, frame, str(tmp_path / "out"))
    if any(e["class_type"] == "UnflickerRIFEInterpolate" for e in load_workflow(api_twin_path(path)).values()):
        logged = [line for line in server.log_tail(400).splitlines() if "RIFE Interpolate:" in line]
        assert logged and logged[-1].split("RIFE Interpolate: ")[1].startswith("flow")
        assert f"model '{INTERPOLATION_MODEL}' not found" in logged[-1], logged[-1]
    SUMMARY["workflows"].append({"name": f"{name} (only frame_interpolation/rife47.pth)", "format": "api",
                                 "seconds": result.seconds, "files": checked or ["ran"]})


def test_ui_workflow_runs_through_cli(comfy, clip, tmp_path):
    """The editor's format, converted with the server's /object_info, with a local clip uploaded by --set."""
    path = CODEC_FIX
    name = os.path.splitext(os.path.basename(path))[0]
    ui = load_workflow(path)
    loads = [n for n in ui["nodes"] if n["type"] == "UnflickerLoadVideo"]
    sets = [a for n in loads for a in ("--set", f"{n['id']}.video={clip}")]
    proc, seconds = _cli(path, "--server", comfy.url, "--out", str(tmp_path), *sets)
    assert proc.returncode == 0, proc.stderr
    saved = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("saved ")]
    assert saved and all(os.path.getsize(p) > 0 for p in saved)
    info, frames = video.iter_frames(saved[0])
    assert sum(1 for _ in frames) == CLIP_FRAMES
    SUMMARY["workflows"].append({"name": name, "format": "ui via CLI", "seconds": seconds,
                                 "files": [os.path.relpath(p, tmp_path) for p in saved]})


def _error_case(case: str, proc, seconds: float, expect: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    assert expect in proc.stderr, out
    message = [line for line in proc.stderr.splitlines() if line.strip()]
    SUMMARY["errors"].append({"case": case, "rc": proc.returncode, "seconds": seconds,
                              "message": " | ".join(message)[:220]})


def test_unknown_node_type_is_refused(comfy, tmp_path):
    api = load_workflow(api_twin_path(CODEC_FIX))
    first = next(iter(api))
    api[first]["class_type"] = "UnflickerNoSuchNode"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(api))
    proc, seconds = _cli(str(bad), "--server", comfy.url, "--out", str(tmp_path / "out"))
    _error_case("unknown node type (API)", proc, seconds, "UnflickerNoSuchNode")
    ui = load_workflow(CODEC_FIX)
    ui["nodes"][0]["type"] = "UnflickerNoSuchNode"
    bad.write_text(json.dumps(ui))
    proc, seconds = _cli(str(bad), "--server", comfy.url, "--out", str(tmp_path / "out"))
    _error_case("unknown node type (UI)", proc, seconds, "unknown node type 'UnflickerNoSuchNode'")


def test_bad_widget_value_is_refused_with_the_servers_message(comfy, clip, tmp_path):
    api_path = api_twin_path(CODEC_FIX)
    api = load_workflow(api_path)
    fix = next(nid for nid, e in api.items() if e["class_type"] == "UnflickerFFmpegDeflickerDeband")
    proc, seconds = _cli(api_path, "--server", comfy.url, "--out", str(tmp_path), *[
        a for o in _clip_overrides(api, clip) for a in ("--set", o)], "--set", f"{fix}.mode=bogus")
    _error_case("bad widget value", proc, seconds, "Value not in list: mode: 'bogus'")


def test_partly_invalid_workflow_is_refused_and_cancelled(comfy, clip, tmp_path):
    """ComfyUI would run the outputs that pass and skip the others; the client refuses the run instead."""
    api_path = api_twin_path(CODEC_FIX)
    api = load_workflow(api_path)
    last_save = [nid for nid, e in api.items() if e["class_type"] == "UnflickerSaveVideo"][-1]
    before = set(comfy.outputs())
    proc, seconds = _cli(api_path, "--server", comfy.url, "--out", str(tmp_path), *[
        a for o in _clip_overrides(api, clip) for a in ("--set", o)], "--set", f"{last_save}.crf=99")
    _error_case("partly invalid workflow", proc, seconds, "crf")
    assert "some outputs failed validation" in proc.stderr
    time.sleep(2)
    assert set(comfy.outputs()) == before, "the valid part ran anyway"


def test_missing_input_file_is_refused(comfy, tmp_path):
    api_path = api_twin_path(CODEC_FIX)
    proc, seconds = _cli(api_path, "--server", comfy.url, "--out", str(tmp_path),
                         "--set", "Load Video (Unflicker).video=no_such_clip.mp4")
    _error_case("missing input file", proc, seconds, "video not found: 'no_such_clip.mp4'")


def test_failing_node_reports_its_own_message(comfy, clip, tmp_path):
    api_path = api_twin_path(CODEC_FIX)
    api = load_workflow(api_path)
    save = next(nid for nid, e in api.items() if e["class_type"] == "UnflickerSaveVideo")
    proc, seconds = _cli(api_path, "--server", comfy.url, "--out", str(tmp_path), *[
        a for o in _clip_overrides(api, clip) for a in ("--set", o)], "--set", f"{save}.filename_prefix=../../escape")
    _error_case("failing node", proc, seconds, "filename_prefix '../../escape' is not allowed")
    assert not any("escape" in p for p in comfy.outputs()) and not os.path.exists(os.path.join(comfy.base, "..",
                                                                                               "escape"))


def test_stopped_server(comfy, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc, seconds = _cli(CODEC_FIX, "--server", f"http://127.0.0.1:{port}", "--out", str(tmp_path))
    _error_case("stopped server", proc, seconds, f"cannot reach ComfyUI at http://127.0.0.1:{port}")


def _interpolation_prompt(model: str, **settings) -> dict:
    interpolate = {"images": ["1", 0], "fps": ["1", 1], "multiplier": 2, "model": model, "backend": "auto",
                   "scene_threshold": 0.5, "gpu_id": 0, "threads": 2, "uhd": False, "tta": False, **settings}
    return {
        "1": {"class_type": "UnflickerLoadVideo", "inputs": {"video": "clip.mp4", "force_rate": 0.0,
                                                             "skip_first_frames": 0, "select_every_nth": 1,
                                                             "frame_load_cap": 4, "path": "", "folder_fps": 8.0}},
        "2": {"class_type": "UnflickerRIFEInterpolate", "inputs": interpolate},
        "3": {"class_type": "UnflickerSaveVideo", "inputs": {"images": ["2", 0], "fps": ["2", 1], "format": "mp4",
                                                             "filename_prefix": "Unflicker/interp", "crf": 16}},
    }


def test_interpolation_weight_files_load_from_models_frame_interpolation(comfy, clip, tmp_path):
    """Each accepted file layout, listed by ComfyUI in the node's model combo, runs on the torch backend through
    the HTTP API; a 4-frame clip at 8 fps becomes 7 frames at 16 fps (x2), or 15 at 30 fps with loop."""
    client = ComfyClient(comfy.url, timeout=600)
    listed = client.object_info()["UnflickerRIFEInterpolate"]["input"]["required"]["model"][0]
    assert set(INTERPOLATION_FILES) | {"vae.safetensors"} <= set(listed), listed
    for name, kind in INTERPOLATION_FILES.items():
        settings = {"target_fps": 30.0, "loop": True} if name == "rife_v4.26.safetensors" else {}
        result = client.run(_interpolation_prompt(name, **settings), [f"1.video={clip}"], str(tmp_path / name),
                            progress=False, log=lambda _: None)
        info, frames = video.iter_frames(result.files[0])
        expected = (15, 30.0) if settings else (7, 16.0)
        assert (sum(1 for _ in frames), info.fps) == expected, name
        logged = [line for line in comfy.log_tail().splitlines() if "RIFE Interpolate:" in line]
        assert logged and kind in logged[-1] and f"from {name}" in logged[-1], (name, logged[-1:])
        SUMMARY["workflows"].append({"name": f"interpolate {name}", "format": "api", "seconds": result.seconds,
                                     "files": [os.path.relpath(f, tmp_path) for f in result.files]})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_interpolation_prompt("vae.safetensors")))
    proc, seconds = _cli(str(bad), "--server", comfy.url, "--out", str(tmp_path / "bad"), "--set", f"1.video={clip}")
    _error_case("wrong kind of weight file", proc, seconds, "not a frame interpolation model: a VAE")


# ---------------------------------------------------------------- VIDEO nodes between core's Load/Save Video
# node type -> (inputs other than their defaults, frame multiplier)
VIDEO_NODES = {
    "UnflickerVideoFFmpegDeflickerDeband": ({}, 1),
    "UnflickerVideoDeflicker": ({}, 1),
    "UnflickerVideoInterpolate": ({"multiplier": 2, "backend": "flow", "threads": 2}, 2),
}


@pytest.fixture(scope="module")
def tone_clip(tmp_path_factory):
    """The sound reference clip: 36 frames at 24000/1001, 440 Hz tone, a click at exactly 1.000 s."""
    from media_cases import make_clip  # tests/support

    return make_clip(str(tmp_path_factory.mktemp("tone") / "e2e_tone.mp4"))


def _defaults(spec: dict) -> dict:
    """Every required widget at its default (ComfyUI validates that each is given)."""
    values = {}
    for name, entry in spec.get("required", {}).items():
        kind, options = entry[0], (entry[1] if len(entry) > 1 else {})
        if isinstance(kind, list):
            values[name] = options.get("default", kind[0] if kind else None)
        elif kind == "COMBO":
            values[name] = options.get("default", (options.get("options") or [None])[0])
        elif kind in ("INT", "FLOAT", "BOOLEAN", "STRING"):
            values[name] = options.get("default", {"INT": 0, "FLOAT": 0.0, "BOOLEAN": False, "STRING": ""}[kind])
    return values


def _core_video_graph(client, clip: str, node_type: str, overrides: dict, save: bool = True) -> dict:
    info = client.object_info()
    if "LoadVideo" not in info or "SaveVideo" not in info:
        pytest.skip("this ComfyUI has no core LoadVideo/SaveVideo")
    name = client.upload(clip, subfolder="")  # core's Load Video lists the top of the input folder only
    inputs = {**_defaults(info[node_type]["input"]), **overrides, "video": ["1", 0]}
    api = {"1": {"class_type": "LoadVideo", "inputs": {"file": name}},
           "2": {"class_type": node_type, "inputs": inputs}}
    if save:
        api["3"] = {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], "filename_prefix": f"e2e/{node_type}",
                                                          "format": "auto", "codec": "auto"}}
    return api


@pytest.mark.parametrize("node_type", sorted(VIDEO_NODES))
def test_core_load_video_through_our_video_node_to_core_save_video(comfy, tone_clip, node_type, tmp_path):
    from media_cases import CLICK_AT, RATE, audio_streams, click_time

    from unflicker.media import probe as media

    overrides, m = VIDEO_NODES[node_type]
    client = ComfyClient(comfy.url, timeout=600)
    api = _core_video_graph(client, tone_clip, node_type, overrides)
    result = client.run(api, [], str(tmp_path / "out"), progress=False, log=lambda _: None)
    saved = [f for f in result.files if f.endswith(".mp4")]
    assert len(saved) == 1, (result.files, comfy.log_tail())
    decoded = sum(1 for _ in video.iter_frames(saved[0])[1])
    info = media.probe_media(saved[0])
    assert decoded == (36 - 1) * m + 1 and info.rate == RATE * m
    (a,) = audio_streams(saved[0])
    assert (a.sample_rate, a.channels) == (48000, 2)
    assert abs(click_time(saved[0]) - CLICK_AT) <= 1 / float(info.rate)
    SUMMARY["workflows"].append({"name": f"LoadVideo -> {node_type} -> SaveVideo", "format": "api",
                                 "seconds": result.seconds, "files": [
                                     f"{os.path.basename(saved[0])}: {decoded} frames at {info.rate}, "
                                     f"{a.codec} {a.sample_rate} Hz {a.layout}, click at {click_time(saved[0]):.4f} s"]})


def test_core_load_video_into_video_analysis(comfy, tone_clip, tmp_path):
    client = ComfyClient(comfy.url, timeout=600)
    api = _core_video_graph(client, tone_clip, "UnflickerVideoAnalyzeFlicker", {}, save=False)
    result = client.run(api, [], str(tmp_path / "out"), progress=False, log=lambda _: None)
    assert "2" in result.outputs, comfy.log_tail()
    report = result.outputs["2"]["unflicker_report"][0]
    assert report["verdict"] and report["fps"] == pytest.approx(24000 / 1001)


# ---------------------------------------------------------------- a fleet: run --inputs on two --server
FLEET_CLIPS = ("a.mp4", "b.mp4", os.path.join("sub", "c.mp4"), os.path.join("sub", "d.mp4"))


@pytest.fixture
def fleet_clips(tmp_path):
    """Tiny flickering clips in a tree."""
    root = tmp_path / "clips"
    for seed, name in enumerate(FLEET_CLIPS):
        frames = synthetic.moving_clip("pan", CLIP_FRAMES, 64, 96, seed=10 + seed)
        frames, _ = synthetic.brightness_flicker(frames, 0.15, seed=seed)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        video.write_video(str(root / name), iter(frames), 8.0, crf=12)
    return root


def _start_together(servers) -> None:
    """Start the servers side by side (each takes a while to import its nodes)."""
    import threading

    errors = []

    def start(server):
        try:
            server.start()
        except Exception as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _stop_at_prompt(server, count: int, proc) -> bool:
    """Stop ``server`` once it has got its ``count``-th prompt (that prompt is then running); False when the run
    ended first."""
    while proc.poll() is None:
        if server.log_tail(400).count("got prompt") >= count:
            server.stop()
            return True
        time.sleep(0.05)
    return False


def test_fleet_of_two_servers_one_stopped_mid_batch(fleet_clips, tmp_path):
    """The codec fix over 4 clips on two real servers; the first is stopped while it runs its second clip: that
    clip is re-queued on the other, and every clip lands once (one row, one run's outputs)."""
    from comfy_server import ComfyServer

    from unflicker.cli.batch import ResultTable

    servers = [ComfyServer(COMFYUI_DIR) for _ in range(2)]
    try:
        _start_together(servers)
        a, b = servers
        out = tmp_path / "out"
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "unflicker", "run", "--no-progress", api_twin_path(CODEC_FIX),
                                 "--inputs", str(fleet_clips), "--set", "Load Video (Unflicker).video={input}",
                                 "--server", a.url, "--server", b.url, "--out", str(out)],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stopped = _stop_at_prompt(a, 2, proc)
        stdout, stderr = proc.communicate(timeout=600)
        seconds = time.monotonic() - started
        assert proc.returncode == 0, stdout + stderr
        assert stopped and a.proc is None, "the run ended before the first server got its second clip"
        rows = [r for r in ResultTable(str(out / "batch-run.jsonl")).read() if r["input"]]
        assert sorted(os.path.relpath(r["input"], fleet_clips) for r in rows) == sorted(FLEET_CLIPS)
        assert all(r["status"] == "ok" for r in rows), rows
        assert [r["server"] for r in rows].count(a.url) == 1 and f"{a.url} stopped answering" in stderr
        (moved,) = [r for r in rows if r["notes"]]
        assert moved["server"] == b.url and "re-queued" in moved["notes"]
        for row in rows:
            folder = out / os.path.splitext(os.path.relpath(row["input"], fleet_clips))[0]
            files = sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)
            assert len(files) == 2 and sorted(row["outputs"]) == [str(folder / f) for f in files], files
            (fixed,) = [f for f in row["outputs"] if "compare" not in os.path.basename(f)]  # not before/after
            assert sum(1 for _ in video.iter_frames(fixed)[1]) == CLIP_FRAMES
        SUMMARY["workflows"].append({"name": "codec_fix on a fleet of 2 servers, one stopped mid-batch",
                                     "format": "api via CLI --inputs", "seconds": seconds,
                                     "files": [f"{len(rows)} clips, 1 re-queued"]})
    finally:
        for server in servers:
            server.cleanup()

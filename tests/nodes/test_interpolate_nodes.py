"""RIFE Interpolate node, loaded the way ComfyUI loads the pack: model folder, combo, backends, fps, errors."""

import os
import shutil

import numpy as np
import pytest
import torch

from unflicker.testing.ncnn_fixture import make_random_model
from unflicker.media.synthetic import moving_clip
from conftest import FIXTURES

# the real RIFE v4.6 graph (no weights), kept in the repository so a fresh clone runs the ncnn tests
RIFE_PARAM = os.path.join(FIXTURES, "rife-v4.6", "flownet.param")
SETTINGS = dict(scene_threshold=0.5, gpu_id=-1, threads=1, uhd=False, tta=False)


@pytest.fixture
def node_mod(pack):
    return pack.nodes.interpolate


@pytest.fixture
def rife_root(node_mod):
    import folder_paths

    root = os.path.join(folder_paths.models_dir, "rife")
    shutil.rmtree(root, ignore_errors=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def as_image(frames):
    return torch.from_numpy(np.asarray(frames)).float() / 255.0


def test_registered_and_model_folder(pack, node_mod, rife_root):
    import folder_paths

    assert pack.NODE_CLASS_MAPPINGS["UnflickerRIFEInterpolate"] is node_mod.RIFEInterpolate
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["UnflickerRIFEInterpolate"] == "RIFE Interpolate"
    assert rife_root in folder_paths.get_folder_paths("rife")
    inputs = node_mod.RIFEInterpolate.INPUT_TYPES()["required"]
    assert inputs["model"][0] == [node_mod.NO_MODELS]  # empty folder: the combo says where a model goes
    assert "models/rife" in node_mod.NO_MODELS and "flownet.bin" in node_mod.NO_MODELS
    assert "n + (n-1)(multiplier-1)" in inputs["multiplier"][1]["tooltip"]
    assert inputs["multiplier"][0] == [2, 4, 8]


def test_flow_backend_without_models(node_mod, rife_root):
    clip = moving_clip("pan", frames=4, height=40, width=56, seed=2, speed=3)
    images, fps, backend = node_mod.RIFEInterpolate().interpolate(
        as_image(clip), 8.0, 4, node_mod.NO_MODELS, "auto", **SETTINGS)
    assert images.shape == (4 + 3 * 3, 40, 56, 3) and images.dtype == torch.float32
    assert fps == 32.0
    assert backend.startswith("flow") and "no RIFE model given" in backend
    assert torch.equal(images[4], as_image(clip[1:2])[0])  # original 1 at position 1*m


def test_ncnn_backend_with_model_in_models_rife(node_mod, rife_root, ncnn_runtime):
    if not os.path.isfile(RIFE_PARAM):
        pytest.fail(f"RIFE graph missing: {RIFE_PARAM} (it ships with the tests)")
    make_random_model(RIFE_PARAM, os.path.join(rife_root, "rife-v4.6"))
    os.makedirs(os.path.join(rife_root, "not-a-model"))
    assert node_mod.RIFEInterpolate.INPUT_TYPES()["required"]["model"][0] == ["rife-v4.6"]
    clip = moving_clip("pan", frames=3, height=32, width=48, seed=2, speed=3)
    images, fps, backend = node_mod.RIFEInterpolate().interpolate(as_image(clip), 12.0, 2, "rife-v4.6", "ncnn",
                                                                  **SETTINGS)
    assert images.shape == (5, 32, 48, 3) and fps == 24.0
    assert backend.startswith("ncnn rife-v4.6 on CPU") and "2 interpolated" in backend


def test_node_errors(pack, node_mod, rife_root):
    UnflickerError = pack.unflicker.errors.UnflickerError  # the pack's own class, as ComfyUI would see it
    node = node_mod.RIFEInterpolate()
    two = as_image(moving_clip("pan", frames=2, height=32, width=48))
    with pytest.raises(UnflickerError, match="needs at least 2"):
        node.interpolate(two[:1], 8.0, 2, node_mod.NO_MODELS, "flow", **SETTINGS)
    with pytest.raises(UnflickerError, match="backend ncnn needs a model: put one in .*rife"):
        node.interpolate(two, 8.0, 2, node_mod.NO_MODELS, "ncnn", **SETTINGS)
    with pytest.raises(UnflickerError, match=r"backend ncnn needs model '../elsewhere', which is not in models/rife "
                                             r"or models/frame_interpolation .*put the ncnn RIFE model folder in "
                                             r"models/rife/"):
        node.interpolate(two, 8.0, 2, "../elsewhere", "ncnn", **SETTINGS)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("backend", ["flow", "torch"])
def test_interrupt_stops_the_loop(node_mod, rife_root, monkeypatch, backend):
    import comfy.model_management

    model = node_mod.NO_MODELS
    if backend == "torch":
        from interp_weights import save, tiny_v4, v4_file_state

        model = "rife_v4.18.safetensors"
        os.makedirs(rife_root)
        save(v4_file_state(tiny_v4("4.17"), "comfy"), os.path.join(rife_root, model))
    calls = []

    def interrupt():
        calls.append(1)
        if len(calls) >= 2:
            raise comfy.model_management.InterruptProcessingException()

    monkeypatch.setattr(comfy.model_management, "throw_exception_if_processing_interrupted", interrupt)
    clip = as_image(moving_clip("pan", frames=6, height=32, width=48))
    with pytest.raises(comfy.model_management.InterruptProcessingException):
        node_mod.RIFEInterpolate().interpolate(clip, 8.0, 2, model, backend, **SETTINGS, batch_size=1)
    assert len(calls) == 2


# ---------------------------------------------------------------- torch backend: weight files users already have
@pytest.fixture
def fi_root(node_mod):
    import folder_paths

    root = os.path.join(folder_paths.models_dir, "frame_interpolation")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.usefixtures("one_torch_thread")
def test_weight_files_listed_and_run_through_comfy_model_management(node_mod, rife_root, fi_root):
    import comfy.model_management

    from interp_weights import save, save_torchscript, film_torchscript_state, tiny_film, tiny_v4, v4_file_state

    save(v4_file_state(tiny_v4("4.26"), "comfy"), os.path.join(fi_root, "rife_v4.26.safetensors"))
    save_torchscript(film_torchscript_state(tiny_film()), os.path.join(fi_root, "film_net_fp32.pt"))
    os.makedirs(rife_root)
    save(v4_file_state(tiny_v4("4.7"), "practical"), os.path.join(rife_root, "rife47.pth"))
    with open(os.path.join(fi_root, "notes.txt"), "w") as f:
        f.write("not a model")
    choices = node_mod.RIFEInterpolate.INPUT_TYPES()["required"]["model"][0]
    # core's folder first (RIFE before FILM), then models/rife: the first is the combo's default
    assert choices == ["rife_v4.26.safetensors", "film_net_fp32.pt", "rife47.pth"]
    clip = as_image(moving_clip("pan", frames=4, height=64, width=64, seed=2, speed=2))
    node = node_mod.RIFEInterpolate()
    for name, kind in (("rife_v4.26.safetensors", "RIFE v4.25/v4.26"), ("film_net_fp32.pt", "FILM film_net"),
                       ("rife47.pth", "RIFE v4.7")):
        images, fps, backend = node.interpolate(clip, 8.0, 2, name, "auto", **SETTINGS)
        assert images.shape == (7, 64, 64, 3) and fps == 16.0
        assert backend.startswith(f"torch {kind}") and "on cpu" in backend and "3 interpolated" in backend
        assert comfy.model_management.LOADED[-1].model is node_mod._managed.kept()[-1].model
    images, fps, backend = node.interpolate(clip, 8.0, 2, "rife_v4.26.safetensors", "torch", **SETTINGS,
                                            target_fps=60.0, loop=True, batch_size=3, max_side=0)
    assert images.shape == (30, 64, 64, 3) and fps == 60.0  # 4 frames at 8 fps = 0.5 s = 30 frames at 60 fps
    assert "60 fps, loop" in backend and "4 pairs: 4 interpolated" in backend
    assert torch.equal(images[15], clip[2])  # 15/60 s = input frame 2: the original itself
    assert node_mod.RIFEInterpolate.VALIDATE_INPUTS(model="rife_v4.26.safetensors") is True


def test_weight_file_errors(pack, node_mod, rife_root, fi_root):
    UnflickerError = pack.unflicker.errors.UnflickerError
    from interp_weights import save

    save({"first_stage_model.decoder.conv_in.weight": torch.zeros(1)}, os.path.join(fi_root, "vae.safetensors"))
    two = as_image(moving_clip("pan", frames=2, height=32, width=48))
    node = node_mod.RIFEInterpolate()
    with pytest.raises(UnflickerError, match=r"vae.safetensors \(safetensors\): not a frame interpolation model: "
                                             r"a VAE"):
        node.interpolate(two, 8.0, 2, "vae.safetensors", "auto", **SETTINGS)
    with pytest.raises(UnflickerError, match="is a weight file: it runs on backend torch"):
        node.interpolate(two, 8.0, 2, "vae.safetensors", "ncnn", **SETTINGS)
    with pytest.raises(UnflickerError, match="backend torch needs a model: put a weight file in .*frame_interpolation"):
        node.interpolate(two, 8.0, 2, node_mod.NO_MODELS, "torch", **SETTINGS)


def test_workflows_saved_before_the_new_inputs_still_load(pack):
    """A UI workflow saved with RIFE Interpolate's earlier 9 widget values: the inputs added since are optional
    and take their defaults (as the editor does), and its API form runs as before (multiplier x4)."""
    from unflicker.comfy.object_info import build_object_info, core_object_info
    from unflicker.comfy.workflow import WORKFLOW_DIR, check_workflow, load_workflow, ui_to_api

    info = {**core_object_info(), **build_object_info(pack.NODE_CLASS_MAPPINGS, pack.NODE_DISPLAY_NAME_MAPPINGS)}
    ui = load_workflow(os.path.join(WORKFLOW_DIR, "svd_to_24fps.json"))
    node = next(n for n in ui["nodes"] if n["type"] == "UnflickerRIFEInterpolate")
    node["widgets_values"] = node["widgets_values"][:9]
    assert check_workflow(ui, info, files_known=False) == []
    inputs = next(e for e in ui_to_api(ui, info).values() if e["class_type"] == "UnflickerRIFEInterpolate")["inputs"]
    assert (inputs["multiplier"], inputs["target_fps"], inputs["loop"], inputs["max_side"]) == (4, 0.0, False, 0)
    node["widgets_values"] = node["widgets_values"][:8]  # a required widget missing is still an error
    assert "8 widget values saved" in check_workflow(ui, info, files_known=False)[0]



def test_fps_output_is_the_plans_exact_rate_and_any_size_runs(node_mod, rife_root):
    """The FLOAT fps is the plan's exact rate: 23.976 x2 is 48000/1001 (not 47.952); a 2000x16 strip runs."""
    from fractions import Fraction

    rng = np.random.default_rng(0)
    base = rng.integers(0, 200, (16, 2000, 3), dtype=np.uint8)
    strip = [np.roll(base, k, axis=1) + np.uint8(20 * k) for k in range(3)]
    images, fps, backend = node_mod.RIFEInterpolate().interpolate(
        as_image(strip), 23.976, 2, node_mod.NO_MODELS, "flow", **SETTINGS)
    assert fps == float(Fraction(48000, 1001)) and images.shape == (5, 16, 2000, 3)
    assert backend.startswith("flow") and "2 interpolated" in backend
    _, fps, _ = node_mod.RIFEInterpolate().interpolate(as_image(strip[:2]), 24.0, 2, node_mod.NO_MODELS, "flow",
                                                        **SETTINGS, target_fps=59.94)
    assert fps == float(Fraction(60000, 1001))


# ---------------------------------------------------------------- runs with what the user has
def test_model_list_defaults_to_a_core_file_then_an_ncnn_folder_then_none(node_mod, rife_root, fi_root):
    """The combo's first entry (its default) is the best model the user has: a models/frame_interpolation file,
    else an ncnn folder in models/rife, else the no-model placeholder (the flow backend)."""
    from interp_weights import save, tiny_v4, v4_file_state

    def listed():
        return node_mod.RIFEInterpolate.INPUT_TYPES()["required"]["model"][0]

    assert listed() == [node_mod.NO_MODELS]
    make_random_model(RIFE_PARAM, os.path.join(rife_root, "rife-v4.6"))
    save(v4_file_state(tiny_v4("4.7"), "practical"), os.path.join(rife_root, "rife47.pth"))
    assert listed() == ["rife-v4.6", "rife47.pth"]
    save(v4_file_state(tiny_v4("4.26"), "comfy"), os.path.join(fi_root, "rife_v4.26.safetensors"))
    assert listed() == ["rife_v4.26.safetensors", "rife-v4.6", "rife47.pth"]
    assert node_mod.VideoInterpolate.INPUT_TYPES()["required"]["model"][0] == listed()


@pytest.mark.parametrize("backend", ["auto", "flow"])
def test_a_missing_model_runs_with_flow_and_says_so(node_mod, rife_root, fi_root, backend):
    """A workflow naming rife-v4.6 (every bundled one does) where the user has no such model: ComfyUI's check
    lets it through, it runs on the flow backend, and the backend line says which model was not found. The same
    with only a core frame-interpolation file installed."""
    from interp_weights import save, tiny_v4, v4_file_state

    clip = moving_clip("pan", frames=3, height=32, width=48, seed=2, speed=3)
    for installed in (None, "rife_v4.26.safetensors"):
        if installed:
            save(v4_file_state(tiny_v4("4.26"), "comfy"), os.path.join(fi_root, installed))
        assert node_mod.RIFEInterpolate.VALIDATE_INPUTS(model="rife-v4.6") is True
        assert node_mod.VideoInterpolate.VALIDATE_INPUTS(model="rife-v4.6") is True
        images, fps, line = node_mod.RIFEInterpolate().interpolate(as_image(clip), 8.0, 2, "rife-v4.6", backend,
                                                                   **SETTINGS)
        assert images.shape == (5, 32, 48, 3) and fps == 16.0
        assert line.startswith("flow") and "2 interpolated" in line
        assert "model 'rife-v4.6' not found in models/rife or models/frame_interpolation" in line


@pytest.mark.parametrize("backend, where", [("ncnn", "put the ncnn RIFE model folder in models/rife/"),
                                            ("torch", "go in models/frame_interpolation/")])
def test_a_missing_model_with_torch_or_ncnn_is_an_error_saying_where_it_goes(pack, node_mod, rife_root, fi_root,
                                                                               backend, where):
    UnflickerError = pack.unflicker.errors.UnflickerError
    two = as_image(moving_clip("pan", frames=2, height=32, width=48))
    with pytest.raises(UnflickerError, match=rf"backend {backend} needs model 'rife-v4.6', which is not in "
                                             rf"models/rife or models/frame_interpolation \(.*rife.*\)\. .*{where}"):
        node_mod.RIFEInterpolate().interpolate(two, 8.0, 2, "rife-v4.6", backend, **SETTINGS)


def test_the_saved_placeholder_still_runs_when_models_exist(node_mod, rife_root, fi_root):
    """A workflow saved with no models holds NO_MODELS: once models are installed it still passes ComfyUI's check
    and runs the flow backend, as before."""
    from interp_weights import save, tiny_v4, v4_file_state

    save(v4_file_state(tiny_v4("4.26"), "comfy"), os.path.join(fi_root, "rife_v4.26.safetensors"))
    assert node_mod.NO_MODELS not in node_mod.RIFEInterpolate.INPUT_TYPES()["required"]["model"][0]
    assert node_mod.RIFEInterpolate.VALIDATE_INPUTS(model=node_mod.NO_MODELS) is True
    clip = as_image(moving_clip("pan", frames=2, height=32, width=48))
    _, _, line = node_mod.RIFEInterpolate().interpolate(clip, 8.0, 2, node_mod.NO_MODELS, "auto", **SETTINGS)
    assert line.startswith("flow") and "no RIFE model given" in line


def test_the_video_twin_runs_a_missing_model_with_flow_too(node_mod, rife_root, comfy_dirs, tmp_path):
    from comfy_api.input_impl import VideoFromFile

    from unflicker.media import video

    path = str(tmp_path / "clip.mp4")
    video.write_video(path, moving_clip("pan", frames=3, height=32, width=48, seed=2, speed=3), 8.0)
    result, line = node_mod.VideoInterpolate().interpolate(VideoFromFile(path), 2, "rife-v4.6", "auto", **SETTINGS)
    assert line.startswith("flow")
    assert "model 'rife-v4.6' not found in models/rife or models/frame_interpolation" in line
    assert video.probe(result.get_stream_source()).frame_count == 5

"""Bundled workflows against the pack's own node definitions, and the UI -> API converter / checker itself."""

import copy
import json
import os
import subprocess
import sys

import pytest

from unflicker.comfy import workflow as wfmod
from unflicker.comfy.object_info import (REPO, build_object_info, core_object_info, offline_object_info,
                                         pack_object_info, pack_registry_entry, pack_snapshot)
from unflicker.cli import main as cli_main
from unflicker.comfy.workflow import (WorkflowError, api_twin_path, apply_overrides, bundled_workflows, check_workflow,
                                      load_workflow, ui_to_api, widget_slots, workflow_format)
from unflicker.comfy.builder import UIGraph
from unflicker.comfy.recipes import NEEDS, RECIPES, available_recipes

BUNDLED = bundled_workflows()


@pytest.fixture(scope="module")
def pack_info(pack):
    """The pack's node definitions plus the few core nodes the bundled workflows use (LoadImage)."""
    return {**core_object_info(), **build_object_info(pack.NODE_CLASS_MAPPINGS, pack.NODE_DISPLAY_NAME_MAPPINGS)}


# ------------------------------------------------------------------------------------------ bundled workflows
def test_bundled_workflows_exist_with_twins():
    assert BUNDLED, "workflows/ holds no workflow"
    names = {os.path.basename(p) for p in BUNDLED}
    twins = set(os.listdir(os.path.join(wfmod.WORKFLOW_DIR, "api")))
    assert names == twins, f"UI workflows and API twins differ: {sorted(names ^ twins)}"


@pytest.mark.parametrize("path", BUNDLED, ids=os.path.basename)
def test_bundled_ui_workflow_fits_node_definitions(path, pack_info):
    ui = load_workflow(path)
    assert workflow_format(ui) == "ui"
    assert check_workflow(ui, pack_info, files_known=False) == []


@pytest.mark.parametrize("path", BUNDLED, ids=os.path.basename)
def test_api_twin_fits_and_equals_conversion(path, pack_info):
    twin = load_workflow(api_twin_path(path))
    assert workflow_format(twin) == "api"
    assert check_workflow(twin, pack_info, files_known=False) == []
    assert ui_to_api(load_workflow(path), pack_info) == twin, \
        "API twin is stale: run `python -m unflicker workflow regen`"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_matches_its_ui_file(name, pack_info):
    if name not in available_recipes(pack_info):
        missing = [n for n in NEEDS[name] if n not in pack_info]
        assert not os.path.exists(os.path.join(wfmod.WORKFLOW_DIR, f"{name}.json"))
        pytest.skip(f"{name}: nodes not in this pack yet: {', '.join(missing)}")
    path = os.path.join(wfmod.WORKFLOW_DIR, f"{name}.json")
    assert json.loads(wfmod.dump(RECIPES[name](pack_info))) == load_workflow(path), \
        "UI file differs from its recipe: run `python -m unflicker workflow regen --recipes`"


MODEL_EXTENSIONS = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".pkl", ".bin")


def _nodes(path):
    return {n["id"]: n for n in load_workflow(path)["nodes"]}


def _linked_from(ui, node, input_name):
    """The node feeding ``node``'s input ``input_name`` (None when not linked)."""
    slot = next((s for s in node["inputs"] if s["name"] == input_name and s.get("link")), None)
    if slot is None:
        return None
    link = next(l for l in ui["links"] if l[0] == slot["link"])
    return next(n for n in ui["nodes"] if n["id"] == link[1])


@pytest.mark.parametrize("path", BUNDLED, ids=os.path.basename)
def test_every_model_file_is_named_for_the_missing_models_dialog(path):
    """Each model file a node's widget names is in that node's properties.models as ComfyUI's templates hold it
    ({name, url, directory}; the editor reads entries whose name is a widget value), with a Hugging Face download;
    the API twin carries none of it. Each workflow has its note, which names the same files."""
    ui = load_workflow(path)
    notes = [n for n in ui["nodes"] if n["type"] == "MarkdownNote"]
    assert len(notes) == 1 and notes[0]["title"] == "About this workflow"
    for node in ui["nodes"]:
        files = [v for v in node["widgets_values"] if isinstance(v, str) and v.lower().endswith(MODEL_EXTENSIONS)]
        entries = node["properties"].get("models", [])
        assert sorted(e["name"] for e in entries) == sorted(files), (node["type"], files, entries)
        for e in entries:
            assert set(e) == {"name", "url", "directory"} and e["url"].startswith("https://huggingface.co/")
            assert e["url"].split("?")[0].endswith("/" + e["name"]) and e["name"] in notes[0]["widgets_values"][0]
    api = load_workflow(api_twin_path(path))
    assert not any("models" in json.dumps(e.get("_meta", {})) or "properties" in e for e in api.values())


def test_model_entries_must_name_a_widget_value():
    g = UIGraph(INFO)
    load = g.add("Loader", ckpt="b.safetensors", image="x.png")
    entry = {"name": "b.safetensors", "url": "https://huggingface.co/x/resolve/main/b.safetensors",
             "directory": "checkpoints"}
    assert load.model_files(entry).node["properties"]["models"] == [entry]
    with pytest.raises(WorkflowError, match="one of the node's widget values"):
        load.model_files(dict(entry, name="a.safetensors"))
    with pytest.raises(WorkflowError, match="needs name, url and directory"):
        load.model_files({"name": "b.safetensors"})


def _interpolating():
    return [p for p in BUNDLED if any(n["type"] in ("UnflickerRIFEInterpolate", "UnflickerVideoInterpolate")
                                      for n in load_workflow(p)["nodes"])]


@pytest.mark.parametrize("path", _interpolating(), ids=os.path.basename)
def test_interpolating_workflows_name_cores_file_and_run_without_it(path):
    """ComfyUI's own RIFE file in models/frame_interpolation, backend auto (flow when it is missing, as the note
    says), timed by target_fps."""
    ui = load_workflow(path)
    note = next(n for n in ui["nodes"] if n["type"] == "MarkdownNote")["widgets_values"][0]
    assert "falls back to the weight-free optical-flow interpolation" in note
    api = load_workflow(api_twin_path(path))
    for entry in api.values():
        if entry["class_type"] in ("UnflickerRIFEInterpolate", "UnflickerVideoInterpolate"):
            inputs = entry["inputs"]
            assert (inputs["model"], inputs["backend"]) == ("rife_v4.26.safetensors", "auto")
            assert inputs["target_fps"] in (24.0, 30.0, 60.0)


GENERATED = ("svd_to_24fps", "cogvideox_t2v_to_24fps", "cogvideox_i2v_to_24fps", "wan_t2v_to_30fps")


@pytest.mark.parametrize("name", GENERATED)
def test_generated_clip_is_diagnosed_fixed_interpolated_and_verified(name):
    """generate -> Analyze -> Deflicker (auto, fed Analyze's json) -> Interpolate -> Save; Compare Flicker gets
    generated vs deflickered; Side by Side generated (its rate) vs final (fps_b) at quarter speed."""
    path = os.path.join(wfmod.WORKFLOW_DIR, f"{name}.json")
    ui = load_workflow(path)
    by_type = {}
    for n in ui["nodes"]:
        by_type.setdefault(n["type"], []).append(n)
    (fix,) = by_type["UnflickerDeflicker"]
    assert _linked_from(ui, fix, "diagnosis")["type"] == "UnflickerAnalyzeFlicker"
    assert fix["widgets_values"][0] == "auto"
    gen = _linked_from(ui, fix, "images")
    assert gen["type"].endswith("Generate")
    (smooth,) = by_type["UnflickerRIFEInterpolate"]
    assert _linked_from(ui, smooth, "images") is fix
    (compare,) = by_type["UnflickerCompareFlicker"]
    assert (_linked_from(ui, compare, "before"), _linked_from(ui, compare, "after")) == (gen, fix)
    (side,) = by_type["UnflickerSideBySide"]
    assert (_linked_from(ui, side, "images_a"), _linked_from(ui, side, "images_b")) == (gen, smooth)
    assert _linked_from(ui, side, "fps") is gen and _linked_from(ui, side, "fps_b") is smooth
    api = load_workflow(api_twin_path(path))
    (side_api,) = [e for e in api.values() if e["class_type"] == "UnflickerSideBySide"]
    assert side_api["inputs"]["slow_motion"] == 4.0
    saved = [_linked_from(ui, n, "images") for n in by_type["UnflickerSaveVideo"]]
    assert smooth in saved and side in saved


def test_pose_guided_workflows_read_the_reference_at_the_animations_rate():
    """force_rate = the animation's 8 fps (a 30 fps reference is not slowed down); the 60 fps one interpolates,
    then diagnoses and deflickers, and saves with the reference's sound."""
    for name in ("animatediff_openpose_controlnet", "animatediff_openpose_to_60fps"):
        api = load_workflow(os.path.join(wfmod.WORKFLOW_DIR, "api", f"{name}.json"))
        by_type = {e["class_type"]: (nid, e["inputs"]) for nid, e in api.items()}
        load_id, load = by_type["UnflickerLoadVideo"]
        generate = by_type["UnflickerAnimateDiffGenerate"][1]
        assert load["force_rate"] == generate["fps"] == 8.0 and generate["num_frames"] <= load["frame_load_cap"]
    interp_id, interp = by_type["UnflickerRIFEInterpolate"]
    assert interp["target_fps"] == 60.0
    analyze_id, analyze = by_type["UnflickerAnalyzeFlicker"]
    fix_id, fix = by_type["UnflickerDeflicker"]
    assert analyze["images"] == [interp_id, 0] and fix["diagnosis"] == [analyze_id, 1] and fix["mode"] == "auto"
    save = by_type["UnflickerSaveVideo"][1]
    assert save["images"] == [fix_id, 0] and save["fps"] == [interp_id, 1] and save["audio"] == [load_id, 3]


def test_long_animatediff_uses_windows_a_prompt_schedule_and_both_loras():
    from unflicker.generate.animatediff import parse_prompt_schedule

    api = load_workflow(os.path.join(wfmod.WORKFLOW_DIR, "api", "animatediff_long_prompt_schedule.json"))
    by_type = {e["class_type"]: (nid, e["inputs"]) for nid, e in api.items()}
    generate = by_type["UnflickerAnimateDiffGenerate"][1]
    assert generate["num_frames"] >= 48 and (generate["context_length"], generate["context_overlap"]) == (16, 4)
    schedule = parse_prompt_schedule(generate["prompt"])
    assert isinstance(schedule, dict) and len(schedule) >= 3 and max(schedule) < generate["num_frames"]
    motion_id, motion = by_type["UnflickerMotionLora"]
    image_id, image = by_type["UnflickerImageLora"]
    assert image["animatediff"] == [motion_id, 0] and generate["animatediff"] == [image_id, 0]
    assert image["lora_name"] == "AnimateLCM_sd15_t2v_lora.safetensors" and image["strength"] == 0.8
    assert by_type["UnflickerDeflicker"][1]["diagnosis"][0] == by_type["UnflickerAnalyzeFlicker"][0]
    # the windows' seams as the generator reports them (its outputs 2 and 3) go into the Deflicker
    generate_id = by_type["UnflickerAnimateDiffGenerate"][0]
    fix = by_type["UnflickerDeflicker"][1]
    assert fix["segment_starts"] == [generate_id, 2] and fix["overlap"] == [generate_id, 3]


def test_svd_long_video_deflickers_at_the_segment_starts_svd_extend_reports():
    api = load_workflow(os.path.join(wfmod.WORKFLOW_DIR, "api", "svd_long_video.json"))
    by_type = {e["class_type"]: (nid, e["inputs"]) for nid, e in api.items()}
    extend_id, _ = by_type["UnflickerSVDExtend"]
    fix_id, fix = by_type["UnflickerDeflicker"]
    assert fix["images"] == [extend_id, 0] and fix["segment_starts"] == [extend_id, 4] and fix["mode"] == "auto"
    assert by_type["UnflickerSaveVideo"][1]["images"] == [fix_id, 0]


def test_footage_workflow_runs_on_cores_video_type():
    api = load_workflow(os.path.join(wfmod.WORKFLOW_DIR, "api", "footage_fix_to_60fps.json"))
    chain = [e["class_type"] for e in api.values()]
    assert chain == ["LoadVideo", "UnflickerVideoAnalyzeFlicker", "UnflickerVideoDeflicker",
                     "UnflickerVideoInterpolate", "SaveVideo"]
    interp = next(e["inputs"] for e in api.values() if e["class_type"] == "UnflickerVideoInterpolate")
    assert interp["target_fps"] == 60.0


def test_pack_object_info_matches_classes(pack):
    pack_info = pack_object_info()
    assert set(pack_info) == set(pack.NODE_CLASS_MAPPINGS)
    for name, info in pack_info.items():
        assert info["name"] == name and info["display_name"] == pack.NODE_DISPLAY_NAME_MAPPINGS[name]
        assert set(info) >= {"input", "input_order", "output", "output_name", "category", "output_node"}
        assert info["category"].startswith("Unflicker/")


def test_offline_node_definitions_match_the_classes():
    """The snapshot the workflow commands use offline (unflicker/pack_nodes.json) is what the classes say now."""
    proc = subprocess.run([sys.executable, "-m", "unflicker.testing", "snapshot", "--check"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(offline_object_info()) >= set(pack_snapshot()) and "LoadImage" in offline_object_info()


def test_codec_fix_widget_layout(pack_info):
    """Load Video's upload button comes after all its widgets (optional ones too), as the editor 1.27 builds and
    saves it (seen in test_browser_workflows: the editor's own save of this node)."""
    slots = widget_slots(pack_info["UnflickerLoadVideo"])
    assert [n for n, _ in slots] == ["video", "force_rate", "skip_first_frames", "select_every_nth",
                                     "frame_load_cap", "path", "folder_fps", "upload"]
    ui = load_workflow(os.path.join(wfmod.WORKFLOW_DIR, "codec_fix.json"))
    load = next(n for n in ui["nodes"] if n["type"] == "UnflickerLoadVideo")
    assert load["widgets_values"][-1] == "image"


# ------------------------------------------------------------------------------------------ converter
SAMPLER = {
    "input": {"required": {"model": ["MODEL"], "seed": ["INT", {"default": 0, "min": 0, "max": 2**32}],
                           "steps": ["INT", {"default": 20, "min": 1, "max": 100}],
                           "sampler": [["euler", "ddim"], {"default": "euler"}],
                           "cfg": ["FLOAT", {"default": 7.0, "min": 0.0, "max": 30.0}]},
              "optional": {"sigma": ["FLOAT", {"default": 1.0, "forceInput": True}],
                           "tags": ["STRING", {"default": ""}]}},
    "output": ["LATENT"], "output_name": ["LATENT"], "name": "Sampler", "display_name": "Sampler",
    "category": "test", "output_node": False,
}
LOADER = {"input": {"required": {"ckpt": [["a.safetensors", "b.safetensors"]],
                                 "image": [["x.png"], {"image_upload": True}]}},
          "output": ["MODEL", "FLOAT"], "output_name": ["MODEL", "SIGMA"], "name": "Loader",
          "display_name": "Loader", "category": "test", "output_node": False}
SINK = {"input": {"required": {"latent": ["LATENT"]}}, "output": [], "output_name": [], "name": "Sink",
        "display_name": "Sink", "category": "test", "output_node": True}
INFO = {"Sampler": SAMPLER, "Loader": LOADER, "Sink": SINK}


def _graph():
    g = UIGraph(INFO)
    load = g.add("Loader", ckpt="b.safetensors", image="x.png")
    samp = g.add("Sampler", title="My sampler", model=load["MODEL"], sigma=load[1], seed=42, steps=30,
                 tags="a b")
    g.add("Sink", latent=samp[0])
    g.note("hello")
    return g.to_json()


def test_widget_slots_follow_the_editor():
    assert widget_slots(SAMPLER) == [("seed", "value"), ("control_after_generate", "control"), ("steps", "value"),
                                     ("sampler", "value"), ("cfg", "value"), ("tags", "value")]
    assert widget_slots(SAMPLER, legacy=True)[-2:] == [("sigma", "dummy"), ("tags", "value")]
    assert widget_slots(LOADER) == [("ckpt", "value"), ("image", "value"), ("upload", "upload")]


def test_ui_to_api_maps_widgets_links_and_titles():
    ui = _graph()
    sampler = next(n for n in ui["nodes"] if n["type"] == "Sampler")
    assert sampler["widgets_values"] == [42, "fixed", 30, "euler", 7.0, "a b"]
    api = ui_to_api(ui, INFO)
    pack = pack_registry_entry()  # the builder saves each node's pack as the editor does; the prompt carries it
    assert pack == {"cnr_id": "comfyui-unflicker", "ver": pack["ver"]} and pack["ver"] != "unknown"
    assert api == {
        "1": {"inputs": {"ckpt": "b.safetensors", "image": "x.png"}, "class_type": "Loader",
              "_meta": {"title": "Loader", **pack}},
        "2": {"inputs": {"seed": 42, "steps": 30, "sampler": "euler", "cfg": 7.0, "tags": "a b",
                         "model": ["1", 0], "sigma": ["1", 1]}, "class_type": "Sampler",
              "_meta": {"title": "My sampler", **pack}},
        "3": {"inputs": {"latent": ["2", 0]}, "class_type": "Sink", "_meta": {"title": "Sink", **pack}},
    }
    assert check_workflow(ui, INFO) == []
    assert check_workflow(api, INFO) == []
    sampler["widgets_values"][-1] = ["a", "b"]  # list values are wrapped, as the editor does
    assert ui_to_api(ui, INFO)["2"]["inputs"]["tags"] == {"__value__": ["a", "b"]}


def _insert_between(ui, target_type, input_name, node):
    """Put ``node`` (one input, one output) on the link feeding target.input_name."""
    target = next(n for n in ui["nodes"] if n["type"] == target_type)
    slot = next(s for s in target["inputs"] if s["name"] == input_name)
    link = next(l for l in ui["links"] if l[0] == slot["link"])
    new_link = max(l[0] for l in ui["links"]) + 1
    node.update(id=99, pos=[0, 0], size=[100, 30], flags={}, order=9, properties={})
    node.setdefault("mode", 0)
    node["inputs"][0]["link"] = link[0]
    node["outputs"][0]["links"] = [new_link]
    ui["links"].append([new_link, 99, 0, link[3], link[4], link[5]])
    link[3], link[4] = 99, 0
    slot["link"] = new_link
    ui["nodes"].append(node)
    return ui


def test_reroute_bypass_and_muted_nodes_resolve_like_the_editor():
    expected = ui_to_api(_graph(), INFO)
    reroute = {"type": "Reroute", "inputs": [{"name": "", "type": "*", "link": None}],
               "outputs": [{"name": "", "type": "LATENT", "links": []}]}
    assert ui_to_api(_insert_between(_graph(), "Sink", "latent", reroute), INFO) == expected
    bypassed = {"type": "Sink", "mode": 4, "inputs": [{"name": "latent", "type": "LATENT", "link": None}],
                "outputs": [{"name": "LATENT", "type": "LATENT", "links": []}]}
    assert ui_to_api(_insert_between(_graph(), "Sink", "latent", bypassed), INFO) == expected
    muted = _graph()
    next(n for n in muted["nodes"] if n["type"] == "Sampler")["mode"] = 2
    api = ui_to_api(muted, INFO)
    assert "2" not in api and api["3"]["inputs"] == {}  # the editor drops links to muted nodes


def test_primitive_node_feeds_its_value():
    ui = _graph()
    sampler = next(n for n in ui["nodes"] if n["type"] == "Sampler")
    sampler["inputs"].append({"name": "steps", "type": "INT", "widget": {"name": "steps"}, "link": 50})
    ui["nodes"].append({"id": 50, "type": "PrimitiveNode", "pos": [0, 0], "size": [1, 1], "flags": {}, "order": 0,
                        "mode": 0, "properties": {}, "outputs": [{"name": "INT", "type": "INT", "links": [50]}],
                        "widgets_values": [77, "fixed"]})
    ui["links"].append([50, 50, 0, sampler["id"], len(sampler["inputs"]) - 1, "INT"])
    assert ui_to_api(ui, INFO)["2"]["inputs"]["steps"] == 77


def test_widget_count_mismatch_strict_and_lenient():
    ui = _graph()
    sampler = next(n for n in ui["nodes"] if n["type"] == "Sampler")
    sampler["widgets_values"] = sampler["widgets_values"][:3]
    problems = check_workflow(ui, INFO)
    assert any("3 widget values saved" in p for p in problems)
    # The editor itself loads such a file with defaults for the missing widgets.
    assert ui_to_api(ui, INFO)["2"]["inputs"]["cfg"] == 7.0
    legacy = _graph()
    legacy["nodes"][1]["widgets_values"] = [42, "fixed", 30, "euler", 7.0, 0.5, "t"]  # pre-1.16 dummy for sigma
    assert ui_to_api(legacy, INFO)["2"]["inputs"]["tags"] == "t"


def test_unknown_node_type_is_named():
    ui = _graph()
    ui["nodes"][0]["type"] = "NoSuchNode"
    with pytest.raises(WorkflowError, match="unknown node type 'NoSuchNode'"):
        ui_to_api(ui, INFO)
    assert any("unknown node type 'NoSuchNode'" in p for p in check_workflow(ui, INFO))


@pytest.mark.parametrize("change, message", [
    (lambda a: a["2"]["inputs"].update(sampler="bogus"), "'bogus' is not one of the allowed values"),
    (lambda a: a["2"]["inputs"].update(steps=500), "500 is above the maximum 100"),
    (lambda a: a["2"]["inputs"].update(steps=2.5), "expected a whole number"),
    (lambda a: a["2"]["inputs"].update(cfg="high"), "expected a number"),
    (lambda a: a["2"]["inputs"].pop("seed"), "required input 'seed' is missing"),
    (lambda a: a["2"]["inputs"].update(model=["1", 1]), "model expects MODEL but is linked to a FLOAT output"),
    (lambda a: a["2"]["inputs"].update(model=["1", 5]), "which has 2 outputs"),
    (lambda a: a["2"]["inputs"].update(model=["7", 0]), "not in the workflow"),
    (lambda a: a["2"]["inputs"].update(typo=1), "has no input 'typo'"),
    (lambda a: a["3"]["inputs"].update(latent=5), "must be linked"),
    (lambda a: a["1"]["inputs"].update(ckpt="c.safetensors"), "'c.safetensors' is not one of"),
])
def test_check_finds_bad_api_values(change, message):
    api = ui_to_api(_graph(), INFO)
    change(api)
    problems = check_workflow(api, INFO)
    assert any(message in p for p in problems), problems


def test_files_unknown_offline_accepts_file_names():
    api = ui_to_api(_graph(), INFO)
    api["1"]["inputs"].update(ckpt="c.safetensors", image="mine.png")
    assert check_workflow(api, INFO, files_known=False) == []
    assert check_workflow(api, INFO, files_known=True) != []


def test_ui_link_type_mismatch_is_found():
    ui = _graph()
    link = next(l for l in ui["links"] if l[5] == "MODEL")
    link[2] = 1  # now from the FLOAT output
    problems = check_workflow(ui, INFO)
    assert any("output 1 is FLOAT" in p and "takes MODEL" in p for p in problems), problems


def test_overrides_by_id_and_title():
    api = ui_to_api(_graph(), INFO)
    applied = apply_overrides(api, ["2.steps=12", "My sampler.sampler=ddim", "my sampler.tags=[1, 2]",
                                    "Loader.ckpt=a.safetensors", "2.cfg=not json"], INFO)
    assert [a[:2] for a in applied] == [("2", "steps"), ("2", "sampler"), ("2", "tags"), ("1", "ckpt"),
                                        ("2", "cfg")]
    assert api["2"]["inputs"]["steps"] == 12 and api["2"]["inputs"]["sampler"] == "ddim"
    assert api["2"]["inputs"]["tags"] == {"__value__": [1, 2]} and api["2"]["inputs"]["cfg"] == "not json"
    for bad, message in (("9.steps=1", "no node with id or title '9'"), ("2.nope=1", "has no input 'nope'"),
                         ("2steps=1", "expected NODE.INPUT=VALUE")):
        with pytest.raises(WorkflowError, match=message):
            apply_overrides(copy.deepcopy(api), [bad], INFO)
    twice = copy.deepcopy(api)
    twice["3"]["_meta"]["title"] = "My sampler"
    with pytest.raises(WorkflowError, match="several nodes"):
        apply_overrides(twice, ["My sampler.steps=1"], INFO)


def test_not_a_workflow(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    with pytest.raises(WorkflowError, match="not a ComfyUI workflow"):
        load_workflow(str(bad))
    bad.write_text("{nope")
    with pytest.raises(WorkflowError, match="not valid JSON"):
        load_workflow(str(bad))


def test_workflow_cli_check_and_convert(capsys, tmp_path):
    assert cli_main(["workflow", "check"]) == 0
    assert "ok " in capsys.readouterr().out
    out = tmp_path / "api.json"
    codec_fix = os.path.join(wfmod.WORKFLOW_DIR, "codec_fix.json")  # node 1 is its Load Video
    assert cli_main(["workflow", "convert", codec_fix, "-o", str(out), "--set", "1.frame_load_cap=4"]) == 0
    api = json.loads(out.read_text())
    assert api["1"]["inputs"]["frame_load_cap"] == 4


def test_model_folder_combos_are_left_to_the_server():
    """A loader's list of model folders (names without extensions) is marked model_list: offline checks accept any
    name there, since only the server knows which folders exist; other combos stay strict."""
    from unflicker.comfy.workflow import check_value

    folders = (["tiny-cogvideox-i2v", "(none: use path)"], {"model_list": True})
    assert check_value("model", folders, "CogVideoX-5b-I2V", files_known=False) is None
    assert "not one of the allowed values" in check_value("model", folders, "CogVideoX-5b-I2V", files_known=True)
    plain = (["none", "model", "sequential"], {"default": "none"})
    assert "not one of the allowed values" in check_value("offload", plain, "disk", files_known=False)

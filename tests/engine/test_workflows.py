"""Bundled workflows against the pack's own node definitions, and the UI -> API converter / checker itself."""

import copy
import json
import os
import subprocess
import sys

import pytest

from unflicker.comfy import workflow as wfmod
from unflicker.comfy.object_info import (REPO, build_object_info, core_object_info, offline_object_info,
                                         pack_object_info, pack_snapshot)
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
    assert api == {
        "1": {"inputs": {"ckpt": "b.safetensors", "image": "x.png"}, "class_type": "Loader",
              "_meta": {"title": "Loader"}},
        "2": {"inputs": {"seed": 42, "steps": 30, "sampler": "euler", "cfg": 7.0, "tags": "a b",
                         "model": ["1", 0], "sigma": ["1", 1]}, "class_type": "Sampler",
              "_meta": {"title": "My sampler"}},
        "3": {"inputs": {"latent": ["2", 0]}, "class_type": "Sink", "_meta": {"title": "Sink"}},
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

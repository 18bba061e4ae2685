"""The converter against the editor itself: each bundled UI workflow is loaded into ComfyUI's real frontend (headless
Chromium) and the editor's own ``graphToPrompt`` must give exactly our API twin; the editor's re-save must keep
every widget value. Also checks our converter against the editor on ComfyUI's own example templates, and on node
pack fields (properties cnr_id / aux_id / ver), which newer editors copy into each prompt entry's ``_meta`` and
older ones (1.27.10) leave out: there the comparison leaves them out of ours too.

Skipped unless COMFYUI_DIR is set and Chromium, chromedriver (Debian `chromium`, `chromium-driver`) and pip
`selenium` are present. The browser resolves no host but 127.0.0.1. Runs on the frontend ComfyUI pins and on each
frontend static folder listed in COMFYUI_FRONTEND_ROOT (os.pathsep-separated; test ids name it, e.g. [1.58.1]).
"""

from __future__ import annotations

import glob
import json
import os
import time

import pytest
from comfy_server import ComfyServer, frontend_label, frontend_roots
from headless_chromium import chromium

from unflicker.comfy.workflow import (PACK_META_KEYS, WorkflowError, api_twin_path, bundled_workflows, load_workflow,
                                      node_inputs, ui_to_api)

COMFYUI_DIR = os.environ.get("COMFYUI_DIR", "")
TEMPLATE_SAMPLE = int(os.environ.get("UNFLICKER_TEMPLATE_SAMPLE", "40"))
pytestmark = [pytest.mark.comfyui,
              pytest.mark.skipif(not COMFYUI_DIR, reason="COMFYUI_DIR is not set (needs a ComfyUI checkout)")]

READY = """const app = window.comfyAPI?.app?.app;
return !!(app?.graph && window.LiteGraph?.registered_node_types?.UnflickerSaveVideo);"""

LOAD_AND_CONVERT = """
const [workflow, done] = arguments;
const app = window.comfyAPI.app.app;
app.loadGraphData(workflow, true, true, null, {showMissingNodesDialog: false, showMissingModelsDialog: false})
  .then(async () => {
    await new Promise((r) => setTimeout(r, 200));
    const prompt = await app.graphToPrompt();
    done({output: prompt.output, saved: app.graph.serialize()});
  }, (e) => done({error: String(e?.stack ?? e)}));
"""


@pytest.fixture(scope="module", params=frontend_roots(), ids=frontend_label)
def server(request):
    with ComfyServer(COMFYUI_DIR, front_end_root=request.param) as comfy:
        yield comfy


@pytest.fixture(scope="module")
def page(server):
    with chromium() as driver:
        driver.get(server.url)
        deadline = time.monotonic() + 120
        while not driver.execute_script(READY):
            if time.monotonic() > deadline:
                pytest.fail("the ComfyUI page did not become ready")
            time.sleep(0.5)
        yield driver


def _editor(driver, workflow: dict) -> dict:
    result = driver.execute_async_script(LOAD_AND_CONVERT, workflow)
    assert "error" not in result, result.get("error")
    return result


def _with_pack(workflow: dict, **props) -> dict:
    """A copy whose nodes all carry these pack properties (as an editor with the Manager saves them)."""
    workflow = json.loads(json.dumps(workflow))
    for node in workflow["nodes"]:
        node.setdefault("properties", {}).update(props)
    return workflow


@pytest.fixture(scope="module")
def writes_pack_meta(page) -> bool:
    """Whether this editor copies a node's pack properties into the prompt's _meta (1.58.1 does, 1.27.10 not)."""
    probe = {"last_node_id": 1, "last_link_id": 0, "links": [], "groups": [], "config": {}, "extra": {}, "version": 0.4,
             "nodes": [{"id": 1, "type": "EmptyLatentImage", "pos": [0, 0], "size": [300, 110], "flags": {},
                        "order": 0, "mode": 0, "inputs": [], "outputs": [{"name": "LATENT", "type": "LATENT"}],
                        "properties": {"cnr_id": "comfy-core", "ver": "0.3.64"}, "widgets_values": [64, 64, 1]}]}
    meta = _editor(page, probe)["output"]["1"]["_meta"]
    assert set(meta) in ({"title"}, {"title", "cnr_id", "ver"}), meta
    return "cnr_id" in meta


def _as_this_editor(api: dict, writes_pack_meta: bool) -> dict:
    """Our prompt as this editor would write it: without the pack fields where it writes none."""
    if writes_pack_meta:
        return api
    return {nid: {**entry, "_meta": {k: v for k, v in entry["_meta"].items() if k not in PACK_META_KEYS}}
            for nid, entry in api.items()}


@pytest.mark.parametrize("path", bundled_workflows(), ids=os.path.basename)
def test_editor_converts_bundled_workflow_to_its_api_twin(page, writes_pack_meta, path):
    ui = load_workflow(path)
    result = _editor(page, ui)
    assert result["output"] == _as_this_editor(load_workflow(api_twin_path(path)), writes_pack_meta)
    # a node without widgets: 1.27 saves widgets_values [], 1.58 leaves it out
    saved = {str(n["id"]): n.get("widgets_values", []) for n in result["saved"]["nodes"]}
    for node in ui["nodes"]:
        assert saved[str(node["id"])] == node["widgets_values"], f"node {node['id']} {node['type']}"


def _core_templates() -> list[str]:
    try:
        import comfyui_workflow_templates  # in ComfyUI's environment, not necessarily in this one
        folder = os.path.join(os.path.dirname(comfyui_workflow_templates.__file__), "templates")
    except ImportError:
        found = glob.glob(os.path.join(os.path.dirname(COMFYUI_DIR.rstrip("/")) or ".", "*venv*", "lib", "python*",
                                       "site-packages", "comfyui_workflow_templates", "templates"))
        folder = found[0] if found else ""
    return sorted(glob.glob(os.path.join(folder, "*.json")))


# Pack properties the editor keeps or drops by its schema: registry ids, GitHub repos, semver with or without 'v',
# commit hashes, 'unknown', and values it refuses (bad characters, two-part versions, capitals in a pre-release).
PACK_PROPERTIES = [
    {"cnr_id": "comfyui-unflicker", "ver": "1.0.0"},
    {"cnr_id": "comfy-core", "ver": "v0.3.64"},
    {"aux_id": "some-user/ComfyUI-Unflicker", "ver": "4f0e2c1a9b"},
    {"cnr_id": "a", "ver": "unknown", "aux_id": "-bad-/repo"},
    {"cnr_id": "bad id!", "ver": "1.2", "aux_id": "owner/repo/extra"},
    {"cnr_id": "_leading", "ver": "1.0.0-RC1", "aux_id": "ok-owner/_bad"},
    {"cnr_id": "x" * 101, "ver": "1.0.0-rc.1+build.5", "aux_id": "a--b/repo"},
    {"cnr_id": 7, "ver": "vunknown"},
    {"cnr_id": "pack\n", "ver": "1.0.0\n", "aux_id": "o/r\n"},
]


@pytest.fixture(scope="module")
def object_info(server) -> dict:
    import urllib.request

    with urllib.request.urlopen(server.url + "/object_info", timeout=60) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("props", PACK_PROPERTIES, ids=[f"pack{i}" for i in range(len(PACK_PROPERTIES))])
def test_converter_carries_node_pack_fields_as_the_editor(page, object_info, writes_pack_meta, props):
    ui = _with_pack(load_workflow(bundled_workflows()[0]), **props)
    ours = ui_to_api(ui, object_info)
    assert _editor(page, ui)["output"] == _as_this_editor(ours, writes_pack_meta)


def test_converter_agrees_with_the_editor_on_core_templates(page, object_info, writes_pack_meta):
    """ComfyUI's own example workflows: where our converter accepts one, the editor must produce the same prompt."""
    templates = _core_templates()
    if TEMPLATE_SAMPLE <= 0:
        pytest.skip("UNFLICKER_TEMPLATE_SAMPLE=0")
    if not templates:
        pytest.skip("comfyui_workflow_templates is not installed next to this ComfyUI")
    compared, differ = 0, []
    for path in templates:
        if compared >= TEMPLATE_SAMPLE:
            break
        try:
            ui = json.load(open(path, encoding="utf-8"))
            ours = ui_to_api(ui, object_info)
        except (WorkflowError, ValueError, KeyError, TypeError):
            continue  # subgraphs, nodes this ComfyUI lacks: not comparable
        theirs = _editor(page, ui)["output"]
        compared += 1
        # Editor extensions add display widgets (PreviewAny's 'preview', SaveGLB's viewer) that the editor sends
        # and the server ignores: compare the node's real inputs only.
        # Titles of core nodes with no display_name come from the editor's own translations: not comparable.
        for nid, entry in theirs.items():
            node_def = object_info.get(entry["class_type"], {})
            known = {n for n, _, _ in node_inputs(node_def)}
            entry["inputs"] = {k: v for k, v in entry["inputs"].items() if k in known}
            if not node_def.get("display_name") and nid in ours:
                entry["_meta"] = {**entry["_meta"], "title": ours[nid]["_meta"]["title"]}
        if theirs != _as_this_editor(ours, writes_pack_meta):
            differ.append(os.path.basename(path))
    print(f"\nconverter vs editor: {compared - len(differ)}/{compared} core templates give the same prompt")
    assert compared and not differ, f"differ from the editor: {differ}"

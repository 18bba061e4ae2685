"""The frontend extension in a real ComfyUI page, in headless Chromium driven by Selenium.

Skipped unless COMFYUI_DIR points at a ComfyUI checkout. Needs Debian's `chromium` and `chromium-driver` and pip
`selenium` (see README, Development); installs nothing itself. ComfyUI runs from COMFYUI_DIR on a free loopback
port with a throw-away base directory whose custom_nodes/ComfyUI-Unflicker links to this checkout; the browser can
resolve no host but 127.0.0.1. Screenshots and the server log go to $UNFLICKER_ARTIFACTS (default tests/artifacts/),
named by frontend version. Every test runs on the frontend ComfyUI pins and on each frontend static folder listed in
COMFYUI_FRONTEND_ROOT (os.pathsep-separated, served with --front-end-root; test ids name it, e.g. [1.58.1]).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import time
import urllib.request

import pytest
from comfy_server import ComfyServer, frontend_label, frontend_roots
from headless_chromium import chromium
from conftest import REPO

COMFYUI_DIR = os.environ.get("COMFYUI_DIR", "")
ARTIFACTS = os.environ.get("UNFLICKER_ARTIFACTS") or os.path.join(REPO, "tests", "artifacts")
EXTENSION = "Unflicker.NodeViews"
CLIP = "unflicker_browser_clip.mp4"

pytestmark = [
    pytest.mark.comfyui,
    pytest.mark.skipif(not COMFYUI_DIR, reason="COMFYUI_DIR is not set (needs a ComfyUI checkout)"),
]

# Runs before any page script: records errors with their source so ours can be told from ComfyUI's own, and
# gives tests a hook on afterConfigureGraph (the list of missing node types of the last loaded workflow).
PAGE_PROBE = r"""
window.__unflickerErrors = [];
const record = (kind, message, where) => window.__unflickerErrors.push({kind, message: String(message), where: String(where || "")});
window.addEventListener("error", (e) => record("error", e.message, (e.filename || "") + "\n" + (e.error?.stack || "")));
window.addEventListener("unhandledrejection", (e) => record("rejection", e.reason?.message ?? e.reason, e.reason?.stack));
const consoleError = console.error.bind(console);
console.error = (...args) => {
  record("console", args.map((a) => a?.message ?? a).join(" "), args.map((a) => a?.stack ?? "").join("\n") + "\n" + new Error().stack);
  consoleError(...args);
};
"""

WAIT_READY = """
const app = window.comfyAPI?.app?.app;
return !!(app?.graph && app.canvas && window.LiteGraph?.registered_node_types?.UnflickerSaveVideo);
"""


def _get_json(url: str, data: dict | None = None):
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _until(check, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="module", params=frontend_roots(), ids=frontend_label)
def comfy(request):
    """ComfyUI with this pack and the frontend under test, on a free loopback port, in a temp base directory
    (tests/support/comfy_server.py); yields its base URL. The server log is kept as comfyui-<frontend>.log."""
    from unflicker.media import synthetic, video

    os.makedirs(ARTIFACTS, exist_ok=True)
    server = ComfyServer(COMFYUI_DIR, front_end_root=request.param)
    try:
        server.start()
        settings = os.path.join(server.base, "user", "default", "comfy.settings.json")
        os.makedirs(os.path.dirname(settings), exist_ok=True)
        with open(settings, "w") as f:  # read on each page load: no first-run template browser over the canvas
            json.dump({"Comfy.TutorialCompleted": True}, f)
        clip = synthetic.moving_clip("pan", frames=16, height=96, width=128, seed=1)
        clip, _ = synthetic.brightness_flicker(clip, 0.12, seed=1)
        video.write_video(os.path.join(server.input_dir, CLIP), clip, 8.0)
        yield server.url
    finally:
        server.stop()
        if os.path.isfile(server.log_path):
            shutil.copyfile(server.log_path, os.path.join(ARTIFACTS, f"comfyui-{frontend_label(request.param)}.log"))
        server.cleanup()


@pytest.fixture(scope="module")
def page(comfy):
    """Headless Chromium on the ComfyUI page, with the error probe installed; yields the Selenium driver."""
    with chromium(("--window-size=1600,1100", "--autoplay-policy=no-user-gesture-required"),
                  {"goog:loggingPrefs": {"browser": "ALL"}}) as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PAGE_PROBE})
        driver.get(comfy)
        _until(lambda: driver.execute_script(WAIT_READY), 90, "the ComfyUI app and the pack's node types")
        driver.execute_script("""
            const app = window.comfyAPI.app.app;
            window.__unflickerMissing = null;
            app.registerExtension({name: "Unflicker.BrowserTestProbe",
                                   afterConfigureGraph(missing) {
                                       // node type names (1.27), or records with the type (1.58)
                                       window.__unflickerMissing = [...(missing ?? [])].map((m) => m?.type ?? m);
                                   }});
        """)
        yield driver


def _our_errors(driver) -> list[str]:
    """Errors whose message or stack points into this pack's extension file, or into its node types."""
    found = [f"{e['kind']}: {e['message']}" for e in driver.execute_script("return window.__unflickerErrors")
             if "unflicker" in (e["message"] + e["where"]).lower()]
    found += [e["message"] for e in driver.get_log("browser")
              if e["level"] == "SEVERE" and "unflicker" in e["message"].lower()]
    return found


def _load_workflow(driver, workflow: dict) -> dict:
    """Load a UI workflow as the user would (menu Open goes through the same app.loadGraphData)."""
    return driver.execute_async_script("""
        const [workflow, done] = arguments;
        const app = window.comfyAPI.app.app;
        window.__unflickerMissing = null;
        app.loadGraphData(workflow, true, true, null).then(async () => {
            await new Promise((r) => setTimeout(r, 300));
            const unknown = app.graph.nodes.filter((n) => !(n.type in LiteGraph.registered_node_types)).map((n) => n.type);
            const dialogs = [...document.querySelectorAll(".p-dialog, .p-toast-message")].map((d) => d.innerText.slice(0, 3000));
            done({missing: window.__unflickerMissing, unknown, dialogs, nodes: app.graph.nodes.length});
        }, (e) => done({error: String(e?.stack ?? e)}));
    """, workflow)


def _close_dialogs(driver):
    driver.execute_script("""
        for (const b of document.querySelectorAll(".p-dialog-close-button, .p-dialog-header-close, .p-toast-close-button")) b.click();
    """)


def _queue_via_api(driver, comfy) -> str:
    """Turn the page's graph into an API prompt and queue it over HTTP, as a script or client would."""
    prompt = driver.execute_async_script("""
        const done = arguments[0];
        window.comfyAPI.app.app.graphToPrompt().then((p) => done(p.output), (e) => done({error: String(e)}));
    """)
    assert "error" not in prompt, prompt
    client_id = driver.execute_script("return window.comfyAPI.api.api.clientId")
    answer = _get_json(f"{comfy}/prompt", {"prompt": prompt, "client_id": client_id})
    assert not answer.get("node_errors"), answer
    prompt_id = answer["prompt_id"]

    def finished():
        history = _get_json(f"{comfy}/history/{prompt_id}").get(prompt_id)
        if history and history.get("status", {}).get("status_str") == "error":
            raise AssertionError(f"the prompt failed: {json.dumps(history['status'])[:2000]}")
        return history if history and history.get("status", {}).get("completed") else None

    return _until(finished, 240, "the queued prompt to finish", 1.0)


BUILD_VIDEO_GRAPH = """
const [clip] = arguments;
const app = window.comfyAPI.app.app;
app.clean(); app.graph.clear();  // clean() also drops the last run's outputs, which are kept by node id
const add = (type, x, y) => { const n = LiteGraph.createNode(type); n.pos = [x, y]; app.graph.add(n); return n; };
const load = add("UnflickerLoadVideo", 20, 40);
load.widgets.find((w) => w.name === "video").value = clip;
const sbs = add("UnflickerSideBySide", 420, 40);
const save = add("UnflickerSaveVideo", 420, 420);
load.connect(0, sbs, "images_a"); load.connect(0, sbs, "images_b");
sbs.connect(0, save, "images"); sbs.connect(1, save, "fps");
sbs.widgets.find((w) => w.name === "slow_motion").value = 2;
save.widgets.find((w) => w.name === "filename_prefix").value = "browser-test/clip";
app.canvas.ds.scale = 1; app.canvas.ds.offset = [0, 0];  // these nodes in view, whatever was loaded before
app.graph.setDirtyCanvas(true, true);
// through JSON, as a saved workflow file would be (no undefined values)
return {load: load.id, sbs: sbs.id, save: save.id, workflow: JSON.parse(JSON.stringify(app.graph.serialize()))};
"""

VIDEO_STATE = """
const node = window.comfyAPI.app.app.graph.getNodeById(arguments[0]);
const w = node?.widgets?.find((w) => w.name === "unflicker_video_view");
const media = w?.element?.querySelector(".unflicker-media");
if (!media) return null;
const core = (node.widgets ?? []).filter((w) => ["video-preview", "$$comfy_animation_preview"].includes(w.name)).length;
return {tag: media.tagName, src: media.getAttribute("src"), ready: media.readyState ?? null,
        width: media.videoWidth ?? media.naturalWidth, visible: media.getBoundingClientRect().width > 0,
        caption: w.element.querySelector(".unflicker-caption")?.textContent, corePreviews: core};
"""


def test_page_loads_and_extension_registers_without_errors(page, comfy):
    assert "/extensions/ComfyUI-Unflicker/js/unflicker.js" in _get_json(f"{comfy}/extensions")  # from WEB_DIRECTORY
    names = page.execute_script("return window.comfyAPI.app.app.extensions.map((e) => e.name)")
    assert EXTENSION in names
    assert _our_errors(page) == []


def _models_dialog(dialogs: list[str]) -> str | None:
    """The editor's Missing Models dialog (frontend 1.27; 1.58 marks the nodes instead), if one is open."""
    return next((d for d in dialogs if "models were not found" in d.lower()), None)


def _declared_models(workflow: dict) -> set[str]:
    """'folder / file' of each model file the workflow's nodes declare (properties.models), as the dialog lists them."""
    return {f"{m['directory']} / {m['name']}" for node in workflow["nodes"]
            for m in (node.get("properties") or {}).get("models") or []}


def test_bundled_workflows_load_without_missing_nodes(page):
    paths = sorted(glob.glob(os.path.join(REPO, "workflows", "*.json")))
    assert paths, "the pack bundles UI workflows in workflows/"
    for path in paths:
        with open(path) as f:
            workflow = json.load(f)
        result = _load_workflow(page, workflow)
        name = os.path.basename(path)
        assert "error" not in result, f"{name}: {result}"
        assert result["missing"] == [] and result["unknown"] == [], f"{name}: missing node types {result}"
        # this ComfyUI has none of the models: the editor may list them (what the user is told to download) but
        # must not report a missing or invalid node
        models = _models_dialog(result["dialogs"])
        others = [d for d in result["dialogs"] if d is not models]
        assert not any("missing" in d.lower() or "invalid" in d.lower() for d in others), f"{name}: {result}"
        if models:
            assert all(m in models for m in _declared_models(workflow)), f"{name}: {models}"
        assert result["nodes"] > 0, name
        _close_dialogs(page)
    # the check sees a missing node where there is one, on this frontend too. Alone: the editor then looks up every
    # node of the workflow in the registry, which fails offline, logging names our error filter would pick up.
    broken = {"last_node_id": 1, "last_link_id": 0, "links": [], "groups": [], "config": {}, "extra": {},
              "version": 0.4, "nodes": [{"id": 1, "type": "BrowserTestNoSuchNode", "pos": [0, 0], "size": [200, 60],
                                         "flags": {}, "order": 0, "mode": 0, "properties": {}, "widgets_values": []}]}
    result = _load_workflow(page, broken)
    assert result["unknown"] == result["missing"] == ["BrowserTestNoSuchNode"], result
    _close_dialogs(page)
    assert _our_errors(page) == []


def test_video_previews_play_in_save_video_and_side_by_side(page, comfy):
    ids = page.execute_script(BUILD_VIDEO_GRAPH, CLIP)
    # the graph built here round-trips through a saved UI workflow like the bundled ones
    result = _load_workflow(page, ids["workflow"])
    assert result["missing"] == [] and result["unknown"] == [] and result["nodes"] == 3 and not result["dialogs"], result
    history = _queue_via_api(page, comfy)
    outputs = history["outputs"]
    assert outputs[str(ids["save"])]["unflicker_video"][0]["type"] == "output"
    assert outputs[str(ids["sbs"])]["unflicker_video"][0]["type"] == "temp"

    for node_id, kind in ((ids["save"], "output"), (ids["sbs"], "temp")):
        state = _until(lambda: (s := page.execute_script(VIDEO_STATE, node_id)) and s["ready"] >= 2 and s, 30,
                       f"the {kind} preview video to load in node {node_id}")
        assert state["tag"] == "VIDEO" and f"type={kind}" in state["src"] and state["src"].startswith("/api/view?")
        assert state["width"] > 0 and state["visible"], state  # decoded (h264 plays in this Chromium) and on screen
        assert state["corePreviews"] == 0, state  # ours replaces ComfyUI's own, no duplicate
        assert "frames" in state["caption"] and "fps" in state["caption"]
    prompt = page.execute_async_script("""
        const done = arguments[0];
        window.comfyAPI.app.app.graphToPrompt().then((p) => done(p.output));
    """)
    assert not [k for node in prompt.values() for k in node["inputs"] if k.startswith("unflicker_")], prompt  # views stay out
    _screenshot(page, "video-previews.png")

    # run again as GIF (ComfyUI's own preview would try it as a <video> and show nothing): same view, now an <img>
    page.execute_script("window.comfyAPI.app.app.graph.getNodeById(arguments[0]).widgets"
                        ".find((w) => w.name === 'format').value = 'gif'", ids["save"])
    _queue_via_api(page, comfy)
    state = _until(lambda: (s := page.execute_script(VIDEO_STATE, ids["save"])) and s["tag"] == "IMG" and s["width"] and s,
                   30, "the GIF preview to load")
    assert state["src"].endswith("type=output") and ".gif" in state["src"] and state["visible"], state
    views = page.execute_script("return window.comfyAPI.app.app.graph.getNodeById(arguments[0]).widgets"
                                ".filter((w) => w.name === 'unflicker_video_view').length", ids["save"])
    assert views == 1 and state["corePreviews"] == 0  # updated in place, not stacked
    assert _our_errors(page) == []


def _screenshot(driver, name: str):
    driver.execute_script("""
        // fit every node in view (no larger than 1:1), leaving room for the minimap in the bottom-right corner and
        // for the side bar and menus, which newer frontends (1.58) float over the canvas instead of beside it
        const app = window.comfyAPI.app.app, nodes = app.graph.nodes, left = 110, top = 110;
        const minX = Math.min(...nodes.map((n) => n.pos[0])), minY = Math.min(...nodes.map((n) => n.pos[1])) - 40;
        const maxX = Math.max(...nodes.map((n) => n.pos[0] + n.size[0])), maxY = Math.max(...nodes.map((n) => n.pos[1] + n.size[1]));
        const el = app.canvas.canvas.getBoundingClientRect();
        const scale = Math.min(1, (window.innerWidth - left - 320) / (maxX - minX), (window.innerHeight - top - 30) / (maxY - minY));
        app.canvas.ds.scale = scale;
        app.canvas.ds.offset = [(left - el.left) / scale - minX, (top - el.top) / scale - minY];
        app.graph.setDirtyCanvas(true, true);
    """)
    time.sleep(1.5)  # let the canvas and the DOM widgets follow the new view
    version = driver.execute_script("return window.__COMFYUI_FRONTEND_VERSION__ ?? 'frontend'")
    path = os.path.join(ARTIFACTS, f"{version}-{name}")
    driver.save_screenshot(path)
    return path


# Node definitions the page uses for the analyzer nodes when the server has none (this branch may predate them):
# the same names, outputs and `ui` keys as in docs/CONTRACTS.md, so the views are checked against the contract.
STAND_IN_DEFS = {
    "UnflickerAnalyzeFlicker": {
        "name": "UnflickerAnalyzeFlicker", "display_name": "Analyze Flicker", "category": "Unflicker/Diagnose",
        "description": "stand-in (browser test)", "python_module": "custom_nodes.ComfyUI-Unflicker",
        "input": {"required": {"images": ["IMAGE"]}}, "input_order": {"required": ["images"]},
        "output": ["STRING", "STRING", "IMAGE", "STRING"], "output_is_list": [False] * 4,
        "output_name": ["report", "json", "chart", "verdict"], "output_node": True},
    "UnflickerCompareFlicker": {
        "name": "UnflickerCompareFlicker", "display_name": "Compare Flicker", "category": "Unflicker/Diagnose",
        "description": "stand-in (browser test)", "python_module": "custom_nodes.ComfyUI-Unflicker",
        "input": {"required": {"before": ["IMAGE"], "after": ["IMAGE"]}}, "input_order": {"required": ["before", "after"]},
        "output": ["STRING", "STRING"], "output_is_list": [False] * 2, "output_name": ["report", "verdict"],
        "output_node": True},
}


def _report_payload(frames: int = 48, cut: int = 30) -> dict:
    import math

    pulse = [0.9 + 0.6 * (i % 4 == 0) + 0.1 * math.sin(i) for i in range(frames)]
    pulse[cut] = 9.5  # a shot change is a big jump, marked as a cut rather than read as flicker
    return {"verdict": "Brightness flicker: the whole frame pulses (about 3% luma, every 4th frame).",
            "kinds": ["brightness", "scene_cuts"],
            "measures": {"mean_diff": 1.42, "warp_error": 3.87, "luma_hf": 0.0061, "brightness_pulse": 2.9,
                         "colour_shift": 0.4, "texture_boil": 0.8, "codec_blocking": 0.05},
            "series": {"mean_diff": pulse,
                       "warp_error": [2.0 + 0.8 * ((i * 7) % 5) / 5 for i in range(frames)],
                       "luma_hf": [0.004 + 0.003 * (i % 4 == 0) for i in range(frames)]},
            "scene_cuts": [cut], "fps": 24.0}


COMPARE_PAYLOAD = {"verdict": "Steadier: warp error down 61%, brightness pulse gone; detail kept.",
                   "changes": {"mean_diff": -48.5, "warp_error": -61.2, "luma_hf": 3.1},
                   "before": {"mean_diff": 1.42, "warp_error": 3.87, "luma_hf": 0.0061},
                   "after": {"mean_diff": 0.731, "warp_error": 1.5, "luma_hf": 0.00629}}

SHOW_PAYLOADS = """
const [defs, report, comparison] = arguments;
const app = window.comfyAPI.app.app, api = window.comfyAPI.api.api;
for (const [name, def] of Object.entries(defs)) {
  if (!(name in LiteGraph.registered_node_types)) await app.registerNodeDef(name, def);
}
app.clean(); app.graph.clear();  // clean() also drops the last run's outputs, which are kept by node id
const analyze = LiteGraph.createNode("UnflickerAnalyzeFlicker"); analyze.pos = [30, 30]; app.graph.add(analyze);
const compare = LiteGraph.createNode("UnflickerCompareFlicker"); compare.pos = [460, 30]; app.graph.add(compare);
// what ComfyUI's websocket delivers after a run: the node's `ui` dict as the "executed" event's output
api.dispatchCustomEvent("executed", {node: String(analyze.id), display_node: String(analyze.id), output: {unflicker_report: [report]}});
api.dispatchCustomEvent("executed", {node: String(compare.id), display_node: String(compare.id), output: {unflicker_compare: [comparison]}});
app.graph.setDirtyCanvas(true, true);
return {analyze: analyze.id, compare: compare.id};
"""

REPORT_STATE = """
const node = window.comfyAPI.app.app.graph.getNodeById(arguments[0]);
const w = node?.widgets?.find((w) => w.name === "unflicker_report_view");
if (!w) return null;
const canvas = w.element.querySelector("canvas.unflicker-chart");
// the chart is drawn when some pixels are not transparent
const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let painted = 0; for (let i = 3; i < data.length; i += 4) painted += data[i] > 0;
return {verdict: w.element.querySelector(".unflicker-verdict")?.textContent,
        kinds: [...w.element.querySelectorAll(".unflicker-kind")].map((k) => k.textContent),
        numbers: [...w.element.querySelectorAll(".unflicker-numbers > span")].map((s) => s.textContent),
        painted, canvasWidth: canvas.clientWidth,
        visible: w.element.getBoundingClientRect().height > 0 && canvas.clientWidth > 0,
        serialized: node.serialize().widgets_values?.length ?? 0, viewIndex: node.widgets.indexOf(w)};
"""

COMPARE_STATE = """
const node = window.comfyAPI.app.app.graph.getNodeById(arguments[0]);
const w = node?.widgets?.find((w) => w.name === "unflicker_compare_view");
if (!w) return null;
return {verdict: w.element.querySelector(".unflicker-verdict")?.textContent,
        rows: [...w.element.querySelectorAll(".unflicker-changes tr")].map((r) => [...r.children].map((c) => c.textContent)),
        better: w.element.querySelectorAll(".unflicker-better").length,
        worse: w.element.querySelectorAll(".unflicker-worse").length};
"""


def test_report_and_compare_views_render_contract_payloads(page):
    """The views drawn from `ui` payloads shaped as docs/CONTRACTS.md says (stand-in node defs when the server has none)."""
    report = _report_payload()
    ids = page.execute_script("return (async () => {" + SHOW_PAYLOADS + "})()", STAND_IN_DEFS, report, COMPARE_PAYLOAD)
    state = _until(lambda: (s := page.execute_script(REPORT_STATE, ids["analyze"])) and s["visible"] and s, 15,
                   "the report view on screen")
    assert state["verdict"] == report["verdict"] and state["kinds"] == report["kinds"]
    # six numbers, those with a curve in the chart first (key order is not kept on the way through WebDriver)
    assert len(state["numbers"]) == 6 and "mean_diff1.42" in state["numbers"][:3] and "warp_error3.87" in state["numbers"][:3]
    assert state["painted"] > 500 and state["canvasWidth"] > 200 and state["visible"], state
    assert state["serialized"] == state["viewIndex"]  # a view, not a value: nothing added to the saved workflow

    compare = _until(lambda: page.execute_script(COMPARE_STATE, ids["compare"]), 10, "the compare view")
    assert compare["verdict"] == COMPARE_PAYLOAD["verdict"]
    assert compare["rows"][0] == ["measure", "before", "after", "change"]
    assert ["warp_error", "3.87", "1.5", "−61.2%"] in compare["rows"] and ["luma_hf", "0.0061", "0.00629", "+3.1%"] in compare["rows"]
    assert compare["better"] == 2 and compare["worse"] == 1
    _screenshot(page, "analyzer-views-contract-payload.png")
    assert _our_errors(page) == []


BUILD_DIAGNOSE_GRAPH = """
const [withCompare] = arguments;
const app = window.comfyAPI.app.app;
app.clean(); app.graph.clear();  // clean() also drops the last run's outputs, which are kept by node id
const add = (type, x, y) => { const n = LiteGraph.createNode(type); n.pos = [x, y]; app.graph.add(n); return n; };
const wire = (from, to) => {  // the clip and its fps, wherever `to` takes them
  for (const input of to.inputs.filter((i) => i.type === "IMAGE" || i.name === "fps")) {
    const out = from.outputs.findIndex((o) => o.type === input.type);
    if (out > -1 && input.link == null) from.connect(out, to, input.name);
  }
};
const load = add("UnflickerLoadVideo", 20, 40);
wire(load, add("UnflickerAnalyzeFlicker", 400, 40));
if (withCompare) {
  const fix = add("UnflickerFFmpegDeflickerDeband", 400, 520);
  wire(load, fix);
  const compare = add("UnflickerCompareFlicker", 800, 520);
  load.connect(0, compare, "before"); fix.connect(0, compare, "after"); load.connect(1, compare, "fps");
}
"""


def test_diagnose_workflow_shows_the_verdict_in_the_analyzer(page, comfy):
    object_info = _get_json(f"{comfy}/object_info")
    assert "UnflickerAnalyzeFlicker" in object_info
    diagnose = sorted(glob.glob(os.path.join(REPO, "workflows", "*diagnose*.json")))
    if diagnose:
        with open(diagnose[0]) as f:
            result = _load_workflow(page, json.load(f))
        assert result["missing"] == [] and result["unknown"] == [], result
        _close_dialogs(page)
    else:  # no bundled diagnose workflow yet: Load Video -> Analyze Flicker, and -> FFmpeg fix -> Compare Flicker
        page.execute_script(BUILD_DIAGNOSE_GRAPH, "UnflickerCompareFlicker" in object_info)
    analyzer_ids = page.execute_script("""
        const [clip] = arguments;
        const nodes = window.comfyAPI.app.app.graph.nodes;
        for (const n of nodes.filter((n) => n.type === "UnflickerLoadVideo")) {
            n.widgets.find((w) => w.name === "video").value = clip;
            const path = n.widgets.find((w) => w.name === "path"); if (path) path.value = "";
        }
        return nodes.filter((n) => n.type === "UnflickerAnalyzeFlicker").map((n) => n.id);
    """, CLIP)
    assert analyzer_ids, "the diagnose workflow has no Analyze Flicker node"
    history = _queue_via_api(page, comfy)
    for node_id in analyzer_ids:
        expected = history["outputs"][str(node_id)]["unflicker_report"][0]["verdict"]
        state = _until(lambda: (s := page.execute_script(REPORT_STATE, node_id)) and s["visible"] and s, 30,
                       f"the verdict in node {node_id}")
        assert state["verdict"] == expected and expected, state
        assert state["painted"] > 500 and len(state["numbers"]) > 0, state
    compare_ids = page.execute_script("return window.comfyAPI.app.app.graph.nodes"
                                      ".filter((n) => n.type === 'UnflickerCompareFlicker').map((n) => n.id)")
    for node_id in compare_ids:
        expected = history["outputs"][str(node_id)]["unflicker_compare"][0]
        state = _until(lambda: page.execute_script(COMPARE_STATE, node_id), 30, f"the comparison in node {node_id}")
        assert state["verdict"] == expected["verdict"] and len(state["rows"]) == len(expected["changes"]) + 1, state
    _screenshot(page, "diagnose-workflow.png")
    assert _our_errors(page) == []

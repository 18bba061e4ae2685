"""ComfyUI workflows: UI format (what the editor saves) and API format (what ``POST /prompt`` takes).

- ``load_workflow`` / ``workflow_format``: read a file, tell the two formats apart.
- ``ui_to_api(ui, object_info)``: the editor's own conversion (its ``graphToPrompt``) done offline: widget values
  mapped to input names in INPUT_TYPES order (with the editor's extra widgets: ``control_after_generate`` after a
  seed, the upload button after an upload combo), links -> ``[node_id, slot]``, Reroute / Primitive / bypassed nodes
  resolved, notes and muted nodes left out.
- ``apply_overrides(api, ["NODE.INPUT=VALUE", ...])``: NODE is a node id or title, VALUE JSON or else a string.
- ``check_workflow(wf, object_info) -> list[str]``: node types exist, link types match, widget values fit
  INPUT_TYPES, required inputs are present.
- ``bundled_workflows`` / ``api_twin_path`` / ``dump``: the shipped workflows/ files and their JSON layout.

``object_info`` is ComfyUI's ``GET /object_info`` answer, or ``object_info.offline_object_info()`` offline.
The format alone, depending on nothing but :mod:`unflicker.errors`: writing workflows from Python is
:mod:`unflicker.comfy.builder` (``UIGraph``), the bundled ones are :mod:`unflicker.comfy.recipes`, and the
commands are ``python -m unflicker workflow {convert,check,regen}`` (:mod:`unflicker.cli`).
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping

from ..errors import UnflickerError

ObjectInfo = Mapping[str, Mapping[str, Any]]

WIDGET_TYPES = ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO")
UPLOAD_FLAGS = ("image_upload", "video_upload", "animated_image_upload")
# A combo option a node sets on a list of model names (files or model folders): only the server knows which exist.
MODEL_LIST_FLAG = "model_list"
SEED_NAMES = ("seed", "noise_seed")
# Editor-only nodes: never sent to the server.
NOTE_TYPES = ("Note", "MarkdownNote")
VIRTUAL_TYPES = ("Reroute", "PrimitiveNode") + NOTE_TYPES
MODE_NEVER, MODE_BYPASS = 2, 4
FILE_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx", ".mp4", ".mov", ".webm",
                   ".mkv", ".gif", ".webp", ".png", ".jpg", ".jpeg", ".json", ".yaml")


class WorkflowError(UnflickerError):
    """A workflow that cannot be read, converted or overridden as asked."""


# ----------------------------------------------------------------------------------------------- formats
def load_workflow(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            wf = json.load(f)
    except FileNotFoundError:
        raise WorkflowError(f"workflow file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise WorkflowError(f"{path} is not valid JSON: {exc}") from None
    workflow_format(wf)  # raises on anything else
    return wf


def workflow_format(wf: Any) -> str:
    """'ui' (the editor's save format: nodes + links) or 'api' (node id -> class_type + inputs)."""
    if isinstance(wf, dict) and isinstance(wf.get("nodes"), list) and "links" in wf:
        return "ui"
    if isinstance(wf, dict) and wf and all(isinstance(v, dict) and "class_type" in v for v in wf.values()):
        return "api"
    raise WorkflowError("not a ComfyUI workflow: expected the editor's format (\"nodes\" and \"links\") or the API "
                        "format (node id -> {\"class_type\", \"inputs\"})")


# ----------------------------------------------------------------------------------------------- input specs
def spec_type(spec: Any) -> str:
    """'COMBO' for a list of choices, else the type name (e.g. 'INT', 'IMAGE', 'FLOAT,INT')."""
    head = spec[0] if isinstance(spec, (list, tuple)) and spec else spec
    if isinstance(head, (list, tuple)):
        return "COMBO"
    return str(head)


def spec_options(spec: Any) -> dict:
    if isinstance(spec, (list, tuple)) and len(spec) > 1 and isinstance(spec[1], dict):
        return spec[1]
    return {}


def combo_choices(spec: Any) -> list | None:
    head = spec[0] if isinstance(spec, (list, tuple)) and spec else None
    if isinstance(head, (list, tuple)):
        return list(head)
    if head == "COMBO":
        return list(spec_options(spec).get("options", []))
    return None


def is_widget(spec: Any) -> bool:
    return spec_type(spec) in WIDGET_TYPES and not spec_options(spec).get("forceInput", False)


def is_file_list(spec: Any, value: Any = None) -> bool:
    """A combo whose choices are files on the server (uploads, models): only the server can check them."""
    opts = spec_options(spec)
    if isinstance(value, str) and value.lower().endswith(FILE_EXTENSIONS):
        return True
    if any(opts.get(flag) for flag in UPLOAD_FLAGS + (MODEL_LIST_FLAG,)):
        return True
    choices = combo_choices(spec)
    if choices is None:
        return False
    # Model lists: files, model folders (names with '/'), or a '(no models ...)' placeholder when the folder is empty.
    return not choices or all(isinstance(c, str) and (c.lower().endswith(FILE_EXTENSIONS) or c.startswith("(") or
                                                      "/" in c) for c in choices)


def default_value(spec: Any) -> Any:
    """What the editor puts in a new widget: the spec's default, else the first choice / zero / empty."""
    if spec is None:
        return None
    opts = spec_options(spec)
    if "default" in opts:
        return opts["default"]
    kind = spec_type(spec)
    if kind == "COMBO":
        choices = combo_choices(spec)
        return choices[0] if choices else ""
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}.get(kind)


def node_inputs(node_def: Mapping) -> list[tuple[str, Any, bool]]:
    """(name, spec, required) in INPUT_TYPES order: required first, then optional. Hidden inputs are left out."""
    out = []
    inputs = node_def.get("input", {})
    order = node_def.get("input_order", {})
    for section in ("required", "optional"):
        specs = inputs.get(section) or {}
        for name in order.get(section, list(specs)):
            if name in specs:
                out.append((name, specs[name], section == "required"))
    return out


def widget_slots(node_def: Mapping, legacy: bool = False) -> list[tuple[str, str]]:
    """The editor's widgets for a node, in order, as (input name, kind): kind 'value' carries an input's value;
    'control' (control_after_generate), 'filter' (control_filter_list) and 'upload' (the upload button) are
    editor-only widgets whose saved values are never sent to the server. ``legacy``: editors before 1.16 also
    saved a dummy value for each forceInput input (kind 'dummy')."""
    slots: list[tuple[str, str]] = []
    upload = False
    for name, spec, required in node_inputs(node_def):
        if not is_widget(spec):
            if legacy and spec_type(spec) in WIDGET_TYPES:
                slots.append((name, "dummy"))
            continue
        opts = spec_options(spec)
        slots.append((name, "value"))
        kind = spec_type(spec)
        if kind == "INT" and opts.get("control_after_generate", name in SEED_NAMES):
            slots.append(("control_after_generate", "control"))
        elif kind == "COMBO" and opts.get("control_after_generate"):
            slots += [("control_after_generate", "control"), ("control_filter_list", "filter")]
        upload = upload or (kind == "COMBO" and required and any(opts.get(flag) for flag in UPLOAD_FLAGS))
    if upload:
        slots.append(("upload", "upload"))  # the editor's upload button comes after all other widgets
    return slots


def widget_values(node: Mapping, node_def: Mapping, strict: bool = True) -> dict[str, Any]:
    """Input name -> saved value for a UI node's widgets (editor-only widgets dropped).

    A count that fits neither the current nor the pre-1.16 widget list is an error when ``strict``; otherwise
    values are matched by position and missing ones take their defaults, as the editor does on load."""
    values = node.get("widgets_values")
    if values is None:
        values = [] if not strict and widget_slots(node_def) else None
    if values is None:
        return {}
    if isinstance(values, dict):  # some packs save widgets by name
        names = {n for n, k in widget_slots(node_def) if k == "value"}
        return {k: v for k, v in values.items() if k in names}
    slots = widget_slots(node_def)
    if len(values) != len(slots):
        legacy = widget_slots(node_def, legacy=True)
        optional = {name for name, _spec, required in node_inputs(node_def) if not required}
        if len(legacy) != len(slots) and len(values) == len(legacy):
            slots = legacy
        elif not strict or (len(values) < len(slots) and all(n in optional for n, _ in slots[len(values):])):
            # (strict too: inputs a node gained later are optional, at the end; the editor gives them defaults)
            specs = {name: spec for name, spec, _ in node_inputs(node_def)}
            values = list(values[:len(slots)]) + [default_value(specs.get(n)) for n, _ in slots[len(values):]]
        else:
            expected = [n for n, _ in slots]
            raise WorkflowError(f"{describe(node, node_def)}: {len(values)} widget values saved, the node has "
                                f"{len(slots)} widgets ({', '.join(expected)}); was it saved with another version "
                                f"of the node?")
    return {name: value for (name, kind), value in zip(slots, values) if kind == "value"}


def describe(node: Mapping, node_def: Mapping | None = None) -> str:
    title = node.get("title") or (node_def or {}).get("display_name") or node.get("type")  # as the editor
    return f"node {node.get('id')} ({title})"


# ----------------------------------------------------------------------------------------------- UI -> API
def _links_by_id(ui: Mapping) -> dict[int, dict]:
    links = {}
    for link in ui.get("links") or []:
        if isinstance(link, dict):
            rec = {k: link.get(k) for k in ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")}
        else:
            rec = dict(zip(("id", "origin_id", "origin_slot", "target_id", "target_slot", "type"), link))
        links[rec["id"]] = rec
    return links


class _Resolver:
    def __init__(self, ui: Mapping, object_info: ObjectInfo):
        self.nodes = {str(n["id"]): n for n in ui["nodes"]}
        self.links = _links_by_id(ui)
        self.object_info = object_info

    def source(self, link_id: Any, want_type: str, seen: frozenset = frozenset()) -> tuple[str, Any] | None:
        """What feeds an input: ('link', [id, slot]), ('value', v) from a Primitive, or None (nothing left)."""
        link = self.links.get(link_id)
        if link is None:
            return None
        origin = self.nodes.get(str(link["origin_id"]))
        if origin is None:
            raise WorkflowError(f"link {link_id} comes from node {link['origin_id']}, which is not in the workflow")
        key = (str(origin["id"]), link["origin_slot"])
        if key in seen:
            raise WorkflowError(f"links loop through {describe(origin)}")
        seen = seen | {key}
        kind, mode = origin.get("type"), origin.get("mode", 0)
        if kind == "PrimitiveNode":
            values = origin.get("widgets_values") or []
            return ("value", values[0]) if values else None
        if kind == "Reroute":
            inputs = origin.get("inputs") or []
            return self.source(inputs[0].get("link"), want_type, seen) if inputs else None
        if mode == MODE_NEVER:
            return None
        if mode == MODE_BYPASS:
            index = self._bypass_slot(origin, link["origin_slot"], want_type)
            if index < 0:
                return None
            return self.source(origin["inputs"][index].get("link"), want_type, seen)
        return ("link", [str(origin["id"]), int(link["origin_slot"])])

    @staticmethod
    def _bypass_slot(node: Mapping, slot: int, want_type: str) -> int:
        """The editor's rule: same slot index if its type fits, else the first input of a matching type."""
        inputs = node.get("inputs") or []
        outputs = node.get("outputs") or []
        out_type = outputs[slot].get("type") if slot < len(outputs) else want_type
        if want_type in ("*", ""):
            return slot if slot < len(inputs) else (0 if inputs else -1)
        if slot < len(inputs) and types_match(inputs[slot].get("type"), out_type) and \
                types_match(inputs[slot].get("type"), want_type):
            return slot
        for i, inp in enumerate(inputs):
            if inp.get("type") == want_type:
                return i
        for i, inp in enumerate(inputs):
            if types_match(inp.get("type"), out_type) and types_match(inp.get("type"), want_type):
                return i
        return -1


def ui_to_api(ui: Mapping, object_info: ObjectInfo) -> dict[str, dict]:
    """Convert an editor (UI-format) workflow to the API format, as the editor does when you press Queue."""
    if workflow_format(ui) != "ui":
        raise WorkflowError("ui_to_api needs a UI-format workflow")
    if (ui.get("definitions") or {}).get("subgraphs") or (ui.get("extra") or {}).get("groupNodes"):
        raise WorkflowError("workflows with subgraphs or group nodes are not supported: unpack them in the editor "
                            "and save again")
    resolver = _Resolver(ui, object_info)
    api: dict[str, dict] = {}
    for node in ui["nodes"]:
        kind = node.get("type")
        if kind in VIRTUAL_TYPES or node.get("mode", 0) in (MODE_NEVER, MODE_BYPASS):
            continue
        node_def = object_info.get(kind)
        if node_def is None:
            raise WorkflowError(f"{describe(node)}: unknown node type {kind!r}; is the custom node pack that "
                                f"provides it installed?")
        inputs: dict[str, Any] = {}
        for name, value in widget_values(node, node_def, strict=False).items():
            inputs[name] = {"__value__": value} if isinstance(value, list) else value
        specs = {name: spec for name, spec, _ in node_inputs(node_def)}
        for slot in node.get("inputs") or []:
            if slot.get("link") is None:
                continue
            name = slot.get("name")
            found = resolver.source(slot["link"], spec_type(specs.get(name, slot.get("type", "*"))))
            if found is None:
                continue  # nothing feeds it: a widget keeps its own value, a socket stays empty
            what, value = found
            inputs[name] = value if what == "link" else ({"__value__": value} if isinstance(value, list) else value)
        api[str(node["id"])] = {"inputs": inputs, "class_type": kind,
                                "_meta": {"title": node.get("title") or node_def.get("display_name") or kind}}
    # Inputs fed by nodes that were left out (muted) are dropped, as the editor does.
    for entry in api.values():
        for name, value in list(entry["inputs"].items()):
            if _is_link(value) and value[0] not in api:
                del entry["inputs"][name]
    return api


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def to_api(wf: Mapping, object_info: ObjectInfo | None) -> dict[str, dict]:
    """Either format -> API format (a copy)."""
    if workflow_format(wf) == "api":
        return json.loads(json.dumps(wf))
    if object_info is None:
        raise WorkflowError("a UI-format workflow needs the node definitions (/object_info) to be converted")
    return ui_to_api(wf, object_info)


# ----------------------------------------------------------------------------------------------- overrides
def parse_override(text: str) -> tuple[str, str, Any]:
    """'NODE.INPUT=VALUE' -> (node, input, value); VALUE is JSON if it parses, else the raw string."""
    target, sep, raw = text.partition("=")
    node, dot, name = target.strip().rpartition(".")
    if not sep or not dot or not node or not name:
        raise WorkflowError(f"--set {text!r}: expected NODE.INPUT=VALUE (NODE is a node id or title)")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return node, name.strip(), value


def find_node(api: Mapping[str, dict], node: str) -> str:
    if node in api:
        return node
    matches = [nid for nid, entry in api.items() if (entry.get("_meta") or {}).get("title") == node]
    if not matches:
        matches = [nid for nid, entry in api.items()
                   if str((entry.get("_meta") or {}).get("title", "")).lower() == node.lower()]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(f"{nid} ({(e.get('_meta') or {}).get('title', e['class_type'])})" for nid, e in api.items())
    if matches:
        raise WorkflowError(f"--set: title {node!r} names several nodes ({', '.join(matches)}); use the node id")
    raise WorkflowError(f"--set: no node with id or title {node!r}; nodes: {names}")


def apply_overrides(api: dict[str, dict], overrides: Iterable[str],
                    object_info: ObjectInfo | None = None) -> list[tuple[str, str, Any]]:
    """Set inputs in place; returns (node id, input, value) for each. Unknown inputs are refused."""
    applied = []
    for text in overrides:
        node, name, value = parse_override(text)
        nid = find_node(api, node)
        entry = api[nid]
        known = set(entry["inputs"])
        node_def = (object_info or {}).get(entry["class_type"])
        if node_def:
            known |= {n for n, _, _ in node_inputs(node_def)}
        if name not in known:
            raise WorkflowError(f"--set {text!r}: node {nid} ({entry['class_type']}) has no input {name!r}; "
                                f"inputs: {', '.join(sorted(known))}")
        entry["inputs"][name] = {"__value__": value} if isinstance(value, list) and not _is_link(value) else value
        applied.append((nid, name, value))
    return applied


# ----------------------------------------------------------------------------------------------- checks
def types_match(received: Any, expected: Any) -> bool:
    """ComfyUI's rule (comfy_execution.validation): '*' takes anything, else the comma-separated sets overlap."""
    if received == expected or "*" in (received, expected):
        return True
    if not isinstance(received, str) or not isinstance(expected, str):
        return False
    return bool({t.strip() for t in received.split(",")} & {t.strip() for t in expected.split(",")})


def check_value(name: str, spec: Any, value: Any, files_known: bool = True) -> str | None:
    """Why ``value`` does not fit the input spec, or None when it does."""
    kind = spec_type(spec)
    opts = spec_options(spec)
    if isinstance(value, dict) and "__value__" in value:
        value = value["__value__"]
    if kind == "COMBO":
        choices = combo_choices(spec) or []
        if not files_known and is_file_list(spec, value):
            return None if isinstance(value, str) and value else f"{name}: expected a file name, got {value!r}"
        if value not in choices:
            shown = ", ".join(map(repr, choices[:12])) + (", ..." if len(choices) > 12 else "")
            return f"{name}: {value!r} is not one of the allowed values [{shown}]"
        return None
    if kind == "BOOLEAN":
        return None if isinstance(value, bool) else f"{name}: expected true/false, got {value!r}"
    if kind == "STRING":
        return None if isinstance(value, str) else f"{name}: expected a string, got {value!r}"
    if kind in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{name}: expected a number, got {value!r}"
        if kind == "INT" and float(value) != int(value):
            return f"{name}: expected a whole number, got {value!r}"
        if opts.get("min") is not None and value < opts["min"]:
            return f"{name}: {value} is below the minimum {opts['min']}"
        if opts.get("max") is not None and value > opts["max"]:
            return f"{name}: {value} is above the maximum {opts['max']}"
        return None
    return f"{name}: a {kind} input must be linked to another node's output, not given a value ({value!r})"


def check_workflow(wf: Mapping, object_info: ObjectInfo, files_known: bool = True) -> list[str]:
    """Problems that would stop the workflow loading or queueing; [] when it is fine.

    ``files_known=False`` (offline, no server): combos listing files (uploads, models) are only checked to hold a
    name, since only the server knows its files."""
    fmt = workflow_format(wf)
    problems: list[str] = []
    if fmt == "ui":
        problems += _check_ui(wf, object_info)
        if problems:
            return problems
        try:
            api = ui_to_api(wf, object_info)
        except WorkflowError as exc:
            return [str(exc)]
    else:
        api = wf
    return problems + check_api(api, object_info, files_known)


def check_api(api: Mapping[str, dict], object_info: ObjectInfo, files_known: bool = True) -> list[str]:
    problems = []
    for nid, entry in api.items():
        kind = entry.get("class_type")
        where = f"node {nid} ({(entry.get('_meta') or {}).get('title') or kind})"
        node_def = object_info.get(kind)
        if node_def is None:
            problems.append(f"{where}: unknown node type {kind!r}")
            continue
        specs = {name: (spec, req) for name, spec, req in node_inputs(node_def)}
        hidden = set((node_def.get("input") or {}).get("hidden") or {})
        inputs = entry.get("inputs") or {}
        for name, (spec, required) in specs.items():
            if required and name not in inputs:
                problems.append(f"{where}: required input {name!r} is missing")
        for name, value in inputs.items():
            if name in hidden:
                continue
            if name not in specs:
                problems.append(f"{where}: {kind} has no input {name!r}")
                continue
            spec = specs[name][0]
            if _is_link(value):
                src = api.get(value[0])
                if src is None:
                    problems.append(f"{where}: {name} is linked to node {value[0]}, which is not in the workflow")
                    continue
                src_def = object_info.get(src.get("class_type"))
                if src_def is None:
                    continue  # reported on its own node
                outputs = src_def.get("output") or []
                if not 0 <= value[1] < len(outputs):
                    problems.append(f"{where}: {name} is linked to output {value[1]} of node {value[0]}, "
                                    f"which has {len(outputs)} outputs")
                elif not types_match(outputs[value[1]], spec_type(spec)):
                    problems.append(f"{where}: {name} expects {spec_type(spec)} but is linked to a "
                                    f"{outputs[value[1]]} output of node {value[0]} ({src.get('class_type')})")
                continue
            why = check_value(name, spec, value, files_known)
            if why:
                problems.append(f"{where}: {why}")
    return problems


_NODE_KEYS = ("id", "type", "pos", "size", "flags", "order", "mode", "properties")


def _check_ui(ui: Mapping, object_info: ObjectInfo) -> list[str]:
    """Editor-side checks: what the editor's loader needs, node types, widget counts, link ends and types."""
    problems = []
    for key in ("last_node_id", "last_link_id", "version"):
        if key not in ui:
            problems.append(f"workflow: missing {key!r} (the editor needs it)")
    nodes = {}
    for node in ui["nodes"]:
        missing = [k for k in _NODE_KEYS if k not in node]
        if missing:
            problems.append(f"{describe(node)}: missing {', '.join(missing)} (the editor needs them)")
        nodes[str(node.get("id"))] = node
    for node in ui["nodes"]:
        kind = node.get("type")
        if kind in VIRTUAL_TYPES:
            continue
        node_def = object_info.get(kind)
        if node_def is None:
            problems.append(f"{describe(node)}: unknown node type {kind!r}")
            continue
        try:
            widget_values(node, node_def)
        except WorkflowError as exc:
            problems.append(str(exc))
    for link in _links_by_id(ui).values():
        origin, target = nodes.get(str(link["origin_id"])), nodes.get(str(link["target_id"]))
        if origin is None or target is None:
            problems.append(f"link {link['id']}: connects missing node {link['origin_id'] if origin is None else link['target_id']}")
            continue
        t_inputs = target.get("inputs") or []
        if not 0 <= link["target_slot"] < len(t_inputs) or t_inputs[link["target_slot"]].get("link") != link["id"]:
            problems.append(f"link {link['id']}: {describe(target)} has no input slot {link['target_slot']} holding it")
            continue
        name = t_inputs[link["target_slot"]].get("name")
        out_type = _output_type(origin, link["origin_slot"], object_info)
        t_def = object_info.get(target.get("type"))
        in_type = None
        if t_def is not None:
            specs = {n: s for n, s, _ in node_inputs(t_def)}
            if name not in specs:
                problems.append(f"{describe(target, t_def)}: has no input {name!r} (link {link['id']})")
                continue
            in_type = spec_type(specs[name])
        if out_type is not None and in_type is not None and not types_match(out_type, in_type):
            problems.append(f"link {link['id']}: {describe(origin)} output {link['origin_slot']} is {out_type}, "
                            f"but {describe(target, t_def)} input {name!r} takes {in_type}")
        if link.get("type") not in (None, "*") and out_type is not None and not types_match(link["type"], out_type):
            problems.append(f"link {link['id']}: saved type {link['type']} differs from the output's {out_type}")
    return problems


def _output_type(node: Mapping, slot: int, object_info: ObjectInfo) -> str | None:
    node_def = object_info.get(node.get("type"))
    if node_def is None:
        return None  # Reroute / Primitive: typed by what they connect
    outputs = node_def.get("output") or []
    return outputs[slot] if 0 <= slot < len(outputs) else None


# ----------------------------------------------------------------------------------------------- files
WORKFLOW_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "workflows")


def bundled_workflows(folder: str = WORKFLOW_DIR) -> list[str]:
    """The UI-format workflows shipped in workflows/ (their API twins live in workflows/api/)."""
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".json"))


def api_twin_path(ui_path: str) -> str:
    return os.path.join(os.path.dirname(ui_path), "api", os.path.basename(ui_path))


def dump(wf: Mapping) -> str:
    return json.dumps(wf, indent=2, ensure_ascii=False) + "\n"

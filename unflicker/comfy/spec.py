"""The workflow format's parts, shared by conversion, checks and the builder: the two formats told apart, a
node definition's INPUT_TYPES read (types, options, widgets, defaults, file lists), a UI node's widget values
mapped to input names, and the UI format's links."""

from __future__ import annotations

import json
from typing import Any, Mapping

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


def types_match(received: Any, expected: Any) -> bool:
    """ComfyUI's rule (comfy_execution.validation): '*' takes anything, else the comma-separated sets overlap."""
    if received == expected or "*" in (received, expected):
        return True
    if not isinstance(received, str) or not isinstance(expected, str):
        return False
    return bool({t.strip() for t in received.split(",")} & {t.strip() for t in expected.split(",")})


# ----------------------------------------------------------------------------------------------- links
def links_by_id(ui: Mapping) -> dict[int, dict]:
    links = {}
    for link in ui.get("links") or []:
        if isinstance(link, dict):
            rec = {k: link.get(k) for k in ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")}
        else:
            rec = dict(zip(("id", "origin_id", "origin_slot", "target_id", "target_slot", "type"), link))
        links[rec["id"]] = rec
    return links



def is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)

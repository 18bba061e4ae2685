"""UI -> API conversion (the editor's ``graphToPrompt`` done offline) and ``NODE.INPUT=VALUE`` overrides."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

from .spec import (MODE_BYPASS, MODE_NEVER, VIRTUAL_TYPES, ObjectInfo, WorkflowError, describe, is_link, links_by_id,
                   node_inputs, spec_type, types_match, widget_values, workflow_format)


class _Resolver:
    def __init__(self, ui: Mapping, object_info: ObjectInfo):
        self.nodes = {str(n["id"]): n for n in ui["nodes"]}
        self.links = links_by_id(ui)
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


# The node pack a node comes from, kept in node.properties: the Comfy Registry id (cnr_id) or a GitHub 'owner/repo'
# (aux_id), and the pack's version. Newer editors (frontend 1.58.1; not 1.27.10, which ComfyUI 0.3.64 pins) copy
# each into the prompt's _meta when it passes their schema: the same rules here (fullmatch, as JS ^...$ anchors).
_PACK_ID = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9._-]*[a-zA-Z0-9])?")
_GITHUB_OWNER = re.compile(r"(?!-)(?!.*--)[a-zA-Z0-9-]+(?<!-)")
_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
                     r"(?:-([0-9a-z-]+(?:\.[0-9a-z-]+)*))?(?:\+([0-9a-z-]+(?:\.[0-9a-z-]+)*))?")
_COMMIT = re.compile(r"[0-9a-fA-F]{4,40}")
PACK_META_KEYS = ("cnr_id", "aux_id", "ver")


def _pack_id(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= 100 and _PACK_ID.fullmatch(value) else None


def _github_repo(value: Any) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"[^/]+/[^/]+", value):
        return None
    owner, repo = value.split("/")
    return value if len(owner) <= 39 and _GITHUB_OWNER.fullmatch(owner) and _pack_id(repo) else None


def _pack_version(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    bare = value[1:] if value.startswith("v") else value  # the editor drops one leading 'v'
    if _SEMVER.fullmatch(bare) or _COMMIT.fullmatch(bare):
        return bare
    return value if value == "unknown" else None


def api_meta(node: Mapping, node_def: Mapping) -> dict[str, str]:
    """A prompt entry's _meta as the editor writes it: the title, then the node's valid pack fields, if any."""
    props = node.get("properties") or {}
    meta = {"title": node.get("title") or node_def.get("display_name") or node.get("type")}
    for key, valid in zip(PACK_META_KEYS, (_pack_id, _github_repo, _pack_version)):
        value = valid(props.get(key)) if isinstance(props, Mapping) else None
        if value:
            meta[key] = value
    return meta


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
        api[str(node["id"])] = {"inputs": inputs, "class_type": kind, "_meta": api_meta(node, node_def)}
    # Inputs fed by nodes that were left out (muted) are dropped, as the editor does.
    for entry in api.values():
        for name, value in list(entry["inputs"].items()):
            if is_link(value) and value[0] not in api:
                del entry["inputs"][name]
    return api




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
        entry["inputs"][name] = {"__value__": value} if isinstance(value, list) and not is_link(value) else value
        applied.append((nid, name, value))
    return applied

"""Workflow checks: node types exist, link types match, widget values fit INPUT_TYPES, required inputs are present."""

from __future__ import annotations

from typing import Any, Mapping

from .conversion import ui_to_api
from .spec import (ObjectInfo, VIRTUAL_TYPES, WorkflowError, combo_choices, describe, is_file_list, is_link, links_by_id,
                   node_inputs, spec_options, spec_type, types_match, widget_values, workflow_format)


# ----------------------------------------------------------------------------------------------- checks
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
            if is_link(value):
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
    for link in links_by_id(ui).values():
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

"""Write editor-format (UI) workflows from Python: ``UIGraph``, used by the bundled workflows' recipes.

``g = UIGraph(object_info); video = g.add("UnflickerLoadVideo", video="clip.mp4"); g.add("UnflickerSaveVideo",
images=video["images"], fps=video["fps"]); g.to_json()`` gives what the editor saves: widget values not given take
the node's defaults, seeds are saved with control 'fixed' so runs repeat, nodes are laid out in columns by depth.
Only the format module (:mod:`unflicker.comfy.workflow`) is used.
"""

from __future__ import annotations

from typing import Any, Mapping

from .object_info import CORE_VERSION, core_object_info, pack_registry_entry
from .workflow import (NOTE_TYPES, ObjectInfo, WorkflowError, default_value, is_widget, node_inputs, spec_type,
                       widget_slots)


class Output:
    """One output slot of a node in a UIGraph, to pass as another node's input."""

    def __init__(self, node: dict, slot: int, type_: str):
        self.node, self.slot, self.type = node, slot, type_


class NodeHandle:
    def __init__(self, graph: "UIGraph", node: dict, node_def: Mapping):
        self.graph, self.node, self.node_def = graph, node, node_def

    @property
    def id(self) -> int:
        return self.node["id"]

    def __getitem__(self, key: int | str) -> Output:
        names = list(self.node_def.get("output_name") or self.node_def.get("output") or [])
        slot = names.index(key) if isinstance(key, str) else key
        return Output(self.node, slot, self.node_def["output"][slot])

    def model_files(self, *files: Mapping[str, str]) -> "NodeHandle":
        """Name the model files this node loads in ``properties.models`` ({name, url, directory} each, as
        ComfyUI's own templates do): the editor's missing-models dialog lists each one it cannot find in its
        folder with the download link. The editor reads only entries whose name is one of the node's widget
        values, so any other name is refused here."""
        values = {v for v in self.node["widgets_values"] if isinstance(v, str)}
        for entry in files:
            if not {"name", "url", "directory"} <= set(entry) or entry["name"] not in values:
                raise WorkflowError(f"{self.node['type']}: model entry {dict(entry)} needs name, url and directory, "
                                    f"and a name that is one of the node's widget values {sorted(values)}")
        self.node["properties"]["models"] = [{"name": e["name"], "url": e["url"], "directory": e["directory"]}
                                             for e in files]
        return self


class UIGraph:
    """Build an editor-format workflow node by node: ``g.add(type, input=value|other_node[output], ...)``.

    Widget values not given take the node's defaults; seeds are saved with control 'fixed' so runs repeat.
    Nodes are laid out in columns by depth."""

    def __init__(self, object_info: ObjectInfo):
        self.object_info = object_info
        self.nodes: list[dict] = []
        self.links: list[list] = []
        self.groups: list[dict] = []
        self._core_types = set(core_object_info())
        self._pack = pack_registry_entry()

    def add(self, kind: str, title: str | None = None, **inputs: Any) -> NodeHandle:
        node_def = self.object_info.get(kind)
        if node_def is None:
            raise WorkflowError(f"unknown node type {kind!r}")
        specs = {name: spec for name, spec, _ in node_inputs(node_def)}
        unknown = set(inputs) - set(specs)
        if unknown:
            raise WorkflowError(f"{kind} has no input(s) {', '.join(sorted(unknown))}")
        node = {"id": len(self.nodes) + 1, "type": kind, "pos": [0, 0], "size": [320, 100], "flags": {},
                "order": len(self.nodes), "mode": 0, "inputs": [], "outputs": [],
                "properties": {"Node name for S&R": kind, **self._origin(kind)}, "widgets_values": []}
        if title:
            node["title"] = title
        values = []
        for name, slot_kind in widget_slots(node_def):
            if slot_kind == "value":
                given = inputs.get(name)
                values.append(default_value(specs[name]) if given is None or isinstance(given, Output) else given)
            else:
                values.append({"control": "fixed", "filter": "", "upload": "image"}[slot_kind])
        node["widgets_values"] = values
        for name, spec, _ in node_inputs(node_def):
            given = inputs.get(name)
            if isinstance(given, Output):
                link_id = len(self.links) + 1
                slot = {"name": name, "type": spec_type(spec), "link": link_id}
                if is_widget(spec):
                    slot["widget"] = {"name": name}
                node["inputs"].append(slot)
                self.links.append([link_id, given.node["id"], given.slot, node["id"], len(node["inputs"]) - 1,
                                   given.type])
                given.node["outputs"][given.slot]["links"].append(link_id)
            elif not is_widget(spec):
                node["inputs"].append({"name": name, "type": spec_type(spec), "link": None})
        names = node_def.get("output_name") or node_def.get("output") or []
        node["outputs"] = [{"name": n, "type": t, "links": [], "slot_index": i}
                           for i, (n, t) in enumerate(zip(names, node_def.get("output") or []))]
        n_widgets = sum(1 for _, k in widget_slots(node_def))
        node["size"] = [340, 46 + 24 * (max(len(node["inputs"]), len(node["outputs"])) + n_widgets)]
        self.nodes.append(node)
        return NodeHandle(self, node, node_def)

    def _origin(self, kind: str) -> dict:
        """The node's pack as the editor saves it (``cnr_id``, ``ver``): a newer editor names the pack to install
        or ComfyUI to update when a node type is missing, and copies both into the API prompt's ``_meta``."""
        if kind in self._core_types:
            return {"cnr_id": "comfy-core", "ver": CORE_VERSION}
        return dict(self._pack)

    def note(self, text: str, title: str = "Note") -> dict:
        node = {"id": len(self.nodes) + 1, "type": "MarkdownNote", "title": title, "pos": [0, 0], "size": [400, 160],
                "flags": {}, "order": len(self.nodes), "mode": 0, "inputs": [], "outputs": [],
                "properties": {}, "widgets_values": [text], "color": "#432", "bgcolor": "#653"}
        self.nodes.append(node)
        return node

    def _layout(self) -> None:
        by_id = {n["id"]: n for n in self.nodes}
        depth: dict[int, int] = {}

        def depth_of(nid: int) -> int:
            if nid not in depth:
                parents = [l[1] for l in self.links if l[3] == nid]
                depth[nid] = 1 + max((depth_of(p) for p in parents), default=-1)
            return depth[nid]

        columns: dict[int, float] = {}
        for node in self.nodes:
            if node["type"] in NOTE_TYPES:
                continue
            col = depth_of(node["id"])
            y = columns.get(col, 80.0)
            node["pos"] = [60 + 400 * col, y]
            columns[col] = y + node["size"][1] + 60
        notes_y = max(columns.values(), default=80.0)
        for i, node in enumerate(n for n in self.nodes if n["type"] in NOTE_TYPES):
            node["pos"] = [60 + 440 * i, notes_y]
        # Execution order: parents first (the editor recomputes it on load; kept sensible for readers).
        for order, nid in enumerate(sorted(by_id, key=lambda i: (depth_of(i) if by_id[i]["type"] not in NOTE_TYPES else 99, i))):
            by_id[nid]["order"] = order

    def to_json(self) -> dict:
        self._layout()
        return {"last_node_id": len(self.nodes), "last_link_id": len(self.links), "nodes": self.nodes,
                "links": self.links, "groups": self.groups, "config": {},
                "extra": {"ds": {"scale": 0.9, "offset": [0, 0]}}, "version": 0.4}

"""Node pack fields in a prompt's _meta: newer editors (frontend 1.58.1) copy a node's properties cnr_id / aux_id / ver
into it when they pass the editor's schema, and ui_to_api does the same. The expected values here are what 1.58.1's
own graphToPrompt wrote for these properties (tests/integration/test_browser_workflows.py checks them in the editor).
"""

from __future__ import annotations

import pytest

from unflicker.comfy.workflow import ui_to_api

INFO = {"Sink": {"input": {"required": {"value": ["INT", {"default": 1}]}}, "input_order": {"required": ["value"]},
                 "output": [], "display_name": "Sink", "name": "Sink"}}

CASES = [  # (node properties, the pack fields the editor writes)
    ({}, {}),
    ({"cnr_id": "comfyui-unflicker", "ver": "1.0.0"}, {"cnr_id": "comfyui-unflicker", "ver": "1.0.0"}),
    ({"cnr_id": "comfy-core", "ver": "v0.3.64"}, {"cnr_id": "comfy-core", "ver": "0.3.64"}),
    ({"aux_id": "some-user/ComfyUI-Unflicker", "ver": "4f0e2c1a9b"},
     {"aux_id": "some-user/ComfyUI-Unflicker", "ver": "4f0e2c1a9b"}),
    ({"cnr_id": "a", "ver": "unknown", "aux_id": "-bad-/repo"}, {"cnr_id": "a", "ver": "unknown"}),
    ({"cnr_id": "bad id!", "ver": "1.2", "aux_id": "owner/repo/extra"}, {}),
    ({"cnr_id": "_leading", "ver": "1.0.0-RC1", "aux_id": "ok-owner/_bad"}, {}),
    ({"cnr_id": "x" * 101, "ver": "1.0.0-rc.1+build.5", "aux_id": "a--b/repo"}, {"ver": "1.0.0-rc.1+build.5"}),
    ({"cnr_id": 7, "ver": "vunknown"}, {}),
    ({"cnr_id": "pack\n", "ver": "1.0.0\n", "aux_id": "o/r\n"}, {}),  # JS $ does not match before a newline
]


def _workflow(properties: dict, title: str | None = None) -> dict:
    node = {"id": 3, "type": "Sink", "pos": [0, 0], "size": [200, 60], "flags": {}, "order": 0, "mode": 0,
            "inputs": [], "outputs": [], "properties": {"Node name for S&R": "Sink", **properties},
            "widgets_values": [5]}
    if title:
        node["title"] = title
    return {"last_node_id": 3, "last_link_id": 0, "nodes": [node], "links": [], "groups": [], "config": {},
            "extra": {}, "version": 0.4}


@pytest.mark.parametrize("properties,expected", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_meta_carries_the_node_pack_fields_the_editor_keeps(properties, expected):
    api = ui_to_api(_workflow(properties, title="Out"), INFO)
    assert api == {"3": {"inputs": {"value": 5}, "class_type": "Sink", "_meta": {"title": "Out", **expected}}}
    assert list(api["3"]["_meta"]) == ["title", *(k for k in ("cnr_id", "aux_id", "ver") if k in expected)]


def test_meta_title_falls_back_to_the_display_name_beside_the_pack_fields():
    api = ui_to_api(_workflow({"cnr_id": "comfyui-unflicker", "ver": "0.4.0"}), INFO)
    assert api["3"]["_meta"] == {"title": "Sink", "cnr_id": "comfyui-unflicker", "ver": "0.4.0"}

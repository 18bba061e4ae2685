"""Node definitions in the shape of ComfyUI's ``GET /object_info``, built from a NODE_CLASS_MAPPINGS dict.

Lets the workflow checker and the UI -> API converter run offline (CI, no ComfyUI): the pack's own classes are
described exactly as ComfyUI's server describes them (input/input_order/output/output_name/name/display_name/
category/output_node...). Nothing here imports ComfyUI: ``pack_object_info`` loads the pack the way ComfyUI does
(inside ComfyUI, or after ``unflicker.testing.use_comfy_standins()``); ``offline_object_info`` reads the
snapshot of those definitions kept in ``pack_nodes.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from typing import Any, Mapping

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACK_NAME = "ComfyUI-Unflicker"


def node_info(name: str, cls: type, display_name: str | None = None) -> dict[str, Any]:
    """One entry of /object_info for a classic (V1) node class, as ComfyUI's server.py builds it."""
    input_types = cls.INPUT_TYPES()
    info: dict[str, Any] = {
        "input": input_types,
        "input_order": {key: list(value.keys()) for key, value in input_types.items()},
        "output": list(cls.RETURN_TYPES),
        "output_is_list": list(getattr(cls, "OUTPUT_IS_LIST", [False] * len(cls.RETURN_TYPES))),
        "output_name": list(getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES)),
        "name": name,
        "display_name": display_name or name,
        "description": getattr(cls, "DESCRIPTION", ""),
        "python_module": getattr(cls, "RELATIVE_PYTHON_MODULE", "nodes"),
        "category": getattr(cls, "CATEGORY", "sd"),
        "output_node": getattr(cls, "OUTPUT_NODE", False) is True,
    }
    if hasattr(cls, "OUTPUT_TOOLTIPS"):
        info["output_tooltips"] = list(cls.OUTPUT_TOOLTIPS)
    # Round-trip through JSON so tuples become lists, exactly as a client sees the server's answer.
    return json.loads(json.dumps(info, default=str))


def build_object_info(class_mappings: Mapping[str, type],
                      display_names: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    display_names = display_names or {}
    return {name: node_info(name, cls, display_names.get(name)) for name, cls in class_mappings.items()}


def load_pack(folder: str = REPO, name: str = PACK_NAME):
    """Import the pack from ``folder`` by file location under its hyphenated folder name, as ComfyUI does.
    Its nodes import ComfyUI (``folder_paths``, ``comfy``): inside ComfyUI that is there; tests and benchmarks
    call ``unflicker.testing.use_comfy_standins()`` first."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, "__init__.py"),
                                                  submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def pack_object_info(folder: str = REPO) -> dict[str, dict[str, Any]]:
    """/object_info for this pack's nodes alone, without a running ComfyUI."""
    pack = load_pack(folder)
    return build_object_info(pack.NODE_CLASS_MAPPINGS, pack.NODE_DISPLAY_NAME_MAPPINGS)


CORE_NODES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "comfy_core_nodes.json")
CORE_VERSION = "0.3.64"  # the ComfyUI whose /object_info gave comfy_core_nodes.json


def core_object_info() -> dict[str, dict[str, Any]]:
    """The few core ComfyUI nodes the bundled workflows use (e.g. LoadImage), as /object_info serves them."""
    with open(CORE_NODES_FILE, encoding="utf-8") as f:
        return {k: v for k, v in json.load(f).items() if not k.startswith("_")}


PACK_NODES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pack_nodes.json")


def pack_registry_entry(folder: str = REPO) -> dict[str, str]:
    """The pack as the Comfy Registry and the editor name it: ``cnr_id`` (pyproject's project name) and ``ver``."""
    with open(os.path.join(folder, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()

    def field(key: str) -> str:
        found = re.search(rf'^{key}\s*=\s*"([^"]+)"', text, re.MULTILINE)
        return found.group(1) if found else "unknown"

    return {"cnr_id": field("name"), "ver": field("version")}


def pack_snapshot() -> dict[str, dict[str, Any]]:
    """This pack's node definitions as ComfyUI serves them with empty model folders (a file kept in the package,
    refreshed by ``python -m unflicker.testing snapshot``; a test checks it matches the node classes)."""
    with open(PACK_NODES_FILE, encoding="utf-8") as f:
        return json.load(f)


def offline_object_info() -> dict[str, dict[str, Any]]:
    """Core nodes used by the bundled workflows + this pack's nodes: enough to check and convert them offline,
    without ComfyUI or even torch."""
    return {**core_object_info(), **pack_snapshot()}

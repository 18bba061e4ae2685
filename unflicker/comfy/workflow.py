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
The format alone, depending on nothing but :mod:`unflicker.errors`, in modules by job: ``spec`` (the format's
parts: INPUT_TYPES read, widget values, links), ``conversion`` (UI -> API, overrides), ``checks``, ``bundled``
(the shipped files); this module is their one import point. Writing workflows from Python is
:mod:`unflicker.comfy.builder` (``UIGraph``), the bundled ones are :mod:`unflicker.comfy.recipes`, and the
commands are ``python -m unflicker workflow {convert,check,regen}`` (:mod:`unflicker.cli`).
"""

from __future__ import annotations

from .bundled import WORKFLOW_DIR, api_twin_path, bundled_workflows, dump
from .checks import check_api, check_value, check_workflow
from .conversion import PACK_META_KEYS, apply_overrides, find_node, parse_override, to_api, ui_to_api
from .spec import (FILE_EXTENSIONS, MODE_BYPASS, MODE_NEVER, MODEL_LIST_FLAG, NOTE_TYPES, SEED_NAMES, UPLOAD_FLAGS,
                   VIRTUAL_TYPES, WIDGET_TYPES, ObjectInfo, WorkflowError, combo_choices, default_value, describe,
                   is_file_list, is_link, is_widget, links_by_id, load_workflow, node_inputs, spec_options, spec_type,
                   types_match, widget_slots, widget_values, workflow_format)

__all__ = [
    "WORKFLOW_DIR", "api_twin_path", "bundled_workflows", "dump", "check_api", "check_value", "check_workflow",
    "PACK_META_KEYS", "apply_overrides", "find_node", "parse_override", "to_api", "ui_to_api", "FILE_EXTENSIONS", "MODE_BYPASS",
    "MODE_NEVER", "MODEL_LIST_FLAG", "NOTE_TYPES", "SEED_NAMES", "UPLOAD_FLAGS", "VIRTUAL_TYPES", "WIDGET_TYPES",
    "ObjectInfo", "WorkflowError", "combo_choices", "default_value", "describe", "is_file_list", "is_link",
    "is_widget", "links_by_id", "load_workflow", "node_inputs", "spec_options", "spec_type", "types_match",
    "widget_slots", "widget_values", "workflow_format",
]

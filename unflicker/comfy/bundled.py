"""The bundled workflows: the shipped workflows/ files, their API twins and their JSON layout."""

from __future__ import annotations

import json
import os
from typing import Mapping


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

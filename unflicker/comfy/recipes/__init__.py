"""The bundled workflows as short Python specs: each function builds one editor-format workflow.

``python -m unflicker workflow regen --recipes`` writes workflows/<name>.json from every recipe whose nodes
exist (``needs``) and then the API twins workflows/api/<name>.json. A recipe whose nodes are not in the pack yet is
skipped, so recipes can be written before their nodes land. Once written, a UI file can also be opened, edited
and saved in ComfyUI (then drop its recipe, or edit the recipe instead); ``regen`` without ``--recipes`` refreshes
only the API twins. tests/engine/test_workflows.py checks every bundled workflow against the node definitions.

The recipes, by what they start from: footage (a clip the user has), generators (SVD, CogVideoX, Wan),
animatediff; files names every sample input and model file (with its download link), common holds the parts
several recipes share (the generate -> diagnose -> fix -> interpolate -> verify tail, the note).

To add a workflow: write a function in one of those modules taking ``object_info`` and returning
``UIGraph(...).to_json()``, register it with ``@recipe(name, needs=(node types...))``, run
``python -m unflicker workflow regen --recipes``.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping

from ..workflow import ObjectInfo, WORKFLOW_DIR, api_twin_path, bundled_workflows, dump, load_workflow, ui_to_api

Recipe = Callable[[ObjectInfo], dict]
RECIPES: dict[str, Recipe] = {}
NEEDS: dict[str, tuple[str, ...]] = {}


def recipe(name: str, needs: tuple[str, ...]):
    def register(build: Recipe) -> Recipe:
        RECIPES[name] = build
        NEEDS[name] = needs
        return build

    return register


def available_recipes(object_info: Mapping) -> dict[str, Recipe]:
    """The recipes whose node types all exist in ``object_info``."""
    return {name: build for name, build in RECIPES.items() if all(n in object_info for n in NEEDS[name])}


def regenerate(object_info: ObjectInfo, folder: str = WORKFLOW_DIR, recipes: bool = False) -> list[str]:
    """Write workflows/api/<name>.json from each workflows/<name>.json (and, with ``recipes``, the UI files
    from the recipes first). Returns the paths written."""
    written = []
    if recipes:
        for name, build in available_recipes(object_info).items():
            path = os.path.join(folder, f"{name}.json")
            write_text(path, dump(build(object_info)))
            written.append(path)
    for ui_path in bundled_workflows(folder):
        api = ui_to_api(load_workflow(ui_path), object_info)
        twin = api_twin_path(ui_path)
        os.makedirs(os.path.dirname(twin), exist_ok=True)
        write_text(twin, dump(api))
        written.append(twin)
    return written


def write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


# the recipe modules register themselves with @recipe (imported last: they import recipe from here)
from . import animatediff, footage, generators  # noqa: E402,F401

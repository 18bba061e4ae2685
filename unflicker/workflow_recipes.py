"""The bundled workflows as short Python specs: each function builds one editor-format workflow.

``python -m unflicker.workflow regen --recipes`` writes workflows/<name>.json from these and then the API twins
workflows/api/<name>.json. The UI files are the source of truth once written (they can be opened, edited and
saved in ComfyUI; ``regen`` without ``--recipes`` then refreshes only the API twins).

To add a workflow: write a function here taking ``object_info`` and returning ``UIGraph(...).to_json()``, add it
to RECIPES, run ``regen --recipes``; or draw it in ComfyUI, save it (Workflow > Export) into workflows/ and run
``regen``. tests/test_workflows.py then checks it against the node definitions.
"""

from __future__ import annotations

from typing import Callable

from .workflow import ObjectInfo, UIGraph

SAMPLE_VIDEO = "sample_flickering.mp4"  # what `python -m unflicker demo` writes; copy it into ComfyUI/input/


def codec_fix(object_info: ObjectInfo) -> dict:
    """Load a clip -> FFmpeg deflicker + deband (seed settings) -> save; plus a slowed before/after comparison."""
    g = UIGraph(object_info)
    load = g.add("UnflickerLoadVideo", video=SAMPLE_VIDEO)
    fix = g.add("UnflickerFFmpegDeflickerDeband", images=load["images"], fps=load["fps"])
    g.add("UnflickerSaveVideo", title="Save fixed video", images=fix["images"], fps=load["fps"],
          filename_prefix="Unflicker/codec_fix", format="mp4", crf=16)
    compare = g.add("UnflickerSideBySide", images_a=load["images"], images_b=fix["images"], fps=load["fps"],
                    label_a="before", label_b="deflicker + deband", slow_motion=4.0)
    g.add("UnflickerSaveVideo", title="Save before/after", images=compare["images"], fps=compare["fps"],
          filename_prefix="Unflicker/codec_fix_compare", format="mp4", crf=18)
    g.note("**Codec fix** (FFmpeg deflicker + deband)\n\nFixes whole-frame brightness pumping and codec banding. "
           "Pick your clip in *Load Video*; the result and a quarter-speed before/after comparison are written to "
           "`output/Unflicker/`. For regional, colour or texture flicker use the flow-guided Deflicker instead.",
           title="About this workflow")
    return g.to_json()


RECIPES: dict[str, Callable[[ObjectInfo], dict]] = {
    "codec_fix": codec_fix,
}

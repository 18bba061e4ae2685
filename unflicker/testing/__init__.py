"""For tests and benchmarks only (the nodes and the CLI never import this): run the pack without ComfyUI or weights.

- :func:`use_comfy_standins`: when no ComfyUI is importable, put ``comfy_stub/`` (``folder_paths``,
  ``comfy.utils``, ``comfy.model_management`` with ComfyUI's names, rooted in ``$UNFLICKER_TEST_ROOT``) on
  ``sys.path`` so the pack's nodes import and run.
- :mod:`.tiny_svd`: a tiny random-weight Stable Video Diffusion in diffusers format.
- :mod:`.tiny_videogen`: tiny random-weight CogVideoX (1.0, 1.5, image-to-video) and Wan (T2V, I2V, TI2V) folders.
- :mod:`.ncnn_fixture`: a random-weight ``flownet.bin`` for a real ncnn RIFE graph.

The synthetic clips and flicker injectors are :mod:`unflicker.media.synthetic`; the quality measures
:mod:`unflicker.measure.metrics`.
"""

from __future__ import annotations

import os
import sys

COMFY_STUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "comfy_stub")


def use_comfy_standins() -> bool:
    """Make ``folder_paths``/``comfy`` importable: a real ComfyUI if there is one (False), else the stand-ins (True).
    Set ``UNFLICKER_TEST_ROOT`` first to choose where their model/input/output folders live."""
    try:
        import folder_paths  # noqa: F401  (a real ComfyUI is importable)
        return False
    except ImportError:
        if COMFY_STUB not in sys.path:
            sys.path.insert(0, COMFY_STUB)
        return True

"""Node inputs written once: the shared sockets, and INPUT_TYPES entries built from the engine's settings.

The sockets (``IMAGES``, ``FPS``, ``FPS_SOCKET``, ``SEED``, ...) are the entries many nodes share. Settings
come from the engine's frozen settings dataclasses (``unflicker.settings``): :func:`setting_input` turns one
field into a widget entry with its default, range, step and help, so a default or range is changed in one place::

    from ..unflicker.settings import DeflickerSettings
    from .inputs import IMAGES, FPS_SOCKET, setting_inputs

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": IMAGES, **setting_inputs(DeflickerSettings, "mode", "strength", "window")},
                "optional": {"fps": FPS_SOCKET}}

and the node calls the engine with keywords: ``DeflickerSettings(mode=mode, ...).validated()``.
"""

from __future__ import annotations

from ..unflicker.settings import MAX_SEED, SEED_HELP

IMAGES = ("IMAGE",)
_FPS = {"default": 8.0, "min": 0.01, "max": 1000.0, "step": 0.01}
FPS = ("FLOAT", {**_FPS, "tooltip": "Frame rate of the clip (frames per second)."})
# a socket only (no widget): the frame rate comes from Load Video or a generator's fps output
FPS_SOCKET = ("FLOAT", {**_FPS, "forceInput": True})
SEED = ("INT", {"default": 0, "min": 0, "max": MAX_SEED, "tooltip": SEED_HELP})


def fps_input(tooltip: str, socket: bool = False) -> tuple:
    """The shared fps entry with a node's own tooltip."""
    return ("FLOAT", {**_FPS, **({"forceInput": True} if socket else {}), "tooltip": tooltip})


def setting_input(settings_cls, name: str, **extra) -> tuple:
    """One INPUT_TYPES entry from a settings field: a combo for choices, else BOOLEAN / INT / FLOAT by the
    default's type, with min/max/step/tooltip from the field; ``extra`` adds or overrides options."""
    spec = settings_cls.spec(name)
    options: dict = {"default": spec["default"]}
    if spec["choices"] is not None:
        kind = list(spec["choices"])
    else:
        kind = {bool: "BOOLEAN", int: "INT", float: "FLOAT", str: "STRING"}[type(spec["default"])]
        if spec["low"] is not None:
            options.update(min=spec["low"], max=spec["high"])
        if spec["step"] is not None:
            options["step"] = spec["step"]
    if spec["help"]:
        options["tooltip"] = spec["help"]
    options.update(extra)
    return (kind, options)


def setting_inputs(settings_cls, *names: str) -> dict:
    """``{name: setting_input(...)}`` for several fields, in the order given."""
    return {name: setting_input(settings_cls, name) for name in names}

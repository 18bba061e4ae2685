"""The kinds of flicker, named once for the analyzer, the deflicker, the settings and the synthetic injectors, and
the analyzer's JSON read back as kinds (what the deflicker takes as a diagnosis).

The analyzer and the deflicker's ``auto`` both judge these kinds, with measures of their own, on purpose: the
analyzer answers "which flicker does this clip show, and how bad" with thresholds calibrated on labelled clips
(``analysis.cases``) and comparable between clips; ``auto`` answers "is what this correction would remove more than
a steady clip shows", on the residual its own solve leaves against its trend. A diagnosis handed to the deflicker
replaces ``auto``'s own gates (``FIXED_BY``).
"""

import json

from .errors import UnflickerError

# what the flow-guided deflicker corrects
FIXABLE = ("brightness", "regional", "colour", "texture")
# what the analyzer reports as flicker: the fixable kinds and codec damage (which changes per frame like texture)
FLICKER = FIXABLE + ("codec",)
# the look of chained segments: steps between them (seams), and the slow change of look of persisting content
# across a shot beyond a fade or exposure change (drift; measured on flow-tracked keyframes, calibrated on the real
# clips by bench/drift_real.py)
LOOK = ("seams", "drift")
# every kind a report can name: a steady clip, the flicker kinds, the look kinds, and scene cuts (not flicker, but
# reported)
REPORTED = ("steady",) + FLICKER + LOOK + ("scene_cuts",)
# an analyzer kind -> the deflicker kinds that fix it ("seams": the seam stage). Drift: none. A diagnosis names
# what the analyzer saw, and drift can be intended (a grade, a time of day): holding the first look is the user's
# choice (drift = hold, which the finding's fix names), never a side effect of wiring a diagnosis in
FIXED_BY = {**{k: (k,) for k in FIXABLE}, "codec": ("texture",), "seams": ("seams",), "drift": (), "steady": (),
            "scene_cuts": ()}
# the deflicker's mode: each kind alone, all of them, or auto (each only where it is measured)
DEFLICKER_MODES = ("auto",) + FIXABLE + ("all",)


def kinds_from_json(text: str) -> list[str]:
    """The kinds named by an analysis JSON (the ``json`` output of Analyze Flicker / ``analyze --json``)."""
    try:
        kinds = json.loads(text)["kinds"]
    except (TypeError, ValueError, KeyError) as exc:
        raise UnflickerError("diagnosis must be the json output of Analyze Flicker (an object with a 'kinds' list)") from exc
    if not isinstance(kinds, list) or not all(k in REPORTED for k in kinds):
        raise UnflickerError(f"diagnosis kinds must be a list of {', '.join(REPORTED)}; got {kinds!r}")
    return kinds

"""The kinds of flicker, named once for the analyzer, the deflicker, the settings and the synthetic injectors."""

# what the flow-guided deflicker corrects
FIXABLE = ("brightness", "regional", "colour", "texture")
# what the analyzer reports as flicker: the fixable kinds and codec damage (which changes per frame like texture)
FLICKER = FIXABLE + ("codec",)
# every kind a report can name: a steady clip, the flicker kinds, and scene cuts (not flicker, but reported)
REPORTED = ("steady",) + FLICKER + ("scene_cuts",)
# an analyzer kind -> the deflicker kinds that fix it
FIXED_BY = {**{k: (k,) for k in FIXABLE}, "codec": ("texture",), "steady": (), "scene_cuts": ()}
# the deflicker's mode: each kind alone, all of them, or auto (each only where it is measured)
DEFLICKER_MODES = ("auto",) + FIXABLE + ("all",)

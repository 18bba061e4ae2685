"""How frames line up: optical flow (``flow``) and the scene-cut decision (``scenecut``), shared by the analyzer,
the deflicker and the interpolation."""

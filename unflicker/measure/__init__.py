"""How frames are measured against each other, shared by the analyzer, the deflicker and the interpolation:
luma and quality metrics (``metrics``), optical flow (``flow``) and the scene-cut decision (``scenecut``)."""

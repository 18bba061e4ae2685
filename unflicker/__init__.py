"""ComfyUI-Unflicker engine: media I/O, flicker analysis, fixes, generation, ComfyUI tooling, the CLI.

Nothing in this package imports ComfyUI; the nodes in ``nodes/`` are thin adapters over it. Layers, bottom up:
``errors``, ``progress``, ``kinds`` (the flicker kinds, named once), ``settings`` (every user-facing setting once),
``operation`` (the Source / plan / run shape every capability has), ``runtime`` (torch device, dtype, one model
cache); ``media`` (ffmpeg, probing, frames and sound in and out) and ``measure`` (metrics, optical flow, scene
cuts); then the capabilities — ``analysis`` (analyze, compare, side by side), ``fix`` (deflicker, FFmpeg fix,
interpolation), ``generate`` (SVD, CogVideoX/Wan, AnimateDiff, pose); on top ``comfy`` (workflows, recipes,
/object_info, client), ``cli`` and ``demo``. ``testing`` is for tests and benchmarks only.
"""

__version__ = "0.1.0"

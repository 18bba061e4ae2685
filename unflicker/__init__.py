"""ComfyUI-Unflicker engine: video I/O, flicker analysis and repair, interpolation, generation.

Nothing in this package imports ComfyUI; the ComfyUI nodes in ``nodes/`` are thin adapters over it.
Each user-facing setting is defined once in ``settings``; shared picture helpers are ``metrics`` and ``flow``;
``analysis`` and ``pose`` are packages split by job; ``workflow`` is the workflow format alone (the builder,
recipes, client and commands build on it); ``cli`` holds every ``python -m unflicker`` command; ``testing`` is
for tests and benchmarks only.
"""

__version__ = "0.1.0"

"""ComfyUI-Unflicker engine: video I/O, flicker analysis and repair, interpolation, generation.

Nothing in this package imports ComfyUI; the ComfyUI nodes in ``nodes/`` are thin adapters over it.
"""

__version__ = "0.1.0"

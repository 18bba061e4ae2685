"""ComfyUI-Unflicker: generate steadier AI video, diagnose its flicker, fix it in post.

ComfyUI imports this file from custom_nodes/<folder>/; everything inside the pack is imported relatively.
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

WEB_DIRECTORY = "./web"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]

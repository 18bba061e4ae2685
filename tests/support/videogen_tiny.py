"""The tiny CogVideoX/Wan models the tests use: unflicker.testing.tiny_videogen's random-weight ones, plus "wan", the
ComfyUI-made split-file fixtures (tests/support/fixtures/wan_split, see make_wan_split_files.py) saved as a diffusers folder."""

from __future__ import annotations

import os

from unflicker.testing import tiny_videogen
from unflicker.testing.tiny_videogen import build_tiny_cogvideox, cached_tiny  # noqa: F401  (re-exported)

WAN_SPLIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "wan_split")
WAN_FILES = dict(transformer=os.path.join(WAN_SPLIT, "wan_tiny_t2v.safetensors"),
                 vae=os.path.join(WAN_SPLIT, "wan_tiny_vae.safetensors"),
                 text_encoder=os.path.join(WAN_SPLIT, "umt5_tiny.safetensors"),
                 config_dir=os.path.join(WAN_SPLIT, "config"))


def build_tiny_wan_folder(folder: str) -> str:
    """The split-file fixtures (ComfyUI layout) loaded and saved as a diffusers WanPipeline folder."""
    from unflicker.generate.videogen import WanFiles, load_pipeline

    load_pipeline(WanFiles(**WAN_FILES), "cpu", cache=False).pipe.save_pretrained(folder)
    return folder


tiny_videogen.BUILDERS["wan"] = build_tiny_wan_folder

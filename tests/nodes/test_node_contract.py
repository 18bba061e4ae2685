"""Every node of the pack, loaded the way ComfyUI loads it, against ComfyUI's node contract."""

import importlib.util
import os
import shutil
import sys

import pytest

from conftest import REPO, load_pack

KNOWN_TYPES = {"IMAGE", "FLOAT", "INT", "STRING", "BOOLEAN", "LATENT", "MASK", "CONDITIONING", "MODEL", "VAE",
               "CLIP", "CONTROL_NET", "POSE_KEYPOINT", "*"}


def _nodes(pack):
    return sorted(pack.NODE_CLASS_MAPPINGS.items())


def test_pack_loads_from_a_hyphenated_folder_by_file_location(tmp_path):
    # A fresh copy under another name proves nothing depends on the folder name or on sys.path.
    folder = tmp_path / "ComfyUI-Unflicker"
    shutil.copytree(REPO, folder, ignore=shutil.ignore_patterns(".git", "tests", "__pycache__", "bench", "workflows"))
    module = load_pack(str(folder), name="ComfyUI-Unflicker-copy")
    assert module.NODE_CLASS_MAPPINGS and module.WEB_DIRECTORY == "./web"
    assert os.path.isdir(os.path.join(folder, module.WEB_DIRECTORY))
    assert "nodes" not in sys.modules or not getattr(sys.modules["nodes"], "__file__", "").startswith(str(folder))
    del sys.modules["ComfyUI-Unflicker-copy"]


def test_every_node_has_a_display_name(pack):
    assert set(pack.NODE_CLASS_MAPPINGS) == set(pack.NODE_DISPLAY_NAME_MAPPINGS)
    for name, title in pack.NODE_DISPLAY_NAME_MAPPINGS.items():
        assert name.startswith("Unflicker") and title and title != name


@pytest.mark.parametrize("name", sorted(load_pack().NODE_CLASS_MAPPINGS))
def test_node_contract(pack, name):
    cls = pack.NODE_CLASS_MAPPINGS[name]
    spec = cls.INPUT_TYPES()
    assert isinstance(spec, dict) and set(spec) <= {"required", "optional", "hidden"} and "required" in spec
    for section in ("required", "optional"):
        for input_name, entry in spec.get(section, {}).items():
            assert isinstance(entry, tuple) and 1 <= len(entry) <= 2, (input_name, entry)
            kind = entry[0]
            assert isinstance(kind, (str, list)), (input_name, kind)
            options = entry[1] if len(entry) == 2 else {}
            assert isinstance(options, dict)
            if isinstance(kind, list):  # a combo: default must be one of the choices
                assert "default" not in options or options["default"] in kind, input_name
            elif kind in ("INT", "FLOAT"):
                if "default" in options:
                    assert options.get("min", float("-inf")) <= options["default"] <= options.get("max", float("inf")), input_name
    assert isinstance(cls.RETURN_TYPES, tuple)
    if hasattr(cls, "RETURN_NAMES"):
        assert len(cls.RETURN_NAMES) == len(cls.RETURN_TYPES)
    assert isinstance(cls.FUNCTION, str) and callable(getattr(cls, cls.FUNCTION))
    assert cls.CATEGORY.startswith("Unflicker/")
    assert getattr(cls, "DESCRIPTION", ""), "a node says what it does"
    if not cls.RETURN_TYPES:
        assert getattr(cls, "OUTPUT_NODE", False), "a node with no outputs must be an output node"

"""nodes/model_folders: one naming convention for files and model folders, resolving inside the folder, aliases
for the names earlier versions saved, one error shape."""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture
def mf(pack, tmp_path, monkeypatch):
    """The module, with its folder kinds rooted in a fresh temp models folder."""
    import folder_paths

    monkeypatch.setattr(folder_paths, "folder_names_and_paths", {})
    monkeypatch.setattr(folder_paths, "models_dir", str(tmp_path / "models"))
    return pack.nodes.model_folders


def put(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_register_adds_the_folder_once_with_weight_extensions(mf, tmp_path):
    import folder_paths

    mf.register("frame_interpolation")
    mf.register("frame_interpolation")
    assert mf.folders("frame_interpolation") == [str(tmp_path / "models" / "frame_interpolation")]
    assert ".safetensors" in folder_paths.folder_names_and_paths["frame_interpolation"][1]
    assert mf.folders("never_registered") == []


def test_choices_files_and_folders_one_naming(mf, tmp_path):
    models = tmp_path / "models"
    put(str(models / "checkpoints" / "sd15.safetensors"))
    put(str(models / "checkpoints" / "sub" / "svd_xt.safetensors"))
    put(str(models / "checkpoints" / "notes.txt"))
    put(str(models / "diffusers" / "svd-xt" / "model_index.json"), json.dumps({"_class_name": "SVDPipe"}))
    put(str(models / "diffusers" / "org" / "svd-nested" / "model_index.json"), json.dumps({"_class_name": "SVDPipe"}))
    put(str(models / "diffusers" / "sd" / "model_index.json"), json.dumps({"_class_name": "SDPipe"}))
    source = mf.ModelSource("model", files="checkpoints", folders="diffusers", extensions=(".safetensors",),
                            pipeline="SVDPipe", prefer=("svd",))
    # folders first, then files with preferred words first; names relative to the model folder, no prefixes
    assert source.choices() == ["org/svd-nested", "svd-xt", "sub/svd_xt.safetensors", "sd15.safetensors"]
    assert source.resolve("svd-xt") == str(models / "diffusers" / "svd-xt")
    assert source.resolve("sub/svd_xt.safetensors") == str(models / "checkpoints" / "sub" / "svd_xt.safetensors")


def test_parts_of_a_model_folder_are_not_choices(mf, tmp_path):
    folder = tmp_path / "models" / "controlnet" / "tiny_cn"
    put(str(folder / "config.json"), "{}")
    put(str(folder / "diffusion_pytorch_model.safetensors"))
    put(str(tmp_path / "models" / "controlnet" / "cn.pth"))
    source = mf.ModelSource("controlnet_name", files="controlnet", folders="controlnet")
    assert source.choices() == ["tiny_cn", "cn.pth"]


def test_earlier_names_still_resolve_and_validate(mf, tmp_path):
    models = tmp_path / "models"
    put(str(models / "diffusers" / "tiny" / "model_index.json"), "{}")
    put(str(models / "checkpoints" / "svd.safetensors"))
    source = mf.ModelSource("model", files="checkpoints", folders="diffusers")
    for old, new in (("diffusers/tiny", "tiny"), ("[diffusers] tiny", "tiny"),
                     ("checkpoints/svd.safetensors", "svd.safetensors")):
        assert source.canonical(old) == new
        assert source.resolve(old) == source.resolve(new)
        assert source.validate(old) is True
    assert source.validate(None) is True  # a linked input: checked when it has a value


def test_one_error_shape_and_no_escape(mf, pack, tmp_path):
    put(str(tmp_path / "outside.safetensors"))
    put(str(tmp_path / "models" / "rife" / "empty" / "readme.txt"))
    source = mf.ModelSource("weights", files="checkpoints", hint="Put the file there.")
    with pytest.raises(pack.unflicker.errors.UnflickerError) as err:
        source.resolve("../../outside.safetensors")
    assert isinstance(err.value, mf.ModelNotFound)
    assert str(err.value) == (f"weights: '../../outside.safetensors' is not in ComfyUI's models/checkpoints folder "
                              f"({tmp_path / 'models' / 'checkpoints'}). Put the file there.")
    assert source.validate("gone.pth") == source.missing("gone.pth")
    rife = mf.ModelSource("model", folders="rife", markers=("flownet.param",))
    assert rife.choices() == []
    with pytest.raises(mf.ModelNotFound, match="not in ComfyUI's models/rife folder"):
        rife.resolve("empty")  # a folder without the model's marker file is not a model


def test_alternatives_are_tried_in_order(mf, tmp_path):
    put(str(tmp_path / "models" / "openpose" / "body.safetensors"))
    source = mf.ModelSource("body weights", files="openpose")
    assert source.resolve("body.pth", "body.safetensors").endswith("body.safetensors")
    with pytest.raises(mf.ModelNotFound, match="'hand.pth' is not in"):
        source.resolve("hand.pth", "hand.safetensors")

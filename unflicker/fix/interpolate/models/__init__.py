"""Interpolation weight files users already have, loaded into our PyTorch networks.

Accepted files (any name; the kind is read from the tensors' names and shapes, never from the file name):
  .safetensors      ComfyUI's ``models/frame_interpolation/`` layouts: RIFE v4.x (``blocks.N.`` or ``blockN.``
                    keys) and FILM (``extract.extract_sublevels.convs.0.0.conv.weight``...)
  .pth / .pkl / .ckpt  state dicts (Practical-RIFE ``flownet.pkl``, ComfyUI-Frame-Interpolation ``rife47.pth``),
                    with or without a ``module.`` / ``flownet.`` prefix
  .pt               FILM's TorchScript export ``film_net_fp32.pt`` (torch.jit.load; its weights are used)
Networks: RIFE HD v3 (midpoint), RIFE v4.5/4.6, 4.7-4.15, 4.17-4.26 layouts (any timestep), FILM film_net
(midpoint). Anything else is refused with a message saying what the file holds.
"""

from __future__ import annotations

import os
import re
import zipfile

import torch

from ....errors import UnflickerError
from .film import FilmConfig, FilmNet
from .rife import RifeHDv3, RifeV4, RifeV4Config

EXTENSIONS = (".safetensors", ".pth", ".pkl", ".pt", ".ckpt")  # (.bin is an ncnn model's weights)
ACCEPTED = ("RIFE HD v3 (Practical-RIFE train_log/flownet.pkl), RIFE v4.x (4.5/4.6, 4.7-4.15, 4.17-4.26 "
            "layouts, e.g. rife_v4.26.safetensors, rife47.pth, rife49.pth), FILM film_net (film_net_fp32.pt, "
            "film_net_fp32.safetensors)")


def read_state_dict(path: str) -> tuple[dict, str]:
    """(tensors by name, how the file was read). TorchScript archives give their module's state dict."""
    if not os.path.isfile(path):
        raise UnflickerError(f"interpolation model file not found: {path!r}")
    try:
        if path.lower().endswith(".safetensors"):
            from safetensors.torch import load_file

            return dict(load_file(path, device="cpu")), "safetensors"
        if _is_torchscript(path):
            return dict(torch.jit.load(path, map_location="cpu").state_dict()), "TorchScript"
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except UnflickerError:
        raise
    except Exception as exc:  # damaged, truncated, or not a tensor file at all
        raise UnflickerError(f"interpolation model {os.path.basename(path)!r} could not be read ({exc}); "
                             f"expected a .safetensors, a torch state dict (.pth/.pkl) or TorchScript (.pt) file "
                             f"of {ACCEPTED}") from exc
    for key in ("state_dict", "model", "params", "params_ema"):  # checkpoints wrapping the weights
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise UnflickerError(f"interpolation model {os.path.basename(path)!r} holds a {type(obj).__name__}, "
                             f"not a dict of tensors; expected weights of {ACCEPTED}")
    return dict(obj), "torch state dict"


def _is_torchscript(path: str) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("/constants.pkl") or "/code/" in n for n in z.namelist())


def normalize_keys(sd: dict) -> dict:
    """One naming for every layout: no wrapper prefixes, RIFE v4 blocks as ``blocks.N.``."""
    out = {}
    for key, value in sd.items():
        for prefix in ("module.", "flownet.", "_orig_mod."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    if any(k.startswith("block0.convblock.") for k in out):  # v4 files name blocks block0..block4
        out = {re.sub(r"^block(\d)\.", r"blocks.\1.", k): v for k, v in out.items()}
    # FILM's TorchScript/state-dict export wraps each conv in a Sequential (``...conv.0.weight`` -> ``.conv.``)
    if "extract.extract_sublevels.convs.0.0.0.weight" in out:
        out = {re.sub(r"\.0\.(weight|bias)$", r".conv.\1", k) if not k.startswith("fuse.output_conv") else k: v
               for k, v in out.items()}
    return out


def identify(sd: dict) -> str:
    """'rife-hdv3' | 'rife-v4' | 'film', or raise saying what the keys show instead."""
    keys = set(sd)
    if "extract.extract_sublevels.convs.0.0.conv.weight" in keys:
        return "film"
    if "blocks.0.convblock.0.conv.weight" in keys and "blocks.0.lastconv.0.weight" in keys:
        return "rife-v4"
    if {"block0.convblock0.0.0.weight", "block2.conv1.2.weight"} <= keys:
        return "rife-hdv3"
    raise UnflickerError(f"not a frame interpolation model: {what_it_holds(keys)}. Accepted: {ACCEPTED}")


def what_it_holds(keys) -> str:
    keys = sorted(keys)
    sample = ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")
    has = lambda *parts: any(any(p in k for p in parts) for k in keys)  # noqa: E731
    if not keys:
        guess = "an empty file"
    elif has("model.diffusion_model.", "double_blocks.", "transformer_blocks."):
        guess = "a diffusion model (checkpoint or UNet/transformer)"
    elif has("first_stage_model.", "decoder.up_blocks", "decoder.up."):
        guess = "a VAE"
    elif has("lora_up", "lora_down", "lora_A", "lora_B"):
        guess = "a LoRA"
    elif has("contextnet.", "unet.down0"):
        guess = "RIFE v4.0-v4.4 or v2/v3 with a context/fusion network (not supported: use v4.6 or later)"
    elif has("block0.conv0", "blocks.0.conv0"):
        guess = "a RIFE-like network of an unknown layout"
    elif has("body.", "conv_first", "upconv"):
        guess = "an upscale model"
    else:
        guess = "tensors of an unknown kind"
    return f"{guess} ({len(keys)} tensors, e.g. {sample})"


def v4_config(sd: dict) -> RifeV4Config:
    n = 0
    while f"blocks.{n}.conv0.0.0.weight" in sd:
        n += 1
    if n not in (4, 5):
        raise UnflickerError(f"RIFE v4 weights with {n} blocks: only the 4- and 5-block layouts are known")
    channels = tuple(int(sd[f"blocks.{i}.conv0.1.0.weight"].shape[0]) for i in range(n))
    cin = tuple(int(sd[f"blocks.{i}.conv0.0.0.weight"].shape[1]) for i in range(n))
    out_ch = int(sd["blocks.0.lastconv.0.weight"].shape[1]) // 4
    if "encode.cnn0.weight" in sd:
        encoder, width, feats = "head", int(sd["encode.cnn0.weight"].shape[0]), int(sd["encode.cnn3.weight"].shape[1])
    elif "encode.0.weight" in sd:
        encoder, width, feats = "small", int(sd["encode.0.weight"].shape[0]), int(sd["encode.1.weight"].shape[1])
    else:
        encoder, width, feats = "none", 0, 0
    block_features = cin[1] - (12 + 2 * feats)
    if cin[0] != 7 + 2 * feats or block_features not in (0, out_ch - 5) or any(c != cin[1] for c in cin[1:]):
        raise UnflickerError(f"RIFE v4 weights of an unknown layout (block inputs {cin}, encoder {encoder} "
                             f"with {feats} features)")
    if n == 5:
        scales = (32.0, 16.0, 8.0, 4.0, 1.0) if channels[-1] == 24 else (16.0, 8.0, 4.0, 2.0, 1.0)
    else:
        scales = (8.0, 4.0, 2.0, 1.0)
    return RifeV4Config(channels, cin, out_ch, encoder, width, feats, block_features, scales)


def film_config(sd: dict) -> FilmConfig:
    filters = int(sd["extract.extract_sublevels.convs.0.0.conv.weight"].shape[0])
    sub = 0
    while f"extract.extract_sublevels.convs.{sub}.0.conv.weight" in sd:
        sub += 1
    k = 0
    while f"predict_flow._predictors.{k}._convs.0.conv.weight" in sd:
        k += 1
    # stored coarse-to-fine: _predictors[k-1] is the finest level, _predictor the coarsest (shared by the rest)
    order = [f"predict_flow._predictors.{i}" for i in range(k - 1, -1, -1)] + ["predict_flow._predictor"]
    convs, filt = [], []
    for head in order:
        j = 0
        while f"{head}._convs.{j}.conv.weight" in sd:
            j += 1
        convs.append(j - 2)
        filt.append(int(sd[f"{head}._convs.0.conv.weight"].shape[0]))
    # decoder widths double per level up to the specialized levels, then stay
    widths = [int(sd[f"fuse.convs.{k}.0.conv.weight"].shape[0]) for k in range(sub)]  # coarse to fine
    specialized = next((s for s in range(sub + 1)
                        if all(w == filters << min(sub - 1 - k, s) for k, w in enumerate(widths))), sub)
    return FilmConfig(filters, sub, tuple(convs), tuple(filt), specialized)


def build(sd: dict) -> torch.nn.Module:
    """A network of the kind and size the (normalized) weights describe, the weights loaded, in eval mode."""
    kind = identify(sd)
    if kind == "film":
        net = FilmNet(film_config(sd))
        description = net.config.describe()
    elif kind == "rife-v4":
        sd = {k: v for k, v in sd.items() if not k.startswith(("teacher.", "caltime."))}
        net = RifeV4(v4_config(sd))
        description = net.config.describe()
    else:
        sd = {k: v for k, v in sd.items() if not k.startswith("block_tea.")}  # training-time teacher
        net = RifeHDv3(int(sd["block0.conv0.1.0.weight"].shape[0]))
        description = "RIFE HD v3 (midpoint network)"
    try:
        net.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    except RuntimeError as exc:
        detail = str(exc).split("\n", 1)[-1].strip()[:400]
        raise UnflickerError(f"weights look like {description} but do not fit it: {detail}") from exc
    net.description = description
    return net.eval().requires_grad_(False)


def load_model(path: str) -> torch.nn.Module:
    """Read ``path`` and return the network (CPU, float32, eval); ``.description`` names what was found."""
    sd, how = read_state_dict(path)
    try:
        net = build(normalize_keys(sd))
    except UnflickerError as exc:
        raise UnflickerError(f"{os.path.basename(path)} ({how}): {exc}") from exc
    net.description = f"{net.description}, from {os.path.basename(path)}"
    return net

"""Random-weight ncnn models from a real graph, so tests and benchmarks drive the real ncnn runtime without weights.

ncnn's .bin layout (ModelBinFromDataReader): layers in .param order; each Convolution / Deconvolution stores its
weights as a 4-byte tag (0 = raw float32) followed by ``6=`` (weight_data_size) float32 values, then, when
``5=1`` (bias_term), ``0=`` (num_output) raw float32 bias values with no tag. Other weight-carrying layer types
are refused rather than written wrong.
"""

from __future__ import annotations

import os
import shutil

import numpy as np

_WEIGHTED = ("Convolution", "Deconvolution")
# layer types that carry weights in a .bin, which this writer does not lay out
_UNSUPPORTED = ("ConvolutionDepthWise", "DeconvolutionDepthWise", "InnerProduct", "PReLU", "MemoryData",
                "BatchNorm", "Scale", "Embed", "LayerNorm", "GroupNorm", "InstanceNorm", "Bias", "Gemm")


def _layers(param_path: str):
    with open(param_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if not lines or lines[0].strip() != "7767517":
        raise ValueError(f"{param_path} is not a text ncnn .param file (magic 7767517)")
    for line in lines[2:]:
        parts = line.split()
        if not parts:
            continue
        n_in, n_out = int(parts[2]), int(parts[3])
        params = dict(p.split("=", 1) for p in parts[4 + n_in + n_out:])
        yield parts[0], parts[1], params


_FP16, _INT8, _RAW_SCALED = 0x01306B47, 0x000D4B38, 0x0002C056


def weight_file_problem(param_path: str, bin_path: str) -> str | None:
    """Walk ``bin_path`` the way ncnn will load it; a short or mismatched file makes ncnn crash, not fail.

    Returns None when every Convolution/Deconvolution (and PReLU) finds its data, else a sentence saying where
    the file runs out. Graphs with other weight-carrying layers are not checked (None).
    """
    size = os.path.getsize(bin_path)
    pos = 0
    try:
        layers = list(_layers(param_path))
    except (ValueError, IndexError) as exc:
        return f"{os.path.basename(param_path)} is not a readable ncnn graph ({exc})"
    if any(kind in _UNSUPPORTED and kind != "PReLU" for kind, _, _ in layers):
        return None
    with open(bin_path, "rb") as f:
        for kind, name, params in layers:
            if kind == "PReLU":
                pos += 4 * int(params.get("0", "1"))
            elif kind in _WEIGHTED:
                count = int(params["6"])
                f.seek(pos)
                tag_bytes = f.read(4)
                if len(tag_bytes) < 4:
                    return f"it ends at layer {name} ({kind}): the file is truncated or belongs to another graph"
                tag = int.from_bytes(tag_bytes, "little")
                pos += 4
                if tag == _FP16:
                    pos += (2 * count + 3) // 4 * 4
                elif tag == _INT8:
                    pos += (count + 3) // 4 * 4
                elif tag == _RAW_SCALED or tag == 0:
                    pos += 4 * count
                elif sum(tag_bytes) != 0:  # 8-bit codebook: 256 floats, then one index byte per weight
                    pos += 1024 + (count + 3) // 4 * 4
                else:
                    pos += 4 * count
                if params.get("5", "0") == "1":
                    pos += 4 * int(params["0"])
            else:
                continue
            if pos > size:
                return (f"it is {size} bytes but layer {name} ({kind}) needs data up to byte {pos}: the file is "
                        "truncated or belongs to another graph")
    return None


def write_random_weights(param_path: str, bin_path: str, seed: int = 0, std: float = 0.01) -> int:
    """Write a .bin of N(0, std) weights and zero biases matching ``param_path``; returns its size in bytes."""
    rng = np.random.default_rng(seed)
    with open(bin_path, "wb") as out:
        for kind, name, params in _layers(param_path):
            if kind in _UNSUPPORTED:
                raise ValueError(f"layer {name} ({kind}) carries weights this writer does not lay out")
            if kind not in _WEIGHTED:
                continue
            if params.get("8", "0") != "0":
                raise ValueError(f"layer {name}: int8 convolutions are not supported")
            out.write(np.uint32(0).tobytes())
            out.write((rng.standard_normal(int(params["6"]), dtype=np.float32) * np.float32(std)).tobytes())
            if params.get("5", "0") == "1":
                out.write(np.zeros(int(params["0"]), np.float32).tobytes())
        return out.tell()


def make_random_model(param_path: str, model_dir: str, seed: int = 0) -> str:
    """Copy a graph into ``model_dir`` (created) and give it random weights; returns ``model_dir``."""
    os.makedirs(model_dir, exist_ok=True)
    dst = os.path.join(model_dir, "flownet.param")
    shutil.copyfile(param_path, dst)
    os.chmod(dst, 0o644)
    write_random_weights(dst, os.path.join(model_dir, "flownet.bin"), seed)
    return model_dir

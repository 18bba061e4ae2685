"""Random-weight ncnn models from a real graph, so tests and benchmarks drive the real ncnn runtime without weights.

Writes ncnn's .bin layout as :func:`unflicker.fix.interpolate.ncnn.weight_file_problem` reads it: each
Convolution / Deconvolution a 4-byte tag (0 = raw float32), its ``6=`` float32 weights, then, when ``5=1``, its
``0=`` float32 biases with no tag. Other weight-carrying layer types are refused rather than written wrong.
"""

from __future__ import annotations

import os
import shutil

import numpy as np

from ..fix.interpolate.ncnn import OTHER_WEIGHTED_LAYERS, WEIGHTED_LAYERS, graph_layers


def write_random_weights(param_path: str, bin_path: str, seed: int = 0, std: float = 0.01) -> int:
    """Write a .bin of N(0, std) weights and zero biases matching ``param_path``; returns its size in bytes."""
    rng = np.random.default_rng(seed)
    with open(bin_path, "wb") as out:
        for kind, name, params in graph_layers(param_path):
            if kind in OTHER_WEIGHTED_LAYERS:
                raise ValueError(f"layer {name} ({kind}) carries weights this writer does not lay out")
            if kind not in WEIGHTED_LAYERS:
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

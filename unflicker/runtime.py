"""Where torch work runs, shared by the generators and the torch interpolation backend (imports torch lazily)."""

from __future__ import annotations


def torch_device(name: str = "auto") -> str:
    """``auto``: CUDA when there is one, else Apple's MPS, else the CPU; any other name as given."""
    if name != "auto":
        return name
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"

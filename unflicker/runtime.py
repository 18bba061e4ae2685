"""Where torch work runs, shared by the generators and the torch interpolation backend: the device, the dtype,
and one cache of loaded models (imports torch lazily)."""

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


def torch_dtype(name: str, device, choices: tuple, accelerator: str):
    """The torch dtype a name stands for (one of ``choices``); ``auto`` is ``accelerator`` (fp16, bf16) on a
    GPU and fp32 on the CPU, where half precision is slow or missing."""
    import torch

    from .errors import check_choice

    check_choice("dtype", name, choices)
    if name == "auto":
        name = "fp32" if torch.device(device).type == "cpu" else accelerator
    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[name]


def release_memory() -> None:
    """Give memory held by dropped models back (Python's cycles first, then the CUDA cache)."""
    import gc

    gc.collect()
    try:
        import torch
    except ImportError:  # ncnn and flow run without torch
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class ModelCache:
    """Loaded models kept for the next call with the same key, at most ``size`` of them (the oldest goes first).

    ``get(key, load)`` returns the kept model or calls ``load()``; with ``keep=False`` nothing is kept and a kept
    copy is handed over and forgotten, so its memory returns once the caller drops it. Models are large: before
    a load that would go past ``size``, the kept ones are dropped and their memory released first."""

    def __init__(self, size: int = 1):
        self.size = size
        self._models: dict = {}

    def get(self, key, load, keep: bool = True):
        if key in self._models:
            return self._models[key] if keep else self._models.pop(key)
        if len(self._models) >= self.size:
            while len(self._models) >= self.size:
                self._models.pop(next(iter(self._models)))
            release_memory()
        model = load()
        if keep:
            self._models[key] = model
        return model

    def kept(self) -> list:
        """The models kept, oldest first."""
        return list(self._models.values())

    def clear(self) -> bool:
        """Drop every kept model (returns whether there was one) and release its memory."""
        had = bool(self._models)
        self._models.clear()
        release_memory()
        return had

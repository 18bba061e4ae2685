"""Frame interpolation: RIFE and FILM in PyTorch, RIFE through rife-ncnn-vulkan, or a weight-free optical flow.

One operation: :func:`plan` (``timing``) checks the source, times the output (step, exact rate, frame count and
times) and chooses the backend before any frame is read; :func:`run` (``stream``) streams the frames through it,
only the current pairs in flight. Pairs across a scene cut are never blended (the earlier frame is held), and
near-duplicate pairs skip the model (the earlier frame is repeated); ``loop`` also fills the last -> first gap.

Backends (``backends`` chooses and opens them):
  torch (``torch_backend``) RIFE v4.x (any timestep), RIFE HD v3 and FILM (midpoint networks: bisection to the
        nearest 1/64) from the weight files users have (the networks: ``models``), on any torch device, in batches.
  ncnn  (``ncnn``) RIFE from an ncnn model folder (``rife-v4.6/`` holding flownet.param + flownet.bin) on a Vulkan
        device (gpu_id >= 0) or ncnn's CPU path (gpu_id -1); the folder is checked before ncnn reads it.
  flow  (``flow``) DIS optical flow both ways, occlusion-aware bidirectional warping and blending; no weights.
  auto  torch for a weight file; ncnn for a model folder when it and a device are usable, else flow (the reason
        is reported, never swallowed); flow without a model.
Every backend takes any frame size from 1x1.
"""

from __future__ import annotations

from .backends import TORCH_EXTENSIONS, TORCH_LAYOUT, is_torch_model, open_backend
from .flow import FlowInterpolator
from .ncnn import MODEL_LAYOUT, NcnnInterpolator, check_model_dir, load_ncnn
from .stream import InterpolationRun, is_near_duplicate, run
from .timing import DUPLICATE_MAD, InterpolationPlan, plan

__all__ = ["DUPLICATE_MAD", "FlowInterpolator", "InterpolationPlan", "InterpolationRun", "MODEL_LAYOUT",
           "NcnnInterpolator", "TORCH_EXTENSIONS", "TORCH_LAYOUT", "check_model_dir", "is_near_duplicate",
           "is_torch_model", "load_ncnn", "open_backend", "plan", "run"]

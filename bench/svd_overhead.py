"""Overhead of the SVD Generate node over a bare diffusers call, on the tiny random-weight SVD (CPU).

    python bench/svd_overhead.py [--runs 7] [--frames 8] [--steps 4] [--size 64] [--threads 1]

Both paths use the same pipeline weights, the same seed and the same first frame; the script checks they return
the same video, then prints median wall times and the node/bare ratio (target <= 1.05x). The node path includes
everything a ComfyUI run does: IMAGE -> first frame, validation, the stability guard, the per-step progress
callback (ProgressBar + interrupt check) and the float32 IMAGE output.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from _common import load_pack  # noqa: E402  (the pack as ComfyUI loads it, with the ComfyUI stand-ins)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import numpy as np
    import torch
    from diffusers import StableVideoDiffusionPipeline
    from PIL import Image

    from unflicker.testing.tiny_svd import build_tiny_svd

    torch.set_num_threads(args.threads)
    pack = load_pack()
    nodes = pack.nodes.svd
    size, frames, steps, seed = args.size, args.frames, args.steps, 1234

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_svd(os.path.join(tmp, "tiny-svd"))
        (model,) = nodes.SVDLoader().load("(none: use path)", "fp32", False, False, True, path=folder)
        bare = StableVideoDiffusionPipeline.from_pretrained(folder, local_files_only=True)
        bare.set_progress_bar_config(disable=True)

        rng = np.random.default_rng(0)
        first = (rng.random((size, size, 3)) * 255).astype(np.uint8)
        image = torch.from_numpy(first).float().div(255)[None]  # IMAGE batch of one

        def run_bare():
            out = bare(Image.fromarray(first), height=size, width=size, num_frames=frames,
                       num_inference_steps=steps, min_guidance_scale=1.0, max_guidance_scale=3.0, fps=7,
                       motion_bucket_id=127, noise_aug_strength=0.02, decode_chunk_size=8,
                       generator=torch.Generator("cpu").manual_seed(seed), output_type="np")
            return out.frames[0]

        def run_node():
            return nodes.SVDGenerate().generate(
                model, image, width=size, height=size, num_frames=frames, steps=steps, min_guidance=1.0,
                max_guidance=3.0, motion_bucket_id=127, fps=7, noise_aug_strength=0.02, decode_chunk_size=8,
                seed=seed, stability_guard=True)["result"][0]

        a, b = run_bare(), run_node().numpy()  # warm-up, and the same video both ways
        same = np.abs(a - b).max()
        times = {"bare": [], "node": []}
        for _ in range(args.runs):  # interleaved so load changes hit both alike
            for name, fn in (("bare", run_bare), ("node", run_node)):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)

    bare_s, node_s = statistics.median(times["bare"]), statistics.median(times["node"])
    print(f"tiny SVD {size}x{size}, {frames} frames, {steps} steps, {args.threads} thread(s), {args.runs} runs")
    print(f"max |node - bare| = {same:.3g} (same seed)")
    print(f"bare diffusers: median {bare_s * 1000:.1f} ms  (min {min(times['bare']) * 1000:.1f})")
    print(f"SVD Generate  : median {node_s * 1000:.1f} ms  (min {min(times['node']) * 1000:.1f})")
    print(f"ratio node/bare: {node_s / bare_s:.3f}x (median), {min(times['node']) / min(times['bare']):.3f}x (min); "
          "target <= 1.05x")


if __name__ == "__main__":
    main()

"""Overhead of the CogVideoX / Wan Generate nodes over a bare diffusers call, on tiny random-weight models (CPU).

    python bench/generate_overhead.py [--runs 7] [--steps 4] [--threads 1]

For each family both paths use the same pipeline weights, prompt, seed and settings (CogVideoX: 9 frames 32x32
image-to-video with a first image; Wan: 5 frames 64x64 text-to-video); the script checks
they return the same video, then prints median wall times and the node/bare ratio (target <= 1.05x). The node path
includes everything a ComfyUI run does: IMAGE -> first frame, validation, the coherence guard, the per-step progress
callback (ProgressBar + interrupt check) and the float32 IMAGE output. The bare path is the pipeline call alone.
Wall and CPU seconds are both printed, and the node's own work outside the pipeline call (measured with the
pipeline's __call__ swapped for one that only runs the step callbacks): on a loaded machine the end-to-end ratios
swing by several percent, the own-work figure does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from _common import load_pack  # noqa: E402  (the pack as ComfyUI loads it, with the ComfyUI stand-ins)


def measure(run_bare, run_node, runs):
    import numpy as np

    a, b = run_bare(), run_node()  # warm-up, and the same video both ways
    same = float(np.abs(a - b).max())
    times = {"bare": [], "node": []}
    cpu = {"bare": [], "node": []}
    for _ in range(runs):  # interleaved so load changes hit both alike
        for name, fn in (("bare", run_bare), ("node", run_node)):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return same, times, cpu


def own_work(pipe, run_node, frames, reps: int = 200) -> float:
    """Median seconds the node spends outside the diffusers call: the pipeline class's __call__ is swapped for one
    that only runs the step callbacks and returns the frames. Small and CPU-bound, so it is measured precisely even
    on a loaded machine, where the end-to-end ratio above swings by several percent from run to run."""
    from types import SimpleNamespace

    cls = type(pipe)
    original = cls.__call__
    result = SimpleNamespace(frames=[frames])

    def steps_only(self, *args, num_inference_steps=1, callback_on_step_end=None, **kwargs):
        for i in range(num_inference_steps):
            callback_on_step_end(self, i, 0, {})
        return result

    cls.__call__ = steps_only
    try:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            run_node()
            times.append(time.perf_counter() - t0)
    finally:
        cls.__call__ = original
    return statistics.median(times)


def report(label, same, times, cpu, own=None):
    print(label)
    print(f"  max |node - bare| = {same:.3g} (same seed)")
    if own is not None:
        bare_s = statistics.median(times["bare"])
        print(f"  node's own work (outside the pipeline call): {own * 1000:.2f} ms = {own / bare_s * 100:.2f} % of the "
              f"bare call -> {1 + own / bare_s:.3f}x")
    for what, table in (("wall", times), ("CPU", cpu)):
        bare_s, node_s = statistics.median(table["bare"]), statistics.median(table["node"])
        print(f"  {what:4} bare diffusers: median {bare_s * 1000:.1f} ms (min {min(table['bare']) * 1000:.1f}); "
              f"node: median {node_s * 1000:.1f} ms (min {min(table['node']) * 1000:.1f})")
        print(f"  {what:4} ratio node/bare: {node_s / bare_s:.3f}x (median), "
              f"{min(table['node']) / min(table['bare']):.3f}x (min); target <= 1.05x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import logging

    import numpy as np
    import torch
    from PIL import Image

    from unflicker.testing.tiny_videogen import build_tiny_cogvideox, build_tiny_wan

    torch.set_num_threads(args.threads)
    logging.disable(logging.WARNING)  # the coherence notes for few steps, once per run: not what is measured
    pack = load_pack()
    nodes = pack.nodes.videogen
    engine = pack.unflicker.generate.videogen
    steps, seed, prompt, negative = args.steps, 1234, "a red fox runs across a snowy field", "blurry"

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_cogvideox(os.path.join(tmp, "tiny-cogvideox-i2v"), image_to_video=True)
        (cog,) = nodes.CogVideoXLoader().load(nodes.NONE, "fp32", "none", False, False, True, path=folder)
        rng = np.random.default_rng(0)
        first = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
        image = torch.from_numpy(first).float().div(255)[None]  # IMAGE batch of one
        pil = Image.fromarray(first)

        def cog_bare():
            return cog.pipe(image=pil, prompt=prompt, negative_prompt=negative, num_frames=9, width=32, height=32,
                            num_inference_steps=steps, guidance_scale=7.5, max_sequence_length=16,
                            generator=torch.Generator("cpu").manual_seed(seed), output_type="np").frames[0]

        def cog_node():
            return nodes.CogVideoXGenerate().generate(cog, prompt, negative, 9, 32, 32, steps, 7.5, seed, 8,
                                                      image=image)["result"][0].numpy()

        same, times, cpu = measure(cog_bare, cog_node, args.runs)
        report(f"tiny CogVideoX image-to-video 32x32, 9 frames, {steps} steps, {args.threads} thread(s), "
               f"{args.runs} runs", same, times, cpu, own_work(cog.pipe, cog_node, cog_bare()))
        engine.free_pipeline()

        wan_folder = build_tiny_wan(os.path.join(tmp, "tiny-wan"))
        (wan,) = nodes.WanLoader().load(nodes.NONE, "fp32", "none", False, False, True, path=wan_folder)

        def wan_bare():
            return wan.pipe(prompt=prompt, negative_prompt=negative, num_frames=5, width=64, height=64,
                            num_inference_steps=steps, guidance_scale=5.0,
                            generator=torch.Generator("cpu").manual_seed(seed), output_type="np").frames[0]

        def wan_node():
            return nodes.WanGenerate().generate(wan, prompt, negative, 5, 64, 64, steps, 5.0, 3.0, seed,
                                                16)["result"][0].numpy()

        same, times, cpu = measure(wan_bare, wan_node, args.runs)
        report(f"tiny Wan text-to-video 64x64, 5 frames, {steps} steps, {args.threads} thread(s), "
               f"{args.runs} runs", same, times, cpu, own_work(wan.pipe, wan_node, wan_bare()))
        engine.free_pipeline()


if __name__ == "__main__":
    main()

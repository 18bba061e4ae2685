"""AnimateDiff Generate node vs a bare diffusers AnimateDiffPipeline call, on the tiny random-weight test models.

Both run the same pipeline object with the same arguments (16 frames, 64x64, 4 steps, CFG); the node adds prompt
parsing, window/LoRA bookkeeping, the progress callback and the IMAGE conversion. One CPU thread so the figures
are not swamped by thread start-up on tiny tensors. Target: node / bare <= 1.05.
"""

import os

import numpy as np
import torch

from _common import REPO, best_of_with_cpu, load_pack

FIX = os.path.join(REPO, "tests", "support", "fixtures", "animatediff")
FRAMES, SIZE, STEPS, GUIDANCE, SEED = 16, 64, 4, 7.5, 5
PROMPT, NEGATIVE = "a cat walking on a beach", "blurry"


def main():
    torch.set_num_threads(1)
    pack = load_pack()
    engine, nodes = pack.unflicker.generate.animatediff, pack.nodes.animatediff
    model = engine.load_animatediff(os.path.join(FIX, "tiny_sd15.safetensors"), os.path.join(FIX, "tiny_mm.ckpt"),
                                    config_dir=os.path.join(FIX, "tiny_config"), device="cpu")
    pipe = model.pipe

    def bare():
        return pipe(prompt=PROMPT, negative_prompt=NEGATIVE, num_frames=FRAMES, width=SIZE, height=SIZE,
                    num_inference_steps=STEPS, guidance_scale=GUIDANCE,
                    generator=torch.Generator("cpu").manual_seed(SEED), output_type="np").frames[0]

    node = nodes.AnimateDiffGenerate()

    def via_node():
        return node.generate(model, PROMPT, NEGATIVE, SEED, 16, 4, 8.0, num_frames=FRAMES, width=SIZE, height=SIZE,
                             steps=STEPS, guidance=GUIDANCE)[0]

    via_node(), bare()  # warm-up: first calls allocate and build caches
    rounds = []
    for _ in range(3):  # interleave so drifting machine load hits both alike
        rounds.append((best_of_with_cpu(bare, 2), best_of_with_cpu(via_node, 2)))
    t_bare = min(r[0][0] for r in rounds)
    c_bare = min(r[0][1] for r in rounds)
    t_node = min(r[1][0] for r in rounds)
    c_node = min(r[1][1] for r in rounds)
    same = np.array_equal(rounds[-1][1][2].numpy(), rounds[-1][0][2])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"tiny AnimateDiff: {FRAMES} frames at {SIZE}x{SIZE}, {STEPS} steps, CFG {GUIDANCE}, 1 CPU thread; "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    print(f"bare diffusers pipeline call: wall {t_bare:.3f} s, CPU {c_bare:.3f} s")
    print(f"AnimateDiff Generate node:    wall {t_node:.3f} s, CPU {c_node:.3f} s")
    print(f"ratio node / bare: wall {t_node / t_bare:.3f}, CPU {c_node / c_bare:.3f} (target <= 1.05); "
          f"identical frames: {same}")


if __name__ == "__main__":
    main()

"""interpolate: a file in, more frames per second out, streamed."""

from __future__ import annotations

import os

from .common import add_format, say, setting, stream_file


# ---------------------------------------------------------------- interpolate
def add_interpolate(sub) -> None:
    p = sub.add_parser("interpolate", help="more frames per second: RIFE/FILM (torch), RIFE (ncnn) or the weight-free "
                                           "flow backend")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif (fps = input fps x multiplier, "
                                   "or --target-fps)")
    from ..settings import InterpolateSettings as S

    setting(p, "--multiplier", S, "multiplier", "n frames become n + (n-1)(m-1)", type=int)
    setting(p, "--target-fps", S, "target_fps", "output frame rate instead of a multiplier (8 -> 60, 23.976 -> "
             "59.94): frame k at exactly k / F s; 0 uses the multiplier", type=float)
    p.add_argument("--loop", action="store_true", help="also interpolate the last -> first pair (looping clips)")
    p.add_argument("--model", default=None,
                   help="a weight file for --backend torch (RIFE v4.x / HD v3 .safetensors/.pth/.pkl, FILM "
                        "film_net_fp32.pt) or an ncnn RIFE model folder holding flownet.param + flownet.bin")
    setting(p, "--backend", S, "backend", "auto: torch for a weight file, ncnn for a model folder (flow if it "
             "cannot run, says why), flow without --model")
    p.add_argument("--device", default="auto", help="torch device: auto (cuda, mps, else cpu), cpu, cuda, cuda:1 ...")
    p.add_argument("--fp16", action="store_true", help="torch: half precision (GPUs)")
    setting(p, "--batch", S, "batch_size", "torch: frames per network call, halved on out-of-memory", type=int)
    setting(p, "--max-side", S, "max_side", "torch: estimate flow at a smaller scale above this long side, e.g. "
             "1280 for FILM on HD; 0 = off", type=int)
    setting(p, "--gpu-id", S, "gpu_id", "Vulkan device for ncnn; -1 = CPU (the CLI's default, as a machine may have "
             "no Vulkan GPU; the node's is 0)", default=-1)
    setting(p, "--threads", S, "threads", "ncnn threads", default=max(1, min(4, os.cpu_count() or 1)))
    p.add_argument("--uhd", action="store_true", help="RIFE UHD mode (for 4K input)")
    p.add_argument("--tta", action="store_true", help="RIFE test-time augmentation (slower)")
    setting(p, "--scene-threshold", S, "scene_threshold",
             "cut score at which the earlier frame is held instead of blending; 1 = off")
    p.add_argument("--crf", type=int, default=19)
    add_format(p)
    p.set_defaults(func=_run_interpolate)


def _run_interpolate(args) -> int:
    from ..fix import interpolate
    from ..settings import InterpolateSettings

    settings = InterpolateSettings(multiplier=args.multiplier, backend=args.backend,
                                   scene_threshold=args.scene_threshold, gpu_id=args.gpu_id, threads=args.threads,
                                   uhd=args.uhd, tta=args.tta, target_fps=args.target_fps, loop=args.loop,
                                   batch_size=args.batch_size, max_side=args.max_side)
    runs = []

    def run(frames, plan, progress):
        summary, out = interpolate.run(frames, plan, progress)
        runs.append(summary)
        say(f"backend: {summary.backend}")
        return (frame for frame, _ in out)

    # same duration at the new rate: the source's sound stays in sync as it is
    plan = stream_file(args, "interpolate", lambda source: interpolate.plan(source, settings, args.model,
                                                                            device=args.device, half=args.fp16),
                       run, crf=args.crf)
    run = runs[0]
    print(f"backend: {run.summary()}")
    rate = plan.rate
    print(f"wrote {args.output}: {run.frames_out} frames at {float(rate):g} fps ({rate.numerator}/{rate.denominator})")
    return 0

"""interpolate: a file in, more frames per second out, streamed."""

from __future__ import annotations

import os
import sys

from ..runtime import torch_device
from .common import add_format, encode, setting


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
             "59.94): frame k at exactly k / F s", type=float, default=None)
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
    setting(p, "--gpu-id", S, "gpu_id", "Vulkan device for ncnn; -1 = CPU", default=-1)
    setting(p, "--threads", S, "threads", "ncnn threads", default=max(1, min(4, os.cpu_count() or 1)))
    p.add_argument("--uhd", action="store_true", help="RIFE UHD mode (for 4K input)")
    p.add_argument("--tta", action="store_true", help="RIFE test-time augmentation (slower)")
    setting(p, "--scene-threshold", S, "scene_threshold",
             "cut score at which the earlier frame is held instead of blending; 1 = off")
    p.add_argument("--crf", type=int, default=19)
    add_format(p)
    p.set_defaults(func=_run_interpolate)


def _run_interpolate(args) -> int:
    from ..media import video
    from ..fix.interpolate import as_fraction, interpolate_frames, output_positions

    info, frames = video.iter_frames(args.input)
    dtype = None
    if args.fp16:
        import torch

        dtype = torch.float16
    run, out = interpolate_frames(frames, multiplier=args.multiplier, backend=args.backend, model=args.model,
                                  gpu_id=args.gpu_id, threads=args.threads, uhd=args.uhd, tta=args.tta,
                                  scene_threshold=args.scene_threshold, total=info.frame_count, fps=info.fps,
                                  target_fps=args.target_fps, loop=args.loop, device=torch_device(args.device),
                                  dtype=dtype, batch=args.batch_size, max_side=args.max_side)
    print(f"backend: {run.backend}", file=sys.stderr)
    # same duration at the new rate: the source's sound stays in sync as it is
    rate = as_fraction(args.target_fps) if args.target_fps else info.exact_rate * args.multiplier
    total = len(output_positions(info.frame_count, args.multiplier, info.fps, args.target_fps, args.loop))

    def frames_out(progress):
        for done, (frame, _) in enumerate(out, 1):
            progress(done, total)
            yield frame

    encode("interpolate", total, args.output, frames_out, rate, fmt=args.format, source=args.input, crf=args.crf)
    print(f"backend: {run.summary()}")
    print(f"wrote {args.output}: {run.frames_out} frames at {float(rate):g} fps ({rate.numerator}/{rate.denominator})")
    return 0

"""interpolate: a file in, more frames per second out, streamed. Its options are declared once
(``add_interpolate_options``) for its own parser and for ``batch``; ``interpolate_file`` runs it on one file."""

from __future__ import annotations

import os

from .common import Console, add_format, setting, stream_file


# ---------------------------------------------------------------- interpolate
def add_interpolate(sub) -> None:
    p = sub.add_parser("interpolate", help="more frames per second: RIFE/FILM (torch), RIFE (ncnn) or the weight-free "
                                           "flow backend")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif (fps = input fps x multiplier, "
                                   "or --target-fps)")
    add_interpolate_options(p)
    p.set_defaults(func=_run_interpolate)


def add_interpolate_options(p, ncnn_threads: bool = True) -> None:
    """The command's options; ``ncnn_threads`` False leaves ``--threads`` out (a batch sets it per worker)."""
    from ..settings import InterpolateSettings as S

    setting(p, "--multiplier", S, "multiplier", "n frames become n + (n-1)(m-1)", type=int)
    setting(p, "--target-fps", S, "target_fps", "output frame rate instead of a multiplier (8 -> 60, 23.976 -> "
             "59.94): frame k at exactly k / F s; 0 uses the multiplier", type=float)
    p.add_argument("--loop", action="store_true", help="also interpolate the last -> first pair (looping clips)")
    add_backend_options(p, S, "cut score at which the earlier frame is held instead of blending; 1 = off",
                        ncnn_threads)
    p.add_argument("--crf", type=int, default=19)
    add_format(p)


def add_backend_options(p, S, scene_help: str, ncnn_threads: bool = True) -> None:
    """The interpolation model and backend options (``S``: the settings class holding them), shared with
    ``repair``, which rebuilds frames with the same backends."""
    p.add_argument("--model", default=None,
                   help="a weight file for --backend torch (RIFE v4.x / HD v3 .safetensors/.pth/.pkl, FILM "
                        "film_net_fp32.pt) or an ncnn RIFE model folder holding flownet.param + flownet.bin; "
                        "none: the flow backend")
    setting(p, "--backend", S, "backend", "auto: torch for a weight file, ncnn for a model folder (flow if it "
             "cannot run, says why), flow without --model")
    p.add_argument("--device", default="auto", help="torch device: auto (cuda, mps, else cpu), cpu, cuda, cuda:1 ...")
    p.add_argument("--fp16", action="store_true", help="torch: half precision (GPUs)")
    setting(p, "--batch", S, "batch_size", "torch: frames per network call, halved on out-of-memory", type=int)
    setting(p, "--max-side", S, "max_side", "torch: estimate flow at a smaller scale above this long side, e.g. "
             "1280 for FILM on HD; 0 = off", type=int)
    setting(p, "--gpu-id", S, "gpu_id", "Vulkan device for ncnn; -1 = CPU (the CLI's default, as a machine may have "
             "no Vulkan GPU; the node's is 0)", default=-1)
    if ncnn_threads:
        setting(p, "--threads", S, "threads", "ncnn threads", default=max(1, min(4, os.cpu_count() or 1)))
    p.add_argument("--uhd", action="store_true", help="RIFE UHD mode (for 4K input)")
    p.add_argument("--tta", action="store_true", help="RIFE test-time augmentation (slower)")
    setting(p, "--scene-threshold", S, "scene_threshold", scene_help)


def interpolate_settings(options):
    from ..settings import InterpolateSettings

    return InterpolateSettings(multiplier=options.multiplier, backend=options.backend,
                               scene_threshold=options.scene_threshold, gpu_id=options.gpu_id, threads=options.threads,
                               uhd=options.uhd, tta=options.tta, target_fps=options.target_fps, loop=options.loop,
                               batch_size=options.batch_size, max_side=options.max_side).validated()


def interpolate_file(input: str, output: str, options, console: Console | None = None):
    """Interpolate one file; returns (Streamed, the engine's InterpolationRun)."""
    from ..fix import interpolate

    console = console or Console()
    settings = interpolate_settings(options)
    runs = []

    def run(frames, plan, progress):
        summary, out = interpolate.run(frames, plan, progress)
        runs.append(summary)
        console.say(f"backend: {summary.backend}", note=False)
        return (frame for frame, _ in out)

    # same duration at the new rate: the source's sound stays in sync as it is
    streamed = stream_file(input, output, options.format, "interpolate",
                           lambda source: interpolate.plan(source, settings, options.model, device=options.device,
                                                           half=options.fp16),
                           run, console=console, crf=options.crf)
    return streamed, runs[0]


def _run_interpolate(args) -> int:
    streamed, run = interpolate_file(args.input, args.output, args)
    print(f"backend: {run.summary()}")
    rate = streamed.plan.rate
    print(f"wrote {args.output}: {run.frames_out} frames at {float(rate):g} fps ({rate.numerator}/{rate.denominator})")
    return 0

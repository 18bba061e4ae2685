"""Command line: ``python -m unflicker COMMAND ...``. Every command streams its input and shows a progress bar."""

from __future__ import annotations

import argparse
import os
import sys

from .errors import UnflickerError


def _progress(desc: str, total: int):
    from .progress import tqdm_progress

    return tqdm_progress(desc, total)


# ---------------------------------------------------------------- ffmpeg-fix
def _add_ffmpeg_fix(sub) -> None:
    p = sub.add_parser("ffmpeg-fix", help="FFmpeg deflicker + deband on a file, re-encoded (seed: crf 16, preset slow)")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .webp or .gif")
    p.add_argument("--size", type=int, default=5, help="deflicker window in frames, 2-129 (default 5)")
    p.add_argument("--mode", default="am", help="deflicker averaging: am gm hm qm cm pm (default am)")
    p.add_argument("--no-deflicker", action="store_true", help="skip the deflicker stage")
    p.add_argument("--no-deband", action="store_true", help="skip the deband stage")
    p.add_argument("--deband-thr", type=float, default=0.02, help="deband 1thr/2thr/3thr, 0.00003-0.5 (default 0.02)")
    p.add_argument("--deband-range", type=int, default=16, help="deband radius in pixels, 1-64 (default 16)")
    p.add_argument("--blur", action="store_true", help="deband blur (default off)")
    p.add_argument("--crf", type=int, default=16)
    p.add_argument("--preset", default="slow")
    p.set_defaults(func=_run_ffmpeg_fix)


def _run_ffmpeg_fix(args) -> int:
    from . import video
    from .ffmpeg_fix import FFmpegFixSettings, fix_frames

    settings = FFmpegFixSettings(not args.no_deflicker, args.size, args.mode, not args.no_deband,
                                 args.deband_thr, args.deband_range, args.blur).validated()
    info, frames = video.iter_frames(args.input)
    progress, close = _progress("ffmpeg-fix", info.frame_count)
    try:
        fixed = fix_frames(frames, info.width, info.height, info.fps, settings, progress, info.frame_count)
        video.write_video(args.output, fixed, info.fps, crf=args.crf, preset=args.preset)
    finally:
        close()
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------- compare
def _add_compare(sub) -> None:
    p = sub.add_parser("compare", help="side-by-side video of two clips, optionally slowed down")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("output")
    p.add_argument("--slow", type=float, default=4.0, help="slow-motion factor, 1-16 (default 4: quarter speed)")
    p.add_argument("--labels", nargs=2, default=("before", "after"), metavar=("A", "B"))
    p.add_argument("--crf", type=int, default=18)
    p.set_defaults(func=_run_compare)


def _run_compare(args) -> int:
    from . import video
    from .compare import side_by_side, slowed_fps

    info_a, frames_a = video.iter_frames(args.a)
    info_b, frames_b = video.iter_frames(args.b)
    total = max(info_a.frame_count, info_b.frame_count)
    progress, close = _progress("compare", total)
    try:
        stacked = side_by_side(frames_a, frames_b, *args.labels, progress=progress, total=total)
        video.write_video(args.output, stacked, slowed_fps(info_a.fps, args.slow), crf=args.crf)
    finally:
        close()
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------- demo
def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="make a flickering sample clip, fix it, write results to ./unflicker-demo/")
    p.add_argument("--out", default="unflicker-demo", help="output folder (default ./unflicker-demo)")
    p.add_argument("--frames", type=int, default=48)
    p.set_defaults(func=_run_demo)


def _run_demo(args) -> int:
    from .demo import run_demo

    report = run_demo(args.out, frames=args.frames)
    print(report)
    return 0


# ---------------------------------------------------------------- interpolate
def _add_interpolate(sub) -> None:
    p = sub.add_parser("interpolate", help="more frames per second: RIFE (ncnn) or the weight-free flow backend")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .webp or .gif (fps = input fps x multiplier)")
    p.add_argument("--multiplier", type=int, default=2, choices=(2, 4, 8),
                   help="n frames become n + (n-1)(m-1) (default 2)")
    p.add_argument("--model", default=None, help="ncnn RIFE model folder holding flownet.param + flownet.bin")
    p.add_argument("--backend", default="auto", choices=("auto", "ncnn", "flow"),
                   help="auto: ncnn if --model works, else flow (says why); ncnn; flow (default auto)")
    p.add_argument("--gpu-id", type=int, default=-1, help="Vulkan device for ncnn; -1 = CPU (default -1)")
    p.add_argument("--threads", type=int, default=max(1, min(4, os.cpu_count() or 1)), help="ncnn threads")
    p.add_argument("--uhd", action="store_true", help="RIFE UHD mode (for 4K input)")
    p.add_argument("--tta", action="store_true", help="RIFE test-time augmentation (slower)")
    p.add_argument("--scene-threshold", type=float, default=0.5,
                   help="cut score 0-1 at which the earlier frame is held instead of blending; 1 = off (default 0.5)")
    p.add_argument("--crf", type=int, default=19)
    p.set_defaults(func=_run_interpolate)


def _run_interpolate(args) -> int:
    from . import video
    from .interpolate import interpolate_frames, output_count

    info, frames = video.iter_frames(args.input)
    run, out = interpolate_frames(frames, args.multiplier, args.backend, args.model, args.gpu_id, args.threads,
                                  args.uhd, args.tta, args.scene_threshold, total=info.frame_count)
    print(f"backend: {run.backend}", file=sys.stderr)
    progress, close = _progress("interpolate", output_count(info.frame_count, args.multiplier))
    try:
        video.write_video(args.output, (frame for frame, _ in out), info.fps * args.multiplier, crf=args.crf,
                          progress=progress, total=output_count(info.frame_count, args.multiplier))
    finally:
        close()
    print(f"backend: {run.summary()}")
    print(f"wrote {args.output} at {info.fps * args.multiplier:g} fps")
    return 0


COMMANDS = (_add_ffmpeg_fix, _add_compare, _add_demo, _add_interpolate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m unflicker", description="Diagnose and fix flicker in AI video.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UnflickerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

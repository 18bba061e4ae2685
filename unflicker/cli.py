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


# ---------------------------------------------------------------- fix
# kept equal to deflicker.MODES / DEFAULT_WINDOW (a test checks) so building the parser imports no OpenCV
_FIX_MODES = ("auto", "brightness", "regional", "colour", "texture", "all")
_FIX_WINDOW = 9


def _add_fix(sub) -> None:
    p = sub.add_parser("fix", help="remove flicker from a file: flow-guided deflicker (ours) or FFmpeg deflicker+deband")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .webp or .gif")
    p.add_argument("--method", choices=("auto", "flow", "ffmpeg"), default="auto",
                   help="auto (default): the recommended fix, today the flow-guided one; flow: the flow-guided fix; "
                        "ffmpeg: FFmpeg deflicker (size 5, am) + deband 0.02")
    p.add_argument("--mode", choices=_FIX_MODES, default="auto",
                   help="what the flow-guided fix removes (methods auto and flow): " + ", ".join(_FIX_MODES) + " (default auto)")
    p.add_argument("--strength", type=float, default=1.0, help="0-1 (default 1: remove the measured flicker fully)")
    p.add_argument("--window", type=int, default=_FIX_WINDOW, help=f"frames compared, 3-31 (default {_FIX_WINDOW})")
    p.add_argument("--crf", type=int, default=16)
    p.add_argument("--preset", default="slow")
    p.set_defaults(func=_run_fix)


def _run_fix(args) -> int:
    from . import video
    from .deflicker import check_settings, deflicker_frames
    from .ffmpeg_fix import FFmpegFixSettings, fix_frames

    if args.method == "ffmpeg" and args.mode != "auto":
        raise UnflickerError(f"--mode {args.mode} applies to the flow-guided fix: use --method flow or auto")
    check_settings(args.mode, args.strength, args.window)
    info, frames = video.iter_frames(args.input)
    progress, close = _progress(f"fix ({args.method})", info.frame_count)
    try:
        if args.method == "ffmpeg":
            fixed = fix_frames(frames, info.width, info.height, info.fps, FFmpegFixSettings().validated(), progress,
                               info.frame_count)
        else:
            fixed = deflicker_frames(frames, info.fps, args.mode, args.strength, args.window, progress, info.frame_count)
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


COMMANDS = (_add_ffmpeg_fix, _add_fix, _add_compare, _add_demo)


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

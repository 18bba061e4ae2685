"""fix and ffmpeg-fix: a file in, the fixed file out, streamed."""

from __future__ import annotations

from ..errors import UnflickerError
from ..settings import DeflickerSettings, FFmpegFixSettings
from .common import add_format, setting, stream_file


# ---------------------------------------------------------------- ffmpeg-fix
def add_ffmpeg_fix(sub) -> None:
    p = sub.add_parser("ffmpeg-fix", help="FFmpeg deflicker + deband on a file, re-encoded (seed: crf 16, preset slow)")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    S = FFmpegFixSettings
    setting(p, "--size", S, "size", "deflicker window in frames")
    p.add_argument("--mode", default=S.default("mode"), help=f"deflicker averaging: {' '.join(S.spec('mode')['choices'])} (default {S.default('mode')})")
    p.add_argument("--no-deflicker", action="store_true", help="skip the deflicker stage")
    p.add_argument("--no-deband", action="store_true", help="skip the deband stage")
    setting(p, "--deband-thr", S, "threshold", "deband 1thr/2thr/3thr")
    setting(p, "--deband-range", S, "deband_range", "deband radius in pixels")
    p.add_argument("--blur", action="store_true", help="deband blur (default off)")
    p.add_argument("--crf", type=int, default=16)
    p.add_argument("--preset", default="slow")
    add_format(p)
    p.set_defaults(func=_run_ffmpeg_fix)

def _run_ffmpeg_fix(args) -> int:
    from ..fix import ffmpeg_fix

    settings = FFmpegFixSettings(deflicker=not args.no_deflicker, size=args.size, mode=args.mode,
                                 deband=not args.no_deband, threshold=args.threshold,
                                 deband_range=args.deband_range, blur=args.blur).validated()
    stream_file(args, "ffmpeg-fix", lambda source: ffmpeg_fix.plan(source, settings), ffmpeg_fix.run,
                crf=args.crf, preset=args.preset)
    return 0

# ---------------------------------------------------------------- fix
def add_fix(sub) -> None:
    F, S = FFmpegFixSettings, DeflickerSettings

    p = sub.add_parser("fix", help="remove flicker from a file: flow-guided deflicker (ours) or FFmpeg deflicker+deband")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    p.add_argument("--method", choices=("auto", "flow", "ffmpeg"), default="auto",
                   help="auto (default): the recommended fix, today the flow-guided one; flow: the flow-guided fix; "
                        f"ffmpeg: FFmpeg deflicker (size {F.default('size')}, {F.default('mode')}) + deband "
                        f"{F.default('threshold')}")
    setting(p, "--mode", S, "mode", "what the flow-guided fix removes (methods auto and flow)")
    setting(p, "--strength", S, "strength", "1 removes the measured flicker fully, 0 returns the input")
    setting(p, "--window", S, "window", "changes slower than this many frames (at least 2 s) count as real")
    p.add_argument("--crf", type=int, default=16)
    p.add_argument("--preset", default="slow")
    add_format(p)
    p.set_defaults(func=_run_fix)

def _run_fix(args) -> int:
    from ..fix import deflicker, ffmpeg_fix

    if args.method == "ffmpeg" and args.mode != "auto":
        raise UnflickerError(f"--mode {args.mode} applies to the flow-guided fix: use --method flow or auto")
    settings = DeflickerSettings(mode=args.mode, strength=args.strength, window=args.window).validated()

    desc, encoder = f"fix ({args.method})", {"crf": args.crf, "preset": args.preset}
    if args.method == "ffmpeg":
        stream_file(args, desc, lambda source: ffmpeg_fix.plan(source, FFmpegFixSettings()), ffmpeg_fix.run, **encoder)
    else:  # the flow-guided fix reads the file twice: once to measure the shot, once to correct it
        stream_file(args, desc, lambda source: deflicker.plan(source, settings), deflicker.run, reopen=True, **encoder)
    return 0

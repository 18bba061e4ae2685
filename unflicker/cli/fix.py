"""fix and ffmpeg-fix: a file in, the fixed file out, streamed.

Each command's options are declared once (``add_*_options``) for its own parser and for ``batch``; ``*_settings``
checks them (before a batch starts any clip) and ``*_file`` runs the command on one file, as both call it."""

from __future__ import annotations

from ..errors import UnflickerError
from ..settings import DeflickerSettings, FFmpegFixSettings
from .common import Console, Streamed, add_format, setting, stream_file


# ---------------------------------------------------------------- ffmpeg-fix
def add_ffmpeg_fix(sub) -> None:
    p = sub.add_parser("ffmpeg-fix", help="FFmpeg deflicker + deband on a file, re-encoded (seed: crf 16, preset slow)")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    add_ffmpeg_fix_options(p)
    p.set_defaults(func=_run_ffmpeg_fix)


def add_ffmpeg_fix_options(p) -> None:
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


def ffmpeg_fix_settings(options) -> FFmpegFixSettings:
    return FFmpegFixSettings(deflicker=not options.no_deflicker, size=options.size, mode=options.mode,
                             deband=not options.no_deband, threshold=options.threshold,
                             deband_range=options.deband_range, blur=options.blur).validated()


def ffmpeg_fix_file(input: str, output: str, options, console: Console | None = None) -> Streamed:
    from ..fix import ffmpeg_fix

    settings = ffmpeg_fix_settings(options)
    return stream_file(input, output, options.format, "ffmpeg-fix", lambda source: ffmpeg_fix.plan(source, settings),
                       ffmpeg_fix.run, console=console, crf=options.crf, preset=options.preset)


def _run_ffmpeg_fix(args) -> int:
    ffmpeg_fix_file(args.input, args.output, args)
    return 0


# ---------------------------------------------------------------- fix
def add_fix(sub) -> None:
    p = sub.add_parser("fix", help="remove flicker from a file: flow-guided deflicker (ours) or FFmpeg deflicker+deband")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    add_fix_options(p)
    p.set_defaults(func=_run_fix)


def add_fix_options(p) -> None:
    F, S = FFmpegFixSettings, DeflickerSettings
    p.add_argument("--method", choices=("auto", "flow", "ffmpeg"), default="auto",
                   help="auto (default): the recommended fix, today the flow-guided one; flow: the flow-guided fix; "
                        f"ffmpeg: FFmpeg deflicker (size {F.default('size')}, {F.default('mode')}) + deband "
                        f"{F.default('threshold')}")
    setting(p, "--mode", S, "mode", "what the flow-guided fix removes (methods auto and flow)")
    setting(p, "--strength", S, "strength", "1 removes the measured flicker fully, 0 returns the input")
    setting(p, "--window", S, "window", "changes slower than this many frames (at least 2 s) count as real")
    setting(p, "--segment-length", S, "segment_length", "frames per generated segment: each matched to the one before")
    setting(p, "--overlap", S, "overlap", "frames two segments share (cross-faded)")
    p.add_argument("--segment-starts", default="", help="frames where a new segment starts, e.g. 24,48,72")
    p.add_argument("--drift", choices=S.spec("drift")["choices"], default=S.default("drift"),
                   help=S.spec("drift")["help"])
    p.add_argument("--crf", type=int, default=16)
    p.add_argument("--preset", default="slow")
    add_format(p)


def fix_settings(options) -> DeflickerSettings:
    if options.method == "ffmpeg" and options.mode != "auto":
        raise UnflickerError(f"--mode {options.mode} applies to the flow-guided fix: use --method flow or auto")
    seams = {k: getattr(options, k) for k in ("segment_length", "overlap", "segment_starts", "drift")
             if hasattr(options, k)}
    if options.method == "ffmpeg" and (seams.get("segment_length") or seams.get("segment_starts")
                                       or seams.get("drift", "keep") != "keep"):
        raise UnflickerError("--segment-length, --segment-starts and --drift apply to the flow-guided fix: use "
                             "--method flow or auto")
    return DeflickerSettings(mode=options.mode, strength=options.strength, window=options.window,
                             **seams).validated()


def fix_file(input: str, output: str, options, console: Console | None = None) -> Streamed:
    from ..fix import deflicker, ffmpeg_fix

    settings = fix_settings(options)
    desc, encoder = f"fix ({options.method})", {"crf": options.crf, "preset": options.preset}
    if options.method == "ffmpeg":
        return stream_file(input, output, options.format, desc,
                           lambda source: ffmpeg_fix.plan(source, FFmpegFixSettings()), ffmpeg_fix.run,
                           console=console, **encoder)
    # the flow-guided fix reads the file twice: once to measure the shot, once to correct it
    return stream_file(input, output, options.format, desc, lambda source: deflicker.plan(source, settings),
                       deflicker.run, reopen=True, console=console, **encoder)


def _run_fix(args) -> int:
    fix_file(args.input, args.output, args)
    return 0

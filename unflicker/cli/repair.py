"""repair: damaged frames of a file (flash frames, single-frame content breaks, or a list) rebuilt from their
neighbours by an interpolation backend, streamed; the analyzer's check runs first unless only a list is asked."""

from __future__ import annotations

from dataclasses import replace

from .common import Console, add_format, stream_file
from .interpolate import add_backend_options


def add_repair(sub) -> None:
    p = sub.add_parser("repair", help="rebuild damaged frames (flash frames, single-frame content breaks, or a list) "
                                      "from their neighbours with RIFE/FILM (torch), RIFE (ncnn) or flow")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif (same rate, sound kept)")
    add_repair_options(p)
    p.set_defaults(func=_run_repair)


def add_repair_options(p) -> None:
    from ..settings import RepairSettings as S

    p.add_argument("--frames", default=S.default("frames"), metavar="LIST",
                   help="frames to rebuild, 0-based as analyze reports them: \"12, 40-41\"")
    p.add_argument("--no-analysis", dest="use_analysis", action="store_false",
                   help="rebuild only the --frames given (default: also the frames the analyzer's check flags)")
    p.add_argument("--diagnosis", default=None, metavar="JSON",
                   help="the report of `analyze --json` for this file: its damaged frames, without analysing again")
    add_backend_options(p, S, "cut score at which a frame's neighbours count as different shots (never "
                        "bridged); 1 = off")
    p.add_argument("--crf", type=int, default=16)
    add_format(p)


def repair_settings(options):
    from ..settings import RepairSettings

    return RepairSettings(frames=options.frames, use_analysis=options.use_analysis, backend=options.backend,
                          scene_threshold=options.scene_threshold, gpu_id=options.gpu_id, threads=options.threads,
                          uhd=options.uhd, tta=options.tta, batch_size=options.batch_size,
                          max_side=options.max_side).validated()


def repair_file(input: str, output: str, options, console: Console | None = None):
    """Repair one file; returns (Streamed, the engine's RepairRun)."""
    from ..fix import repair

    console = console or Console()
    settings = repair_settings(options)
    diagnosis = _read(options.diagnosis) if options.diagnosis else None
    runs = []

    def make_plan(source):
        # a file's frame count is the container's estimate: frames are counted as read, the estimate is for progress
        return repair.plan(replace(source, frame_count=None), settings, diagnosis, options.model,
                           device=options.device, half=options.fp16, expected_frames=source.frame_count or 0)

    def run(frames, plan, progress):
        summary, out = repair.run(frames, plan, progress)
        runs.append(summary)
        return (frame for frame, _ in out)

    # the analyzer's check reads the file first, then the repair: the file is opened twice
    streamed = stream_file(input, output, options.format, "repair", make_plan, run, reopen=True, console=console,
                           crf=options.crf)
    return streamed, runs[0]


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _run_repair(args) -> int:
    streamed, run = repair_file(args.input, args.output, args)
    print(f"repaired: {run.summary()}")
    rate = streamed.plan.rate
    print(f"wrote {args.output}: {streamed.frames_out} frames at {float(rate):g} fps "
          f"({rate.numerator}/{rate.denominator})")
    return 0

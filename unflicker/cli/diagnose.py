"""analyze, compare (side-by-side video) and demo."""

from __future__ import annotations

from .common import Console, add_format, encode, setting


# ---------------------------------------------------------------- compare
def add_compare(sub) -> None:
    p = sub.add_parser("compare", help="side-by-side video of two clips, optionally slowed down")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("output")
    from ..settings import SideBySideSettings as S

    setting(p, "--slow", S, "slow_motion", "slow-motion factor (4: quarter speed)", default=4.0)
    p.add_argument("--labels", nargs=2, default=(S.default("label_a"), S.default("label_b")), metavar=("A", "B"))
    p.add_argument("--crf", type=int, default=18)
    add_format(p)
    p.set_defaults(func=_run_compare)


def _run_compare(args) -> int:
    from ..media import video
    from ..analysis import side_by_side
    from ..operation import file_source
    from ..settings import SideBySideSettings

    info_a, frames_a = video.iter_frames(args.a)
    info_b, frames_b = video.iter_frames(args.b)
    label_a, label_b = args.labels
    plan = side_by_side.plan(file_source(info_a, args.a), file_source(info_b, args.b),
                             SideBySideSettings(slow_motion=args.slow_motion, label_a=label_a, label_b=label_b))
    # the first clip's sound, slowed with the pictures so it stays in sync
    return encode("compare", plan.frame_count, args.output,
                   lambda progress: side_by_side.run(frames_a, frames_b, plan, progress),
                   plan.rate, crf=args.crf, fmt=args.format, source=args.a, tempo=plan.tempo)


# ---------------------------------------------------------------- analyze
def add_analyze(sub) -> None:
    p = sub.add_parser("analyze", help="diagnose flicker: kind, severity, frames most affected, recommended fix")
    p.add_argument("input", help="video file, animated GIF/WebP or folder of frames")
    p.add_argument("--json", metavar="F", help="write the full report as JSON to F")
    p.add_argument("--plot", metavar="F.png", help="write the per-frame chart to F.png")
    p.set_defaults(func=_run_analyze)


def analyze_input(path: str, console: Console | None = None):
    """The FlickerReport of one file, as the command (and a batch) measures it."""
    from ..analysis import analyze_file

    progress, close = (console or Console()).progress("analyze", 0)
    try:
        return analyze_file(path, progress)
    finally:
        close()


def _run_analyze(args) -> int:
    from ..analysis import save_chart

    rep = analyze_input(args.input)
    print(rep.text())
    if args.json:
        with open(args.json, "w") as f:
            f.write(rep.to_json() + "\n")
        print(f"wrote {args.json}")
    if args.plot:
        print(f"wrote {save_chart(rep, args.plot)}")
    return 0


# ---------------------------------------------------------------- demo
def add_demo(sub) -> None:
    p = sub.add_parser("demo", help="make a flickering sample clip, fix it, write results to ./unflicker-demo/")
    p.add_argument("--out", default="unflicker-demo", help="output folder (default ./unflicker-demo)")
    p.add_argument("--frames", type=int, default=48)
    p.set_defaults(func=_run_demo)


def _run_demo(args) -> int:
    from ..demo import run_demo

    report = run_demo(args.out, frames=args.frames)
    print(report)
    return 0

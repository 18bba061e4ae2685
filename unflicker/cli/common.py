"""What every command shares: options from settings fields, the progress bar, output formats, encoding."""

from __future__ import annotations

import sys


def setting(p, flag: str, cls, name: str, help: str | None = None, **kw) -> None:
    """An option whose default, range and help come from a settings field (unflicker.settings), written once."""
    spec = cls.spec(name)
    default = kw.pop("default", spec["default"])
    text = help if help is not None else spec["help"].rstrip(".")
    # argparse lists choices itself; a range is shown unless it is only a technical limit (the seed's)
    limits = f"{spec['low']}..{spec['high']}" if spec["low"] is not None and spec["high"] < 10**6 else ""
    text = "; ".join(t for t in (text, limits) if t)
    if default is not None:
        text = f"{text} (default {default})" if text else f"default {default}"
    if spec["choices"] is None:
        kw.update(type=type(spec["default"]), metavar=flag.lstrip("-").upper().replace("-", "_"))
    p.add_argument(flag, default=default, choices=spec["choices"], dest=name, help=text, **kw)


def progress_bar(desc: str, total: int):
    from ..progress import tqdm_progress

    return tqdm_progress(desc, total)


def add_format(p, crf: int | None = None) -> None:
    from ..media.formats import DEFAULT_FOR_EXT

    p.add_argument("--format", default=None, metavar="NAME",
                   help="output format (default by the output's extension: " +
                        ", ".join(f".{e} {f}" for e, f in DEFAULT_FOR_EXT.items()) +
                        "); also h264-10bit, h264-lossless, h265, h265-10bit, prores-4444, vp9-10bit")


def say(line: str) -> None:
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)  # above any progress bar, not into it


def stream_file(args, desc: str, make_plan, run, reopen: bool = False, **options):
    """Stream ``args.input`` through an operation into ``args.output`` (``--format``; ``options`` such as crf go to
    the encoder) and return its plan. ``make_plan(source)`` plans the run for the file's Source; ``run(frames,
    plan, progress)`` yields the frames written at ``plan.rate``, progress counted to ``plan.progress_steps``.
    ``reopen``: ``frames`` is a function that opens the file afresh, for engines that read the clip twice."""
    from ..media import video
    from ..operation import file_source

    info, frames = video.iter_frames(args.input)
    plan = make_plan(file_source(info, args.input))
    if reopen:
        frames.close()
        frames = lambda: video.iter_frames(args.input)[1]  # noqa: E731
    encode(desc, plan.progress_steps, args.output, lambda progress: run(frames, plan, progress), plan.rate,
           fmt=args.format, source=args.input, **options)
    return plan


def encode(desc: str, total: int, output: str, make_frames, fps, fmt: str | None = None, source: str | None = None,
            tempo: float = 1.0, **options) -> int:
    """Write ``make_frames(progress)`` to ``output`` in ``fmt`` (None: by its extension) with a progress bar;
    ``options`` go to video.write_video. A video-to-video command names its ``source``: the output keeps its
    sound (played at ``tempo``), colour tags and container tags."""
    from ..media import video

    carry = video.carry_from(source, tempo=tempo) if source else video.Carry()
    progress, close = progress_bar(desc, total)
    try:
        video.write_video(output, make_frames(progress), fps, fmt, warn=say, **carry.kwargs(), **options)
    finally:
        close()
    print(f"wrote {output}")
    return 0

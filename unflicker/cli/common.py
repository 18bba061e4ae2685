"""What every command shares: options from settings fields, the progress bar, output formats, encoding."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field


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


@dataclass
class Console:
    """Where a file command shows its progress and messages. The single-file commands show them (``show``); a
    batch worker runs many files at once, so it shows nothing and its row carries the messages (``notes``)."""

    show: bool = True
    notes: list = field(default_factory=list)

    def progress(self, desc: str, total: int):
        """(callback, close) of a progress bar, or of nothing when quiet."""
        return progress_bar(desc, total) if self.show else (None, lambda: None)

    def say(self, line: str, note: bool = True) -> None:
        """A warning or a note about the file (a sound stream left out); ``note`` False: shown only (a batch
        row has a column for it)."""
        if note:
            self.notes.append(line)
        if self.show:
            say(line)

    def wrote(self, line: str) -> None:
        if self.show:
            print(line)


@dataclass(frozen=True)
class Streamed:
    """What streaming one file did: the operation's plan, frames read from the input (on the last pass, for an
    engine that reads the clip twice) and frames written."""

    plan: object
    frames_in: int
    frames_out: int


class _Counted:
    """An iterator of frames that counts what it hands on."""

    def __init__(self, frames):
        self.frames, self.count = frames, 0

    def __iter__(self):
        for frame in self.frames:
            self.count += 1
            yield frame


def stream_file(input: str, output: str, fmt: str | None, desc: str, make_plan, run, reopen: bool = False,
                console: Console | None = None, **options) -> Streamed:
    """Stream ``input`` through an operation into ``output`` in ``fmt`` (None: by its extension; ``options`` such
    as crf go to the encoder). ``make_plan(source)`` plans the run for the file's Source; ``run(frames, plan,
    progress)`` yields the frames written at ``plan.rate``, progress counted to ``plan.progress_steps``.
    ``reopen``: ``frames`` is a function that opens the file afresh, for engines that read the clip twice."""
    from ..media import video
    from ..operation import file_source

    info, first = video.iter_frames(input)
    plan = make_plan(file_source(info, input))
    read = _Counted(first)
    if reopen:
        first.close()

        def frames():
            nonlocal read
            read = _Counted(video.iter_frames(input)[1])
            return iter(read)
    else:
        frames = iter(read)
    written = _Counted(())

    def frames_out(progress):
        written.frames = run(frames, plan, progress)
        return iter(written)

    encode(desc, plan.progress_steps, output, frames_out, plan.rate, fmt=fmt, source=input, console=console,
           **options)
    return Streamed(plan, read.count, written.count)


def encode(desc: str, total: int, output: str, make_frames, fps, fmt: str | None = None, source: str | None = None,
           tempo: float = 1.0, console: Console | None = None, **options) -> int:
    """Write ``make_frames(progress)`` to ``output`` in ``fmt`` (None: by its extension) with a progress bar;
    ``options`` go to video.write_video. A video-to-video command names its ``source``: the output keeps its
    sound (played at ``tempo``), colour tags and container tags."""
    from ..media import video

    console = console or Console()
    carry = video.carry_from(source, tempo=tempo) if source else video.Carry()
    progress, close = console.progress(desc, total)
    try:
        video.write_video(output, make_frames(progress), fps, fmt, warn=console.say, **carry.kwargs(), **options)
    finally:
        close()
    console.wrote(f"wrote {output}")
    return 0

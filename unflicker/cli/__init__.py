"""Command line: ``python -m unflicker COMMAND ...``. Every command streams its input and shows a progress bar.

One module per group of commands (``fix``, ``interpolate``, ``diagnose``, ``generate``, ``comfy``, ``batch``), each an
``add_*`` that declares a subcommand and the ``run`` it calls; ``common`` holds what they share. ``batch`` runs
``analyze``, ``fix``, ``ffmpeg-fix`` and ``interpolate`` on many clips with their own options (``unflicker.cli.batch``)."""

from __future__ import annotations

import argparse
import sys

from ..errors import UnflickerError
from . import comfy, diagnose, fix, generate, interpolate, repair
from .batch.command import add_batch

COMMANDS = (diagnose.add_analyze, fix.add_fix, fix.add_ffmpeg_fix, interpolate.add_interpolate, repair.add_repair,
            diagnose.add_compare, diagnose.add_demo, comfy.add_run, generate.add_pose, generate.add_svd,
            generate.add_generate, generate.add_animatediff, comfy.add_workflow, add_batch)


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

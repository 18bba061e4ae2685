"""The commands a batch runs, each through the single-file command's own code (``unflicker.cli``): its options
(declared once there), their check, and the columns its rows get."""

from __future__ import annotations

import os
from argparse import Namespace
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

from .. import diagnose, fix, interpolate
from ...errors import UnflickerError


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_options: Callable          # (parser) -> None: the single-file command's options
    check: Callable                # (options Namespace) -> None; raises UnflickerError before any clip runs
    run: Callable                  # (job, console) -> the command's columns; writes job.output
    output_ext: Callable           # (input path, options dict) -> ".json", ".mp4" ...
    threads_option: Optional[str] = None  # an option the worker's thread budget fills (not part of the key)


def report_columns(report, prefix: str = "") -> dict:
    """A FlickerReport as flat columns: verdict, kinds, size, rate and every measure, each name after ``prefix``."""
    columns = {"verdict": report.verdict, "kinds": list(report.kinds), "width": report.width,
               "height": report.height, "fps": report.fps, **report.to_dict()["measures"]}
    return {prefix + name: value for name, value in columns.items()}


def write_text_atomically(path: str, text: str) -> None:
    """Write under a hidden partial name and rename when complete, as the video writer does."""
    folder, name = os.path.split(path)
    partial_path = os.path.join(folder, f".{name}.partial")
    try:
        with open(partial_path, "w") as f:
            f.write(text)
        os.replace(partial_path, path)
    except BaseException:
        if os.path.exists(partial_path):
            os.remove(partial_path)
        raise


# ---------------------------------------------------------------- analyze
def _run_analyze(job, console) -> dict:
    report = diagnose.analyze_input(job.input, console)
    write_text_atomically(job.output, report.to_json() + "\n")
    return {"frames": report.frame_count, **report_columns(report)}


def _no_options(parser) -> None:
    """analyze has no settings of its own: its --json and --plot name one file's outputs (a batch writes the JSON
    report of each clip as its output)."""


# ---------------------------------------------------------------- fix, ffmpeg-fix
def _measured(path: str, prefix: str, console) -> dict:
    """The report's columns of ``path``; a clip the analyzer cannot take (one frame, too small) is still fixed,
    and a note says why it was not measured."""
    try:
        return report_columns(diagnose.analyze_input(path, console), prefix)
    except UnflickerError as exc:
        console.say(f"{prefix.rstrip('_')} not measured: {exc}")
        return {}


def _run_fixing(file_function, job, console) -> dict:
    before = _measured(job.input, "before_", console)
    streamed = file_function(job.input, job.output, Namespace(**job.options), console)
    return {"frames": streamed.frames_in, **before, **_measured(job.output, "after_", console)}


# ---------------------------------------------------------------- interpolate
def _run_interpolate(job, console) -> dict:
    streamed, run = interpolate.interpolate_file(job.input, job.output, Namespace(**job.options), console)
    rate = streamed.plan.rate
    return {"frames": streamed.frames_in, "frames_out": streamed.frames_out, "fps_out": float(rate),
            "rate_out": f"{rate.numerator}/{rate.denominator}", "backend": run.backend,
            "scene_cuts": len(run.cuts), "duplicates": run.duplicates}


# ---------------------------------------------------------------- outputs and checks
def _json_ext(path: str, options: dict) -> str:
    return ".json"


def video_ext(path: str, options: dict) -> str:
    """``--format``'s extension; else the input's own where the writer takes it, else .mp4 (frame folders,
    .avi)."""
    from ...media.formats import DEFAULT_FOR_EXT, FORMATS

    if options.get("format"):
        return "." + FORMATS[options["format"].lower()].ext
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return "." + (ext if ext in DEFAULT_FOR_EXT and not os.path.isdir(path) else "mp4")


def _checked_video(settings_check: Callable, options: Namespace) -> None:
    from ...media.formats import FORMAT_NAMES

    settings_check(options)
    if options.format and options.format.lower() not in FORMAT_NAMES:
        raise UnflickerError(f"format must be one of {', '.join(FORMAT_NAMES)}; got {options.format!r}")


def prefers_one_process(command: str, options: dict) -> bool:
    """A torch model on a GPU (or --device auto, which takes one) runs best in one process: one copy of the
    network in GPU memory, torch parallelising each clip itself."""
    return command == "interpolate" and bool(options.get("model")) and options.get("device") != "cpu"


COMMANDS = {c.name: c for c in (
    Command("analyze", "diagnose each clip; its JSON report is its output", _no_options, lambda options: None,
            _run_analyze, _json_ext),
    Command("fix", "fix each clip, measured before and after", fix.add_fix_options,
            partial(_checked_video, fix.fix_settings), partial(_run_fixing, fix.fix_file), video_ext),
    Command("ffmpeg-fix", "FFmpeg deflicker + deband on each clip, measured before and after",
            fix.add_ffmpeg_fix_options, partial(_checked_video, fix.ffmpeg_fix_settings),
            partial(_run_fixing, fix.ffmpeg_fix_file), video_ext),
    Command("interpolate", "more frames per second for each clip (--threads also sets ncnn's threads)",
            partial(interpolate.add_interpolate_options, ncnn_threads=False),
            partial(_checked_video, interpolate.interpolate_settings), _run_interpolate, video_ext,
            threads_option="threads"),
)}

"""One clip's work: the :class:`Job`, its key, and :func:`run_job`, the one function every executor calls to run a
job in its own process and get the clip's row."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from ...errors import UnflickerError
from .inputs import Clip, check_outputs_distinct, output_path

KEY_VERSION = 1  # raise when the same input and settings should no longer count as done
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to run one clip; plain data, so it pickles to any process or machine."""

    command: str       # analyze, fix, ffmpeg-fix, interpolate
    input: str         # absolute path of the clip (file or frame folder)
    output: str        # absolute path of its output (the report JSON for analyze)
    options: dict      # the command's options by name, as its single-file parser gives them
    key: str           # sha256 of the input's content + command + settings: what "done" means
    input_sha256: str = ""  # the input's content hash ("" when it cannot be read)
    input_stat: str = ""    # size and modification time, to trust input_sha256 on a re-run without re-reading


def input_stat(path: str) -> str:
    """Size and modification time of a file, or of each file of a frame folder (hashed); "" when missing."""
    if os.path.isfile(path):
        st = os.stat(path)
        return f"{st.st_size}:{st.st_mtime_ns}"
    if os.path.isdir(path):
        lines = [f"{e.name}:{e.stat().st_size}:{e.stat().st_mtime_ns}" for e in _files(path)]
        return "dir:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return ""


def content_sha256(path: str) -> str:
    """sha256 of a file; of a frame folder, of its files' names and hashes; "" when the input cannot be read
    (the job then fails with the reader's own message)."""
    try:
        if os.path.isfile(path):
            return _file_sha256(path)
        if os.path.isdir(path):
            lines = [f"{e.name}\0{_file_sha256(e.path)}" for e in _files(path)]
            return hashlib.sha256("\n".join(lines).encode()).hexdigest()
    except OSError:
        pass
    return ""


def _files(folder: str) -> list:
    return sorted((e for e in os.scandir(folder) if e.is_file()), key=lambda e: e.name)


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def job_key(command: str, content: str, options: dict, unkeyed: tuple = ()) -> str:
    """What makes two runs the same work: the input's content, the command and its settings (``unkeyed``
    options change speed, not the result)."""
    keyed = {name: value for name, value in options.items() if name not in unkeyed}
    text = json.dumps({"version": KEY_VERSION, "command": command, "input": content, "options": keyed},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def make_jobs(command: str, clips: list[Clip], out_dir: str, options: dict, known: dict | None = None) -> list[Job]:
    """One job per clip. ``known``: {(input, input_stat): input_sha256} from an earlier run's table, so an
    unchanged input is not read again to be hashed."""
    from .commands import COMMANDS

    spec, known = COMMANDS[command], known or {}
    unkeyed = (spec.threads_option,) if spec.threads_option else ()
    pairs = [(clip, output_path(clip, out_dir, spec.output_ext(clip.path, options))) for clip in clips]
    check_outputs_distinct(pairs)
    jobs = []
    for clip, output in pairs:
        stat = input_stat(clip.path)
        content = (known.get((clip.path, stat)) or content_sha256(clip.path)) if stat else ""
        jobs.append(Job(command, clip.path, output, dict(options), job_key(command, content, options, unkeyed),
                        content, stat))
    return jobs


def known_hashes(rows: list[dict]) -> dict:
    return {(r["input"], r["input_stat"]): r["input_sha256"] for r in rows
            if r.get("input") and r.get("input_stat") and r.get("input_sha256")}


# ---------------------------------------------------------------- rows
def base_row(job: Job, status: str, error: str | None = None) -> dict:
    """The columns every row has, in the table's order; a command adds its own after them."""
    return {"input": job.input, "output": job.output, "status": status, "error": error, "seconds": None,
            "frames": None, "command": job.command, "notes": None, "finished": utc_now(), "key": job.key,
            "input_sha256": job.input_sha256, "input_stat": job.input_stat, "peak_rss_mib": None}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, UnflickerError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"out of memory{': ' + str(exc) if str(exc) else ''}"
    return f"{type(exc).__name__}: {exc}"


def remove_partials(output: str) -> None:
    """Hidden partial files of ``output`` left by a process that was killed outright (a clean stop removes its
    own): the writers' ``.NAME.partial*``."""
    folder, name = os.path.split(output)
    for path in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.partial*")):
        os.remove(path)


def run_job(job: Job) -> dict:
    """Run ``job`` in this process and return its row: status ok with the command's columns, or failed with the
    error (a damaged file, a clip too short, out of memory). Ctrl-C (KeyboardInterrupt) is not caught: the
    writers remove their partial files and the executor stops."""
    from ..common import Console
    from .commands import COMMANDS

    console = Console(show=False)
    start = time.perf_counter()
    row = base_row(job, "failed")
    try:
        remove_partials(job.output)
        os.makedirs(os.path.dirname(job.output), exist_ok=True)
        row.update(COMMANDS[job.command].run(job, console))
        row["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - every failure of one clip becomes its row; the batch goes on
        row["error"] = describe_error(exc)
    row.update(seconds=round(time.perf_counter() - start, 3), notes="; ".join(console.notes) or None,
               finished=utc_now(), peak_rss_mib=peak_rss_mib())
    return row


def peak_rss_mib() -> float | None:
    """The peak resident memory of this process so far (MiB): for planning how many workers a machine holds."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)  # bytes on macOS, KiB on Linux

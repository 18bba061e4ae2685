"""batch: one command on many clips, with the command's own options (see ``unflicker.cli.batch``)."""

from __future__ import annotations

import argparse
import signal
import sys
from contextlib import contextmanager

from ..common import say


def add_batch(sub) -> None:
    from .commands import COMMANDS

    p = sub.add_parser("batch", help="analyze, fix, ffmpeg-fix or interpolate every clip of folders, globs or "
                                     "manifests; a results table; re-running skips what is done")
    commands = p.add_subparsers(dest="batch_command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        c = commands.add_parser(command.name, help=command.help)
        c.add_argument("inputs", nargs="+", metavar="INPUTS",
                       help="folders (walked; a folder of frames is one clip), globs ('renders/**/*.mp4', quoted), "
                            "manifests (.csv / .jsonl / .parquet with a path column, paths relative to the "
                            "manifest) or files")
        c.add_argument("--out", required=True, metavar="DIR", help="outputs mirror the input tree here: " + (
            "one report JSON per clip" if command.name == "analyze" else
            "each clip's name and extension kept (a folder of frames or an .avi: .mp4; --format: its extension)"))
        command.add_options(c)
        c.add_argument("--workers", type=int, default=None, metavar="N",
                       help="worker processes, each running one clip at a time (default: one per core, as memory "
                            "allows, at most one per clip); with --ray: at most N clips at a time on the cluster")
        c.add_argument("--threads", type=int, default=None, metavar="N",
                       help="threads of each worker's engine (OpenCV, torch; default: the cores over the workers; "
                            "with --ray: the CPUs each task reserves)")
        add_ray_options(c)
        c.add_argument("--table", default=None, metavar="PATH",
                       help=f"results table, JSONL while running and Parquet at the end (default "
                            f"DIR/batch-{command.name}.jsonl)")
        c.set_defaults(func=_run_batch, batch_options=option_names(command.add_options))


def add_ray_options(parser) -> None:
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run each clip as a Ray task (pip install \"ray[default]\"): --ray auto on the cluster "
                             "this machine joined with `ray start` (or $RAY_ADDRESS's), --ray HOST:PORT or "
                             "ray://HOST:10001 on that one, --ray alone on one of those or else a new local one; "
                             "put it after INPUTS or write --ray=auto. Every node needs unflicker and the clips' paths")
    parser.add_argument("--ray-cpus", type=float, default=1.0, metavar="N",
                        help="CPUs each clip's Ray task reserves (default 1)")
    parser.add_argument("--ray-gpus", type=float, default=0.0, metavar="N",
                        help="GPUs each clip's Ray task reserves (default 0; interpolate --model on a GPU: 1, or 0.5 "
                             "for two clips per GPU)")


def option_names(add_options) -> list[str]:
    """The names (argparse dests) of the options ``add_options`` declares."""
    probe = argparse.ArgumentParser(add_help=False)
    add_options(probe)
    return list(vars(probe.parse_args([])))


def _run_batch(args) -> int:
    with terminate_as_interrupt():
        return _batch(args)


def _batch(args) -> int:
    import os

    from . import ResultTable, find_clips, make_jobs, resume, run_batch
    from .commands import COMMANDS
    from .jobs import known_hashes
    from .local import check_workers
    from .runner import INTERRUPTED_STATUS

    command = COMMANDS[args.batch_command]
    options = {name: getattr(args, name) for name in args.batch_options}
    check_workers(args.workers, args.threads)
    table = ResultTable(args.table or os.path.join(args.out, f"batch-{command.name}.jsonl"))
    try:
        clips = find_clips(args.inputs, args.out)
        executor, describe = _executor(args, command.name, options, len(clips))
        if command.threads_option:
            options[command.threads_option] = executor.threads
        command.check(argparse.Namespace(**options))
        previous = table.read()
        say(f"batch {command.name}: {len(clips)} clips; hashing inputs")
        jobs = make_jobs(command.name, clips, args.out, options, known_hashes(previous))
    except KeyboardInterrupt:
        print(f"batch {command.name}: interrupted before any clip ran", file=sys.stderr)
        return INTERRUPTED_STATUS
    plan = resume(jobs, previous)
    bar = None
    try:
        say(f"batch {command.name}: {len(plan.todo)} to run, {plan.done_before} done before; "
            f"{describe() if plan.todo else 'nothing to run'}")
        bar = ClipBar(f"batch {command.name}", len(plan.todo))
        summary = run_batch(command.name, jobs, plan, executor, table, bar.row)
    finally:
        if bar is not None:
            bar.close()
        getattr(executor, "close", lambda: None)()
    print(summary.line())
    print(summary.table)
    return summary.exit_status


def _executor(args, command: str, options: dict, clips: int):
    """The executor and a function describing it (for Ray, joining the cluster first: only when clips run)."""
    if args.ray is not None:
        from .ray_executor import RayExecutor, check_address, import_ray

        check_address(args.ray or None)
        import_ray()  # a missing Ray is said before any input is hashed
        executor = RayExecutor(args.ray or None, args.ray_cpus, args.ray_gpus, args.threads, args.workers)
        return executor, executor.connect
    from . import LocalExecutor, choose_workers
    from .commands import prefers_one_process

    workers, threads = choose_workers(clips, args.workers, args.threads, prefers_one_process(command, options))
    executor = LocalExecutor(workers, threads)
    return executor, lambda: f"{workers} worker(s) x {threads} thread(s)"


@contextmanager
def terminate_as_interrupt():
    """SIGTERM (``kill``, a job scheduler) stops the clips as cleanly as Ctrl-C does (batch and run)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class ClipBar:
    """Clips done and failed, with tqdm's rate and ETA; a failed clip's error above the bar (batch and run)."""

    def __init__(self, desc: str, total: int, show: bool = True):
        from tqdm import tqdm

        self.ok = self.failed = 0
        self.bar = tqdm(total=total, desc=desc, unit="clip", dynamic_ncols=True, file=sys.stderr, disable=not show)

    def row(self, row: dict) -> None:
        if row["status"] == "ok":
            self.ok += 1
        else:
            self.failed += 1
            say(f"failed: {row['input']}: {row['error']}")
        self.bar.set_postfix_str(f"{self.ok} done, {self.failed} failed", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()

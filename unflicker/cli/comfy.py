"""run (a workflow on a ComfyUI server) and workflow (convert / check / regen)."""

from __future__ import annotations

import argparse
import os
import sys


# ---------------------------------------------------------------- run (ComfyUI HTTP API)
def add_run(sub) -> None:
    p = sub.add_parser("run", help="run a workflow (API or UI format) on a ComfyUI server and download its outputs; "
                                   "with --inputs, once per clip on one or several servers")
    p.add_argument("workflow", help="workflow JSON: API format, or the editor's format (converted via /object_info)")
    p.add_argument("--server", action="append", default=None, metavar="URL",
                   help="ComfyUI address (default $COMFYUI_URL or http://127.0.0.1:8188); with --inputs, repeat it "
                        "for a fleet: one prompt in flight per server, a clip whose server stops answering goes "
                        "to another")
    p.add_argument("--set", action="append", default=[], metavar="NODE.INPUT=VALUE",
                   help="override an input; NODE is a node id or title, VALUE is JSON or a string; a local file "
                        "given to an upload input (Load Video's video) is uploaded first. Repeatable. With "
                        "--inputs, {input} in VALUE is each clip's path")
    p.add_argument("--inputs", action="append", default=None, metavar="INPUTS",
                   help="run the workflow once per clip: a folder (walked), a glob (quoted) or a manifest (.csv / "
                        ".jsonl / .parquet with a path column); repeatable. Outputs go to OUT/<the clip's path "
                        "without extension>/, rows to the results table; a re-run skips what is done")
    p.add_argument("--table", default=None, metavar="PATH",
                   help="with --inputs: results table, JSONL while running and Parquet at the end (default "
                        "OUT/batch-run.jsonl)")
    p.add_argument("--out", default="unflicker-output", help="folder for the downloaded outputs")
    p.add_argument("--timeout", type=float, default=3600.0,
                   help="seconds to wait for the run (with --inputs: for each clip; default 3600)")
    p.add_argument("--previews", action="store_true", help="also download temp previews")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_run)


def _run_run(args) -> int:
    from ..comfy.client import run_workflow_file
    from ..errors import UnflickerError

    servers = args.server or [os.environ.get("COMFYUI_URL", "http://127.0.0.1:8188")]
    if args.inputs:
        return _run_fleet(args, servers)
    if len(servers) > 1:
        raise UnflickerError("several --server are for many clips: add --inputs (one run goes to one server)")
    result = run_workflow_file(args.workflow, servers[0], args.set, args.out, args.timeout,
                               progress=not args.no_progress, previews=args.previews)
    cached = f", {len(result.cached)} nodes cached" if result.cached else ""
    print(f"done in {result.seconds:.1f} s: {len(result.files)} file(s) in {args.out}{cached}")
    return 0


def _run_fleet(args, servers: list[str]) -> int:
    """The workflow once per clip of --inputs on the --server fleet (``unflicker.cli.batch.comfy_fleet``)."""
    from .batch import ResultTable, find_clips, resume, run_batch
    from .batch.comfy_fleet import FLEET_COMMAND, ComfyFleet, check_sets, make_fleet_jobs
    from .batch.jobs import known_hashes
    from .batch.command import ClipBar, terminate_as_interrupt
    from .batch.runner import INTERRUPTED_STATUS
    from ..comfy.workflow import load_workflow
    from .common import say

    workflow = load_workflow(args.workflow)
    check_sets(args.set)
    table = ResultTable(args.table or os.path.join(args.out, f"batch-{FLEET_COMMAND}.jsonl"))
    try:
        clips = find_clips(args.inputs, args.out)
        previous = table.read()
        jobs = make_fleet_jobs(clips, args.out, workflow, args.set, args.previews, known_hashes(previous))
    except KeyboardInterrupt:
        print(f"{FLEET_COMMAND}: interrupted before any clip ran", file=sys.stderr)
        return INTERRUPTED_STATUS
    plan = resume(jobs, previous)
    say(f"{FLEET_COMMAND}: {len(jobs)} clips: {len(plan.todo)} to run, {plan.done_before} done before; "
        f"{len(servers)} server(s)")
    fleet = ComfyFleet(servers, workflow, args.set, timeout=args.timeout, previews=args.previews, log=say)
    bar = ClipBar("run", len(plan.todo), show=not args.no_progress)
    try:
        with terminate_as_interrupt():
            summary = run_batch(FLEET_COMMAND, jobs, plan, fleet, table, bar.row)
    finally:
        bar.close()
    print(summary.line())
    print(summary.table)
    return summary.exit_status


# ---------------------------------------------------------------- workflow (convert / check / regen)
def add_workflow(sub) -> None:
    p = sub.add_parser("workflow", help="convert, check and regenerate ComfyUI workflows (offline or via a server)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    src = argparse.ArgumentParser(add_help=False)
    where = src.add_mutually_exclusive_group()
    where.add_argument("--object-info", help="a saved GET /object_info answer (JSON)")
    where.add_argument("--server", help="ask a running ComfyUI, e.g. http://127.0.0.1:8188")
    a = actions.add_parser("convert", parents=[src], help="UI-format workflow -> API format (stdout or -o)")
    a.add_argument("workflow")
    a.add_argument("-o", "--output")
    a.add_argument("--set", action="append", default=[], metavar="NODE.INPUT=VALUE")
    a.set_defaults(func=_run_workflow_convert)
    a = actions.add_parser("check", parents=[src], help="check workflows against the node definitions")
    a.add_argument("workflows", nargs="*", help="default: every bundled workflow and its API twin")
    a.set_defaults(func=_run_workflow_check)
    a = actions.add_parser("regen", parents=[src], help="rewrite workflows/api/* from workflows/*.json")
    a.add_argument("--recipes", action="store_true", help="first rewrite the UI files from workflow_recipes.py")
    a.set_defaults(func=_run_workflow_regen)


def _object_info_from(args) -> dict:
    """A saved /object_info, a running server's, or the offline one (core nodes + this pack's nodes)."""
    if args.object_info:
        import json

        with open(args.object_info, encoding="utf-8") as f:
            return json.load(f)
    if args.server:
        from ..comfy.client import ComfyClient

        return ComfyClient(args.server).object_info()
    from ..comfy.object_info import offline_object_info

    return offline_object_info()


def _run_workflow_convert(args) -> int:
    from ..comfy.workflow import apply_overrides, dump, load_workflow, to_api
    from ..comfy.recipes import write_text

    info = _object_info_from(args)
    api = to_api(load_workflow(args.workflow), info)
    apply_overrides(api, args.set, info)
    if args.output:
        write_text(args.output, dump(api))
    else:
        sys.stdout.write(dump(api))
    return 0


def _run_workflow_check(args) -> int:
    from ..comfy.workflow import api_twin_path, bundled_workflows, check_workflow, load_workflow

    info = _object_info_from(args)
    paths = args.workflows or [p for ui in bundled_workflows() for p in (ui, api_twin_path(ui))]
    bad = 0
    for path in paths:
        problems = check_workflow(load_workflow(path), info, files_known=bool(args.server))
        print(f"{'ok ' if not problems else 'BAD'} {path}")
        for problem in problems:
            print(f"    {problem}")
        bad += bool(problems)
    return 1 if bad else 0


def _run_workflow_regen(args) -> int:
    from ..comfy.recipes import regenerate

    for path in regenerate(_object_info_from(args), recipes=args.recipes):
        print(f"wrote {os.path.relpath(path)}")
    return 0

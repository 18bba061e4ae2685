"""One workflow over many clips on a fleet of ComfyUI servers: ``python -m unflicker run WORKFLOW --inputs DIR
--set NODE.INPUT={input} --server URL --server URL --out DIR``.

Each clip is a :class:`~unflicker.cli.batch.jobs.Job` (command ``run``): ``{input}`` in the --set values becomes the
clip's path, and :class:`~unflicker.comfy.client.ComfyClient` runs the workflow as it does a single run (a local
file given to an upload input such as Load Video's ``video`` is uploaded first; any other value is sent as it is,
for a path the server reads itself). The outputs are fetched through /view into the clip's folder, the input tree
mirrored under --out (``clips/sub/a.mp4`` -> ``OUT/sub/a/Unflicker/codec_fix_00001.mp4``), downloaded under a
hidden ``.NAME.partial`` folder and renamed when complete. :class:`ComfyFleet` is an executor as
``unflicker.cli.batch`` defines them, so the results table, resume and Ctrl-C are batch's own; a row adds
``outputs`` (the files), ``server`` and ``prompt_id``.

Scheduling: each server holds at most one of our prompts (its queue one deep: a clip waits here, where any
server can take it, not behind one that may die). A server that stops answering (connection refused, a timeout,
the websocket dropped) is left out and its clip re-queued for the others; it is asked again every
``recheck_seconds`` (GET /system_stats) and takes clips again once it answers. A clip counts a try only when its
server died while holding its prompt, so a clip that crashes every server fails after ``max_tries`` instead of
taking the fleet down. When no server is left, the clips left fail (re-running the command redoes them).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional

from ...comfy.client import ComfyClient, ComfyError, ExecutionFailed, PromptRejected, ServerUnreachable
from ...comfy.workflow import parse_override
from ...errors import UnflickerError
from .inputs import Clip, check_outputs_distinct, output_path
from .jobs import Job, base_row, content_sha256, describe_error, input_stat, job_key, utc_now
from .runner import rows_until_stopped

FLEET_COMMAND = "run"          # the rows' command, and the table's default name (batch-run.jsonl)
INPUT_FIELD = "{input}"        # in a --set value: the clip's path
_STOP_SECONDS = 15.0           # how long in-flight clips get to finish or be cancelled on Ctrl-C
_CANCEL_TIMEOUT = 5.0


# ---------------------------------------------------------------- jobs
def check_sets(sets: list[str]) -> None:
    """Each --set well formed, and at least one naming ``{input}`` (else every clip would run the same thing)."""
    for text in sets:
        parse_override(text.replace(INPUT_FIELD, "input"))
    if not any(INPUT_FIELD in text.partition("=")[2] for text in sets):
        raise UnflickerError(f"--inputs needs a --set whose value is {INPUT_FIELD} (the clip's path), e.g. "
                             f"--set \"Load Video (Unflicker).video={INPUT_FIELD}\"")


def fill_sets(sets: list[str], clip_path: str) -> list[str]:
    """The --set values for one clip. A plain replace: values are JSON, whose braces str.format would take."""
    return [text.replace(INPUT_FIELD, clip_path) for text in sets]


def make_fleet_jobs(clips: list[Clip], out_dir: str, workflow: dict, sets: list[str], previews: bool = False,
                    known: Optional[dict] = None) -> list[Job]:
    """One job per clip; its output is the clip's folder under ``out_dir``. The key: the input's content, the
    workflow and the --set values (not the servers: any server does the same work). ``known`` as for
    :func:`~unflicker.cli.batch.jobs.make_jobs`."""
    known = known or {}
    options = {"workflow": hashlib.sha256(json.dumps(workflow, sort_keys=True).encode()).hexdigest(),
               "sets": list(sets), "previews": bool(previews)}
    pairs = [(clip, output_path(clip, out_dir, "")) for clip in clips]
    check_outputs_distinct(pairs)
    _check_not_nested(pairs)
    jobs = []
    for clip, output in pairs:
        stat = input_stat(clip.path)
        content = (known.get((clip.path, stat)) or content_sha256(clip.path)) if stat else ""
        jobs.append(Job(FLEET_COMMAND, clip.path, output, dict(options),
                        job_key(FLEET_COMMAND, content, options), content, stat))
    return jobs


def _check_not_nested(pairs: list[tuple[Clip, str]]) -> None:
    """A clip's folder must not hold another's (``a.mp4`` beside a folder ``a/`` of clips): redoing one would
    replace the other's outputs."""
    by_output = sorted((output, clip.path) for clip, output in pairs)
    for (outer, outer_clip), (inner, inner_clip) in zip(by_output, by_output[1:]):
        if inner.startswith(outer + os.sep):
            raise UnflickerError(f"the outputs of {inner_clip!r} would be inside those of {outer_clip!r} "
                                 f"({outer!r}): rename one, or run them in separate batches")


# ---------------------------------------------------------------- the executor
class ComfyFleet:
    """Runs jobs on ``servers`` with ``workflow`` and the --set templates ``sets``; ``timeout`` bounds one clip's
    run. ``log`` gets the fleet's news (a server left out, back, a clip re-queued); ``recheck_seconds`` None
    leaves a server that stopped answering out for good."""

    def __init__(self, servers: list[str], workflow: dict, sets: list[str], timeout: float = 3600.0,
                 previews: bool = False, max_tries: int = 3, recheck_seconds: Optional[float] = 60.0,
                 log: Callable[[str], None] = lambda line: None):
        if not servers:
            raise UnflickerError("a fleet needs at least one --server")
        self.servers = list(dict.fromkeys(servers))  # one server named twice would get two prompts at once
        self.workflow, self.sets, self.timeout, self.previews = workflow, list(sets), timeout, previews
        self.max_tries, self.recheck_seconds, self.log = max(1, max_tries), recheck_seconds, log

    def run(self, jobs: Iterable[Job]) -> Iterator[dict]:
        yield from rows_until_stopped(_FleetRun(self, list(jobs)))


@dataclass
class _Server:
    url: str
    client: ComfyClient               # for probes and cancels; each clip runs with a client of its own
    busy: bool = False                # an attempt holds it (at most one: its queue one deep)
    up: bool = True
    down_since: float = 0.0
    probing: bool = False
    prompt_id: Optional[str] = None   # our prompt on it now, to cancel on Ctrl-C


@dataclass
class _Entry:
    job: Job
    tries: int = 0                    # servers that died holding its prompt
    notes: list = field(default_factory=list)


class _Stopped(Exception):
    """The run is being stopped: the attempt ends without a row."""


class _FleetRun:
    """One run's state. Only the thread iterating :meth:`rows` changes it (but for ``_Server.prompt_id``, which
    an attempt sets); each attempt and probe runs in a thread of its own and reports through ``events``."""

    def __init__(self, fleet: ComfyFleet, jobs: list[Job]):
        self.fleet = fleet
        self.pending = collections.deque(_Entry(job) for job in jobs)
        self.servers = [_Server(url, ComfyClient(url, timeout=fleet.timeout)) for url in fleet.servers]
        self.events: queue.Queue = queue.Queue()
        self.stopping = threading.Event()
        self.stopped = False

    # ------------------------------------------------------------ the loop
    def rows(self) -> Iterator[dict]:
        while self.pending or self._busy():
            self._start_probes()
            self._dispatch()
            if not self._busy() and not any(s.probing for s in self.servers):
                yield from self._give_up()  # nothing running and no server up: the clips left cannot run
                return
            try:
                event = self.events.get(timeout=0.5)  # a timeout, so probes start on time and Ctrl-C is seen
            except queue.Empty:
                continue
            row = self._handle(*event)
            if row is not None:
                yield row

    def _busy(self) -> list[_Server]:
        return [s for s in self.servers if s.busy]

    def _dispatch(self) -> None:
        for server in self.servers:
            if self.pending and server.up and not server.busy:
                server.busy = True
                entry = self.pending.popleft()
                threading.Thread(target=self._attempt, args=(server, entry), daemon=True,
                                 name=f"unflicker-fleet {server.url}").start()

    def _start_probes(self) -> None:
        if self.fleet.recheck_seconds is None:
            return
        now = time.monotonic()
        for server in self.servers:
            if not server.up and not server.probing and now - server.down_since >= self.fleet.recheck_seconds:
                server.probing = True
                threading.Thread(target=self._probe, args=(server,), daemon=True).start()

    def _probe(self, server: _Server) -> None:
        self.events.put(("probe", server, server.client.reachable()))

    def _handle(self, kind: str, server: _Server, *details) -> Optional[dict]:
        if kind == "probe":
            server.probing = False
            if details[0]:
                server.up = True
                self.fleet.log(f"{server.url} answers again: back in the fleet")
            else:
                server.down_since = time.monotonic()
            return None
        server.busy = False
        if kind == "row":
            return details[0]
        if kind == "unreachable":
            return self._server_lost(server, *details)
        return None  # "stopped": the clip is among those not run

    def _server_lost(self, server: _Server, entry: _Entry, error: str, held_prompt: bool) -> Optional[dict]:
        """``server`` stopped answering while holding ``entry``: leave it out, re-queue the clip first in line."""
        server.up, server.down_since = False, time.monotonic()
        recheck = self.fleet.recheck_seconds
        again = f"asked again every {recheck:g} s" if recheck is not None else "not asked again"
        self.fleet.log(f"{server.url} stopped answering ({error}): left out, {again}")
        entry.notes.append(f"{server.url} stopped answering ({error}); re-queued")
        entry.tries += held_prompt
        if entry.tries >= self.fleet.max_tries:
            return self._row(entry, "failed", None, 0.0, error=f"the server running it stopped answering "
                                                              f"{entry.tries} time(s) (the most tries: "
                                                              f"{self.fleet.max_tries}); last: {error}")
        self.fleet.log(f"re-queued {entry.job.input}")
        self.pending.appendleft(entry)
        return None

    def _give_up(self) -> Iterator[dict]:
        why = "no ComfyUI server left: every --server stopped answering (run the same command again to redo " \
              "this clip)"
        while self.pending:
            yield self._row(self.pending.popleft(), "failed", None, 0.0, error=why)

    def _row(self, entry: _Entry, status: str, server: Optional[_Server], seconds: float,
             error: Optional[str] = None, outputs: Optional[list] = None, prompt_id: Optional[str] = None) -> dict:
        row = base_row(entry.job, status, error)
        row.update(seconds=round(seconds, 3), notes="; ".join(entry.notes) or None, finished=utc_now(),
                   outputs=outputs or [], server=server.url if server else None, prompt_id=prompt_id)
        return row

    # ------------------------------------------------------------ one clip on one server (its own thread)
    def _attempt(self, server: _Server, entry: _Entry) -> None:
        """Run ``entry`` on ``server`` and post exactly one event: its row, the server lost, or stopped."""
        started = time.perf_counter()
        partial = _hidden(entry.job.output, "partial")
        try:
            event = self._run_clip(server, entry, partial, started)
        except BaseException as exc:  # noqa: BLE001 - the loop waits for this event: never leave without one
            event = ("row", server, self._row(entry, "failed", server, time.perf_counter() - started,
                                              error=describe_error(exc)))
        finally:
            server.prompt_id = None
        if event[0] != "row" or event[2]["status"] != "ok":
            _remove(partial)
        self.events.put(event)

    def _run_clip(self, server: _Server, entry: _Entry, partial: str, started: float) -> tuple:
        job = entry.job
        try:
            if self.stopping.is_set():
                raise _Stopped
            _remove(partial)  # a killed run's leftovers
            os.makedirs(partial)
            # a client id of its own per clip: ComfyUI drops a reused id's new websocket when the old one's
            # clean-up comes late (and the /object_info it caches is fetched again after each upload anyway)
            client = ComfyClient(server.url, timeout=self.fleet.timeout)
            result = client.run(self.fleet.workflow, fill_sets(self.fleet.sets, job.input), partial,
                                progress=False, previews=self.fleet.previews, log=lambda line: None,
                                on_queued=lambda prompt_id: self._queued(server, prompt_id))
            files = _publish(partial, job.output, result.files)
        except _Stopped:
            return ("stopped", server)
        except ServerUnreachable as exc:
            if self.stopping.is_set():
                return ("stopped", server)
            return ("unreachable", server, entry, str(exc), server.prompt_id is not None)
        except Exception as exc:  # noqa: BLE001 - the clip's own failure is its row; the batch goes on
            if self.stopping.is_set():
                return ("stopped", server)  # most likely our own cancel
            self._free(server, exc)
            return ("row", server, self._row(entry, "failed", server, time.perf_counter() - started,
                                             error=describe_error(exc), prompt_id=server.prompt_id))
        return ("row", server, self._row(entry, "ok", server, time.perf_counter() - started, outputs=files,
                                         prompt_id=result.prompt_id))

    def _queued(self, server: _Server, prompt_id: str) -> None:
        server.prompt_id = prompt_id
        if self.stopping.is_set():  # stopped while this clip was being uploaded and queued
            _cancel(server, prompt_id)
            raise _Stopped

    def _free(self, server: _Server, exc: Exception) -> None:
        """A clip that timed out may still run there: cancel it, so the server is free for the next clip (a
        refused or failed prompt is over already)."""
        if server.prompt_id and isinstance(exc, ComfyError) and not isinstance(exc, (PromptRejected,
                                                                                     ExecutionFailed)):
            _cancel(server, server.prompt_id)

    # ------------------------------------------------------------ Ctrl-C
    def stop(self) -> list[dict]:
        """Cancel our prompts on every server, wait a while for the attempts to end, and return the rows of
        clips that finished meanwhile (the others are not run: the caller marks them)."""
        if self.stopped:
            return []
        self.stopped = True
        self.stopping.set()
        for server in self._busy():
            if server.prompt_id:
                threading.Thread(target=_cancel, args=(server, server.prompt_id), daemon=True).start()
        finished, deadline = [], time.monotonic() + _STOP_SECONDS
        while self._busy() and time.monotonic() < deadline:
            try:
                kind, server, *details = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if kind != "probe":
                server.busy = False
            if kind == "row" and details[0]["status"] == "ok":
                finished.append(details[0])
        return finished


# ---------------------------------------------------------------- files
def _hidden(output: str, what: str) -> str:
    folder, name = os.path.split(output)
    return os.path.join(folder, f".{name}.{what}")


def _remove(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _publish(partial: str, output: str, files: list[str]) -> list[str]:
    """Put the complete ``partial`` folder in ``output``'s place (an earlier run's outputs replaced, not mixed
    in: ComfyUI numbers each save anew); returns ``files`` as they are there."""
    old = _hidden(output, "old")
    _remove(old)
    if os.path.lexists(output):
        os.replace(output, old)
    os.replace(partial, output)
    _remove(old)
    return [os.path.join(output, os.path.relpath(path, partial)) for path in files]


def _cancel(server: _Server, prompt_id: str) -> None:
    """Best effort, briefly: a server that stopped answering has nothing left to cancel."""
    try:
        server.client.cancel(prompt_id, timeout=_CANCEL_TIMEOUT)
    except ComfyError:
        pass

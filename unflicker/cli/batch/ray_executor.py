"""Clips as Ray tasks: :class:`RayExecutor` runs each job with the same :func:`jobs.run_job` as the local
executor, one Ray task per clip, on an existing cluster or a local one. Ray does the scheduling, the placement
by CPU / GPU and the retries of tasks whose worker died; this module only submits, collects rows and cancels.

Ray is an optional dependency, imported here only (and this module only when ``--ray`` is given)."""

from __future__ import annotations

import itertools
import math
import signal
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from ...errors import UnflickerError
from .jobs import Job, base_row, remove_partials, run_job
from .local import _STOP_SECONDS, _THREAD_VARIABLES, _sigint_ignored, limit_threads
from .runner import rows_until_stopped

RAY_MISSING = '--ray needs Ray, which is not installed: pip install "ray[default]"'
RETRIES = 3              # Ray's max_retries: a clip whose worker died (out of memory, node lost) runs again
_WAIT_SECONDS = 1.0      # ray.wait in steps, so Ctrl-C is seen promptly
_RESOURCES_SECONDS = 5.0  # how long the cluster's size is trusted before asking again (autoscaling changes it)


def import_ray():
    """The ``ray`` module, or a one-line UnflickerError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UnflickerError(RAY_MISSING) from None
    return ray


def check_address(address: str | None) -> None:
    """``--ray`` takes an optional value, so ``--ray clips/`` reads the folder as the address: say so."""
    if address is None or address in ("auto", "local") or ":" in address:
        return
    raise UnflickerError(f"--ray {address!r} is not a Ray address (auto, local, HOST:PORT or ray://HOST:PORT); "
                         "--ray with no address takes the next word as one: put it after INPUTS, or write --ray=auto")


class RayExecutor:
    """Each job a Ray task reserving ``cpus`` CPUs and ``gpus`` GPUs, its engine limited to ``threads`` threads
    (default: the CPUs it reserves); at most ``workers`` clips in flight (default: twice what the cluster runs at
    once, so no worker waits for its next clip). ``address``: ``ray.init``'s (None: the cluster this machine
    knows, else a new local one; ``auto``: a running cluster or an error). ``job_function`` is ``run_job`` (tests
    wrap it)."""

    def __init__(self, address: str | None = None, cpus: float = 1.0, gpus: float = 0.0, threads: int | None = None,
                 workers: int | None = None, job_function: Callable[[Job], dict] = run_job):
        check_ray_resources(cpus, gpus)
        self.address, self.cpus, self.gpus, self.workers = address, cpus, gpus, workers
        self.threads = threads or task_threads(cpus)
        self.job_function = job_function
        self.connected_here = False  # whether this executor called ray.init (and so shuts Ray down)

    def connect(self) -> str:
        """Join the cluster (once; an existing connection, e.g. a test's, is used as it is) and describe it."""
        ray = import_ray()
        if not ray.is_initialized():
            try:
                with _signal_handlers_kept():
                    ray.init(address=self.address)
            except ConnectionError as exc:
                raise UnflickerError(f"no Ray cluster at {self.address!r} ({exc}); start one with "
                                     "`ray start --head`, or give its address") from None
            self.connected_here = True
        total = ray.cluster_resources()
        text = (f"on Ray: {total.get('CPU', 0):g} CPU(s), {total.get('GPU', 0):g} GPU(s); each clip a task of "
                f"{self.cpus:g} CPU, {self.gpus:g} GPU, {self.threads} thread(s)")
        if self.gpus and not total.get("GPU"):
            text += "; no GPU in the cluster yet: tasks wait until one joins"
        return text

    def close(self) -> None:
        if self.connected_here:
            import_ray().shutdown()
            self.connected_here = False

    def run(self, jobs: Iterable[Job]) -> Iterator[dict]:
        jobs = iter(jobs)
        first = next(jobs, None)
        if first is None:
            return  # nothing to run: no cluster to join
        jobs = itertools.chain([first], jobs)
        ray = import_ray()
        self.connect()
        # the thread limits are set before the worker imports numpy, OpenCV or torch (a worker of its own)
        task = ray.remote(_run_task).options(
            num_cpus=self.cpus, num_gpus=self.gpus, max_retries=RETRIES, retry_exceptions=False,
            runtime_env={"env_vars": {name: str(self.threads) for name in _THREAD_VARIABLES}})
        tasks = _Tasks(ray, lambda job: task.remote(self.job_function, job, self.threads), jobs, self._window)
        yield from rows_until_stopped(tasks)

    def _window(self, resources: dict) -> int:
        if self.workers:
            return self.workers
        fits = [resources.get(name, 0) / need for name, need in (("CPU", self.cpus), ("GPU", self.gpus)) if need]
        return max(1, 2 * int(min(fits))) if fits else 2


def task_threads(cpus: float) -> int:
    return max(1, math.ceil(cpus))


def check_ray_resources(cpus: float, gpus: float) -> None:
    if cpus < 0 or gpus < 0 or cpus + gpus == 0:
        raise UnflickerError(f"--ray-cpus and --ray-gpus must be at least 0 and not both 0; got {cpus:g}, {gpus:g}")


class _Tasks:
    """The clips in flight (task -> job): topped up to the window, collected as each finishes."""

    def __init__(self, ray, submit: Callable, jobs: Iterator[Job], window: Callable[[dict], int]):
        self.ray, self.submit, self.jobs, self.window = ray, submit, jobs, window
        self.pending: dict = {}
        self.stopped = False
        self._resources, self._resources_at = {}, -math.inf

    def _top_up(self) -> None:
        if time.monotonic() - self._resources_at > _RESOURCES_SECONDS:
            self._resources, self._resources_at = self.ray.cluster_resources(), time.monotonic()
        while len(self.pending) < self.window(self._resources):
            job = next(self.jobs, None)
            if job is None:
                return
            self.pending[self.submit(job)] = job

    def rows(self) -> Iterator[dict]:
        self._top_up()
        while self.pending:
            ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=_WAIT_SECONDS)
            for ref in ready:
                row = self._row(ref, self.pending.pop(ref))
                self._top_up()  # the next clip is queued before this row is written
                yield row

    def _row(self, ref, job: Job) -> dict | None:
        """The task's row; a failed row when Ray lost it (its worker died on every try, its node went away);
        None when it was cancelled."""
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except exceptions.TaskCancelledError:
            return None
        except exceptions.RayTaskError as exc:  # the task itself raised: unflicker missing on that node...
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            if isinstance(cause, KeyboardInterrupt):
                return None  # Ctrl-C reached the worker too: stopped, as if cancelled
            why = f"{type(cause).__name__}: {_first_line(cause)} (on the Ray worker)"
        except exceptions.WorkerCrashedError:
            why = (f"the Ray worker running this clip died on each of its {RETRIES + 1} tries (out of memory? "
                   "a crash in native code?)")
        except exceptions.RayError as exc:
            why = f"lost on Ray: {type(exc).__name__}: {_first_line(exc)}"
        _remove_partials_quietly(job.output)
        return base_row(job, "failed", why)

    def stop(self) -> list[dict]:
        """Cancel every clip in flight (a KeyboardInterrupt in its task: its writers remove their partial files),
        force those still running after the grace time, and return the rows of clips that finished meanwhile."""
        if self.stopped:
            return []
        self.stopped = True
        with _sigint_ignored():
            for ref in self.pending:
                self.ray.cancel(ref)
            finished = self._collect(time.monotonic() + _STOP_SECONDS)
            for ref in self.pending:
                self.ray.cancel(ref, force=True)  # killed outright: its partial files are removed here
            if self.pending:
                self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=5)
            for job in self.pending.values():
                _remove_partials_quietly(job.output)
            self.pending.clear()
        return finished

    def _collect(self, deadline: float) -> list[dict]:
        rows = []
        while self.pending and time.monotonic() < deadline:
            ready, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=_WAIT_SECONDS)
            for ref in ready:
                row = self._row(ref, self.pending.pop(ref))
                if row is not None:
                    rows.append(row)  # a cancelled clip is among those not run
        return rows


@contextmanager
def _signal_handlers_kept():
    """ray.init replaces SIGTERM's handler with an exit; the batch's own stops as cleanly as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in saved.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(number, handler)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def _remove_partials_quietly(output: str) -> None:
    """A worker killed outright leaves its hidden partial file; this machine may not see the worker's disk."""
    try:
        remove_partials(output)
    except OSError:
        pass


# ---------------------------------------------------------------- on the Ray worker
def _run_task(job_function: Callable[[Job], dict], job: Job, threads: int) -> dict:
    limit_threads(threads)
    row = job_function(job)
    limit_threads(threads)  # an engine the job imported (torch) keeps the limit for the worker's next clip
    return row

"""Executors on this machine: :class:`LocalExecutor`, worker processes that each run one clip at a time, and
:class:`InlineExecutor`, the same jobs one after another in this process (the reference for the interface)."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
import time
from contextlib import contextmanager
from multiprocessing.connection import wait
from typing import Iterable, Iterator

from ...errors import UnflickerError
from .jobs import Job, base_row, run_job
from .runner import rows_until_stopped

# a worker streaming a 720p clip peaks at 0.7-0.85 GB (README, "Sound, formats and long videos": torch, OpenCV
# and the two ffmpeg processes); more workers than memory / 1 GiB would only swap or be killed
WORKER_MEMORY = 1 << 30
_STOP_SECONDS = 30.0   # how long stopped workers get to remove their partial outputs before they are killed
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class InlineExecutor:
    """Runs each job in this process, one after another."""

    def run(self, jobs: Iterable[Job]) -> Iterator[dict]:
        for job in jobs:
            yield run_job(job)


class LocalExecutor:
    """``workers`` processes, each running one clip at a time with its engine limited to ``threads`` threads;
    each clip's row is yielded as it finishes."""

    def __init__(self, workers: int, threads: int):
        self.workers, self.threads = max(1, workers), max(1, threads)

    def run(self, jobs: Iterable[Job]) -> Iterator[dict]:
        yield from rows_until_stopped(_Pool(iter(jobs), self.workers, self.threads))


def choose_workers(jobs: int, workers: int | None = None, threads: int | None = None,
                   one_process: bool = False) -> tuple[int, int]:
    """Workers x threads for this machine: by default one single-threaded worker per core (clips are independent,
    so processes scale better than threads inside one clip), as many as memory holds and no more than the clips;
    cores left over go to each worker's threads. ``one_process``: the work wants one process (a GPU model)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if workers is None:
        workers = 1 if one_process else min(max(1, cores // (threads or 1)), _memory_workers())
    workers = max(1, min(workers, jobs))
    return workers, threads or max(1, cores // workers)


def _memory_workers() -> int:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 16
    return max(1, total // WORKER_MEMORY)


class _Worker:
    """A worker process and this side of its pipe (jobs one way, rows back): a pipe of its own, so a worker killed
    mid-write harms no other (a shared queue's lock would stay taken)."""

    def __init__(self, process, connection):
        self.process, self.connection, self.job = process, connection, None


class _Pool:
    """Hands jobs to workers one at a time (so it always knows which clip each one holds) and collects rows."""

    def __init__(self, jobs: Iterator[Job], workers: int, threads: int):
        self.jobs, self.threads, self.stopped = jobs, threads, False
        self.context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited threads or locks
        self.workers: list[_Worker] = []
        for _ in range(workers):
            job = next(self.jobs, None)
            if job is None:
                break
            self._give(self._start(), job)

    def _start(self) -> _Worker:
        here, there = self.context.Pipe()
        process = self.context.Process(target=_work, args=(there, self.threads, os.getpid()), daemon=True)
        with _thread_limits(self.threads):  # set before the worker imports numpy, OpenCV or torch
            process.start()
        there.close()  # the worker's end lives in the worker: its death reads as the pipe's end here
        worker = _Worker(process, here)
        self.workers.append(worker)
        return worker

    def _give(self, worker: _Worker, job: Job | None) -> None:
        worker.job = job
        try:
            worker.connection.send(job)  # None: nothing left, the worker exits
        except OSError:
            pass  # it has just died: the next wait finds it so, and its clip fails

    def _busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.job is not None]

    def rows(self) -> Iterator[dict]:
        while self._busy():
            waiting = {w.connection: w for w in self._busy()} | {w.process.sentinel: w for w in self._busy()}
            for worker in {waiting[ready] for ready in wait(list(waiting))}:
                row = self._receive(worker)
                if row is not None:
                    yield row

    def _receive(self, worker: _Worker) -> dict | None:
        """The row ``worker`` sent, handing it its next job; or, when it died (killed by the system for memory,
        a crash in native code), a failed row for its clip and a fresh worker for the rest."""
        try:
            if worker.connection.poll():
                row = worker.connection.recv()
                self._give(worker, next(self.jobs, None))
                return row
        except (EOFError, OSError, pickle.UnpicklingError):
            pass  # nothing, or half a row: the worker died
        worker.process.join(timeout=5)
        if worker.process.exitcode is None:
            return None  # woken up with nothing to read yet
        self.workers.remove(worker)
        code = worker.process.exitcode
        why = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        memory = "; out of memory?" if code == -signal.SIGKILL else ""
        row = base_row(worker.job, "failed", f"the worker process died while running this clip ({why}{memory})")
        job = next(self.jobs, None)
        if job is not None:
            self._give(self._start(), job)
        return row

    def stop(self) -> list[dict]:
        """Stop the workers that still hold a clip (SIGINT: the clip is abandoned and its partial output
        removed), let the others exit, and return the rows of clips that finished meanwhile."""
        if self.stopped:
            return []
        self.stopped = True
        finished = []
        with _sigint_ignored():
            for worker in self._busy():
                _interrupt(worker.process)
            deadline = time.monotonic() + _STOP_SECONDS
            while any(w.process.is_alive() for w in self.workers) and time.monotonic() < deadline:
                finished += self._drain()
                time.sleep(0.05)
            for worker in self.workers:
                if worker.process.is_alive():
                    worker.process.kill()
                worker.process.join()
            finished += self._drain()
        return finished

    def _drain(self) -> list[dict]:
        rows = []
        for worker in self._busy():
            try:
                if worker.connection.poll():
                    rows.append(worker.connection.recv())
                    worker.job = None
            except (EOFError, OSError, pickle.UnpicklingError):
                worker.job = None  # stopped without a row: its clip is among those not run
        return rows


def _interrupt(process) -> None:
    if process.is_alive():
        try:
            os.kill(process.pid, signal.SIGINT)
        except ProcessLookupError:
            pass


@contextmanager
def _thread_limits(threads: int):
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update({name: str(threads) for name in _THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _sigint_ignored():
    """A second Ctrl-C while workers clean up must not cut the clean-up short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------- in the worker process
def _work(connection, threads: int, parent: int) -> None:
    signal.signal(signal.SIGINT, _interrupt_once)
    _stop_with_parent(parent)
    limit_threads(threads)
    try:
        for job in iter(connection.recv, None):
            row = run_job(job)
            limit_threads(threads)  # an engine the job imported (torch) gets the same limit
            connection.send(row)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # done: a late stop signal has nothing to stop
    except KeyboardInterrupt:
        pass  # stopped: the clip in hand was abandoned, its writer removed the partial file
    except (EOFError, BrokenPipeError):
        pass  # the batch process is gone


def limit_threads(threads: int) -> None:
    """Limit this process's engine to ``threads`` threads (OpenCV, ffmpeg's decoders, filters and encoders, and
    torch once imported)."""
    import sys

    import cv2

    from ...media import ffmpeg

    cv2.setNumThreads(threads)
    ffmpeg.limit_threads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _interrupt_once(signum, frame):
    # Ctrl-C in a terminal reaches the workers and the pool sends its own: one KeyboardInterrupt, so the
    # clean-up it starts is not itself interrupted
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _stop_with_parent(parent: int) -> None:
    """Stop cleanly (as on Ctrl-C) when the batch process is gone, e.g. killed outright: no orphan keeps writing."""
    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, daemon=True, name="unflicker-parent-watch").start()


def check_workers(workers: int | None, threads: int | None) -> None:
    for name, value in (("--workers", workers), ("--threads", threads)):
        if value is not None and value < 1:
            raise UnflickerError(f"{name} must be at least 1, got {value}")

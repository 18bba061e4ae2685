"""A batch from start to end: what an earlier run left (:func:`resume`), the clips run through an executor, every
row into the table, and an interrupted run said so."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from .jobs import Job, base_row, utc_now
from .table import ResultTable

INTERRUPTED_STATUS = 130  # the shell's status for a command stopped by Ctrl-C


@dataclass
class Resume:
    """What a run has to do, given the rows an earlier run left."""

    todo: list[Job]       # clips to run: new, failed, interrupted, changed (input or settings) or output gone
    done_before: int      # clips whose key is done and whose output exists: skipped
    keep: list[dict]      # earlier rows that stay in the table (one per clip; the clips to run are dropped)


def resume(jobs: list[Job], previous: list[dict]) -> Resume:
    done = {(r.get("key"), r.get("output")) for r in previous
            if r.get("status") == "ok" and r.get("output") and os.path.exists(r["output"])}
    todo = [job for job in jobs if (job.key, job.output) not in done]
    redo = {job.output for job in todo}
    latest = {}  # one row per clip, the last written; "stopped" rows describe a run that is over
    for row in previous:
        if row.get("output") and row["output"] not in redo:
            latest[row["output"]] = row
    return Resume(todo, len(jobs) - len(todo), list(latest.values()))


@dataclass
class Summary:
    command: str
    clips: int
    done_before: int
    ok: int = 0
    failed: int = 0
    not_run: int = 0
    interrupted: bool = False
    table: str = ""        # where the table is (and whether Parquet was written)

    def count(self, row: dict) -> None:
        if row["status"] == "ok":
            self.ok += 1
        else:
            self.failed += 1

    @property
    def exit_status(self) -> int:
        return INTERRUPTED_STATUS if self.interrupted else (1 if self.failed else 0)

    def line(self) -> str:
        parts = [f"{self.ok} done", f"{self.failed} failed", f"{self.done_before} done before"]
        text = f"batch {self.command}: {self.clips} clips: " + ", ".join(parts)
        if self.interrupted:
            text += f"; interrupted: {self.not_run} not run (run the same command again to finish)"
        return text


def run_batch(command: str, jobs: list[Job], plan: Resume, executor, table: ResultTable,
              on_row: Optional[Callable[[dict], None]] = None) -> Summary:
    """Run ``plan.todo`` on ``executor``, each row into ``table`` as it comes. Ctrl-C (KeyboardInterrupt) stops
    the executor, marks the clips not run (status skipped) and adds a row saying where the run stopped."""
    summary = Summary(command, len(jobs), plan.done_before)
    table.start(plan.keep)
    finished: set[str] = set()
    rows = executor.run(plan.todo)
    try:
        for row in rows:
            table.append(row)
            finished.add(row["output"])
            summary.count(row)
            if on_row:
                on_row(row)
    except KeyboardInterrupt:
        left = [job for job in plan.todo if job.output not in finished]
        for job in left:
            table.append(base_row(job, "skipped", "not run: the batch was interrupted"))
        summary.interrupted, summary.not_run = True, len(left)
        table.append(stopped_row(summary))
    finally:
        if hasattr(rows, "close"):
            rows.close()  # the executor stops its workers, whichever way the loop ended
        summary.table = table.finish()
    return summary


def rows_until_stopped(work) -> Iterator[dict]:
    """An executor's rows from ``work`` (an object with ``rows()`` and ``stop()``, which returns the rows of clips
    that finished while the rest were being stopped): on Ctrl-C those rows still come out before the interrupt
    goes on, and the work is stopped however the caller leaves."""
    try:
        yield from work.rows()
    except KeyboardInterrupt:
        yield from work.stop()
        raise
    finally:
        work.stop()


def stopped_row(summary: Summary) -> dict:
    """The row that says where an interrupted run stopped (no input or output: it describes the run)."""
    ran = summary.ok + summary.failed
    return {"input": None, "output": None, "status": "stopped", "command": summary.command, "finished": utc_now(),
            "error": f"interrupted after {ran} of {ran + summary.not_run} clips to run ({summary.ok} done, "
                     f"{summary.failed} failed; {summary.done_before} done before); {summary.not_run} not run, "
                     "marked skipped: run the same command again to finish them"}

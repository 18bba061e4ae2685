"""Many clips: ``python -m unflicker batch analyze|fix|ffmpeg-fix|interpolate INPUTS --out DIR``.

A part of the command line, on its top layer: each clip runs through the single-file command's own code (its
options, settings, plan and run), so a batch row and ``python -m unflicker fix IN OUT`` are the same work. No
ComfyUI, and no executor's library, is imported here.

The package, by job:

- ``inputs``: the clips INPUTS name (folders walked, globs, CSV / JSONL / Parquet manifests with a ``path``
  column, files) and each one's output, the input tree mirrored under ``--out``;
- ``commands``: per command, its options (from ``unflicker.cli``), their check, how a clip runs, its columns;
- ``jobs``: :class:`Job` (plain data: command, input, output, options, key) and :func:`run_job`, the ONE
  function that runs a job, in the calling process, and returns its row, whichever executor calls it;
- ``table``: :class:`ResultTable`, rows appended to JSON Lines as they come, Parquet at the end;
- ``runner``: :func:`resume` (what an earlier run left: done clips skipped, the rest redone) and
  :func:`run_batch` (rows into the table, Ctrl-C recorded);
- ``local``: :class:`LocalExecutor` (worker processes on this machine, the default) and :class:`InlineExecutor`
  (this process, one clip after another);
- ``ray_executor``: :class:`~.ray_executor.RayExecutor` (``--ray``), each clip a Ray task on a cluster through the
  same ``run_job``; Ray is imported there only, and that module only when ``--ray`` is given;
- ``comfy_fleet``: ``run WORKFLOW --inputs ... --server A --server B``: one workflow run per clip over several
  ComfyUI servers (one prompt in flight each, a clip re-queued when its server stops answering), as an executor;
- ``command``: the ``batch`` subcommand (its parser and the progress bar).

**The executor interface.** An executor is any object with ``run(jobs) -> iterator of rows``:

- ``jobs`` is an iterable of :class:`Job`; the executor runs each with :func:`run_job` wherever it likes (a
  process, another machine: that process needs ``unflicker`` importable and the job's input and output paths
  reachable) and yields the row ``run_job`` returned, as each clip finishes, in any order;
- exactly one row per job. A clip's own failure is already a row (``run_job`` never raises for it); a job the
  executor itself loses (its worker died) gets ``base_row(job, "failed", why)``;
- on KeyboardInterrupt (Ctrl-C), or when the caller closes the iterator, it stops all work it started, making
  sure no partial output stays behind (a clean stop of ``run_job``'s process does that: its writers remove
  their hidden partial files; :func:`jobs.remove_partials` clears those of a process killed outright before a
  job runs again), may yield the rows of clips that finished meanwhile, then lets the KeyboardInterrupt go on.

A row: ``input``, ``output``, ``status`` (ok / failed / skipped: not run because the batch was interrupted),
``error``, ``seconds``, ``frames``, ``command``, ``notes``, ``finished``, ``key``, ``input_sha256``,
``input_stat``, then the command's own columns (see ``commands``). An interrupted run also leaves one row with
status ``stopped`` that says where it stopped.
"""

from .inputs import Clip, find_clips
from .jobs import Job, base_row, make_jobs, run_job
from .local import InlineExecutor, LocalExecutor, choose_workers
from .runner import Resume, Summary, resume, run_batch
from .table import ResultTable

__all__ = ["Clip", "find_clips", "Job", "base_row", "make_jobs", "run_job", "InlineExecutor", "LocalExecutor",
           "choose_workers", "Resume", "Summary", "resume", "run_batch", "ResultTable"]

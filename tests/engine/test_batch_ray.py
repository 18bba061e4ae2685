"""batch --ray: each clip a Ray task on a local cluster started here (2 CPUs), through the same job function as the
local executor: the same rows and outputs; a worker killed mid-clip is retried and its clip lands once; Ctrl-C
cancels what is in flight."""

import json
import os
import signal
import sys

import pytest

from conftest import REPO
from unflicker import cli
from unflicker.cli.batch import ResultTable, find_clips, make_jobs, resume, run_batch, run_job
from unflicker.errors import UnflickerError
from unflicker.media import synthetic, video

# what differs between two runs of the same work (output: each run has its own --out)
_PER_RUN = ("seconds", "finished", "output", "peak_rss_mib")


def _clip(path, seed):
    video.write_video(str(path), synthetic.moving_clip("pan", frames=8, height=48, width=64, seed=seed), fps=8)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray") / "clips"
    (root / "sub").mkdir(parents=True)
    _clip(root / "a.mp4", seed=1)
    _clip(root / "sub" / "b.mp4", seed=2)
    _clip(root / "c.mp4", seed=3)
    (root / "broken.mp4").write_bytes(b"not a video " * 40)
    return root


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of 2 CPUs for this module; its workers import unflicker from this checkout."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements-dev.txt)")
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, saved]))  # the workers inherit it
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()
    if saved is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = saved


def _rows(out, command):
    table = ResultTable(os.path.join(out, f"batch-{command}.jsonl"))
    return {os.path.relpath(r["input"]): r for r in table.read() if r["input"]}


def _hidden_files(folder):
    return [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files if f.startswith(".")]


def test_ray_gives_the_same_rows_and_outputs_as_the_local_executor(cluster, clips, tmp_path, capsys):
    def run(*executor):
        out = tmp_path / "-".join(executor).strip("-")
        assert cli.main(["batch", "analyze", str(clips), "--out", str(out), *executor]) == 1  # broken.mp4 fails
        rows = {path: {k: v for k, v in row.items() if k not in _PER_RUN}
                for path, row in _rows(out, "analyze").items()}
        reports = {os.path.relpath(os.path.join(d, f), out): json.loads(open(os.path.join(d, f)).read())
                   for d, _, files in os.walk(out) for f in files if f.endswith(".json")}
        return rows, reports

    local_rows, local_reports = run("--workers", "1")
    ray_rows, ray_reports = run("--ray")
    assert "on Ray: 2 CPU(s)" in capsys.readouterr().err
    assert ray_rows == local_rows and len(ray_rows) == 4
    assert [os.path.basename(p) for p, r in ray_rows.items() if r["status"] == "failed"] == ["broken.mp4"]
    assert sorted(ray_reports) == ["a.json", "c.json", "sub/b.json"] and ray_reports == local_reports


def test_a_worker_killed_mid_clip_is_retried_and_the_clip_lands_once(cluster, clips, tmp_path):
    from unflicker.cli.batch.ray_executor import RayExecutor

    out, died = tmp_path / "fixed", str(tmp_path / "died")
    victim = str(clips / "sub" / "b.mp4")

    def dies_once(job):
        """run_job, but the first time it runs b.mp4 its worker is killed half-way through writing it."""
        if job.input == victim and not os.path.exists(died):
            open(died, "w").close()
            os.makedirs(os.path.dirname(job.output), exist_ok=True)
            partial = os.path.join(os.path.dirname(job.output), "." + os.path.basename(job.output) + ".partial.mp4")
            with open(partial, "w") as f:
                f.write("half a video")
            os.kill(os.getpid(), signal.SIGKILL)  # as the system does to a process out of memory
        return run_job(job)

    jobs = make_jobs("fix", find_clips([str(clips / "a.mp4"), str(clips / "sub")]), str(out), _fix_options())
    table = ResultTable(str(out / "batch-fix.jsonl"))
    summary = run_batch("fix", jobs, resume(jobs, []), RayExecutor(job_function=dies_once), table)
    assert os.path.exists(died), "the worker was not killed"
    assert (summary.ok, summary.failed, summary.exit_status) == (2, 0, 0)
    rows = table.read()
    assert sorted(r["input"] for r in rows) == sorted([str(clips / "a.mp4"), victim])  # once each
    assert all(r["status"] == "ok" for r in rows)
    assert sorted(os.listdir(out)) == ["a.mp4", "batch-fix.jsonl", "batch-fix.parquet", "sub"]
    assert os.listdir(out / "sub") == ["b.mp4"] and not _hidden_files(out)  # the partial file was cleared
    assert video.probe(str(out / "sub" / "b.mp4")).frame_count == 8


def test_ctrl_c_cancels_the_clips_in_flight(cluster, clips, tmp_path):
    from unflicker.cli.batch.ray_executor import RayExecutor

    out = tmp_path / "stopped"
    jobs = make_jobs("fix", find_clips([str(clips)]), str(out), _fix_options())

    def interrupt(row):
        raise KeyboardInterrupt  # Ctrl-C as the first row comes in, the other clips in flight or queued

    table = ResultTable(str(out / "batch-fix.jsonl"))
    summary = run_batch("fix", jobs, resume(jobs, []), RayExecutor(workers=2), table, interrupt)
    assert summary.interrupted and summary.exit_status == 130
    rows = table.read()
    assert rows[-1]["status"] == "stopped"
    assert sorted(r["input"] for r in rows[:-1]) == sorted(j.input for j in jobs)  # every clip accounted for
    assert sum(r["status"] == "skipped" for r in rows) == summary.not_run >= 2
    assert not _hidden_files(out)  # cancelled clips left no partial output


def test_without_ray_the_message_says_how_to_install_it(monkeypatch, clips, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    assert cli.main(["batch", "analyze", str(clips), "--out", str(tmp_path), "--ray"]) == 2
    assert capsys.readouterr().err.strip() == \
        'error: --ray needs Ray, which is not installed: pip install "ray[default]"'
    assert not os.listdir(tmp_path)  # said before anything ran


def test_a_folder_after_bare_ray_is_not_taken_for_an_address(clips, tmp_path):
    from unflicker.cli.batch.ray_executor import check_address

    for address in (None, "auto", "local", "10.0.0.5:6379", "ray://head:10001"):
        check_address(address)
    with pytest.raises(UnflickerError, match="put it after INPUTS"):
        check_address(str(clips))


def _fix_options():
    from unflicker.cli.batch.commands import COMMANDS
    from unflicker.cli.batch.command import option_names

    parsed = vars(cli.build_parser().parse_args(["fix", "in", "out", "--preset", "veryfast"]))
    return {name: parsed[name] for name in option_names(COMMANDS["fix"].add_options)}

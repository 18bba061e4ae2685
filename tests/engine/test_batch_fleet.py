"""python -m unflicker run WORKFLOW --inputs DIR --server A --server B: one workflow over many clips on a fleet of
(fake) ComfyUI servers (tests/support/fake_comfy.py); a server stopped mid-batch loses no clip and runs none twice,
and a re-run does only what is left (the real ComfyUI: test_e2e_comfyui.py -k fleet)."""

import os
import socket
import threading
import time

import pytest

from fake_comfy import FakeComfy
from unflicker import cli
from unflicker.cli.batch import ResultTable, find_clips, resume, run_batch
from unflicker.cli.batch.comfy_fleet import ComfyFleet, make_fleet_jobs
from unflicker.cli.batch.jobs import known_hashes
from unflicker.comfy.object_info import offline_object_info
from unflicker.comfy.workflow import api_twin_path, bundled_workflows, load_workflow

UI = next(p for p in bundled_workflows() if os.path.basename(p) == "codec_fix.json")
API = api_twin_path(UI)  # Load Video (node 1) -> fix -> two Save Video nodes (3 and 5)
SETS = ["1.video={input}", "2.size=7"]
NAMES = ["a.mp4", "b.mp4", "c.mov", os.path.join("sub", "d.mp4"), os.path.join("sub", "e.mp4"),
         os.path.join("sub", "deeper", "f.mp4")]


@pytest.fixture(scope="module")
def info(pack):
    return offline_object_info()


@pytest.fixture
def clips(tmp_path):
    """Clips in a tree (the fake server does not decode them: distinct bytes are distinct clips)."""
    root = tmp_path / "clips"
    for i, name in enumerate(NAMES):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"clip {i} ".encode() * 50)
    return root


def _servers(info, count=2):
    return [FakeComfy(info, history_delay=0.05, step_delay=0.02) for _ in range(count)]


def _run(clips, out, servers, on_row=None, **fleet_options):
    """A fleet run as the CLI does it, in this process: jobs, resume, the executor, the table."""
    workflow = load_workflow(API)
    table = ResultTable(str(out / "batch-run.jsonl"))
    previous = table.read()
    jobs = make_fleet_jobs(find_clips([str(clips)], str(out)), str(out), workflow, SETS,
                           known=known_hashes(previous))
    fleet = ComfyFleet(servers, workflow, SETS, timeout=30, **fleet_options)
    return run_batch("run", jobs, resume(jobs, previous), fleet, table, on_row), table.read()


def _by_clip(rows, clips):
    """Rows of clips (not a stopped run's) by the clip's path under ``clips``; each clip once."""
    rows = [r for r in rows if r["input"]]
    named = {os.path.relpath(r["input"], clips): r for r in rows}
    assert len(named) == len(rows), "a clip has two rows"
    return named


def _stop_when(server, prompts):
    """Stop ``server`` as soon as it has been sent ``prompts`` prompts: the last one is then still running."""
    def watch():
        while len(server.prompts) < prompts:
            time.sleep(0.005)
        server.stop()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _hidden(folder):
    return [os.path.join(d, n) for d, dirs, files in os.walk(folder) for n in dirs + files if n.startswith(".")]


def _dead_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_a_server_stopped_mid_batch_loses_no_clip_and_runs_none_twice(info, clips, tmp_path):
    out = tmp_path / "out"
    logs = []
    a, b = _servers(info)
    with a, b:
        watcher = _stop_when(a, prompts=2)
        summary, rows = _run(clips, out, [a.url, b.url], log=logs.append)
        watcher.join(5)
    assert (summary.ok, summary.failed, summary.exit_status) == (len(NAMES), 0, 0)
    rows = _by_clip(rows, clips)
    assert sorted(rows) == sorted(NAMES) and all(r["status"] == "ok" and r["error"] is None for r in rows.values())
    # A ran one clip and was stopped running its second, which B ran again: 7 prompts for 6 clips
    assert (len(a.prompts), len(b.prompts)) == (2, len(NAMES) - 1)
    assert (a.most_in_queue, b.most_in_queue) == (1, 1)  # each server's queue kept one deep
    servers = [r["server"] for r in rows.values()]
    assert (servers.count(a.url), servers.count(b.url)) == (1, len(NAMES) - 1)
    (moved,) = [r for r in rows.values() if r["notes"]]
    assert moved["server"] == b.url and f"{a.url} stopped answering" in moved["notes"] and "re-queued" in moved["notes"]
    assert any(f"{a.url} stopped answering" in line and "left out" in line for line in logs)
    for name, row in rows.items():  # the input tree mirrored, one folder per clip, one run's outputs in it
        folder = out / os.path.splitext(name)[0]
        assert row["output"] == str(folder) and row["prompt_id"]
        assert row["outputs"] == [str(folder / "Unflicker" / f"{node}_00001.mp4") for node in ("3", "5")]
        assert sorted(os.listdir(folder / "Unflicker")) == ["3_00001.mp4", "5_00001.mp4"]
        assert all(open(f, "rb").read().startswith(b"video of node") for f in row["outputs"])
        assert row["input_sha256"] and row["key"] and row["seconds"] > 0
    assert b.prompts[-1]["2"]["inputs"]["size"] == 7 and b.prompts[-1]["1"]["inputs"]["video"].startswith("unflicker/")
    assert not _hidden(out)
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pq.read_table(out / "batch-run.parquet").to_pylist()
    assert len(table) == len(NAMES) and {"input", "outputs", "server", "status", "error", "seconds"} <= set(table[0])


def test_resume_skips_done_clips_and_redoes_a_deleted_one(info, clips, tmp_path):
    import shutil

    out = tmp_path / "out"
    (server,) = _servers(info, 1)
    with server:
        _run(clips, out, [server.url])
        assert len(server.prompts) == len(NAMES)
        summary, rows = _run(clips, out, [server.url])
        assert (summary.done_before, summary.ok, len(server.prompts)) == (len(NAMES), 0, len(NAMES))
        assert len(_by_clip(rows, clips)) == len(NAMES)
        shutil.rmtree(out / "sub" / "d")  # an output gone: that clip only is run again
        (clips / "a.mp4").write_bytes(b"changed " * 40)  # an input changed: so is that one
        summary, rows = _run(clips, out, [server.url])
    assert (summary.done_before, summary.ok, len(server.prompts)) == (len(NAMES) - 2, 2, len(NAMES) + 2)
    rows = _by_clip(rows, clips)
    assert len(rows) == len(NAMES) and all(r["status"] == "ok" for r in rows.values())
    assert os.path.isfile(rows[os.path.join("sub", "d.mp4")]["outputs"][0])


def test_a_server_down_from_the_start_is_left_out(info, clips, tmp_path):
    dead = _dead_url()
    (server,) = _servers(info, 1)
    with server:
        summary, rows = _run(clips, tmp_path / "out", [dead, server.url], recheck_seconds=None)
    rows = _by_clip(rows, clips)
    assert summary.ok == len(NAMES) and {r["server"] for r in rows.values()} == {server.url}
    assert len(server.prompts) == len(NAMES)


def test_a_server_that_answers_again_takes_clips_again(info, clips, tmp_path):
    down = _dead_url()
    logs = []
    (server,) = _servers(info, 1)
    late = []

    def start_when_left_out():  # (a FakeComfy listens once made: made earlier, it would be a hung server)
        while not any(f"{down} stopped answering" in line for line in logs):
            time.sleep(0.005)
        late.append(FakeComfy(info, history_delay=0.05, step_delay=0.02, port=int(down.rsplit(":", 1)[1])))
        late[0].__enter__()

    threading.Thread(target=start_when_left_out, daemon=True).start()
    with server:
        summary, rows = _run(clips, tmp_path / "out", [down, server.url], log=logs.append, recheck_seconds=0.1)
    late[0].stop()
    servers = [r["server"] for r in _by_clip(rows, clips).values()]
    assert summary.ok == len(NAMES) and servers.count(down) >= 1 and servers.count(server.url) >= 1
    assert f"{down} answers again: back in the fleet" in logs


def test_no_server_left_fails_the_clips_left_with_the_reason(clips, tmp_path):
    summary, rows = _run(clips, tmp_path / "out", [_dead_url(), _dead_url()], recheck_seconds=None)
    assert (summary.failed, summary.exit_status) == (len(NAMES), 1)
    for row in _by_clip(rows, clips).values():
        assert row["status"] == "failed" and "no ComfyUI server left" in row["error"]
        assert row["outputs"] == [] and not os.path.exists(row["output"])


def test_a_clip_that_keeps_losing_its_server_fails_after_max_tries(info, clips, tmp_path):
    a, b = _servers(info)
    with a, b:
        watcher = _stop_when(a, prompts=2)
        summary, rows = _run(clips, tmp_path / "out", [a.url, b.url], max_tries=1)
        watcher.join(5)
    rows = _by_clip(rows, clips)
    (failed,) = [r for r in rows.values() if r["status"] == "failed"]
    assert "stopped answering 1 time(s)" in failed["error"] and summary.ok == len(NAMES) - 1


def test_interrupted_fleet_leaves_no_partial_output_and_the_rerun_finishes(info, clips, tmp_path):
    out = tmp_path / "out"

    def interrupt(row):
        raise KeyboardInterrupt

    a, b = _servers(info)
    with a, b:
        summary, rows = _run(clips, out, [a.url, b.url], on_row=interrupt)
        assert summary.interrupted and summary.exit_status == 130
        assert [r["status"] for r in rows].count("skipped") >= len(NAMES) - 2 and rows[-1]["status"] == "stopped"
        assert not _hidden(out)
        summary, rows = _run(clips, out, [a.url, b.url])
    rows = _by_clip(rows, clips)
    assert not summary.interrupted and len(rows) == len(NAMES) and all(r["status"] == "ok" for r in rows.values())
    assert all(os.path.isfile(f) for r in rows.values() for f in r["outputs"])


def test_cli_runs_a_folder_on_two_servers(info, clips, tmp_path, capsys):
    out = tmp_path / "out"
    a, b = _servers(info)
    with a, b:
        argv = ["run", API, "--inputs", str(clips), "--server", a.url, "--server", b.url, "--out", str(out),
                "--no-progress", *[arg for s in SETS for arg in ("--set", s)]]
        assert cli.main(argv) == 0
    assert f"{len(NAMES)} clips: {len(NAMES)} done, 0 failed" in capsys.readouterr().out
    rows = _by_clip(ResultTable(str(out / "batch-run.jsonl")).read(), clips)
    assert len(rows) == len(NAMES) and {r["server"] for r in rows.values()} <= {a.url, b.url}
    assert len(a.prompts) + len(b.prompts) == len(NAMES)


@pytest.mark.parametrize("argv, expect", [
    (["--server", "http://127.0.0.1:1", "--server", "http://127.0.0.1:2"], "add --inputs"),
    (["--inputs", "CLIPS", "--set", "2.size=7"], "needs a --set whose value is {input}"),
])
def test_cli_refuses_what_cannot_run(clips, tmp_path, capsys, argv, expect):
    argv = [str(clips) if a == "CLIPS" else a for a in argv]
    assert cli.main(["run", API, "--out", str(tmp_path / "out"), "--no-progress", *argv]) == 2
    assert expect in capsys.readouterr().err

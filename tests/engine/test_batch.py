"""python -m unflicker batch: many clips, one row each, outputs mirrored; a re-run does only what is left."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO
from unflicker import cli
from unflicker.cli.batch import InlineExecutor, LocalExecutor, ResultTable, find_clips, make_jobs, resume, run_batch
from unflicker.cli.batch.commands import COMMANDS
from unflicker.cli.batch.command import option_names
from unflicker.media import synthetic, video

# what differs between two runs of the same work
_TIMING = ("seconds", "finished", "peak_rss_mib")


def _clip(path, frames=10, seed=0):
    video.write_video(str(path), synthetic.moving_clip("pan", frames=frames, height=48, width=64, seed=seed), fps=8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A folder as users have them: good clips, a damaged file, a one-frame clip, a sub-folder with a clip and a
    folder of frames, and a picture that is not a clip."""
    from PIL import Image

    root = tmp_path_factory.mktemp("batch") / "clips"
    (root / "sub" / "frames").mkdir(parents=True)
    _clip(root / "a.mp4", seed=1)
    _clip(root / "one.mp4", frames=1, seed=2)
    (root / "broken.mp4").write_bytes(b"not a video " * 40)
    _clip(root / "sub" / "b.mp4", seed=3)
    for i, frame in enumerate(synthetic.moving_clip("pan", frames=8, height=48, width=64, seed=4)):
        Image.fromarray(frame).save(root / "sub" / "frames" / f"{i:03d}.png")
    Image.fromarray(frame).save(root / "cover.png")  # beside videos: a picture, not a clip
    return root


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """Clips enough for a batch to be stopped half-way."""
    root = tmp_path_factory.mktemp("many")
    for i in range(14):
        _clip(root / f"c{i:02d}.mp4", frames=12, seed=i)
    return root


def _batch(*argv) -> int:
    return cli.main(["batch", *map(str, argv)])


def _rows(out, command):
    """The table's rows by input (the clips'; not a stopped run's)."""
    return {r["input"]: r for r in ResultTable(os.path.join(out, f"batch-{command}.jsonl")).read() if r["input"]}


def _by_name(rows):
    return {os.path.basename(path): row for path, row in rows.items()}


def _hidden_files(folder):
    return [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files if f.startswith(".")]


def test_a_folder_gives_one_row_per_clip_with_errors_and_mirrored_outputs(dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert _batch("analyze", dataset, "--out", out, "--workers", "2") == 1  # some clips failed
    assert "5 clips: 3 done, 2 failed" in capsys.readouterr().out
    rows = _by_name(_rows(out, "analyze"))
    assert set(rows) == {"a.mp4", "one.mp4", "broken.mp4", "b.mp4", "frames"}
    assert rows["one.mp4"]["status"] == "failed" and "at least two" in rows["one.mp4"]["error"]
    assert rows["broken.mp4"]["status"] == "failed" and "damaged" in rows["broken.mp4"]["error"]
    frames = rows["frames"]
    assert frames["status"] == "ok" and frames["frames"] == 8 and frames["kinds"] == ["steady"]
    assert frames["output"] == str(out / "sub" / "frames.json")
    assert {"verdict", "warp_error", "luma_hf_pct", "blockiness", "texture_ratio"} <= set(frames)
    report = json.loads((out / "sub" / "frames.json").read_text())
    assert report["measures"]["warp_error"] == frames["warp_error"]
    written = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
    assert written == ["a.json", "batch-analyze.jsonl", "batch-analyze.parquet", "sub/b.json", "sub/frames.json"]

    import pyarrow.parquet as pq

    table = pq.read_table(out / "batch-analyze.parquet").to_pylist()
    assert sorted(r["input"] for r in table) == sorted(_rows(out, "analyze"))


def test_fix_mirrors_videos_and_measures_before_and_after(dataset, tmp_path, capsys):
    out = tmp_path / "fixed"
    assert _batch("fix", dataset, "--out", out, "--preset", "veryfast", "--workers", "2") == 1
    rows = _by_name(_rows(out, "fix"))
    assert [name for name, r in rows.items() if r["status"] == "failed"] == ["broken.mp4"]
    assert rows["one.mp4"]["status"] == "ok" and "not measured" in rows["one.mp4"]["notes"]  # fixed, not measured
    b = rows["b.mp4"]
    assert b["frames"] == 10 and b["before_kinds"] == ["steady"] and b["after_warp_error"] is not None
    assert video.probe(str(out / "sub" / "frames.mp4")).frame_count == 8  # a folder of frames -> a video
    for name in ("a.mp4", "one.mp4", "sub/b.mp4", "sub/frames.mp4"):
        assert (out / name).is_file(), name
    assert not (out / "broken.mp4").exists() and not _hidden_files(out)


def test_manifests_list_paths_relative_to_themselves(dataset, tmp_path, capsys):
    listed = ["a.mp4", "sub/b.mp4", "sub/frames"]
    with open(dataset / "list.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "path"])
        writer.writerows([i, p] for i, p in enumerate(listed))
    (dataset / "list.jsonl").write_text("".join(json.dumps({"path": p}) + "\n" for p in listed))
    clips = find_clips([str(dataset / "list.csv")])
    assert [(c.path, c.relative) for c in clips] == [(str(dataset / p), p) for p in listed]
    assert find_clips([str(dataset / "list.jsonl")]) == clips

    out = tmp_path / "out"
    assert _batch("analyze", dataset / "list.jsonl", "--out", out) == 0
    assert sorted(_by_name(_rows(out, "analyze"))) == ["a.mp4", "b.mp4", "frames"]
    assert (out / "sub" / "frames.json").is_file()


def test_globs_and_outputs_inside_the_input_folder(dataset, tmp_path):
    clips = find_clips([str(dataset / "**" / "*.mp4")])
    assert sorted(c.relative for c in clips) == ["a.mp4", "broken.mp4", "one.mp4", "sub/b.mp4"]
    # earlier outputs under --out inside the input folder are not inputs
    assert [c.relative for c in find_clips([str(dataset / "sub")], out_dir=str(dataset / "sub" / "frames"))] == \
        ["b.mp4"]


def test_identical_rerun_skips_and_changed_work_is_redone(dataset, tmp_path, capsys):
    out = tmp_path / "out"
    _batch("analyze", dataset, "--out", out, "--workers", "1")
    first = _rows(out, "analyze")
    assert _batch("analyze", dataset, "--out", out, "--workers", "1") == 1  # the two bad clips fail again
    assert "0 done, 2 failed, 3 done before" in capsys.readouterr().out
    again = _rows(out, "analyze")
    assert {p: r for p, r in again.items() if r["status"] == "ok"} == \
        {p: r for p, r in first.items() if r["status"] == "ok"}  # not run again: the very same rows
    assert len(ResultTable(str(out / "batch-analyze.jsonl")).read()) == 5  # one row per clip, never two

    os.remove(out / "a.json")  # an output gone is redone
    assert _batch("analyze", dataset / "a.mp4", dataset / "sub", "--out", out, "--workers", "1") == 0
    assert "1 done, 0 failed, 2 done before" in capsys.readouterr().out


def test_the_key_is_content_command_and_settings(dataset, tmp_path):
    clips = find_clips([str(dataset / "a.mp4")])
    options = {n: v for n, v in vars(cli.build_parser().parse_args(["fix", "i", "o"])).items()
               if n in option_names(COMMANDS["fix"].add_options)}
    (job,) = make_jobs("fix", clips, str(tmp_path), options)
    assert make_jobs("fix", clips, str(tmp_path), options)[0].key == job.key
    assert make_jobs("fix", clips, str(tmp_path), {**options, "strength": 0.5})[0].key != job.key
    assert make_jobs("ffmpeg-fix", clips, str(tmp_path), options)[0].key != job.key
    copy = tmp_path / "copy" / "a.mp4"
    copy.parent.mkdir()
    copy.write_bytes((dataset / "a.mp4").read_bytes())
    assert make_jobs("fix", find_clips([str(copy)]), str(tmp_path), options)[0].key == job.key  # content, not path


def test_two_workers_give_the_same_rows_as_one(dataset, tmp_path, capsys):
    def rows(workers):
        out = tmp_path / f"w{workers}"
        _batch("fix", dataset, "--out", out, "--workers", workers, "--preset", "veryfast")
        return {p: {k: v for k, v in r.items() if k not in _TIMING + ("output",)} for p, r in _rows(out, "fix").items()}

    assert rows(2) == rows(1)


def test_inline_executor_runs_the_same_jobs(dataset, tmp_path):
    out = tmp_path / "inline"
    jobs = make_jobs("analyze", find_clips([str(dataset / "sub")]), str(out), {})
    table = ResultTable(str(out / "t.jsonl"))
    summary = run_batch("analyze", jobs, resume(jobs, []), InlineExecutor(), table)
    assert (summary.ok, summary.failed, summary.exit_status) == (2, 0, 0)
    assert "t.parquet" in summary.table and len(table.read()) == 2


def test_a_worker_that_dies_fails_its_clip_and_the_batch_goes_on(many, tmp_path):
    import multiprocessing

    jobs = make_jobs("analyze", find_clips([str(many)]), str(tmp_path), {})
    rows = LocalExecutor(2, 1).run(jobs)
    got = [next(rows)]
    (victim, *_) = multiprocessing.active_children()
    os.kill(victim.pid, signal.SIGKILL)  # as the system does to a process out of memory
    got += list(rows)
    assert sorted(r["input"] for r in got) == sorted(j.input for j in jobs)  # one row each, none lost
    (lost,) = [r for r in got if r["status"] != "ok"]
    assert "worker process died" in lost["error"] and "out of memory?" in lost["error"]


def _run_and_stop(many, out, sig):
    """Start a batch, stop it with ``sig`` once the first rows are in, return its exit status."""
    table = out / "batch-fix.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "unflicker", "batch", "fix", str(many), "--out", str(out),
                             "--workers", "2", "--preset", "veryfast"], env=dict(os.environ, PYTHONPATH=REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (table.exists() and table.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert "Traceback" not in stderr, stderr
    return proc.returncode, stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "terminated", "killed"])
def test_a_stopped_batch_resumes_where_it_stopped(many, tmp_path, capsys, sig):
    out = tmp_path / "out"
    status, stdout = _run_and_stop(many, out, sig)
    rows = ResultTable(str(out / "batch-fix.jsonl")).read()
    done = {r["input"]: r for r in rows if r["status"] == "ok"}
    assert 2 <= len(done) < 14, "the batch was not stopped half-way"
    if sig != signal.SIGKILL:  # a clean stop
        assert status == 130 and "interrupted" in stdout
        assert rows[-1]["status"] == "stopped" and "not run" in rows[-1]["error"]
        assert sum(r["status"] == "skipped" for r in rows) == 14 - len(done)
        assert not _hidden_files(out)  # the clips in hand were abandoned cleanly
    else:
        time.sleep(0.5)  # the orphaned workers notice and stop (clearing their partial files)
    made = {p: os.stat(r["output"]).st_mtime_ns for p, r in done.items()}

    assert _batch("fix", many, "--out", out, "--workers", "2", "--preset", "veryfast") == 0
    assert f"{14 - len(done)} done, 0 failed, {len(done)} done before" in capsys.readouterr().out
    final = ResultTable(str(out / "batch-fix.jsonl")).read()
    assert sorted(r["input"] for r in final) == sorted(str(p) for p in many.iterdir())  # once each, none stopped
    assert all(r["status"] == "ok" for r in final)
    assert {p: os.stat(r["output"]).st_mtime_ns for p, r in done.items()} == made  # not written again
    assert {r["input"]: r for r in final if r["input"] in done} == done  # their rows kept as they were
    assert sorted(os.listdir(out)) == sorted(os.listdir(many) + ["batch-fix.jsonl", "batch-fix.parquet"])


def test_batch_options_are_the_single_file_commands_own():
    parser = cli.build_parser()
    for name, command in COMMANDS.items():
        single = vars(parser.parse_args([name, "in", "out"] if name != "analyze" else [name, "in"]))
        batch = vars(parser.parse_args(["batch", name, "in", "--out", "o"]))
        for option in option_names(command.add_options):
            assert batch[option] == single[option], (name, option)
    assert vars(parser.parse_args(["batch", "interpolate", "i", "--out", "o", "--threads", "3"]))["threads"] == 3

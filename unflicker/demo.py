"""The demo: a sample clip with known flicker, fixed, compared and reported, with nothing to download."""

from __future__ import annotations

import os

import numpy as np

from .media import synthetic, video
from .measure.metrics import mean_luma, psnr
from .analysis import side_by_side
from .fix import deflicker, ffmpeg_fix
from .operation import Source
from .settings import DeflickerSettings, FFmpegFixSettings, SideBySideSettings

DEMO_FPS = 12.0


def mean_abs_diff(frames) -> float:
    """The classic measure: mean absolute difference of consecutive frames (0-255)."""
    diffs = [np.abs(frames[i].astype(np.int16) - frames[i - 1].astype(np.int16)).mean() for i in range(1, len(frames))]
    return float(np.mean(diffs)) if diffs else 0.0


def _analysis_lines(before: np.ndarray, fixes: dict[str, np.ndarray], fps: float, out_dir: str) -> list[str]:
    """Analyse the sample and each fix, write their JSON and charts, and return the comparison text."""
    from . import analysis

    reports = {}
    for name, clip in (("before", before), *fixes.items()):
        rep = analysis.analyze_frames(clip, fps)
        with open(os.path.join(out_dir, f"analysis_{name}.json"), "w") as f:
            f.write(rep.to_json() + "\n")
        analysis.save_chart(rep, os.path.join(out_dir, f"analysis_{name}.png"))
        reports[name] = rep
    lines = ["Flicker analysis of the sample (before):", reports["before"].text()]
    for name in fixes:
        cmp = analysis.compare_reports(reports["before"], reports[name])
        lines += ["", f"Before / after the {name} fix:", cmp.text]
    names = ", ".join(f"analysis_{n}.json" for n in fixes)
    lines.append(f"(JSON and charts: {os.path.join(out_dir, 'analysis_before.json')}, {names}, analysis_*.png)")
    return lines


def run_demo(out_dir: str = "unflicker-demo", frames: int = 48, height: int = 256, width: int = 320) -> str:
    os.makedirs(out_dir, exist_ok=True)
    clean = synthetic.moving_clip("pan", frames, height, width, seed=7, speed=1.5)
    flickering, _ = synthetic.brightness_flicker(clean, amplitude=0.12, seed=7)
    sample_path = os.path.join(out_dir, "sample_flickering.mp4")
    video.write_video(sample_path, flickering, DEMO_FPS, crf=16)

    sample, info = video.read_video(sample_path)
    source = Source(info.width, info.height, len(sample), info.fps, sample_path)
    fixed = np.stack(list(ffmpeg_fix.run(sample, ffmpeg_fix.plan(source, FFmpegFixSettings()))))
    fixed_path = video.write_video(os.path.join(out_dir, "fixed_ffmpeg.mp4"), fixed, info.fps, crf=16)
    comparison = side_by_side.plan(source, source, SideBySideSettings(slow_motion=4, label_a="flickering",
                                                                      label_b="ffmpeg deflicker+deband"))
    compare_path = video.write_video(os.path.join(out_dir, "side_by_side.mp4"),
                                     side_by_side.run(sample, fixed, comparison), comparison.rate, crf=18)

    flow_fixed = np.stack(list(deflicker.run(iter(sample), deflicker.plan(source, DeflickerSettings()))))
    flow_path = video.write_video(os.path.join(out_dir, "fixed_flow.mp4"), flow_fixed, info.fps, crf=16)

    luma_before, luma_after = mean_luma(sample).std(), mean_luma(fixed).std()
    luma_flow = mean_luma(flow_fixed).std()
    lines = [
        "ComfyUI-Unflicker demo",
        f"sample: {sample_path} ({len(sample)} frames, {info.width}x{info.height}, {info.fps:g} fps, brightness pumping ±12 %)",
        f"fixed:  {fixed_path} (FFmpeg deflicker size 5 am + deband 0.02)",
        f"side by side (1/4 speed): {compare_path}",
        "",
        f"std of per-frame mean luma: {luma_before:.2f} -> {luma_after:.2f} ({100 * (1 - luma_after / luma_before):.0f} % lower)",
        f"mean abs diff of consecutive frames (classic measure): {mean_abs_diff(sample):.2f} -> {mean_abs_diff(fixed):.2f}",
        "",
        f"flow-guided deflicker (ours, mode auto): {flow_path}",
        "                      clean  flickering  ffmpeg   ours",
        f"std of mean luma     {mean_luma(clean).std():6.2f}  {luma_before:10.2f}  {luma_after:6.2f}  {luma_flow:5.2f}",
        f"mean abs diff        {mean_abs_diff(clean):6.2f}  {mean_abs_diff(sample):10.2f}  {mean_abs_diff(fixed):6.2f}  {mean_abs_diff(flow_fixed):5.2f}",
        f"PSNR vs clean (dB)   {'':6}  {psnr(sample, clean):10.2f}  {psnr(fixed, clean):6.2f}  {psnr(flow_fixed, clean):5.2f}",
    ]
    lines += ["", *_analysis_lines(sample, {"ffmpeg": fixed, "flow": flow_fixed}, info.fps, out_dir)]
    report = "\n".join(lines)
    with open(os.path.join(out_dir, "report.txt"), "w") as f:
        f.write(report + "\n")
    return report

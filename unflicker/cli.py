"""Command line: ``python -m unflicker COMMAND ...``. Every command streams its input and shows a progress bar."""

from __future__ import annotations

import argparse
import os
import sys

from .errors import UnflickerError


def _setting(p, flag: str, cls, name: str, help: str | None = None, **kw) -> None:
    """An option whose default, range and help come from a settings field (unflicker.settings), written once."""
    spec = cls.spec(name)
    default = kw.pop("default", spec["default"])
    text = help if help is not None else spec["help"].rstrip(".")
    # argparse lists choices itself; a range is shown unless it is only a technical limit (the seed's)
    limits = f"{spec['low']}..{spec['high']}" if spec["low"] is not None and spec["high"] < 10**6 else ""
    text = "; ".join(t for t in (text, limits) if t)
    if default is not None:
        text = f"{text} (default {default})" if text else f"default {default}"
    if spec["choices"] is None:
        kw.update(type=type(spec["default"]), metavar=flag.lstrip("-").upper().replace("-", "_"))
    p.add_argument(flag, default=default, choices=spec["choices"], dest=name, help=text, **kw)


def _progress(desc: str, total: int):
    from .progress import tqdm_progress

    return tqdm_progress(desc, total)


def _add_format(p, crf: int | None = None) -> None:
    from .media.formats import DEFAULT_FOR_EXT

    p.add_argument("--format", default=None, metavar="NAME",
                   help="output format (default by the output's extension: " +
                        ", ".join(f".{e} {f}" for e, f in DEFAULT_FOR_EXT.items()) +
                        "); also h264-10bit, h264-lossless, h265, h265-10bit, prores-4444, vp9-10bit")


def _say(line: str) -> None:
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)  # above any progress bar, not into it


# ---------------------------------------------------------------- ffmpeg-fix
def _add_ffmpeg_fix(sub) -> None:
    p = sub.add_parser("ffmpeg-fix", help="FFmpeg deflicker + deband on a file, re-encoded (seed: crf 16, preset slow)")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    from .fix.ffmpeg_fix import FFmpegFixSettings as S  # numpy only: cheap to import

    _setting(p, "--size", S, "size", "deflicker window in frames")
    p.add_argument("--mode", default=S.default("mode"), help=f"deflicker averaging: {' '.join(S.spec('mode')['choices'])} (default {S.default('mode')})")
    p.add_argument("--no-deflicker", action="store_true", help="skip the deflicker stage")
    p.add_argument("--no-deband", action="store_true", help="skip the deband stage")
    _setting(p, "--deband-thr", S, "threshold", "deband 1thr/2thr/3thr")
    _setting(p, "--deband-range", S, "deband_range", "deband radius in pixels")
    p.add_argument("--blur", action="store_true", help="deband blur (default off)")
    p.add_argument("--crf", type=int, default=16)
    p.add_argument("--preset", default="slow")
    _add_format(p)
    p.set_defaults(func=_run_ffmpeg_fix)


def _run_ffmpeg_fix(args) -> int:
    from .fix.ffmpeg_fix import FFmpegFixSettings, fix_frames

    settings = FFmpegFixSettings(deflicker=not args.no_deflicker, size=args.size, mode=args.mode,
                                 deband=not args.no_deband, threshold=args.threshold,
                                 deband_range=args.deband_range, blur=args.blur).validated()
    return _fix_file(args, "ffmpeg-fix", lambda frames, info, progress: fix_frames(
        frames, info.width, info.height, info.fps, settings, progress, info.frame_count))


def _fix_file(args, desc: str, fix) -> int:
    """Stream ``args.input`` through ``fix(frames, info, progress)`` into ``args.output`` (``--crf``, ``--preset``)."""
    from .media import video

    info, frames = video.iter_frames(args.input)
    return _encode(desc, info.frame_count, args.output, lambda progress: fix(frames, info, progress), info.exact_rate,
                   fmt=args.format, source=args.input, crf=args.crf, preset=args.preset)


def _encode(desc: str, total: int, output: str, make_frames, fps, fmt: str | None = None, source: str | None = None,
            tempo: float = 1.0, **options) -> int:
    """Write ``make_frames(progress)`` to ``output`` in ``fmt`` (None: by its extension) with a progress bar;
    ``options`` go to video.write_video. A video-to-video command names its ``source``: the output keeps its
    sound (played at ``tempo``), colour tags and container tags."""
    from .media import video

    carry = video.carry_from(source, tempo=tempo) if source else video.Carry()
    progress, close = _progress(desc, total)
    try:
        video.write_video(output, make_frames(progress), fps, fmt, warn=_say, **carry.kwargs(), **options)
    finally:
        close()
    print(f"wrote {output}")
    return 0


# ---------------------------------------------------------------- fix
def _add_fix(sub) -> None:
    from .fix.ffmpeg_fix import FFmpegFixSettings as F
    from .settings import DeflickerSettings as S

    p = sub.add_parser("fix", help="remove flicker from a file: flow-guided deflicker (ours) or FFmpeg deflicker+deband")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    p.add_argument("--method", choices=("auto", "flow", "ffmpeg"), default="auto",
                   help="auto (default): the recommended fix, today the flow-guided one; flow: the flow-guided fix; "
                        f"ffmpeg: FFmpeg deflicker (size {F.default('size')}, {F.default('mode')}) + deband "
                        f"{F.default('threshold')}")
    _setting(p, "--mode", S, "mode", "what the flow-guided fix removes (methods auto and flow)")
    _setting(p, "--strength", S, "strength", "1 removes the measured flicker fully, 0 returns the input")
    _setting(p, "--window", S, "window", "changes slower than this many frames (at least 2 s) count as real")
    p.add_argument("--crf", type=int, default=16)
    p.add_argument("--preset", default="slow")
    _add_format(p)
    p.set_defaults(func=_run_fix)


def _run_fix(args) -> int:
    from .media import video
    from .fix.deflicker import check_settings, deflicker_frames
    from .fix.ffmpeg_fix import FFmpegFixSettings, fix_frames

    if args.method == "ffmpeg" and args.mode != "auto":
        raise UnflickerError(f"--mode {args.mode} applies to the flow-guided fix: use --method flow or auto")
    check_settings(args.mode, args.strength, args.window)

    def fix(frames, info, progress):
        if args.method == "ffmpeg":
            return fix_frames(frames, info.width, info.height, info.fps, FFmpegFixSettings().validated(), progress,
                              info.frame_count)
        frames.close()  # the flow-guided fix reads the file twice: once to measure the shot, once to correct it
        return deflicker_frames(lambda: video.iter_frames(args.input)[1], info.fps, args.mode, args.strength,
                                args.window, progress, info.frame_count)

    return _fix_file(args, f"fix ({args.method})", fix)


# ---------------------------------------------------------------- compare
def _add_compare(sub) -> None:
    p = sub.add_parser("compare", help="side-by-side video of two clips, optionally slowed down")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("output")
    from .settings import SideBySideSettings as S

    _setting(p, "--slow", S, "slow_motion", "slow-motion factor (4: quarter speed)", default=4.0)
    p.add_argument("--labels", nargs=2, default=("before", "after"), metavar=("A", "B"))
    p.add_argument("--crf", type=int, default=18)
    _add_format(p)
    p.set_defaults(func=_run_compare)


def _run_compare(args) -> int:
    from .media import video
    from .analysis.side_by_side import side_by_side, slowed_fps

    info_a, frames_a = video.iter_frames(args.a)
    info_b, frames_b = video.iter_frames(args.b)
    total = max(info_a.frame_count, info_b.frame_count)
    # the first clip's sound, slowed with the pictures so it stays in sync
    return _encode("compare", total, args.output,
                   lambda progress: side_by_side(frames_a, frames_b, *args.labels, progress=progress, total=total),
                   slowed_fps(info_a.exact_rate, args.slow_motion), crf=args.crf, fmt=args.format, source=args.a,
                   tempo=1 / args.slow_motion)


# ---------------------------------------------------------------- analyze
def _add_analyze(sub) -> None:
    p = sub.add_parser("analyze", help="diagnose flicker: kind, severity, frames most affected, recommended fix")
    p.add_argument("input", help="video file, animated GIF/WebP or folder of frames")
    p.add_argument("--json", metavar="F", help="write the full report as JSON to F")
    p.add_argument("--plot", metavar="F.png", help="write the per-frame chart to F.png")
    p.set_defaults(func=_run_analyze)


def _run_analyze(args) -> int:
    from .analysis import analyze_file, save_chart

    progress, close = _progress("analyze", 0)
    try:
        rep = analyze_file(args.input, progress)
    finally:
        close()
    print(rep.text())
    if args.json:
        with open(args.json, "w") as f:
            f.write(rep.to_json() + "\n")
        print(f"wrote {args.json}")
    if args.plot:
        print(f"wrote {save_chart(rep, args.plot)}")
    return 0


# ---------------------------------------------------------------- demo
def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="make a flickering sample clip, fix it, write results to ./unflicker-demo/")
    p.add_argument("--out", default="unflicker-demo", help="output folder (default ./unflicker-demo)")
    p.add_argument("--frames", type=int, default=48)
    p.set_defaults(func=_run_demo)


def _run_demo(args) -> int:
    from .demo import run_demo

    report = run_demo(args.out, frames=args.frames)
    print(report)
    return 0


# ---------------------------------------------------------------- pose
def _add_pose(sub) -> None:
    p = sub.add_parser("pose", help="OpenPose skeleton video + keypoint JSON of a clip, with keypoint smoothing")
    p.add_argument("input")
    p.add_argument("out_dir", help="folder for pose_00000.png... (skeletons, lossless: exact ControlNet colours) "
                                   "and keypoints.json (OpenPose JSON per frame)")
    p.add_argument("--body", default=os.path.join("models", "openpose", "body_pose_model.pth"),
                   help="body weights (default models/openpose/body_pose_model.pth)")
    p.add_argument("--hands", metavar="HAND_WEIGHTS", help="also find hands with this hand_pose_model.pth")
    p.add_argument("--face", metavar="FACE_WEIGHTS", help="also find face landmarks with this facenet.pth")
    from .settings import PoseSettings as S

    _setting(p, "--resolution", S, "detect_resolution", "detection resolution, short side")
    _setting(p, "--strength", S, "smoothing_strength", "smoothing strength")
    _setting(p, "--hold", S, "hold_missing", "frames a vanished keypoint is kept")
    p.add_argument("--no-smooth", action="store_true", help="raw per-frame keypoints")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.set_defaults(func=_run_pose)


def _run_pose(args) -> int:
    import json

    import cv2

    from .media import video
    from .generate.pose import extract_poses, load_body_model, load_face_model, load_hand_model, smoothing_params
    from .settings import PoseSettings

    PoseSettings(detect_resolution=args.detect_resolution, smoothing_strength=args.smoothing_strength,
                 hold_missing=args.hold_missing).validated()
    model = load_body_model(args.body, args.device)
    hand_model = load_hand_model(args.hands, args.device) if args.hands else None
    face_model = load_face_model(args.face, args.device) if args.face else None
    smoothing = None if args.no_smooth else dict(smoothing_params(args.smoothing_strength), hold=args.hold_missing)
    info, frames = video.iter_frames(args.input)
    os.makedirs(args.out_dir, exist_ok=True)
    keypoints = []
    progress, close = _progress("pose", info.frame_count)
    try:
        for i, pose in enumerate(extract_poses(model, frames, args.detect_resolution, smoothing, progress=progress,
                                               total=info.frame_count, hand_model=hand_model,
                                               face_model=face_model)):
            cv2.imwrite(os.path.join(args.out_dir, f"pose_{i:05d}.png"), pose.skeleton[:, :, ::-1])
            keypoints.append(pose.keypoints)
    finally:
        close()
    path = os.path.join(args.out_dir, "keypoints.json")
    with open(path, "w") as f:
        json.dump(keypoints, f)  # a list of per-frame dicts, like ComfyUI's POSE_KEYPOINT
    print(f"wrote {len(keypoints)} skeleton frames and {path} to {args.out_dir}")
    return 0


# ---------------------------------------------------------------- svd
def _add_svd(sub) -> None:
    p = sub.add_parser("svd", help="Stable Video Diffusion: one image -> video, offline (diffusers folder or svd*.safetensors)")
    p.add_argument("model", help="diffusers-format SVD folder or single-file checkpoint (svd.safetensors, svd_xt...)")
    p.add_argument("image", help="first frame (any image Pillow reads)")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    p.add_argument("--config", default="auto", help="configs for a single file: auto (by name), svd, svd_xt")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, else cpu), cpu, cuda, cuda:1, ...")
    p.add_argument("--dtype", default="auto", help="auto (fp16 on a GPU, fp32 on CPU), fp16, bf16, fp32")
    p.add_argument("--cpu-offload", action="store_true", help="keep only the running model on the GPU")
    p.add_argument("--forward-chunking", action="store_true", help="UNet feed-forward in slices (less VRAM)")
    from .settings import SVDExtendSettings as E, SVDSettings as S

    _setting(p, "--width", S, "width", "")
    _setting(p, "--height", S, "height", "")
    _setting(p, "--frames", S, "num_frames", "frames per segment (default: the model's, 14 or 25)", default=None)
    _setting(p, "--steps", S, "steps", "")
    _setting(p, "--min-guidance", S, "min_guidance", "guidance on the first frame")
    _setting(p, "--max-guidance", S, "max_guidance", "guidance on the last frame")
    _setting(p, "--motion", S, "motion_bucket_id", "motion_bucket_id, more = more motion")
    _setting(p, "--fps", S, "fps", "frame rate the model is conditioned on")
    _setting(p, "--noise-aug", S, "noise_aug_strength", "noise_aug_strength (above 0.05 flickers)")
    p.add_argument("--no-guard", action="store_true", help="do not clamp --noise-aug to 0.05 (still warns)")
    _setting(p, "--decode-chunk", S, "decode_chunk_size", "frames decoded at a time")
    _setting(p, "--seed", S, "seed", "")
    _setting(p, "--segments", E, "segments", "chain this many segments into a longer video", default=1)
    _setting(p, "--drift", E, "drift_correction", "colour/brightness drift correction for --segments")
    p.add_argument("--crf", type=int, default=16)
    _add_format(p)
    p.set_defaults(func=_run_svd)


def _run_svd(args) -> int:
    import numpy as np
    import torch
    from PIL import Image

    from .generate import svd
    from .media import video

    if args.device == "auto":
        mps = getattr(torch.backends, "mps", None)
        device = "cuda" if torch.cuda.is_available() else "mps" if mps and mps.is_available() else "cpu"
    else:
        device = args.device
    try:
        first = np.asarray(Image.open(args.image).convert("RGB"))
    except OSError as exc:
        raise UnflickerError(f"image: cannot read {args.image}: {exc}") from None
    model = svd.load_pipeline(args.model, device, args.dtype, args.cpu_offload, args.forward_chunking, args.config,
                              cache=False)
    progress, close = _progress("svd", args.segments * args.steps)
    try:
        chain = svd.SVDExtendSettings(segments=args.segments, drift_correction=args.drift_correction)
        result = svd.extend(model, first, chain=chain, stability_guard=not args.no_guard, progress=progress,
                            width=args.width, height=args.height, num_frames=args.num_frames, steps=args.steps,
                            min_guidance=args.min_guidance, max_guidance=args.max_guidance,
                            motion_bucket_id=args.motion_bucket_id, fps=args.fps,
                            noise_aug_strength=args.noise_aug_strength, decode_chunk_size=args.decode_chunk_size,
                            seed=args.seed)
    finally:
        close()
    for message in model.messages + result.messages:
        print(message, file=sys.stderr)
    _encode("svd", len(result.frames), args.output, lambda progress: (video.to_uint8(f) for f in result.frames),
            result.fps, fmt=args.format, crf=args.crf)
    print(f"{len(result.frames)} frames at {result.fps:g} fps")
    return 0


# ---------------------------------------------------------------- generate
def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="CogVideoX / Wan text- or image-to-video, offline (diffusers folder or Wan split files)")
    p.add_argument("model", help="a CogVideoX or Wan diffusers folder, or a Wan transformer file (ComfyUI's "
                   "models/diffusion_models layout; then give --vae and --text-encoder)")
    p.add_argument("output", help="output file: .mp4, .webp or .gif")
    p.add_argument("--prompt", required=True, help="what the video shows")
    p.add_argument("--negative", default="", help="negative prompt")
    p.add_argument("--image", default=None, help="first frame for an image-to-video model (any image Pillow reads)")
    p.add_argument("--vae", default="", help="Wan split files: the VAE file (wan_2.1_vae.safetensors)")
    p.add_argument("--text-encoder", default="", help="Wan split files: the UMT5 file (umt5_xxl_fp16.safetensors)")
    p.add_argument("--transformer-2", default="", help="Wan 2.2 A14B split files: the low-noise expert")
    p.add_argument("--clip-vision", default="", help="Wan 2.1 I2V split files: clip_vision_h.safetensors")
    p.add_argument("--tokenizer", default="", help="UMT5 tokenizer folder, for a text-encoder file without one")
    p.add_argument("--config-dir", default="", help="component configs for a model the shipped ones do not describe")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, else cpu), cpu, cuda, cuda:1, ...")
    p.add_argument("--dtype", default="auto", help="auto (bf16 on a GPU, fp32 on CPU), bf16, fp16, fp32")
    p.add_argument("--offload", default="none", choices=OFFLOAD_CHOICES, help="model: one component on the GPU at a "
                   "time; sequential: layer by layer (least VRAM, slow)")
    p.add_argument("--vae-tiling", action="store_true", help="decode in tiles (lower VRAM peak)")
    p.add_argument("--vae-slicing", action="store_true", help="decode one video of a batch at a time")
    p.add_argument("--frames", type=int, default=None, help="default: the model's native length (49 CogVideoX, 81 Wan)")
    p.add_argument("--width", type=int, default=None, help="default: the model's native width")
    p.add_argument("--height", type=int, default=None, help="default: the model's native height")
    p.add_argument("--steps", type=int, default=40, help="default 40; under 35 temporal coherence degrades")
    p.add_argument("--guidance", type=float, default=None, help="default 7.5 CogVideoX, 5.0 Wan")
    p.add_argument("--flow-shift", type=float, default=None, help="Wan: default 3.0 at 480p, 5.0 at 720p")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fps", type=int, default=None, help="default 8 CogVideoX, 16 Wan")
    p.add_argument("--crf", type=int, default=16)
    p.set_defaults(func=_run_generate)


OFFLOAD_CHOICES = ("none", "model", "sequential")


def _device(name: str) -> str:
    import torch

    if name != "auto":
        return name
    mps = getattr(torch.backends, "mps", None)
    return "cuda" if torch.cuda.is_available() else "mps" if mps and mps.is_available() else "cpu"


def _run_generate(args) -> int:
    import numpy as np
    from PIL import Image

    from .media import video
    from .generate import videogen

    first = None
    if args.image:
        try:
            first = np.asarray(Image.open(args.image).convert("RGB"))
        except OSError as exc:
            raise UnflickerError(f"image: cannot read {args.image}: {exc}") from None
    source = args.model
    if os.path.isfile(args.model):
        if not (args.vae and args.text_encoder):
            raise UnflickerError("model: a Wan transformer file needs --vae and --text-encoder too (or give a "
                                 "diffusers folder)")
        source = videogen.WanFiles(args.model, args.vae, args.text_encoder, args.transformer_2, args.tokenizer,
                                   args.config_dir, args.clip_vision)
    model = videogen.load_pipeline(source, _device(args.device), args.dtype, args.offload, args.vae_tiling,
                                   args.vae_slicing, cache=False)
    progress, close = _progress("generate", args.steps)
    try:
        result = videogen.generate(model, args.prompt, args.negative, first, args.frames, args.width, args.height,
                                   args.steps, args.guidance, args.flow_shift, args.seed, args.fps, progress=progress)
    finally:
        close()
    for message in result.messages:
        print(message, file=sys.stderr)
    video.write_video(args.output, (video.to_uint8(f) for f in result.frames), result.fps, crf=args.crf)
    print(f"wrote {args.output} ({len(result.frames)} frames at {result.fps:g} fps, {model.info.variant})")
    return 0


# ---------------------------------------------------------------- animatediff
def _add_animatediff(sub) -> None:
    p = sub.add_parser("animatediff", help="text-to-video with AnimateDiff from local SD 1.5 + motion module files")
    p.add_argument("checkpoint", help="SD 1.5 checkpoint file or diffusers folder")
    p.add_argument("motion_module", help="motion module file (mm_sd_v15_v2.ckpt, v3_sd15_mm.ckpt, ...) or folder")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    p.add_argument("--prompt", required=True, help="prompt, or a schedule with one 'frame: prompt' per line")
    p.add_argument("--negative", default="worst quality, low quality")
    from .settings import AnimateDiffSettings as S

    _setting(p, "--frames", S, "num_frames", "")
    _setting(p, "--width", S, "width", "")
    _setting(p, "--height", S, "height", "")
    _setting(p, "--steps", S, "steps", "")
    _setting(p, "--guidance", S, "guidance", "")
    _setting(p, "--seed", S, "seed", "")
    p.add_argument("--scheduler", default="DDIM", help="DDIM, Euler, 'Euler a', 'DPM++ 2M', 'DPM++ 2M Karras', LCM")
    p.add_argument("--beta-schedule", default="linear", help="linear (AnimateDiff) or scaled_linear (SD 1.5)")
    _setting(p, "--context-length", S, "context_length", "frames the motion module sees at once")
    _setting(p, "--overlap", S, "context_overlap", "frames shared by neighbouring context windows")
    p.add_argument("--lora", action="append", default=[], metavar="PATH[:STRENGTH]", help="motion LoRA; repeatable")
    p.add_argument("--controlnet", help="ControlNet file or folder (needs --control-video)")
    p.add_argument("--control-video", help="control frames (e.g. OpenPose skeletons): video, GIF/WebP or folder")
    _setting(p, "--controlnet-scale", S, "controlnet_scale", "how strongly the control frames steer")
    p.add_argument("--fps", type=float, default=8.0)
    p.add_argument("--cpu-offload", action="store_true")
    p.add_argument("--config-dir", default=None, help="diffusers configs for single files (default: SD 1.5, shipped)")
    _add_format(p)
    p.set_defaults(func=_run_animatediff)


def _run_animatediff(args) -> int:
    from .generate import animatediff
    from .media import video

    config_dir = args.config_dir or animatediff.SD15_CONFIG_DIR
    if bool(args.controlnet) != bool(args.control_video):
        raise UnflickerError("--controlnet and --control-video go together")
    model = animatediff.load_animatediff(args.checkpoint, args.motion_module, scheduler=args.scheduler,
                                         beta_schedule=args.beta_schedule, cpu_offload=args.cpu_offload,
                                         config_dir=config_dir)
    for spec in args.lora:
        path, strength = spec, 1.0
        if ":" in spec and not os.path.exists(spec):
            path, _, value = spec.rpartition(":")
            try:
                strength = float(value)
            except ValueError as exc:
                raise UnflickerError(f"--lora {spec}: the strength after ':' must be a number") from exc
        model = model.with_lora(path, strength)
    controlnet = control = None
    if args.controlnet:
        controlnet = animatediff.load_controlnet(args.controlnet, dtype=model.pipe.unet.dtype,
                                                 config_dir=os.path.join(config_dir, "controlnet"))
        control, _ = video.read_video(args.control_video)
    progress, close = _progress("animatediff", args.steps)
    try:
        settings = animatediff.AnimateDiffSettings(
            num_frames=args.num_frames, width=args.width, height=args.height, steps=args.steps,
            guidance=args.guidance, seed=args.seed, context_length=args.context_length,
            context_overlap=args.context_overlap, controlnet_scale=args.controlnet_scale)
        frames = animatediff.generate(model, animatediff.parse_prompt_schedule(args.prompt), args.negative, settings,
                                      controlnet=controlnet, control_frames=control, progress=progress)
    finally:
        close()
    _encode("animatediff", len(frames), args.output, lambda progress: (video.to_uint8(f) for f in frames), args.fps,
            fmt=args.format)
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------- run (ComfyUI HTTP API)
def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run a workflow (API or UI format) on a ComfyUI server and download its outputs")
    p.add_argument("workflow", help="workflow JSON: API format, or the editor's format (converted via /object_info)")
    p.add_argument("--server", default=os.environ.get("COMFYUI_URL", "http://127.0.0.1:8188"),
                   help="ComfyUI address (default $COMFYUI_URL or http://127.0.0.1:8188)")
    p.add_argument("--set", action="append", default=[], metavar="NODE.INPUT=VALUE",
                   help="override an input; NODE is a node id or title, VALUE is JSON or a string; a local file "
                        "given to an upload input (Load Video's video) is uploaded first. Repeatable.")
    p.add_argument("--out", default="unflicker-output", help="folder for the downloaded outputs")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the run (default 3600)")
    p.add_argument("--previews", action="store_true", help="also download temp previews")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_run)


def _run_run(args) -> int:
    from .comfy.client import run_workflow_file

    result = run_workflow_file(args.workflow, args.server, args.set, args.out, args.timeout,
                               progress=not args.no_progress, previews=args.previews)
    cached = f", {len(result.cached)} nodes cached" if result.cached else ""
    print(f"done in {result.seconds:.1f} s: {len(result.files)} file(s) in {args.out}{cached}")
    return 0


# ---------------------------------------------------------------- interpolate
def _add_interpolate(sub) -> None:
    p = sub.add_parser("interpolate", help="more frames per second: RIFE/FILM (torch), RIFE (ncnn) or the weight-free "
                                           "flow backend")
    p.add_argument("input")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif (fps = input fps x multiplier, "
                                   "or --target-fps)")
    from .settings import InterpolateSettings as S

    _setting(p, "--multiplier", S, "multiplier", "n frames become n + (n-1)(m-1)", type=int)
    _setting(p, "--target-fps", S, "target_fps", "output frame rate instead of a multiplier (8 -> 60, 23.976 -> "
             "59.94): frame k at exactly k / F s", type=float, default=None)
    p.add_argument("--loop", action="store_true", help="also interpolate the last -> first pair (looping clips)")
    p.add_argument("--model", default=None,
                   help="a weight file for --backend torch (RIFE v4.x / HD v3 .safetensors/.pth/.pkl, FILM "
                        "film_net_fp32.pt) or an ncnn RIFE model folder holding flownet.param + flownet.bin")
    _setting(p, "--backend", S, "backend", "auto: torch for a weight file, ncnn for a model folder (flow if it "
             "cannot run, says why), flow without --model")
    p.add_argument("--device", default="auto", help="torch device: auto (cuda, mps, else cpu), cpu, cuda, cuda:1 ...")
    p.add_argument("--fp16", action="store_true", help="torch: half precision (GPUs)")
    _setting(p, "--batch", S, "batch_size", "torch: frames per network call, halved on out-of-memory", type=int)
    _setting(p, "--max-side", S, "max_side", "torch: estimate flow at a smaller scale above this long side, e.g. "
             "1280 for FILM on HD; 0 = off", type=int)
    _setting(p, "--gpu-id", S, "gpu_id", "Vulkan device for ncnn; -1 = CPU", default=-1)
    _setting(p, "--threads", S, "threads", "ncnn threads", default=max(1, min(4, os.cpu_count() or 1)))
    p.add_argument("--uhd", action="store_true", help="RIFE UHD mode (for 4K input)")
    p.add_argument("--tta", action="store_true", help="RIFE test-time augmentation (slower)")
    _setting(p, "--scene-threshold", S, "scene_threshold",
             "cut score at which the earlier frame is held instead of blending; 1 = off")
    p.add_argument("--crf", type=int, default=19)
    _add_format(p)
    p.set_defaults(func=_run_interpolate)


def _torch_device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def _run_interpolate(args) -> int:
    from .media import video
    from .fix.interpolate import as_fraction, interpolate_frames, output_positions

    info, frames = video.iter_frames(args.input)
    dtype = None
    if args.fp16:
        import torch

        dtype = torch.float16
    run, out = interpolate_frames(frames, multiplier=args.multiplier, backend=args.backend, model=args.model,
                                  gpu_id=args.gpu_id, threads=args.threads, uhd=args.uhd, tta=args.tta,
                                  scene_threshold=args.scene_threshold, total=info.frame_count, fps=info.fps,
                                  target_fps=args.target_fps, loop=args.loop, device=_torch_device(args.device),
                                  dtype=dtype, batch=args.batch_size, max_side=args.max_side)
    print(f"backend: {run.backend}", file=sys.stderr)
    # same duration at the new rate: the source's sound stays in sync as it is
    rate = as_fraction(args.target_fps) if args.target_fps else info.exact_rate * args.multiplier
    total = len(output_positions(info.frame_count, args.multiplier, info.fps, args.target_fps, args.loop))

    def frames_out(progress):
        for done, (frame, _) in enumerate(out, 1):
            progress(done, total)
            yield frame

    _encode("interpolate", total, args.output, frames_out, rate, fmt=args.format, source=args.input, crf=args.crf)
    print(f"backend: {run.summary()}")
    print(f"wrote {args.output}: {run.frames_out} frames at {float(rate):g} fps ({rate.numerator}/{rate.denominator})")
    return 0


# ---------------------------------------------------------------- workflow (convert / check / regen)
def _add_workflow(sub) -> None:
    p = sub.add_parser("workflow", help="convert, check and regenerate ComfyUI workflows (offline or via a server)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    src = argparse.ArgumentParser(add_help=False)
    where = src.add_mutually_exclusive_group()
    where.add_argument("--object-info", help="a saved GET /object_info answer (JSON)")
    where.add_argument("--server", help="ask a running ComfyUI, e.g. http://127.0.0.1:8188")
    a = actions.add_parser("convert", parents=[src], help="UI-format workflow -> API format (stdout or -o)")
    a.add_argument("workflow")
    a.add_argument("-o", "--output")
    a.add_argument("--set", action="append", default=[], metavar="NODE.INPUT=VALUE")
    a.set_defaults(func=_run_workflow_convert)
    a = actions.add_parser("check", parents=[src], help="check workflows against the node definitions")
    a.add_argument("workflows", nargs="*", help="default: every bundled workflow and its API twin")
    a.set_defaults(func=_run_workflow_check)
    a = actions.add_parser("regen", parents=[src], help="rewrite workflows/api/* from workflows/*.json")
    a.add_argument("--recipes", action="store_true", help="first rewrite the UI files from workflow_recipes.py")
    a.set_defaults(func=_run_workflow_regen)


def _object_info_from(args) -> dict:
    """A saved /object_info, a running server's, or the offline one (core nodes + this pack's nodes)."""
    if args.object_info:
        import json

        with open(args.object_info, encoding="utf-8") as f:
            return json.load(f)
    if args.server:
        from .comfy.client import ComfyClient

        return ComfyClient(args.server).object_info()
    from .comfy.object_info import offline_object_info

    return offline_object_info()


def _run_workflow_convert(args) -> int:
    from .comfy.workflow import apply_overrides, dump, load_workflow, to_api
    from .comfy.recipes import write_text

    info = _object_info_from(args)
    api = to_api(load_workflow(args.workflow), info)
    apply_overrides(api, args.set, info)
    if args.output:
        write_text(args.output, dump(api))
    else:
        sys.stdout.write(dump(api))
    return 0


def _run_workflow_check(args) -> int:
    from .comfy.workflow import api_twin_path, bundled_workflows, check_workflow, load_workflow

    info = _object_info_from(args)
    paths = args.workflows or [p for ui in bundled_workflows() for p in (ui, api_twin_path(ui))]
    bad = 0
    for path in paths:
        problems = check_workflow(load_workflow(path), info, files_known=bool(args.server))
        print(f"{'ok ' if not problems else 'BAD'} {path}")
        for problem in problems:
            print(f"    {problem}")
        bad += bool(problems)
    return 1 if bad else 0


def _run_workflow_regen(args) -> int:
    from .comfy.recipes import regenerate

    for path in regenerate(_object_info_from(args), recipes=args.recipes):
        print(f"wrote {os.path.relpath(path)}")
    return 0


COMMANDS = (_add_analyze, _add_fix, _add_ffmpeg_fix, _add_interpolate, _add_compare, _add_demo, _add_run, _add_pose,
            _add_svd, _add_generate, _add_animatediff, _add_workflow)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m unflicker", description="Diagnose and fix flicker in AI video.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UnflickerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

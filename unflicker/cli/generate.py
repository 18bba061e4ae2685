"""pose, svd, generate (CogVideoX / Wan) and animatediff: offline generation from local model files."""

from __future__ import annotations

import os
import sys

from ..errors import UnflickerError
from ..runtime import torch_device
from .common import setting, progress_bar, add_format, encode


# ---------------------------------------------------------------- pose
def add_pose(sub) -> None:
    p = sub.add_parser("pose", help="OpenPose skeleton video + keypoint JSON of a clip, with keypoint smoothing")
    p.add_argument("input")
    p.add_argument("out_dir", help="folder for pose_00000.png... (skeletons, lossless: exact ControlNet colours) "
                                   "and keypoints.json (OpenPose JSON per frame)")
    p.add_argument("--body", default=os.path.join("models", "openpose", "body_pose_model.pth"),
                   help="body weights (default models/openpose/body_pose_model.pth)")
    p.add_argument("--hands", metavar="HAND_WEIGHTS", help="also find hands with this hand_pose_model.pth")
    p.add_argument("--face", metavar="FACE_WEIGHTS", help="also find face landmarks with this facenet.pth")
    from ..settings import PoseSettings as S

    setting(p, "--resolution", S, "detect_resolution", "detection resolution, short side")
    setting(p, "--strength", S, "smoothing_strength", "smoothing strength")
    setting(p, "--hold", S, "hold_missing", "frames a vanished keypoint is kept")
    p.add_argument("--no-smooth", action="store_true", help="raw per-frame keypoints")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.set_defaults(func=_run_pose)


def _run_pose(args) -> int:
    import json

    import cv2

    from ..generate import pose
    from ..media import video
    from ..operation import Source
    from ..settings import PoseSettings

    info, frames = video.iter_frames(args.input)
    settings = PoseSettings(detect_resolution=args.detect_resolution, smoothing=not args.no_smooth,
                            smoothing_strength=args.smoothing_strength, hold_missing=args.hold_missing)
    plan = pose.plan(Source(info.width, info.height, info.frame_count, name=args.input), settings)
    models = pose.PoseModels(pose.load_body_model(args.body, args.device),
                             pose.load_hand_model(args.hands, args.device) if args.hands else None,
                             pose.load_face_model(args.face, args.device) if args.face else None)
    os.makedirs(args.out_dir, exist_ok=True)
    keypoints = []
    progress, close = progress_bar("pose", plan.frame_count)
    try:
        for i, frame in enumerate(pose.run(frames, plan, models, progress)):
            cv2.imwrite(os.path.join(args.out_dir, f"pose_{i:05d}.png"), frame.skeleton[:, :, ::-1])
            keypoints.append(frame.keypoints)
    finally:
        close()
    path = os.path.join(args.out_dir, "keypoints.json")
    with open(path, "w") as f:
        json.dump(keypoints, f)  # a list of per-frame dicts, like ComfyUI's POSE_KEYPOINT
    print(f"wrote {len(keypoints)} skeleton frames and {path} to {args.out_dir}")
    return 0


def _read_image(path: str):
    """An image file as RGB uint8 (any format Pillow reads)."""
    import numpy as np
    from PIL import Image

    try:
        return np.asarray(Image.open(path).convert("RGB"))
    except OSError as exc:
        raise UnflickerError(f"image: cannot read {path}: {exc}") from None


# ---------------------------------------------------------------- svd
def add_svd(sub) -> None:
    p = sub.add_parser("svd", help="Stable Video Diffusion: one image -> video, offline (diffusers folder or svd*.safetensors)")
    p.add_argument("model", help="diffusers-format SVD folder or single-file checkpoint (svd.safetensors, svd_xt...)")
    p.add_argument("image", help="first frame (any image Pillow reads)")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    p.add_argument("--config", default="auto", help="configs for a single file: auto (by name), svd, svd_xt")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, else cpu), cpu, cuda, cuda:1, ...")
    p.add_argument("--dtype", default="auto", help="auto (fp16 on a GPU, fp32 on CPU), fp16, bf16, fp32")
    p.add_argument("--cpu-offload", action="store_true", help="keep only the running model on the GPU")
    p.add_argument("--forward-chunking", action="store_true", help="UNet feed-forward in slices (less VRAM)")
    from ..settings import SVDExtendSettings as E, SVDSettings as S

    setting(p, "--width", S, "width", "")
    setting(p, "--height", S, "height", "")
    setting(p, "--frames", S, "num_frames", "frames per segment (default: the model's, 14 or 25)", default=None)
    setting(p, "--steps", S, "steps", "")
    setting(p, "--min-guidance", S, "min_guidance", "guidance on the first frame")
    setting(p, "--max-guidance", S, "max_guidance", "guidance on the last frame")
    setting(p, "--motion", S, "motion_bucket_id", "motion_bucket_id, more = more motion")
    setting(p, "--fps", S, "fps", "frame rate the model is conditioned on")
    setting(p, "--noise-aug", S, "noise_aug_strength", "noise_aug_strength (above 0.05 flickers)")
    p.add_argument("--no-guard", action="store_true", help="do not clamp --noise-aug to 0.05 (still warns)")
    setting(p, "--decode-chunk", S, "decode_chunk_size", "frames decoded at a time")
    setting(p, "--seed", S, "seed", "")
    setting(p, "--segments", E, "segments", "chain this many segments into a longer video (the SVD Extend node's "
            "setting; 1 here, not its 2, because this one command also makes the plain single-segment video)",
            default=1)
    setting(p, "--drift", E, "drift_correction", "colour/brightness drift correction for --segments")
    p.add_argument("--crf", type=int, default=16)
    add_format(p)
    p.set_defaults(func=_run_svd)


def _run_svd(args) -> int:
    from ..generate import svd
    from ..media import video

    first = _read_image(args.image)
    model = svd.load_pipeline(args.model, torch_device(args.device), args.dtype, args.cpu_offload,
                              args.forward_chunking, args.config, cache=False)
    settings = svd.SVDSettings(width=args.width, height=args.height, num_frames=args.num_frames, steps=args.steps,
                               min_guidance=args.min_guidance, max_guidance=args.max_guidance,
                               motion_bucket_id=args.motion_bucket_id, fps=args.fps,
                               noise_aug_strength=args.noise_aug_strength, decode_chunk_size=args.decode_chunk_size,
                               seed=args.seed)
    chain = svd.SVDExtendSettings(segments=args.segments, drift_correction=args.drift_correction)
    plan = svd.plan(model, settings, chain, stability_guard=not args.no_guard)
    progress, close = progress_bar("svd", plan.progress_steps)
    try:
        frames = svd.run(model, first, plan, progress)
    finally:
        close()
    for message in model.messages + list(plan.messages):
        print(message, file=sys.stderr)
    encode("svd", plan.frame_count, args.output, lambda progress: (video.to_uint8(f) for f in frames), plan.fps,
           fmt=args.format, crf=args.crf)
    print(f"{plan.frame_count} frames at {plan.fps:g} fps")
    return 0


# ---------------------------------------------------------------- generate
def add_generate(sub) -> None:
    p = sub.add_parser("generate", help="CogVideoX / Wan text- or image-to-video, offline (diffusers folder or Wan split files)")
    p.add_argument("model", help="a CogVideoX or Wan diffusers folder, or a Wan transformer file (ComfyUI's "
                   "models/diffusion_models layout; then give --vae and --text-encoder)")
    p.add_argument("output", help="output file: .mp4, .webp or .gif")
    from ..settings import CogVideoXSettings as C, WanSettings as W
    from ..settings.generate import OFFLOAD_MODES, VIDEO_DTYPES

    p.add_argument("--prompt", required=True, help="what the video shows")
    p.add_argument("--negative", default=C.default("negative_prompt"), help="negative prompt")
    p.add_argument("--image", default=None, help="first frame for an image-to-video model (any image Pillow reads)")
    p.add_argument("--vae", default="", help="Wan split files: the VAE file (wan_2.1_vae.safetensors)")
    p.add_argument("--text-encoder", default="", help="Wan split files: the UMT5 file (umt5_xxl_fp16.safetensors)")
    p.add_argument("--transformer-2", default="", help="Wan 2.2 A14B split files: the low-noise expert")
    p.add_argument("--clip-vision", default="", help="Wan 2.1 I2V split files: clip_vision_h.safetensors")
    p.add_argument("--tokenizer", default="", help="UMT5 tokenizer folder, for a text-encoder file without one")
    p.add_argument("--config-dir", default="", help="component configs for a model the shipped ones do not describe")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, else cpu), cpu, cuda, cuda:1, ...")
    p.add_argument("--dtype", default="auto", help="auto (bf16 on a GPU, fp32 on CPU), " + ", ".join(VIDEO_DTYPES[1:]))
    p.add_argument("--offload", default="none", choices=OFFLOAD_MODES, help="model: one component on the GPU at a "
                   "time; sequential: layer by layer (least VRAM, slow)")
    p.add_argument("--vae-tiling", action="store_true", help="decode in tiles (lower VRAM peak)")
    p.add_argument("--vae-slicing", action="store_true", help="decode one video of a batch at a time")
    # The model's own length, size, guidance and rate by default: one command serves CogVideoX (1.0, 1.5) and Wan
    # (2.1, TI2V), whose native values differ; the nodes, one per family, show that family's.
    native = "default: the loaded model's native"
    setting(p, "--frames", C, "num_frames", f"{native} length (49 CogVideoX, 81 Wan)", default=None)
    setting(p, "--width", C, "width", f"{native} width", default=None)
    setting(p, "--height", C, "height", f"{native} height", default=None)
    setting(p, "--steps", C, "steps", "under 35 temporal coherence degrades")
    setting(p, "--guidance", C, "guidance", f"{native} (7.5 CogVideoX, 5.0 Wan)", default=None)
    setting(p, "--flow-shift", W, "flow_shift", "Wan: default 3.0 at 480p, 5.0 at 720p", default=None)
    setting(p, "--seed", C, "seed", "")
    setting(p, "--fps", C, "fps", f"{native} rate (8 CogVideoX, 16 Wan)", default=None)
    p.add_argument("--crf", type=int, default=16)
    p.set_defaults(func=_run_generate)


def _run_generate(args) -> int:
    from ..generate import videogen
    from ..media import video

    first = _read_image(args.image) if args.image else None
    source = args.model
    if os.path.isfile(args.model):
        if not (args.vae and args.text_encoder):
            raise UnflickerError("model: a Wan transformer file needs --vae and --text-encoder too (or give a "
                                 "diffusers folder)")
        source = videogen.WanFiles(args.model, args.vae, args.text_encoder, args.transformer_2, args.tokenizer,
                                   args.config_dir, args.clip_vision)
    model = videogen.load_pipeline(source, torch_device(args.device), args.dtype, args.offload, args.vae_tiling,
                                   args.vae_slicing, cache=False)
    settings = videogen.WanSettings(prompt=args.prompt, negative_prompt=args.negative, num_frames=args.num_frames,
                                    width=args.width, height=args.height, steps=args.steps, guidance=args.guidance,
                                    seed=args.seed, fps=args.fps, flow_shift=args.flow_shift)
    plan = videogen.plan(model, settings, first)  # None fields: the model's native values
    progress, close = progress_bar("generate", plan.settings.steps)
    try:
        frames = videogen.run(model, plan, first, progress)
    finally:
        close()
    for message in plan.messages:
        print(message, file=sys.stderr)
    video.write_video(args.output, (video.to_uint8(f) for f in frames), plan.fps, crf=args.crf)
    print(f"wrote {args.output} ({plan.frame_count} frames at {plan.fps:g} fps, {model.info.variant})")
    return 0


# ---------------------------------------------------------------- animatediff
def add_animatediff(sub) -> None:
    p = sub.add_parser("animatediff", help="text-to-video with AnimateDiff from local SD 1.5 + motion module files")
    p.add_argument("checkpoint", help="SD 1.5 checkpoint file or diffusers folder")
    p.add_argument("motion_module", help="motion module file (mm_sd_v15_v2.ckpt, v3_sd15_mm.ckpt, ...) or folder")
    p.add_argument("output", help="output file: .mp4, .mov, .webm, .mkv, .webp or .gif")
    from ..settings import AnimateDiffSettings as S

    p.add_argument("--prompt", required=True, help="prompt, or a schedule with one 'frame: prompt' per line")
    p.add_argument("--negative", default=S.default("negative_prompt"))

    setting(p, "--frames", S, "num_frames", "")
    setting(p, "--width", S, "width", "")
    setting(p, "--height", S, "height", "")
    setting(p, "--steps", S, "steps", "")
    setting(p, "--guidance", S, "guidance", "")
    setting(p, "--seed", S, "seed", "")
    p.add_argument("--scheduler", default="DDIM", help="DDIM, Euler, 'Euler a', 'DPM++ 2M', 'DPM++ 2M Karras', LCM")
    p.add_argument("--beta-schedule", default="linear", help="linear (AnimateDiff) or scaled_linear (SD 1.5)")
    setting(p, "--context-length", S, "context_length", "frames the motion module sees at once")
    setting(p, "--overlap", S, "context_overlap", "frames shared by neighbouring context windows")
    p.add_argument("--lora", action="append", default=[], metavar="PATH[:STRENGTH]", help="motion LoRA; repeatable")
    from ..settings.generate import ImageLoraSettings

    p.add_argument("--image-lora", action="append", default=[], metavar="PATH[:STRENGTH]",
                   help="SD 1.5 image LoRA (kohya/A1111 or diffusers file), applied to the UNet and text encoder at "
                        f"STRENGTH (default {ImageLoraSettings.default('strength'):g}); repeatable, stacks with --lora")
    p.add_argument("--controlnet", help="ControlNet file or folder (needs --control-video)")
    p.add_argument("--control-video", help="control frames (e.g. OpenPose skeletons): video, GIF/WebP or folder")
    setting(p, "--controlnet-scale", S, "controlnet_scale", "how strongly the control frames steer")
    setting(p, "--fps", S, "fps", "frame rate of the output")
    p.add_argument("--cpu-offload", action="store_true")
    p.add_argument("--config-dir", default=None, help="diffusers configs for single files (default: SD 1.5, shipped)")
    add_format(p)
    p.set_defaults(func=_run_animatediff)


def _lora(spec: str, option: str = "--lora") -> tuple[str, float]:
    """``PATH[:STRENGTH]`` -> (path, strength); a path that exists is taken whole even with a colon in it."""
    if ":" not in spec or os.path.exists(spec):
        return spec, 1.0
    path, _, value = spec.rpartition(":")
    try:
        return path, float(value)
    except ValueError as exc:
        raise UnflickerError(f"{option} {spec}: the strength after ':' must be a number") from exc


def _run_animatediff(args) -> int:
    from ..generate import animatediff
    from ..media import video

    config_dir = args.config_dir or animatediff.SD15_CONFIG_DIR
    settings = animatediff.AnimateDiffSettings(
        prompt=args.prompt, negative_prompt=args.negative, num_frames=args.num_frames, width=args.width,
        height=args.height, steps=args.steps, guidance=args.guidance, seed=args.seed,
        context_length=args.context_length, context_overlap=args.context_overlap,
        controlnet_scale=args.controlnet_scale, fps=args.fps)
    if bool(args.controlnet) != bool(args.control_video):
        raise UnflickerError("--controlnet and --control-video go together")
    model = animatediff.load_animatediff(args.checkpoint, args.motion_module, scheduler=args.scheduler,
                                         beta_schedule=args.beta_schedule, cpu_offload=args.cpu_offload,
                                         config_dir=config_dir)
    for spec in args.lora:
        model = model.with_lora(*_lora(spec))
    for spec in args.image_lora:
        model = model.with_image_lora(*_lora(spec, "--image-lora"))
    controlnet = control = None
    if args.controlnet:
        controlnet = animatediff.load_controlnet(args.controlnet, dtype=model.pipe.unet.dtype,
                                                 config_dir=os.path.join(config_dir, "controlnet"))
        control, _ = video.read_video(args.control_video)
    source = None if control is None else animatediff.frames_source(control, args.control_video)
    plan = animatediff.plan(settings, source, controlnet is not None)
    progress, close = progress_bar("animatediff", plan.settings.steps)
    try:
        frames = animatediff.run(model, plan, controlnet, control, progress)
    finally:
        close()
    encode("animatediff", plan.frame_count, args.output, lambda progress: (video.to_uint8(f) for f in frames),
           plan.fps, fmt=args.format)
    print(f"wrote {args.output}")
    return 0

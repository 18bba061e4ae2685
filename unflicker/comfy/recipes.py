"""The bundled workflows as short Python specs: each function builds one editor-format workflow.

``python -m unflicker workflow regen --recipes`` writes workflows/<name>.json from every recipe whose nodes
exist (``needs``) and then the API twins workflows/api/<name>.json. A recipe whose nodes are not in the pack yet is
skipped, so recipes can be written before their nodes land. Once written, a UI file can also be opened, edited
and saved in ComfyUI (then drop its recipe, or edit the recipe instead); ``regen`` without ``--recipes`` refreshes
only the API twins. tests/engine/test_workflows.py checks every bundled workflow against the node definitions.

To add a workflow: write a function here taking ``object_info`` and returning ``UIGraph(...).to_json()``,
register it with ``@recipe(name, needs=(node types...))``, run ``python -m unflicker workflow regen --recipes``.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping

from .workflow import ObjectInfo, WORKFLOW_DIR, api_twin_path, bundled_workflows, dump, load_workflow, ui_to_api
from .builder import UIGraph

SAMPLE_VIDEO = "sample_flickering.mp4"  # what `python -m unflicker demo` writes; copy it into ComfyUI/input/
SAMPLE_IMAGE = "first_frame.png"
SVD_MODEL = "svd_xt.safetensors"
RIFE_MODEL = "rife-v4.6"
SD15_CHECKPOINT = "v1-5-pruned-emaonly.safetensors"
ANIMATEDIFF_MODULE = "mm_sd_v15_v2.ckpt"
ANIMATELCM_MODULE = "AnimateLCM_sd15_t2v.ckpt"
ZOOM_IN_LORA = "v2_lora_ZoomIn.ckpt"
OPENPOSE_CONTROLNET = "control_v11p_sd15_openpose.pth"
SAMPLE_DANCE = "reference_dance.mp4"  # any clip of a person moving, in ComfyUI/input/
WAN_TRANSFORMER = "wan2.1_t2v_1.3B_fp16.safetensors"  # ComfyUI's repackaged Wan files
WAN_VAE = "wan_2.1_vae.safetensors"
WAN_TEXT_ENCODER = "umt5_xxl_fp16.safetensors"
COGVIDEOX_I2V = "CogVideoX-5b-I2V"  # the diffusers download, in models/diffusers/
# the SVD settings that keep frames coherent (both SVD recipes): noise_aug_strength under the guard's 0.05,
# guidance 1 -> 3, a fixed seed; 25 frames at 6 fps for SVD-XT
SVD_STABLE = dict(width=1024, height=576, num_frames=25, steps=25, min_guidance=1.0, max_guidance=3.0,
                  motion_bucket_id=127, fps=6, noise_aug_strength=0.02, decode_chunk_size=8, seed=42,
                  stability_guard=True)

Recipe = Callable[[ObjectInfo], dict]
RECIPES: dict[str, Recipe] = {}
NEEDS: dict[str, tuple[str, ...]] = {}


def recipe(name: str, needs: tuple[str, ...]):
    def register(build: Recipe) -> Recipe:
        RECIPES[name] = build
        NEEDS[name] = needs
        return build

    return register


def available_recipes(object_info: Mapping) -> dict[str, Recipe]:
    """The recipes whose node types all exist in ``object_info``."""
    return {name: build for name, build in RECIPES.items() if all(n in object_info for n in NEEDS[name])}


def _save_fixed_and_compare(g: UIGraph, load, fix, name: str, label: str) -> None:
    """Save the fixed clip (output/Unflicker/<name>) and a quarter-speed before/after (<name>_compare), both
    with the clip's sound (slowed with the comparison)."""
    g.add("UnflickerSaveVideo", title="Save fixed video", images=fix["images"], fps=load["fps"], audio=load["audio"],
          filename_prefix=f"Unflicker/{name}", format="mp4", crf=16)
    compare = g.add("UnflickerSideBySide", images_a=load["images"], images_b=fix["images"], fps=load["fps"],
                    audio_a=load["audio"], label_a="before", label_b=label, slow_motion=4.0)
    g.add("UnflickerSaveVideo", title="Save before/after", images=compare["images"], fps=compare["fps"],
          audio=compare["audio"], filename_prefix=f"Unflicker/{name}_compare", format="mp4", crf=18)


@recipe("codec_fix", needs=("UnflickerLoadVideo", "UnflickerFFmpegDeflickerDeband", "UnflickerSideBySide",
                            "UnflickerSaveVideo"))
def codec_fix(object_info: ObjectInfo) -> dict:
    """Load a clip -> FFmpeg deflicker + deband (seed settings) -> save; plus a slowed before/after comparison."""
    g = UIGraph(object_info)
    load = g.add("UnflickerLoadVideo", video=SAMPLE_VIDEO)
    fix = g.add("UnflickerFFmpegDeflickerDeband", images=load["images"], fps=load["fps"])
    _save_fixed_and_compare(g, load, fix, "codec_fix", "deflicker + deband")
    g.note("**Codec fix** (FFmpeg deflicker + deband)\n\nFixes whole-frame brightness pumping and codec banding. "
           "Pick your clip in *Load Video*; the result and a quarter-speed before/after comparison are written to "
           "`output/Unflicker/`. For regional, colour or texture flicker use the flow-guided Deflicker instead.",
           title="About this workflow")
    return g.to_json()


@recipe("diagnose_fix_verify", needs=("UnflickerLoadVideo", "UnflickerAnalyzeFlicker", "UnflickerDeflicker",
                                      "UnflickerCompareFlicker", "UnflickerSideBySide", "UnflickerSaveVideo"))
def diagnose_fix_verify(object_info: ObjectInfo) -> dict:
    """Analyze a clip, fix it with the flow-guided deflicker, measure again, show and save before/after."""
    g = UIGraph(object_info)
    load = g.add("UnflickerLoadVideo", video=SAMPLE_VIDEO)
    diagnose = g.add("UnflickerAnalyzeFlicker", title="1. Diagnose", images=load["images"], fps=load["fps"])
    fix = g.add("UnflickerDeflicker", title="2. Fix", images=load["images"], fps=load["fps"], mode="auto",
                diagnosis=diagnose["json"])
    g.add("UnflickerCompareFlicker", title="3. Verify", before=load["images"], after=fix["images"], fps=load["fps"])
    _save_fixed_and_compare(g, load, fix, "deflickered", "deflickered")
    g.note("**Diagnose -> fix -> verify** (no model weights)\n\n*Analyze Flicker* says which kinds of flicker the "
           "clip has; *Deflicker* (auto, fed the diagnosis) removes exactly those while keeping real motion; *Compare Flicker* measures the "
           "change. The fixed clip and a quarter-speed before/after comparison go to `output/Unflicker/`.",
           title="About this workflow")
    return g.to_json()


@recipe("svd_to_24fps", needs=("LoadImage", "UnflickerSVDLoader", "UnflickerSVDGenerate", "UnflickerRIFEInterpolate",
                               "UnflickerSaveVideo"))
def svd_to_24fps(object_info: ObjectInfo) -> dict:
    """SVD image-to-video with the stability settings, then RIFE x4: 6 fps -> 24 fps."""
    g = UIGraph(object_info)
    image = g.add("LoadImage", image=SAMPLE_IMAGE)
    svd = g.add("UnflickerSVDLoader", model=SVD_MODEL)
    gen = g.add("UnflickerSVDGenerate", svd=svd["svd"], image=image["IMAGE"], **SVD_STABLE)
    g.add("UnflickerSaveVideo", title="Save SVD (6 fps)", images=gen["images"], fps=gen["fps"],
          filename_prefix="Unflicker/svd_6fps", format="mp4", crf=16)
    rife = g.add("UnflickerRIFEInterpolate", images=gen["images"], fps=gen["fps"], multiplier=4, model=RIFE_MODEL,
                 backend="auto")
    g.add("UnflickerSaveVideo", title="Save 24 fps", images=rife["images"], fps=rife["fps"],
          filename_prefix="Unflicker/svd_24fps", format="mp4", crf=16)
    g.note("**SVD image-to-video -> RIFE to 24 fps**\n\nStability settings: noise_aug_strength 0.02 (the guard "
           "clamps anything above 0.05, the usual flicker cause), guidance 1 -> 3, motion_bucket_id 127, "
           "decode_chunk_size 8, a fixed seed. Put `svd_xt.safetensors` in `models/checkpoints` and an ncnn RIFE "
           "model in `models/rife/rife-v4.6/` (without it RIFE falls back to its weight-free flow backend).",
           title="About this workflow")
    return g.to_json()


@recipe("svd_long_video", needs=("LoadImage", "UnflickerSVDLoader", "UnflickerSVDExtend", "UnflickerSaveVideo"))
def svd_long_video(object_info: ObjectInfo) -> dict:
    """Chained SVD segments (last frame starts the next) with drift correction at the seams."""
    g = UIGraph(object_info)
    image = g.add("LoadImage", image=SAMPLE_IMAGE)
    svd = g.add("UnflickerSVDLoader", model=SVD_MODEL)
    ext = g.add("UnflickerSVDExtend", svd=svd["svd"], image=image["IMAGE"], **SVD_STABLE, segments=3,
                drift_correction=1.0)
    g.add("UnflickerSaveVideo", title="Save long video", images=ext["images"], fps=ext["fps"],
          filename_prefix="Unflicker/svd_long", format="mp4", crf=16)
    g.note("**SVD long video**\n\nThree 25-frame segments chained from the last frame of each (73 frames); colour "
           "and brightness drift is pulled back toward the first segment so the seams do not jump.",
           title="About this workflow")
    return g.to_json()


@recipe("animatediff_motion_lora_lcm", needs=("UnflickerAnimateDiffLoader", "UnflickerMotionLora",
                                              "UnflickerAnimateDiffGenerate", "UnflickerSaveVideo"))
def animatediff_motion_lora_lcm(object_info: ObjectInfo) -> dict:
    """AnimateDiff text-to-video: AnimateLCM motion module + zoom-in motion LoRA (0.8), LCM scheduler, 8 steps."""
    g = UIGraph(object_info)
    model = g.add("UnflickerAnimateDiffLoader", checkpoint=SD15_CHECKPOINT, motion_module=ANIMATELCM_MODULE,
                  scheduler="LCM", beta_schedule="linear", vae_slicing=True, cpu_offload=False)
    zoom = g.add("UnflickerMotionLora", animatediff=model["animatediff"], lora_name=ZOOM_IN_LORA, strength=0.8)
    gen = g.add("UnflickerAnimateDiffGenerate", animatediff=zoom["animatediff"],
                prompt="a lighthouse on a cliff above a stormy sea, dramatic clouds, best quality",
                negative_prompt="worst quality, low quality, blurry", num_frames=16, width=512, height=512, steps=8,
                guidance=1.5, seed=42, context_length=16, context_overlap=4, fps=8.0)
    g.add("UnflickerSaveVideo", title="Save video", images=gen["images"], fps=gen["fps"],
          filename_prefix="Unflicker/animatediff_lcm", format="mp4", crf=16)
    g.note("**AnimateDiff + motion LoRA + LCM**\n\nText-to-video in 8 steps: the AnimateLCM motion module with the "
           "LCM scheduler (guidance 1-2), and the zoom-in motion LoRA at 0.8 for a steady camera move. Put an SD 1.5 "
           f"checkpoint in `models/checkpoints`, `{ANIMATELCM_MODULE}` in `models/animatediff_models` and "
           f"`{ZOOM_IN_LORA}` in `models/animatediff_motion_lora`. For more than 16 frames raise *num_frames*: "
           "longer clips are made in overlapping windows.", title="About this workflow")
    return g.to_json()


@recipe("animatediff_openpose_controlnet", needs=("UnflickerLoadVideo", "UnflickerOpenPoseExtract",
                                                  "UnflickerControlNetLoader", "UnflickerAnimateDiffLoader",
                                                  "UnflickerAnimateDiffGenerate", "UnflickerSideBySide",
                                                  "UnflickerSaveVideo"))
def animatediff_openpose_controlnet(object_info: ObjectInfo) -> dict:
    """A reference video's poses (OpenPose, smoothed) drive AnimateDiff through the openpose ControlNet."""
    g = UIGraph(object_info)
    load = g.add("UnflickerLoadVideo", title="Reference video", video=SAMPLE_DANCE, frame_load_cap=16)
    pose = g.add("UnflickerOpenPoseExtract", images=load["images"], detect_resolution=512, smoothing=True,
                 smoothing_strength=0.5, hold_missing=2)
    g.add("UnflickerSaveVideo", title="Save poses", images=pose["pose_images"], fps=load["fps"],
          filename_prefix="Unflicker/animatediff_poses", format="mp4", crf=16)
    model = g.add("UnflickerAnimateDiffLoader", checkpoint=SD15_CHECKPOINT, motion_module=ANIMATEDIFF_MODULE,
                  scheduler="DPM++ 2M Karras", beta_schedule="linear", vae_slicing=True, cpu_offload=False)
    controlnet = g.add("UnflickerControlNetLoader", controlnet_name=OPENPOSE_CONTROLNET)
    gen = g.add("UnflickerAnimateDiffGenerate", animatediff=model["animatediff"],
                prompt="an astronaut dancing on the moon, best quality",
                negative_prompt="worst quality, low quality, blurry, extra limbs", num_frames=16, width=512,
                height=512, steps=20, guidance=7.5, seed=42, context_length=16, context_overlap=4, fps=8.0,
                controlnet=controlnet["controlnet"], control_frames=pose["pose_images"], controlnet_strength=1.0)
    g.add("UnflickerSaveVideo", title="Save video", images=gen["images"], fps=gen["fps"],
          filename_prefix="Unflicker/animatediff_openpose", format="mp4", crf=16)
    compare = g.add("UnflickerSideBySide", images_a=load["images"], images_b=gen["images"], fps=gen["fps"],
                    label_a="reference", label_b="AnimateDiff", slow_motion=1.0)
    g.add("UnflickerSaveVideo", title="Save reference vs result", images=compare["images"], fps=compare["fps"],
          filename_prefix="Unflicker/animatediff_openpose_compare", format="mp4", crf=18)
    g.note("**AnimateDiff + ControlNet OpenPose from a reference video**\n\nPick a clip of a person moving in "
           "*Reference video* (the first 16 frames are used; keep *num_frames* at most the frames loaded). "
           "OpenPose Extract draws smoothed skeletons, which steer AnimateDiff through the openpose ControlNet. Put "
           f"`body_pose_model.pth` in `models/openpose`, `{OPENPOSE_CONTROLNET}` in `models/controlnet`, an SD 1.5 "
           f"checkpoint in `models/checkpoints` and `{ANIMATEDIFF_MODULE}` in `models/animatediff_models`. The "
           "reference-vs-result comparison is optional: delete its two nodes if you do not need it.",
           title="About this workflow")
    return g.to_json()


@recipe("wan_t2v_analyze", needs=("UnflickerWanSplitLoader", "UnflickerWanGenerate", "UnflickerAnalyzeFlicker",
                                  "UnflickerSaveVideo"))
def wan_t2v_analyze(object_info: ObjectInfo) -> dict:
    """Wan 2.1 text-to-video from ComfyUI's split files with the coherence settings, then measured."""
    g = UIGraph(object_info)
    wan = g.add("UnflickerWanSplitLoader", transformer=WAN_TRANSFORMER, vae=WAN_VAE, text_encoder=WAN_TEXT_ENCODER,
                dtype="auto", offload="model", vae_tiling=False, vae_slicing=False, keep_loaded=True)
    gen = g.add("UnflickerWanGenerate", model=wan["wan"],
                prompt="a red fox trotting through fresh snow in a pine forest, soft morning light, the camera "
                       "tracking slowly beside it",
                negative_prompt="blurry, flickering, jittery, distorted, static, low quality", num_frames=81,
                width=832, height=480, steps=40, guidance=5.0, flow_shift=3.0, seed=42, fps=16)
    g.add("UnflickerAnalyzeFlicker", title="Measure flicker", images=gen["images"], fps=gen["fps"])
    g.add("UnflickerSaveVideo", title="Save video", images=gen["images"], fps=gen["fps"],
          filename_prefix="Unflicker/wan_t2v", format="mp4", crf=16)
    g.note("**Wan text-to-video -> Analyze Flicker**\n\nWan 2.1 T2V 1.3B at its native 832x480, 81 frames, 16 fps, "
           "with the coherence settings: 40 steps (under 35 temporal coherence degrades), guidance 5.0, flow shift "
           "3.0 (5.0 for 720p), a fixed seed. *Analyze Flicker* then says whether the result flickers and which "
           f"fix fits. Put `{WAN_TRANSFORMER}` in `models/diffusion_models`, `{WAN_VAE}` in `models/vae` and "
           f"`{WAN_TEXT_ENCODER}` in `models/text_encoders`. Model offload keeps one component on the GPU at a "
           "time (for 1.3B the largest is the UMT5 text encoder, 11 GB in bf16).", title="About this workflow")
    return g.to_json()


@recipe("cogvideox_i2v_to_24fps", needs=("LoadImage", "UnflickerCogVideoXLoader", "UnflickerCogVideoXGenerate",
                                         "UnflickerRIFEInterpolate", "UnflickerSaveVideo"))
def cogvideox_i2v_to_24fps(object_info: ObjectInfo) -> dict:
    """CogVideoX 5b-I2V with the recipe's settings at its own 8 fps, then RIFE to exactly 24 fps."""
    g = UIGraph(object_info)
    image = g.add("LoadImage", image=SAMPLE_IMAGE)
    cog = g.add("UnflickerCogVideoXLoader", model=COGVIDEOX_I2V, dtype="auto", offload="model", vae_tiling=True,
                vae_slicing=False, keep_loaded=True)
    gen = g.add("UnflickerCogVideoXGenerate", model=cog["cogvideox"], image=image["IMAGE"],
                prompt="the scene comes alive: gentle wind moves through the trees, clouds drift, the camera "
                       "pushes in slowly",
                negative_prompt="blurry, flickering, jittery, distorted, low quality", num_frames=49, width=720,
                height=480, steps=40, guidance=7.5, seed=42, fps=8)
    g.add("UnflickerSaveVideo", title="Save CogVideoX (8 fps)", images=gen["images"], fps=gen["fps"],
          filename_prefix="Unflicker/cogvideox_8fps", format="mp4", crf=16)
    rife = g.add("UnflickerRIFEInterpolate", images=gen["images"], fps=gen["fps"], multiplier=2, model=RIFE_MODEL,
                 backend="auto", target_fps=24.0)
    g.add("UnflickerSaveVideo", title="Save 24 fps", images=rife["images"], fps=rife["fps"],
          filename_prefix="Unflicker/cogvideox_24fps", format="mp4", crf=16)
    g.note("**CogVideoX image-to-video -> RIFE to 24 fps**\n\nThe recipe's settings: 49 frames, 40 steps (not under "
           "35), guidance 7.5 (higher = more prompt adherence, less frame drift), a fixed seed, 720x480, timed at "
           "CogVideoX's own 8 fps. RIFE's target_fps 24 (multiplier is then unused) makes 147 frames at exactly "
           f"24 fps: the same 6.1 s, real-time motion. Put the `{COGVIDEOX_I2V}` diffusers folder in "
           "`models/diffusers` and an ncnn RIFE model in `models/rife/rife-v4.6/` (without it RIFE uses its "
           "weight-free flow backend). Model offload keeps one component on the GPU at a time (the 5b transformer "
           "is 11 GB in bf16) and VAE tiling removes the decode peak.",
           title="About this workflow")
    return g.to_json()


# ----------------------------------------------------------------------------------------------- files
def regenerate(object_info: ObjectInfo, folder: str = WORKFLOW_DIR, recipes: bool = False) -> list[str]:
    """Write workflows/api/<name>.json from each workflows/<name>.json (and, with ``recipes``, the UI files
    from the recipes first). Returns the paths written."""
    written = []
    if recipes:
        for name, build in available_recipes(object_info).items():
            path = os.path.join(folder, f"{name}.json")
            write_text(path, dump(build(object_info)))
            written.append(path)
    for ui_path in bundled_workflows(folder):
        api = ui_to_api(load_workflow(ui_path), object_info)
        twin = api_twin_path(ui_path)
        os.makedirs(os.path.dirname(twin), exist_ok=True)
        write_text(twin, dump(api))
        written.append(twin)
    return written


def write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)

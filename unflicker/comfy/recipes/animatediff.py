"""AnimateDiff workflows: LCM text-to-video with a motion LoRA, a long clip (sliding windows, a prompt schedule,
motion + image LoRA), and pose-guided animation from a reference video (at 8 fps, and interpolated to 60 fps)."""

from __future__ import annotations

from ..builder import UIGraph
from ..workflow import ObjectInfo
from . import recipe
from .common import interpolate, note
from .files import (ANIMATELCM, ANIMATELCM_LORA, MM_SD15_V2, OPENPOSE_BODY, OPENPOSE_CONTROLNET, RIFE, RIFE_NOTE,
                    SAMPLE_DANCE, SD15, ZOOM_IN_LORA)

ANIMATION_FPS = 8.0  # AnimateDiff's motion modules were trained on 8 fps clips
REFERENCE_FRAMES = 16
LCM_NEGATIVE = "worst quality, low quality, blurry"
LONG_SCHEDULE = ("0: a lighthouse on a cliff above a calm sea at dawn, soft pink light, best quality\n"
                 "16: a lighthouse on a cliff above a rough sea at noon, storm clouds gathering, best quality\n"
                 "32: a lighthouse on a cliff above a stormy sea at night, its beam sweeping the rain, best quality")


def _lcm(g: UIGraph, with_image_lora: bool = True):
    """AnimateLCM on SD 1.5 (LCM scheduler) + the zoom-in motion LoRA 0.8 (+ AnimateLCM's own LoRA 0.8)."""
    model = g.add("UnflickerAnimateDiffLoader", checkpoint=SD15.name, motion_module=ANIMATELCM.name, scheduler="LCM",
                  beta_schedule="linear", vae_slicing=True, cpu_offload=False
                  ).model_files(SD15.entry(), ANIMATELCM.entry())
    out = g.add("UnflickerMotionLora", animatediff=model["animatediff"], lora_name=ZOOM_IN_LORA.name, strength=0.8
                ).model_files(ZOOM_IN_LORA.entry())
    if with_image_lora:
        out = g.add("UnflickerImageLora", animatediff=out["animatediff"], lora_name=ANIMATELCM_LORA.name,
                    strength=0.8).model_files(ANIMATELCM_LORA.entry())
    return out


LCM_FILES = [SD15, ANIMATELCM, ANIMATELCM_LORA, ZOOM_IN_LORA]


@recipe("animatediff_motion_lora_lcm", needs=("UnflickerAnimateDiffLoader", "UnflickerMotionLora",
                                              "UnflickerImageLora", "UnflickerAnimateDiffGenerate",
                                              "UnflickerSaveVideo"))
def animatediff_motion_lora_lcm(object_info: ObjectInfo) -> dict:
    """AnimateDiff text-to-video: AnimateLCM + its LCM LoRA + zoom-in motion LoRA (0.8 each), LCM, 8 steps."""
    g = UIGraph(object_info)
    model = _lcm(g)
    gen = g.add("UnflickerAnimateDiffGenerate", animatediff=model["animatediff"],
                prompt="a lighthouse on a cliff above a stormy sea, dramatic clouds, best quality",
                negative_prompt=LCM_NEGATIVE, num_frames=16, width=512, height=512, steps=8, guidance=1.5, seed=42,
                context_length=16, context_overlap=4, fps=ANIMATION_FPS)
    g.add("UnflickerSaveVideo", title="Save video", images=gen["images"], fps=gen["fps"],
          filename_prefix="Unflicker/animatediff_lcm", format="mp4", crf=16)
    note(g, "AnimateDiff + motion LoRA + LCM", "Text-to-video in 8 steps: the AnimateLCM motion module with its LCM "
         "LoRA (an image LoRA, 0.8) and the LCM scheduler (guidance 1-2), and the zoom-in motion LoRA at 0.8 for a "
         "steady camera move. For more than 16 frames raise *num_frames*: longer clips are made in overlapping "
         "windows (see the long AnimateDiff workflow).", LCM_FILES)
    return g.to_json()


@recipe("animatediff_long_prompt_schedule", needs=("UnflickerAnimateDiffLoader", "UnflickerMotionLora",
                                                   "UnflickerImageLora", "UnflickerAnimateDiffGenerate",
                                                   "UnflickerAnalyzeFlicker", "UnflickerDeflicker",
                                                   "UnflickerSaveVideo"))
def animatediff_long_prompt_schedule(object_info: ObjectInfo) -> dict:
    """48 frames in sliding 16-frame windows (overlap 4) with a prompt schedule, motion + image LoRA, then
    diagnosed and deflickered, the windows' seams at the frames the generator reports."""
    g = UIGraph(object_info)
    model = _lcm(g)
    gen = g.add("UnflickerAnimateDiffGenerate", animatediff=model["animatediff"], prompt=LONG_SCHEDULE,
                negative_prompt=LCM_NEGATIVE, num_frames=48, width=512, height=512, steps=8, guidance=1.5, seed=42,
                context_length=16, context_overlap=4, fps=ANIMATION_FPS)
    diagnose = g.add("UnflickerAnalyzeFlicker", title="Diagnose", images=gen["images"], fps=gen["fps"])
    fix = g.add("UnflickerDeflicker", title="Fix", images=gen["images"], fps=gen["fps"], mode="auto",
                diagnosis=diagnose["json"], segment_starts=gen["segment_starts"], overlap=gen["overlap"])
    g.add("UnflickerSaveVideo", title="Save video", images=fix["images"], fps=gen["fps"],
          filename_prefix="Unflicker/animatediff_long", format="mp4", crf=16)
    note(g, "Long AnimateDiff: sliding windows + prompt schedule", "48 frames (6 s at 8 fps) made in overlapping "
         "16-frame windows (context_length 16, context_overlap 4) so motion stays continuous across them. The prompt "
         "is a schedule, one `frame: prompt` per line (dawn at 0, noon at 16, night at 32); prompts blend between "
         "keyframes. AnimateLCM with its LCM LoRA (image LoRA 0.8) and the zoom-in motion LoRA (0.8), LCM scheduler, "
         "8 steps. *Analyze Flicker* then says which flicker the windows left and *Deflicker* (auto, fed that "
         "diagnosis) removes exactly that; the generator's *segment_starts* and *overlap* (windows from frames 12, "
         "24 and 32, sharing 4 frames) tell it where the windows meet, so it matches each window's look to the one "
         "before, blended over the shared frames.", LCM_FILES)
    return g.to_json()


def _pose_guided(g: UIGraph, frames: int = REFERENCE_FRAMES):
    """Reference video at the animation's rate -> OpenPose -> AnimateDiff + openpose ControlNet (returns the
    Load Video and Generate handles)."""
    load = g.add("UnflickerLoadVideo", title="Reference video", video=SAMPLE_DANCE, force_rate=ANIMATION_FPS,
                 frame_load_cap=frames)
    pose = g.add("UnflickerOpenPoseExtract", images=load["images"], detect_resolution=512, smoothing=True,
                 smoothing_strength=0.5, hold_missing=2)
    model = g.add("UnflickerAnimateDiffLoader", checkpoint=SD15.name, motion_module=MM_SD15_V2.name,
                  scheduler="DPM++ 2M Karras", beta_schedule="linear", vae_slicing=True, cpu_offload=False
                  ).model_files(SD15.entry(), MM_SD15_V2.entry())
    controlnet = g.add("UnflickerControlNetLoader", controlnet_name=OPENPOSE_CONTROLNET.name
                       ).model_files(OPENPOSE_CONTROLNET.entry())
    gen = g.add("UnflickerAnimateDiffGenerate", animatediff=model["animatediff"],
                prompt="an astronaut dancing on the moon, best quality",
                negative_prompt="worst quality, low quality, blurry, extra limbs", num_frames=frames, width=512,
                height=512, steps=20, guidance=7.5, seed=42, context_length=16, context_overlap=4, fps=ANIMATION_FPS,
                controlnet=controlnet["controlnet"], control_frames=pose["pose_images"], controlnet_strength=1.0)
    return load, pose, gen


POSE_FILES = [OPENPOSE_BODY, OPENPOSE_CONTROLNET, SD15, MM_SD15_V2]
POSE_NEEDS = ("UnflickerLoadVideo", "UnflickerOpenPoseExtract", "UnflickerControlNetLoader",
              "UnflickerAnimateDiffLoader", "UnflickerAnimateDiffGenerate", "UnflickerSaveVideo")
REFERENCE_TEXT = (f"Pick a clip of a person moving in *Reference video*: it is read at the animation's "
                  f"{ANIMATION_FPS:g} fps (force_rate, so a 30 fps clip is not slowed down) and its first "
                  f"{REFERENCE_FRAMES} frames ({REFERENCE_FRAMES / ANIMATION_FPS:g} s) are used; keep *num_frames* at "
                  "most the frames loaded. OpenPose Extract draws smoothed skeletons, which steer AnimateDiff "
                  "through the openpose ControlNet.")


@recipe("animatediff_openpose_controlnet", needs=POSE_NEEDS + ("UnflickerSideBySide",))
def animatediff_openpose_controlnet(object_info: ObjectInfo) -> dict:
    """A reference video's poses (OpenPose, smoothed) drive AnimateDiff through the openpose ControlNet."""
    g = UIGraph(object_info)
    load, pose, gen = _pose_guided(g)
    g.add("UnflickerSaveVideo", title="Save poses", images=pose["pose_images"], fps=load["fps"],
          filename_prefix="Unflicker/animatediff_poses", format="mp4", crf=16)
    g.add("UnflickerSaveVideo", title="Save video", images=gen["images"], fps=gen["fps"], audio=load["audio"],
          filename_prefix="Unflicker/animatediff_openpose", format="mp4", crf=16)
    compare = g.add("UnflickerSideBySide", images_a=load["images"], images_b=gen["images"], fps=load["fps"],
                    fps_b=gen["fps"], label_a="reference", label_b="AnimateDiff", slow_motion=1.0)
    g.add("UnflickerSaveVideo", title="Save reference vs result", images=compare["images"], fps=compare["fps"],
          filename_prefix="Unflicker/animatediff_openpose_compare", format="mp4", crf=18)
    note(g, "AnimateDiff + ControlNet OpenPose from a reference video", REFERENCE_TEXT + " The result keeps the "
         "reference's sound. The reference-vs-result comparison is optional: delete its two nodes if you do not "
         "need it. For smooth 60 fps output see the `animatediff_openpose_to_60fps` workflow.", POSE_FILES)
    return g.to_json()


@recipe("animatediff_openpose_to_60fps", needs=POSE_NEEDS + ("UnflickerRIFEInterpolate", "UnflickerAnalyzeFlicker",
                                                             "UnflickerDeflicker"))
def animatediff_openpose_to_60fps(object_info: ObjectInfo) -> dict:
    """Pose-guided AnimateDiff at 8 fps -> RIFE to 60 fps -> Analyze -> Deflicker (auto, fed the diagnosis) ->
    Save Video with the reference's sound."""
    g = UIGraph(object_info)
    load, _, gen = _pose_guided(g)
    smooth = interpolate(g, gen["images"], gen["fps"], 60.0, title="Interpolate 8 -> 60 fps")
    diagnose = g.add("UnflickerAnalyzeFlicker", title="Diagnose", images=smooth["images"], fps=smooth["fps"])
    fix = g.add("UnflickerDeflicker", title="Fix", images=smooth["images"], fps=smooth["fps"], mode="auto",
                diagnosis=diagnose["json"])
    g.add("UnflickerSaveVideo", title="Save 60 fps", images=fix["images"], fps=smooth["fps"], audio=load["audio"],
          filename_prefix="Unflicker/animatediff_openpose_60fps", format="mp4", crf=16)
    note(g, "Pose-guided AnimateDiff -> 60 fps", REFERENCE_TEXT + " The 8 fps animation is interpolated to exactly "
         "60 fps (same duration: 16 frames become 120), *Analyze Flicker* says which flicker is left and *Deflicker* "
         "(auto, fed that diagnosis) removes exactly that; the video is saved with the reference's sound (cut to the "
         f"frames used). {RIFE_NOTE}", POSE_FILES + [RIFE])
    return g.to_json()

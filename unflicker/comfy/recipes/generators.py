"""Generator workflows (SVD, CogVideoX, Wan): generate -> diagnose -> fix -> interpolate -> verify -> save."""

from __future__ import annotations

from ..builder import UIGraph
from ..workflow import ObjectInfo
from . import recipe
from .common import GENERATED_TAIL_NEEDS, diagnose_fix_interpolate_verify, note, tail_text
from .files import (COGVIDEOX_I2V, COGVIDEOX_I2V_PAGE, COGVIDEOX_T2V, COGVIDEOX_T2V_PAGE, RIFE, SAMPLE_IMAGE,
                    SVD_XT, WAN_T2V_1_3B, WAN_TEXT_ENCODER, WAN_VAE)

# the SVD settings that keep frames coherent (both SVD recipes): noise_aug_strength under the guard's 0.05,
# guidance 1 -> 3, a fixed seed; 25 frames at 6 fps for SVD-XT
SVD_STABLE = dict(width=1024, height=576, num_frames=25, steps=25, min_guidance=1.0, max_guidance=3.0,
                  motion_bucket_id=127, fps=6, noise_aug_strength=0.02, decode_chunk_size=8, seed=42,
                  stability_guard=True)
SVD_TEXT = ("Stability settings: noise_aug_strength 0.02 (the guard clamps anything above 0.05, the usual flicker "
            "cause), guidance 1 -> 3, motion_bucket_id 127, decode_chunk_size 8, a fixed seed. ")
COGVIDEOX_LOAD = dict(dtype="auto", offload="model", vae_tiling=True, vae_slicing=False, keep_loaded=True)
COGVIDEOX_SETTINGS = dict(negative_prompt="blurry, flickering, jittery, distorted, low quality", num_frames=49,
                          width=720, height=480, steps=40, guidance=7.5, seed=42, fps=8)
COGVIDEOX_TEXT = ("The recipe's settings: 49 frames, 40 steps (not under 35), guidance 7.5 (higher = more prompt "
                  "adherence, less frame drift), a fixed seed, 720x480, timed at CogVideoX's own 8 fps. Model offload "
                  "keeps one component on the GPU at a time (the 5b transformer is 11 GB in bf16) and VAE tiling "
                  "removes the decode peak. ")


def _svd(g: UIGraph):
    image = g.add("LoadImage", image=SAMPLE_IMAGE)
    svd = g.add("UnflickerSVDLoader", model=SVD_XT.name).model_files(SVD_XT.entry())
    return image, svd


@recipe("svd_to_24fps", needs=("LoadImage", "UnflickerSVDLoader", "UnflickerSVDGenerate") + GENERATED_TAIL_NEEDS)
def svd_to_24fps(object_info: ObjectInfo) -> dict:
    """SVD image-to-video with the stability settings (25 frames at 6 fps), fixed and interpolated to 24 fps."""
    g = UIGraph(object_info)
    image, svd = _svd(g)
    gen = g.add("UnflickerSVDGenerate", svd=svd["svd"], image=image["IMAGE"], **SVD_STABLE)
    diagnose_fix_interpolate_verify(g, gen, "svd_24fps", 24.0, multiplier=4)
    note(g, "SVD image-to-video -> deflicker -> 24 fps", SVD_TEXT + tail_text(6, 24) + " Pick your image in "
         "*Load Image*; outputs go to `output/Unflicker/`.", [SVD_XT, RIFE])
    return g.to_json()


@recipe("svd_long_video", needs=("LoadImage", "UnflickerSVDLoader", "UnflickerSVDExtend", "UnflickerDeflicker",
                                  "UnflickerSaveVideo"))
def svd_long_video(object_info: ObjectInfo) -> dict:
    """Chained SVD segments (last frame starts the next) with drift correction at the seams, then the deflicker
    matching each segment's look to the one before at the frames SVD Extend reports."""
    g = UIGraph(object_info)
    image, svd = _svd(g)
    ext = g.add("UnflickerSVDExtend", svd=svd["svd"], image=image["IMAGE"], **SVD_STABLE, segments=3,
                drift_correction=1.0)
    fix = g.add("UnflickerDeflicker", title="Fix seams", images=ext["images"], fps=ext["fps"], mode="auto",
                segment_starts=ext["segment_starts"])
    g.add("UnflickerSaveVideo", title="Save long video", images=fix["images"], fps=ext["fps"],
          filename_prefix="Unflicker/svd_long", format="mp4", crf=16)
    note(g, "SVD long video", "Three 25-frame segments chained from the last frame of each (73 frames); colour and "
         "brightness drift is pulled back toward the first segment so the seams do not jump. SVD Extend's "
         "*segment_starts* (frames 25 and 49) tell *Deflicker* where the segments meet: it matches each segment's "
         "look to the one before there and removes the flicker left.", [SVD_XT])
    return g.to_json()


def _cogvideox(g: UIGraph, folder: str, image=None, **prompt):
    cog = g.add("UnflickerCogVideoXLoader", model=folder, **COGVIDEOX_LOAD)
    extra = {"image": image["IMAGE"]} if image is not None else {}
    return g.add("UnflickerCogVideoXGenerate", model=cog["cogvideox"], **extra, **prompt, **COGVIDEOX_SETTINGS)


@recipe("cogvideox_t2v_to_24fps", needs=("UnflickerCogVideoXLoader", "UnflickerCogVideoXGenerate")
        + GENERATED_TAIL_NEEDS)
def cogvideox_t2v_to_24fps(object_info: ObjectInfo) -> dict:
    """CogVideoX 5b text-to-video at its own 8 fps, fixed and interpolated to exactly 24 fps."""
    g = UIGraph(object_info)
    gen = _cogvideox(g, COGVIDEOX_T2V,
                     prompt="a paper boat drifting down a rain-soaked street at dusk, reflections of shop lights "
                            "on the water, the camera following it slowly")
    diagnose_fix_interpolate_verify(g, gen, "cogvideox_t2v_24fps", 24.0)
    note(g, "CogVideoX text-to-video -> deflicker -> 24 fps", COGVIDEOX_TEXT + tail_text(8, 24) + " 49 frames "
         "become 147 at exactly 24 fps: the same 6.1 s. The 2b model (`CogVideoX-2b`) works the same way.",
         [f"the [`{COGVIDEOX_T2V}`]({COGVIDEOX_T2V_PAGE}) diffusers folder in `models/diffusers`", RIFE])
    return g.to_json()


@recipe("cogvideox_i2v_to_24fps", needs=("LoadImage", "UnflickerCogVideoXLoader", "UnflickerCogVideoXGenerate")
        + GENERATED_TAIL_NEEDS)
def cogvideox_i2v_to_24fps(object_info: ObjectInfo) -> dict:
    """CogVideoX 5b-I2V at its own 8 fps, fixed and interpolated to exactly 24 fps."""
    g = UIGraph(object_info)
    image = g.add("LoadImage", image=SAMPLE_IMAGE)
    gen = _cogvideox(g, COGVIDEOX_I2V, image=image,
                     prompt="the scene comes alive: gentle wind moves through the trees, clouds drift, the camera "
                            "pushes in slowly")
    diagnose_fix_interpolate_verify(g, gen, "cogvideox_i2v_24fps", 24.0)
    note(g, "CogVideoX image-to-video -> deflicker -> 24 fps", COGVIDEOX_TEXT + tail_text(8, 24) + " 49 frames "
         "become 147 at exactly 24 fps: the same 6.1 s. Pick your image in *Load Image*.",
         [f"the [`{COGVIDEOX_I2V}`]({COGVIDEOX_I2V_PAGE}) diffusers folder in `models/diffusers`", RIFE])
    return g.to_json()


@recipe("wan_t2v_to_30fps", needs=("UnflickerWanSplitLoader", "UnflickerWanGenerate") + GENERATED_TAIL_NEEDS)
def wan_t2v_to_30fps(object_info: ObjectInfo) -> dict:
    """Wan 2.1 text-to-video from ComfyUI's split files with the coherence settings (81 frames at 16 fps), fixed
    and interpolated to exactly 30 fps."""
    g = UIGraph(object_info)
    wan = g.add("UnflickerWanSplitLoader", transformer=WAN_T2V_1_3B.name, vae=WAN_VAE.name,
                text_encoder=WAN_TEXT_ENCODER.name, dtype="auto", offload="model", vae_tiling=False,
                vae_slicing=False, keep_loaded=True
                ).model_files(WAN_T2V_1_3B.entry(), WAN_VAE.entry(), WAN_TEXT_ENCODER.entry())
    gen = g.add("UnflickerWanGenerate", model=wan["wan"],
                prompt="a red fox trotting through fresh snow in a pine forest, soft morning light, the camera "
                       "tracking slowly beside it",
                negative_prompt="blurry, flickering, jittery, distorted, static, low quality", num_frames=81,
                width=832, height=480, steps=40, guidance=5.0, flow_shift=3.0, seed=42, fps=16)
    diagnose_fix_interpolate_verify(g, gen, "wan_t2v_30fps", 30.0)
    note(g, "Wan text-to-video -> deflicker -> 30 fps", "Wan 2.1 T2V 1.3B at its native 832x480, 81 frames, 16 fps, "
         "with the coherence settings: 40 steps (under 35 temporal coherence degrades), guidance 5.0, flow shift 3.0 "
         "(5.0 for 720p), a fixed seed. Model offload keeps one component on the GPU at a time (for 1.3B the "
         "largest is the UMT5 text encoder, 11 GB in bf16). " + tail_text(16, 30),
         [WAN_T2V_1_3B, WAN_VAE, WAN_TEXT_ENCODER, RIFE])
    return g.to_json()

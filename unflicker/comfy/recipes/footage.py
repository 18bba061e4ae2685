"""Workflows on a clip the user already has: codec fix, diagnose -> fix -> verify, the VIDEO-type footage fix
(core Load/Save Video, sound kept) and the repair of damaged frames."""

from __future__ import annotations

from ..builder import UIGraph
from ..workflow import ObjectInfo
from . import recipe
from .common import note, save_fixed_and_compare
from .files import RIFE, RIFE_NOTE, SAMPLE_VIDEO

FOOTAGE_FPS = 60.0


@recipe("codec_fix", needs=("UnflickerLoadVideo", "UnflickerFFmpegDeflickerDeband", "UnflickerSideBySide",
                            "UnflickerSaveVideo"))
def codec_fix(object_info: ObjectInfo) -> dict:
    """Load a clip -> FFmpeg deflicker + deband (seed settings) -> save; plus a slowed before/after comparison."""
    g = UIGraph(object_info)
    load = g.add("UnflickerLoadVideo", video=SAMPLE_VIDEO)
    fix = g.add("UnflickerFFmpegDeflickerDeband", images=load["images"], fps=load["fps"])
    save_fixed_and_compare(g, load, fix, "codec_fix", "deflicker + deband")
    note(g, "Codec fix (FFmpeg deflicker + deband)", "Fixes whole-frame brightness pumping and codec banding. Pick "
         "your clip in *Load Video*; the result and a quarter-speed before/after comparison are written to "
         "`output/Unflicker/`. For regional, colour or texture flicker use the flow-guided Deflicker instead.")
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
    save_fixed_and_compare(g, load, fix, "deflickered", "deflickered")
    note(g, "Diagnose -> fix -> verify", "*Analyze Flicker* says which kinds of flicker the clip has; *Deflicker* "
         "(auto, fed the diagnosis) removes exactly those while keeping real motion; *Compare Flicker* measures the "
         "change. The fixed clip and a quarter-speed before/after comparison go to `output/Unflicker/`.")
    return g.to_json()


@recipe("footage_fix_to_60fps", needs=("LoadVideo", "UnflickerVideoAnalyzeFlicker", "UnflickerVideoDeflicker",
                                       "UnflickerVideoInterpolate", "SaveVideo"))
def footage_fix_to_60fps(object_info: ObjectInfo) -> dict:
    """Core Load Video -> Analyze (VIDEO) -> Deflicker (VIDEO, auto with the diagnosis) -> Interpolate (VIDEO) to
    60 fps -> core Save Video; streamed from file to file, sound and colour tags kept."""
    g = UIGraph(object_info)
    load = g.add("LoadVideo", file=SAMPLE_VIDEO)
    diagnose = g.add("UnflickerVideoAnalyzeFlicker", title="1. Diagnose", video=load["VIDEO"])
    fix = g.add("UnflickerVideoDeflicker", title="2. Fix", video=load["VIDEO"], mode="auto",
                diagnosis=diagnose["json"])
    smooth = g.add("UnflickerVideoInterpolate", title=f"3. Interpolate to {FOOTAGE_FPS:g} fps", video=fix["video"],
                   model=RIFE.name, backend="auto", target_fps=FOOTAGE_FPS).model_files(RIFE.entry())
    g.add("SaveVideo", video=smooth["video"], filename_prefix="Unflicker/footage_60fps", format="auto",
          codec="auto")
    note(g, "Fix existing footage -> 60 fps (VIDEO)", "ComfyUI's own *Load Video* and *Save Video* with the pack's "
         "VIDEO nodes: every step streams from file to file (any length, constant memory) and keeps the sound, the "
         f"exact frame rate and the colour tags. *Analyze Flicker* says which kinds of flicker the clip has; "
         "*Deflicker* (auto, fed that diagnosis) fixes exactly those (a steady clip passes through untouched); *Interpolate* makes exactly "
         f"{FOOTAGE_FPS:g} fps, never blending across a scene cut. Pick your clip in *Load Video*; the result goes "
         f"to `output/Unflicker/`. {RIFE_NOTE}", [RIFE])
    return g.to_json()


REPAIR_TEXT = ("*Analyze Flicker* finds damaged frames (flash frames, single-frame content breaks); *Repair Frames* "
               "rebuilds each from its nearest good neighbours by interpolation at its exact time position (two bad "
               "frames in a row: t = 1/3 and 2/3) and passes every other frame through untouched; scene cuts are "
               "never bridged. To repair frames of your choosing, list them in *frames*. ")


@recipe("repair_frames", needs=("UnflickerLoadVideo", "UnflickerAnalyzeFlicker", "UnflickerRepairFrames",
                                "UnflickerSideBySide", "UnflickerSaveVideo"))
def repair_frames(object_info: ObjectInfo) -> dict:
    """Load a clip -> Analyze Flicker -> Repair Frames (the flagged frames rebuilt by interpolation) -> save, plus
    a quarter-speed before/after."""
    g = UIGraph(object_info)
    load = g.add("UnflickerLoadVideo", video=SAMPLE_VIDEO)
    diagnose = g.add("UnflickerAnalyzeFlicker", title="1. Find damaged frames", images=load["images"],
                     fps=load["fps"])
    fix = g.add("UnflickerRepairFrames", title="2. Repair", images=load["images"], fps=load["fps"], model=RIFE.name,
                backend="auto", diagnosis=diagnose["json"]).model_files(RIFE.entry())
    save_fixed_and_compare(g, load, fix, "repaired", "repaired")
    note(g, "Repair damaged frames", REPAIR_TEXT + "The repaired clip (with the sound) and a quarter-speed "
         f"before/after go to `output/Unflicker/`. {RIFE_NOTE}", [RIFE])
    return g.to_json()


@recipe("repair_frames_video", needs=("LoadVideo", "UnflickerVideoAnalyzeFlicker", "UnflickerVideoRepairFrames",
                                      "SaveVideo"))
def repair_frames_video(object_info: ObjectInfo) -> dict:
    """Core Load Video -> Analyze (VIDEO) -> Repair Frames (VIDEO) -> core Save Video, sound kept."""
    g = UIGraph(object_info)
    load = g.add("LoadVideo", file=SAMPLE_VIDEO)
    diagnose = g.add("UnflickerVideoAnalyzeFlicker", title="1. Find damaged frames", video=load["VIDEO"])
    fix = g.add("UnflickerVideoRepairFrames", title="2. Repair", video=load["VIDEO"], model=RIFE.name,
                backend="auto", diagnosis=diagnose["json"]).model_files(RIFE.entry())
    g.add("SaveVideo", video=fix["video"], filename_prefix="Unflicker/repaired", format="auto", codec="auto")
    note(g, "Repair damaged frames (VIDEO)", REPAIR_TEXT + "ComfyUI's own *Load Video* and *Save Video*: streamed "
         f"from file to file, sound and frame rate kept. {RIFE_NOTE}", [RIFE])
    return g.to_json()


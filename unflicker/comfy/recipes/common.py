"""Parts several bundled workflows share: the note, Interpolate with its model file, the save + before/after
comparison of a fixed clip, and the generated-clip tail (diagnose -> fix -> interpolate -> verify -> compare)."""

from __future__ import annotations

from typing import Iterable

from ..builder import UIGraph
from .files import RIFE, RIFE_NOTE, ModelFile

QUARTER_SPEED = 4.0


def note(g: UIGraph, title: str, text: str, files: Iterable[ModelFile | str] = ()) -> None:
    """The 'About this workflow' note: what it does, then the model files it needs (linked), or none."""
    lines = [f"- {f.where if isinstance(f, ModelFile) else f}" for f in files]
    needs = "**Model files**\n" + "\n".join(lines) if lines else "Needs no model files."
    g.note(f"**{title}**\n\n{text}\n\n{needs}", title="About this workflow")


def interpolate(g: UIGraph, images, fps, target_fps: float, multiplier: int = 2, title: str | None = None):
    """RIFE Interpolate to exactly ``target_fps`` (frame k at k / target_fps) with ComfyUI's RIFE file; auto
    falls back to flow when the file is missing."""
    node = g.add("UnflickerRIFEInterpolate", title=title or f"Interpolate to {target_fps:g} fps", images=images,
                 fps=fps, multiplier=multiplier, model=RIFE.name, backend="auto", target_fps=float(target_fps))
    return node.model_files(RIFE.entry())


def save_fixed_and_compare(g: UIGraph, load, fix, name: str, label: str) -> None:
    """Save the fixed clip (output/Unflicker/<name>) and a quarter-speed before/after (<name>_compare), both
    with the clip's sound (slowed with the comparison)."""
    g.add("UnflickerSaveVideo", title="Save fixed video", images=fix["images"], fps=load["fps"], audio=load["audio"],
          filename_prefix=f"Unflicker/{name}", format="mp4", crf=16)
    compare = g.add("UnflickerSideBySide", images_a=load["images"], images_b=fix["images"], fps=load["fps"],
                    audio_a=load["audio"], label_a="before", label_b=label, slow_motion=QUARTER_SPEED)
    g.add("UnflickerSaveVideo", title="Save before/after", images=compare["images"], fps=compare["fps"],
          audio=compare["audio"], filename_prefix=f"Unflicker/{name}_compare", format="mp4", crf=18)


GENERATED_TAIL_NEEDS = ("UnflickerAnalyzeFlicker", "UnflickerDeflicker", "UnflickerRIFEInterpolate",
                        "UnflickerCompareFlicker", "UnflickerSideBySide", "UnflickerSaveVideo")


def diagnose_fix_interpolate_verify(g: UIGraph, gen, name: str, target_fps: float, multiplier: int = 2) -> None:
    """A generated clip -> Analyze Flicker -> Deflicker (auto, fed the diagnosis) -> Interpolate to
    ``target_fps`` -> Save (output/Unflicker/<name>); Compare Flicker measures generated vs deflickered; Side by
    Side shows generated vs final at quarter speed, paired by time (<name>_compare)."""
    diagnose = g.add("UnflickerAnalyzeFlicker", title="1. Diagnose", images=gen["images"], fps=gen["fps"])
    fix = g.add("UnflickerDeflicker", title="2. Fix", images=gen["images"], fps=gen["fps"], mode="auto",
                diagnosis=diagnose["json"])
    smooth = interpolate(g, fix["images"], gen["fps"], target_fps, multiplier, title=f"3. Interpolate to "
                                                                                      f"{target_fps:g} fps")
    g.add("UnflickerCompareFlicker", title="4. Verify", before=gen["images"], after=fix["images"], fps=gen["fps"])
    g.add("UnflickerSaveVideo", title=f"Save {target_fps:g} fps", images=smooth["images"], fps=smooth["fps"],
          filename_prefix=f"Unflicker/{name}", format="mp4", crf=16)
    compare = g.add("UnflickerSideBySide", title="Generated vs final (1/4 speed)", images_a=gen["images"],
                    images_b=smooth["images"], fps=gen["fps"], fps_b=smooth["fps"], label_a="generated",
                    label_b=f"deflickered, {target_fps:g} fps", slow_motion=QUARTER_SPEED)
    g.add("UnflickerSaveVideo", title="Save generated vs final", images=compare["images"], fps=compare["fps"],
          filename_prefix=f"Unflicker/{name}_compare", format="mp4", crf=18)


def tail_text(native_fps: float, target_fps: float) -> str:
    """What the shared tail does, for the notes."""
    return (f"*Analyze Flicker* says which kinds of flicker the {native_fps:g} fps clip has; *Deflicker* (auto, fed "
            "that diagnosis) removes exactly those (a steady clip passes through untouched); *Interpolate* makes "
            f"exactly {target_fps:g} fps (same duration, real-time motion); *Compare Flicker* measures generated "
            "vs deflickered; *Side by Side* shows generated vs final at quarter speed, frames paired by time. "
            f"{RIFE_NOTE}")

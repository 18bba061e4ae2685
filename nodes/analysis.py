"""Analyze Flicker and Compare Flicker: what kind of flicker a clip has, where, which fix; and did the fix work."""

from __future__ import annotations

from ..unflicker import analysis
from ..unflicker.media import video as videoio
from .comfy_bridge import frames_to_image, image_frames, image_source, node_progress
from .inputs import IMAGES, fps_input
from .video_stream import VIDEO, source_file

_FPS = fps_input("Frame rate of the clip (fades and exposure changes are judged in frames).")


def _ui_report(rep: analysis.FlickerReport) -> dict:
    d = rep.to_dict()
    return {"verdict": rep.verdict, "kinds": list(rep.kinds), "measures": d["measures"], "series": d["series"],
            "scene_cuts": list(rep.scene_cuts), "fps": float(rep.fps), "look": rep.look()}


def _analyze(images, fps, name: str) -> analysis.FlickerReport:
    plan = analysis.plan(image_source(name, images, fps))
    return analysis.run(image_frames(images, name), plan, node_progress(plan.progress_steps))


def _report_result(rep: analysis.FlickerReport) -> dict:
    """report, json, chart, verdict, and the report for the node's display (both analyzer nodes)."""
    chart = frames_to_image([analysis.render_chart(rep)], 1)
    return {"ui": {"unflicker_report": [_ui_report(rep)]}, "result": (rep.text(), rep.to_json(), chart, rep.verdict)}


class AnalyzeFlicker:
    CATEGORY = "Unflicker/Analyze"
    DESCRIPTION = ("Tell flicker from motion: lines consecutive frames up with optical flow, then measures what "
                   "still changes - brightness, colour, regional, texture (generative re-sampling), codec damage - "
                   "and names the fix. The classic mean-diff rule (> 12 = generative) is kept for comparison.")
    RETURN_TYPES = ("STRING", "STRING", "IMAGE", "STRING")
    RETURN_NAMES = ("report", "json", "chart", "verdict")
    OUTPUT_NODE = True
    FUNCTION = "analyze"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE", {"tooltip": "The clip, at least two frames."}), "fps": _FPS}}

    def analyze(self, images, fps):
        rep = _analyze(images, fps, "images")
        return _report_result(rep)


class CompareFlicker:
    CATEGORY = "Unflicker/Analyze"
    DESCRIPTION = ("Before/after: analyses both clips and reports the percent change of every measure. The verdict "
                   "is judged on the motion-compensated measures; the classic mean diff is shown too (the classic "
                   "rule expects it to drop 30-60 % after a good fix, but it also counts motion).")
    RETURN_TYPES = ("STRING", "STRING")
    RETURN_NAMES = ("report", "verdict")
    OUTPUT_NODE = True
    FUNCTION = "compare"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"before": IMAGES, "after": IMAGES, "fps": _FPS}}

    def compare(self, before, after, fps):
        cmp = analysis.compare_reports(_analyze(before, fps, "before"), _analyze(after, fps, "after"))
        ui = {"verdict": cmp.verdict, "changes": {k: round(v, 3) for k, v in cmp.changes.items()},
              "before": {k: round(v, 6) for k, v in cmp.before.items()},
              "after": {k: round(v, 6) for k, v in cmp.after.items()}}
        return {"ui": {"unflicker_compare": [ui]}, "result": (cmp.text, cmp.verdict)}


class VideoAnalyzeFlicker:
    CATEGORY = "Unflicker/Video"
    DESCRIPTION = ("Analyze Flicker on a VIDEO, streamed from its file (any length, constant memory): the kind of "
                   "flicker, where, and which fix; report, JSON, chart and verdict as Analyze Flicker gives.")
    RETURN_TYPES = ("STRING", "STRING", "IMAGE", "STRING")
    RETURN_NAMES = ("report", "json", "chart", "verdict")
    OUTPUT_NODE = True
    FUNCTION = "analyze"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"video": VIDEO}}

    def analyze(self, video):
        with source_file(video) as path:
            info, frames = videoio.iter_frames(path)
            plan = analysis.plan(analysis.file_source(info, "video"), expected_frames=info.frame_count)
            rep = analysis.run(frames, plan, node_progress(plan.progress_steps))
        return _report_result(rep)

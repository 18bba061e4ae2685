"""ComfyUI adapters: one module per capability, each exporting NODES = {type name: (class, display name)}.

Imported only as part of the pack (relative imports); never as a top-level ``nodes`` (ComfyUI owns that name).
"""

from . import compare, ffmpeg_fix, interpolate, video_io

NODES = {
    "UnflickerLoadVideo": (video_io.LoadVideo, "Load Video (Unflicker)"),
    "UnflickerSaveVideo": (video_io.SaveVideo, "Save Video (Unflicker)"),
    "UnflickerFFmpegDeflickerDeband": (ffmpeg_fix.FFmpegDeflickerDeband, "FFmpeg Deflicker + Deband"),
    "UnflickerSideBySide": (compare.SideBySide, "Side by Side (before/after)"),
    "UnflickerRIFEInterpolate": (interpolate.RIFEInterpolate, "RIFE Interpolate"),
}

NODE_CLASS_MAPPINGS = {name: cls for name, (cls, _) in NODES.items()}
NODE_DISPLAY_NAME_MAPPINGS = {name: title for name, (_, title) in NODES.items()}

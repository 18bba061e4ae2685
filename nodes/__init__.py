"""ComfyUI adapters: one module per capability, each exporting NODES = {type name: (class, display name)}.

Imported only as part of the pack (relative imports); never as a top-level ``nodes`` (ComfyUI owns that name).
"""

from . import analysis, animatediff, compare, deflicker, ffmpeg_fix, interpolate, openpose, repair, svd, video_io, videogen

NODES = {
    "UnflickerLoadVideo": (video_io.LoadVideo, "Load Video (Unflicker)"),
    "UnflickerSaveVideo": (video_io.SaveVideo, "Save Video (Unflicker)"),
    "UnflickerFFmpegDeflickerDeband": (ffmpeg_fix.FFmpegDeflickerDeband, "FFmpeg Deflicker + Deband"),
    "UnflickerSideBySide": (compare.SideBySide, "Side by Side (before/after)"),
    "UnflickerOpenPoseExtract": (openpose.OpenPoseExtract, "OpenPose Extract"),
    "UnflickerSVDLoader": (svd.SVDLoader, "SVD Loader (Unflicker)"),
    "UnflickerSVDGenerate": (svd.SVDGenerate, "SVD Generate (Unflicker)"),
    "UnflickerSVDExtend": (svd.SVDExtend, "SVD Extend (long video)"),
    "UnflickerCogVideoXLoader": (videogen.CogVideoXLoader, "CogVideoX Loader"),
    "UnflickerCogVideoXGenerate": (videogen.CogVideoXGenerate, "CogVideoX Generate"),
    "UnflickerWanLoader": (videogen.WanLoader, "Wan Loader"),
    "UnflickerWanSplitLoader": (videogen.WanSplitLoader, "Wan Loader (split files)"),
    "UnflickerWanGenerate": (videogen.WanGenerate, "Wan Generate"),
    "UnflickerAnimateDiffLoader": (animatediff.AnimateDiffLoader, "AnimateDiff Loader"),
    "UnflickerMotionLora": (animatediff.MotionLora, "Motion LoRA"),
    "UnflickerImageLora": (animatediff.ImageLora, "Image LoRA (AnimateDiff)"),
    "UnflickerControlNetLoader": (animatediff.ControlNetLoader, "ControlNet Loader (AnimateDiff)"),
    "UnflickerAnimateDiffGenerate": (animatediff.AnimateDiffGenerate, "AnimateDiff Generate"),
    "UnflickerDeflicker": (deflicker.Deflicker, "Deflicker (flow-guided)"),
    "UnflickerAnalyzeFlicker": (analysis.AnalyzeFlicker, "Analyze Flicker"),
    "UnflickerCompareFlicker": (analysis.CompareFlicker, "Compare Flicker"),
    "UnflickerRIFEInterpolate": (interpolate.RIFEInterpolate, "RIFE Interpolate"),
    "UnflickerVideoFFmpegDeflickerDeband": (ffmpeg_fix.VideoFFmpegDeflickerDeband, "FFmpeg Deflicker + Deband (VIDEO)"),
    "UnflickerVideoDeflicker": (deflicker.VideoDeflicker, "Deflicker (flow-guided, VIDEO)"),
    "UnflickerVideoInterpolate": (interpolate.VideoInterpolate, "Interpolate (VIDEO)"),
    "UnflickerVideoAnalyzeFlicker": (analysis.VideoAnalyzeFlicker, "Analyze Flicker (VIDEO)"),
    "UnflickerRepairFrames": (repair.RepairFrames, "Repair Frames"),
    "UnflickerVideoRepairFrames": (repair.VideoRepairFrames, "Repair Frames (VIDEO)"),
}

NODE_CLASS_MAPPINGS = {name: cls for name, (cls, _) in NODES.items()}
NODE_DISPLAY_NAME_MAPPINGS = {name: title for name, (_, title) in NODES.items()}

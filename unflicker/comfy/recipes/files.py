"""What the bundled workflows name: sample inputs, and each model file with its ComfyUI folder and download link.

A ``ModelFile`` becomes a node's ``properties.models`` entry ({name, url, directory}, the shape ComfyUI's own
templates use), so the editor's missing-models dialog points the user to the file; the notes name the same files.
The links are the files' canonical Hugging Face downloads (the repackaged Comfy-Org files where ComfyUI's own
templates use them). Model *folders* (diffusers downloads, ncnn RIFE folders) get no entry: the dialog checks
single files only; the notes give their pages.
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_VIDEO = "sample_flickering.mp4"  # what `python -m unflicker demo` writes; copy it into ComfyUI/input/
SAMPLE_IMAGE = "first_frame.png"
SAMPLE_DANCE = "reference_dance.mp4"  # any clip of a person moving, in ComfyUI/input/
HF = "https://huggingface.co/"


@dataclass(frozen=True)
class ModelFile:
    name: str  # the file name, as the node's widget holds it
    directory: str  # ComfyUI's models/<directory>
    url: str  # direct download

    def entry(self) -> dict:
        return {"name": self.name, "url": self.url, "directory": self.directory}

    @property
    def where(self) -> str:
        """Markdown for a note: the file (linked) and its folder."""
        return f"[`{self.name}`]({self.url}) in `models/{self.directory}`"


SVD_XT = ModelFile("svd_xt.safetensors", "checkpoints",
                   HF + "stabilityai/stable-video-diffusion-img2vid-xt/resolve/main/svd_xt.safetensors")
SD15 = ModelFile("v1-5-pruned-emaonly.safetensors", "checkpoints",
                 HF + "Comfy-Org/stable-diffusion-v1-5-archive/resolve/main/v1-5-pruned-emaonly.safetensors")
MM_SD15_V2 = ModelFile("mm_sd_v15_v2.ckpt", "animatediff_models",
                       HF + "guoyww/animatediff/resolve/main/mm_sd_v15_v2.ckpt")
ANIMATELCM = ModelFile("AnimateLCM_sd15_t2v.ckpt", "animatediff_models",
                       HF + "wangfuyun/AnimateLCM/resolve/main/AnimateLCM_sd15_t2v.ckpt")
ANIMATELCM_LORA = ModelFile("AnimateLCM_sd15_t2v_lora.safetensors", "loras",
                            HF + "wangfuyun/AnimateLCM/resolve/main/AnimateLCM_sd15_t2v_lora.safetensors")
ZOOM_IN_LORA = ModelFile("v2_lora_ZoomIn.ckpt", "animatediff_motion_lora",
                         HF + "guoyww/animatediff/resolve/main/v2_lora_ZoomIn.ckpt")
OPENPOSE_CONTROLNET = ModelFile("control_v11p_sd15_openpose.pth", "controlnet",
                                HF + "lllyasviel/ControlNet-v1-1/resolve/main/control_v11p_sd15_openpose.pth")
OPENPOSE_BODY = ModelFile("body_pose_model.pth", "openpose",
                          HF + "lllyasviel/Annotators/resolve/main/body_pose_model.pth")
_WAN = HF + "Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files/"
WAN_T2V_1_3B = ModelFile("wan2.1_t2v_1.3B_fp16.safetensors", "diffusion_models",
                         _WAN + "diffusion_models/wan2.1_t2v_1.3B_fp16.safetensors")
WAN_VAE = ModelFile("wan_2.1_vae.safetensors", "vae", _WAN + "vae/wan_2.1_vae.safetensors")
WAN_TEXT_ENCODER = ModelFile("umt5_xxl_fp16.safetensors", "text_encoders",
                             _WAN + "text_encoders/umt5_xxl_fp16.safetensors")
# ComfyUI's own frame-interpolation file (core's models/frame_interpolation/): RIFE v4.26, any timestep
RIFE = ModelFile("rife_v4.26.safetensors", "frame_interpolation",
                 HF + "Comfy-Org/frame_interpolation/resolve/main/frame_interpolation/rife_v4.26.safetensors")
# diffusers folders in models/diffusers/ (whole repositories: a page, not one file)
COGVIDEOX_T2V, COGVIDEOX_T2V_PAGE = "CogVideoX-5b", HF + "THUDM/CogVideoX-5b"
COGVIDEOX_I2V, COGVIDEOX_I2V_PAGE = "CogVideoX-5b-I2V", HF + "THUDM/CogVideoX-5b-I2V"

# What every interpolating workflow's note says about its model, exactly as the node behaves.
RIFE_NOTE = (f"Interpolation uses {RIFE.where} (ComfyUI's own RIFE file; RIFE 4.x/FILM files such as `rife47.pth` or "
             "`film_net_fp32.pt` there work too: pick one in *model*). When the named model is missing the "
             "workflow still runs: backend *auto* falls back to the weight-free optical-flow interpolation and the "
             "node's *backend* output says so.")

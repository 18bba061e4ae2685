"""A tiny random-weight Stable Video Diffusion, saved as a diffusers-format folder, for tests and benchmarks.

The architecture is SVD's own (spatio-temporal UNet, temporal-decoder VAE, CLIP vision with projection, Euler
scheduler with SVD's settings), only narrow and shallow, so the real pipeline runs on CPU in about a second.
The image encoder keeps 224x224 input because the pipeline always resizes the first frame to 224x224 for it.
"""

from __future__ import annotations

import os

import torch

# Shapes shared with tests/support/fixtures/make_svd_single_file.py (which builds the same model with ComfyUI's classes).
UNET = dict(
    sample_size=8, in_channels=8, out_channels=4,
    down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
    up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
    block_out_channels=(32, 32), addition_time_embed_dim=32, projection_class_embeddings_input_dim=96,
    layers_per_block=1, cross_attention_dim=32, transformer_layers_per_block=1, num_attention_heads=(2, 2),
    num_frames=4,
)
VAE = dict(
    in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3, block_out_channels=(32, 32, 32),
    layers_per_block=1, latent_channels=4, sample_size=64, scaling_factor=0.18215, force_upcast=True,
)
CLIP = dict(
    hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=224,
    patch_size=16, projection_dim=32, hidden_act="gelu", layer_norm_eps=1e-5,
)
SCHEDULER = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear",
    num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
    steps_offset=1, timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True,
    final_sigmas_type="zero",
)


def tiny_components(seed: int = 0):
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, UNetSpatioTemporalConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel(**UNET)
    vae = AutoencoderKLTemporalDecoder(**VAE)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP))
    # Random init leaves several layers near zero (zero-initialised outputs): give every weight some signal
    # so the test exercises every path and a wrong key mapping changes the output.
    with torch.no_grad():
        for module in (unet, vae, image_encoder):
            for p in module.parameters():
                p.add_(torch.randn_like(p) * 0.02)
    return dict(unet=unet, vae=vae, image_encoder=image_encoder,
                scheduler=EulerDiscreteScheduler(**SCHEDULER),
                feature_extractor=CLIPImageProcessor(crop_size=224, size={"shortest_edge": 224}))


def build_tiny_svd(folder: str, seed: int = 0) -> str:
    """Save a tiny random-weight SVD as a diffusers folder and return the folder."""
    from diffusers import StableVideoDiffusionPipeline

    pipe = StableVideoDiffusionPipeline(**tiny_components(seed))
    os.makedirs(folder, exist_ok=True)
    pipe.save_pretrained(folder)
    return folder


_built: dict = {}


def cached_tiny_svd(seed: int = 0) -> str:
    """The tiny SVD built once per process (test modules share it) in a temp folder removed at exit."""
    if seed not in _built:
        import atexit
        import shutil
        import tempfile

        root = tempfile.mkdtemp(prefix="unflicker-tiny-svd-")
        atexit.register(shutil.rmtree, root, True)
        _built[seed] = build_tiny_svd(os.path.join(root, "tiny-svd"), seed)
    return _built[seed]

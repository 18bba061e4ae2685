"""Steadier generation through diffusers: Stable Video Diffusion (``svd``), CogVideoX and Wan (``videogen``),
AnimateDiff (``animatediff``), OpenPose control frames (``pose``); single-file converters (``svd_convert``,
``wan_convert``) read the configs shipped in ``configs/``."""

"""Steadier generation through diffusers, one operation per generator (``plan`` decides frames, size, rate and
steps before a step runs; ``run`` generates): Stable Video Diffusion (``svd``), CogVideoX and Wan (``videogen``;
loading in ``videogen_load``), AnimateDiff (``animatediff``; its files in ``animatediff_files``), OpenPose control
frames (``pose``). ``common`` holds what they share (first image, seeded noise, step progress and interrupt);
device, dtype and the model cache are ``unflicker.runtime``'s. Single-file converters (``svd_convert``,
``wan_convert``) read the configs shipped in ``configs/``."""

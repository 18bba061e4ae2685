"""The tiny random-weight AnimateDiff models (fixtures/animatediff, made by make_fixtures.py) and the helpers the
AnimateDiff engine and node tests share: a network guard and synthetic OpenPose-like control frames."""

from __future__ import annotations

import contextlib
import os
import socket

import cv2
import numpy as np

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "animatediff")
CKPT = os.path.join(FIX, "tiny_sd15.safetensors")
MM = os.path.join(FIX, "tiny_mm.ckpt")
LORA = os.path.join(FIX, "tiny_motion_lora.ckpt")
IMAGE_LORA = os.path.join(FIX, "tiny_image_lora.safetensors")  # kohya/A1111 layout
IMAGE_LORA_PEFT = os.path.join(FIX, "tiny_image_lora_peft.safetensors")  # the same LoRA, diffusers/PEFT layout
CN = os.path.join(FIX, "tiny_controlnet.pth")
CONFIG = os.path.join(FIX, "tiny_config")
# 32 px frames -> 4x4 latents; 2 steps; a few frames: each generate is well under a second on a quiet CPU.
SMALL = dict(num_frames=4, width=32, height=32, steps=2, guidance=7.5, seed=7)


@contextlib.contextmanager
def no_network():
    """Any attempt to open a connection or resolve a name fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]}")

    saved = socket.socket.connect, socket.create_connection, socket.getaddrinfo
    socket.socket.connect, socket.create_connection, socket.getaddrinfo = refuse, refuse, refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.create_connection, socket.getaddrinfo = saved


def stick_figures(count, size=32):
    """Synthetic OpenPose-like skeletons on black: a body whose arm swings from frame to frame."""
    frames = np.zeros((count, size, size, 3), np.uint8)
    for i, frame in enumerate(frames):
        neck, hip = (size // 2, size // 4), (size // 2, size * 5 // 8)
        cv2.line(frame, neck, hip, (255, 0, 85), 2)
        cv2.line(frame, hip, (size // 3, size - 2), (0, 255, 85), 2)
        cv2.line(frame, hip, (size * 2 // 3, size - 2), (0, 85, 255), 2)
        angle = np.pi * (0.2 + 0.6 * i / max(1, count - 1))
        hand = (int(neck[0] + 10 * np.cos(angle)), int(neck[1] + 10 * np.sin(angle)))
        cv2.line(frame, neck, hand, (255, 170, 0), 2)
        cv2.circle(frame, (size // 2, size // 8), 3, (255, 0, 170), -1)
    return frames

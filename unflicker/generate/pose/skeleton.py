"""The keypoint layout: 18 COCO body parts in OpenPose order, limbs and their PAF channels, hand and face
points, the ControlNet colours, the standard weight file names."""

from __future__ import annotations




BODY_PARTS = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
              "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
              "right_eye", "left_eye", "right_ear", "left_ear")
NUM_PARTS = len(BODY_PARTS)

# Limbs as (part a, part b), in the order of the network's part-affinity channels; PAF_CHANNELS[k] holds the
# (x, y) channels of limb k. The last two (ear-shoulder) only help assembly and are never drawn.
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17))
PAF_CHANNELS = ((12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7),
                (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27))
DRAWN_LIMBS = 17

# The colours the openpose ControlNet was trained on (RGB): limb i and keypoint i share colour i.
COLORS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
          (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
          (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))
STICK_WIDTH = 4
LIMB_DIM = 0.6  # limbs are drawn at 60 % of their colour, keypoint circles at full colour

BODY_WEIGHTS = "body_pose_model.pth"
HAND_WEIGHTS = "hand_pose_model.pth"
FACE_WEIGHTS = "facenet.pth"
HAND_PARTS = 21
FACE_PARTS = 70
# With hands or face, a person's row holds 18 body parts, 21 left-hand, 21 right-hand and 70 face points.
LEFT_HAND = slice(NUM_PARTS, NUM_PARTS + HAND_PARTS)
RIGHT_HAND = slice(NUM_PARTS + HAND_PARTS, NUM_PARTS + 2 * HAND_PARTS)
FACE = slice(NUM_PARTS + 2 * HAND_PARTS, NUM_PARTS + 2 * HAND_PARTS + FACE_PARTS)
FULL_PARTS = FACE.stop
HAND_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
              (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20))

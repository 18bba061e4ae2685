"""OpenPose body keypoints for pose-guided video: network, decoding, drawing, and temporal smoothing.

The body network is the CMU model as ported to PyTorch by Hzzone/pytorch-openpose and shipped by lllyasviel's
ControlNet annotator (``bodypose_model``), written here in plain torch so the standard ``body_pose_model.pth``
loads with its own key names (``conv1_1.weight`` ... ``Mconv7_stage6_L2.bias``). We do not depend on
controlnet_aux: it would pull torchvision, timm, scikit-image and a second OpenCV wheel
(opencv-python-headless beside opencv-python) into ComfyUI's environment for one small network.

Keypoints are the 18 COCO parts in OpenPose order (see BODY_PARTS). A frame's people are an array
``(people, 18, 3)`` of x, y in pixels of the detection image and the heatmap score; missing parts have NaN
coordinates and score 0. With the hand network (``hand_pose_model.pth``) each row grows: the body,
then 21 left-hand and 21 right-hand points; with the face network (``facenet.pth``) 70 face landmarks follow.
With either, rows hold all 130 points (NaN where not searched or not found).

Pose jitter is the flicker of pose-guided video: a keypoint that wobbles by a pixel or two from frame to frame
makes ControlNet redraw the limb every frame. ``PoseSmoother`` tracks people across frames and runs a One-Euro
filter on every keypoint coordinate (strong smoothing when still, little lag when moving).

The package, by job: ``skeleton`` (keypoint layout, colours, weight file names), ``networks``, ``weights``
(loading), ``detect`` (maps, peaks, limbs, hands, faces), ``drawing`` (skeleton images, OpenPose JSON),
``smoothing`` (PoseSmoother), ``stream`` (extract_poses; the operation: plan, run). Every public name is importable from ``unflicker.generate.pose``.
"""

from __future__ import annotations

from .skeleton import (BODY_PARTS, BODY_WEIGHTS, COLORS, DRAWN_LIMBS, FACE, FACE_PARTS, FACE_WEIGHTS, FULL_PARTS,
                       HAND_EDGES, HAND_PARTS, HAND_WEIGHTS, LEFT_HAND, LIMBS, LIMB_DIM, NUM_PARTS, PAF_CHANNELS,
                       RIGHT_HAND, STICK_WIDTH)
from .networks import BodyPoseNet, FacePoseNet, HandPoseNet
from .weights import (BODY_KIND, load_body_model, load_body_state_dict, load_face_model, load_hand_model,
                      load_state_dict_standard, standard_key)
from .detect import (DetectSettings, HandSettings, body_maps, decode_body, decode_face, decode_hand, detect_body,
                     detect_faces, detect_hands, detection_size, face_box, face_keypoints, find_peaks, hand_boxes, hand_keypoints,
                     resize_for_detection, widen)
from .drawing import HAND_EDGE_COLORS, draw_bodypose, draw_handpose, pose_json
from .smoothing import PoseSmoother, smooth_pose_sequence, smoothing_params
from .stream import MAX_DETECT_SIDE, PoseFrame, PoseModels, PosePlan, extract_poses, plan, run

__all__ = [
    'BODY_PARTS', 'BODY_WEIGHTS', 'COLORS', 'DRAWN_LIMBS', 'FACE', 'FACE_PARTS', 'FACE_WEIGHTS', 'FULL_PARTS',
    'HAND_EDGES', 'HAND_PARTS', 'HAND_WEIGHTS', 'LEFT_HAND', 'LIMBS', 'LIMB_DIM', 'NUM_PARTS', 'PAF_CHANNELS',
    'RIGHT_HAND', 'STICK_WIDTH', 'BodyPoseNet', 'FacePoseNet', 'HandPoseNet', 'BODY_KIND', 'load_body_model',
    'load_body_state_dict', 'load_face_model', 'load_hand_model', 'load_state_dict_standard', 'standard_key',
    'DetectSettings', 'HandSettings', 'body_maps', 'decode_body', 'decode_face', 'decode_hand', 'detect_body',
    'detect_faces', 'detect_hands', 'detection_size', 'face_box', 'face_keypoints', 'find_peaks', 'hand_boxes', 'hand_keypoints',
    'resize_for_detection', 'widen', 'HAND_EDGE_COLORS', 'draw_bodypose', 'draw_handpose', 'pose_json',
    'PoseSmoother', 'smooth_pose_sequence', 'smoothing_params', 'MAX_DETECT_SIDE', 'PoseFrame', 'PoseModels',
    'PosePlan', 'detection_size', 'extract_poses', 'plan', 'run',
]

"""OpenPose: network loading, decoding and drawing on synthetic maps with known answers, keypoint smoothing."""

import os

import numpy as np
import pytest
import torch

from unflicker.generate import pose as op
from unflicker.errors import UnflickerError

# A standing person, (x, y) per part in OpenPose order, on a 256 x 256 canvas; limbs shorter than half its height.
PERSON = np.array([
    (60, 40), (60, 62), (44, 62), (38, 88), (34, 112), (76, 62), (82, 88), (86, 112), (50, 118), (49, 150),
    (48, 182), (70, 118), (71, 150), (72, 182), (55, 35), (65, 35), (50, 38), (70, 38)], float)


@pytest.fixture(scope="module")
def body_weights(tmp_path_factory):
    """A random-weight body model saved with the released file's key names (conv1_1.weight, ...)."""
    torch.manual_seed(0)
    model = op.BodyPoseNet()
    state = {op.standard_key(k): v for k, v in model.state_dict().items()}
    path = tmp_path_factory.mktemp("openpose") / op.BODY_WEIGHTS
    torch.save(state, path)
    return path, state


@pytest.fixture(scope="module")
def body_model(body_weights):
    return op.load_body_model(str(body_weights[0]))


def synthetic_maps(people, shape=(256, 256), sigma=4.0, width=3.0):
    """Heatmaps with a Gaussian peak at each part and PAFs = unit limb direction within ``width`` px of the limb."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    heat = np.zeros((h, w, 19))
    paf = np.zeros((h, w, 38))
    for person in people:
        for part, (x, y) in enumerate(person):
            if np.isnan(x):
                continue
            heat[:, :, part] = np.maximum(heat[:, :, part], np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2)))
        for (a, b), (cx, cy) in zip(op.LIMBS, op.PAF_CHANNELS):
            if np.isnan(person[a, 0]) or np.isnan(person[b, 0]):
                continue
            d = person[b] - person[a]
            length = np.hypot(*d)
            u = d / length
            along = (xx - person[a, 0]) * u[0] + (yy - person[a, 1]) * u[1]
            across = np.abs(-(xx - person[a, 0]) * u[1] + (yy - person[a, 1]) * u[0])
            on = (along >= -1) & (along <= length + 1) & (across <= width)
            paf[on, cx], paf[on, cy] = u[0], u[1]
    return heat.astype(np.float32), paf.astype(np.float32)


# ------------------------------------------------------------------------------------------------ network
def test_network_loads_standard_keys_and_runs(body_weights, body_model):
    path, state = body_weights
    # the released file's names and shapes
    assert state["conv1_1.weight"].shape == (64, 3, 3, 3)
    assert state["conv4_4_CPM.weight"].shape == (128, 256, 3, 3)
    assert state["conv5_5_CPM_L1.weight"].shape == (38, 512, 1, 1)
    assert state["conv5_5_CPM_L2.weight"].shape == (19, 512, 1, 1)
    assert state["Mconv1_stage2_L1.weight"].shape == (128, 185, 7, 7)
    assert state["Mconv7_stage6_L2.bias"].shape == (19,)
    assert len(state) == 184 and sum(v.numel() for v in state.values()) == 52_311_446

    model = body_model
    loaded = {op.standard_key(k): v for k, v in model.state_dict().items()}
    assert all(torch.equal(loaded[k], state[k]) for k in ("conv1_1.weight", "Mconv7_stage6_L2.bias"))
    with torch.no_grad():
        paf, heat = model(torch.zeros(1, 3, 32, 24))
    assert paf.shape == (1, 38, 4, 3) and heat.shape == (1, 19, 4, 3)
    assert heat.min() >= 0  # the reference keeps a ReLU after the last heatmap layer

    # the reference's settings put the network input at 184 px high whatever the image: keep the image narrow
    image = np.random.default_rng(0).integers(0, 256, (90, 36, 3), dtype=np.uint8)
    heat_map, paf_map = op.body_maps(model, image)
    assert heat_map.shape == (90, 36, 19) and paf_map.shape == (90, 36, 38)


def test_refuses_state_dict_with_wrong_keys_or_shapes(body_weights):
    _, state = body_weights
    renamed = {"module." + k: v for k, v in state.items()}
    with pytest.raises(UnflickerError, match=r"not an OpenPose body model.*missing, e\.g\. conv1_1\.weight"):
        op.load_body_state_dict(op.BodyPoseNet(), renamed, "hand_pose_model.pth")
    wrong = dict(state, **{"conv5_5_CPM_L1.weight": torch.zeros(19, 512, 1, 1)})
    with pytest.raises(UnflickerError, match=r"wrong shapes: conv5_5_CPM_L1\.weight \(19, 512, 1, 1\)"):
        op.load_body_state_dict(op.BodyPoseNet(), wrong)
    with pytest.raises(UnflickerError, match="not found"):
        op.load_body_model("/nonexistent/body_pose_model.pth")


# ----------------------------------------------------------------------------------------------- decoding
def test_decodes_keypoints_from_synthetic_maps():
    person = PERSON + (0.0, 20.0)
    heat, paf = synthetic_maps([person])
    people = op.decode_body(heat, paf)
    assert people.shape == (1, 18, 3)
    err = np.hypot(*(people[0, :, :2] - person).T)
    assert err.max() <= 1.0, err
    assert np.all(people[0, :, 2] > 0.9)


def test_separates_two_people_and_reports_missing_parts():
    left = PERSON + (10.0, 10.0)
    right = PERSON + (130.0, 40.0)
    right[13] = np.nan  # left ankle not visible
    heat, paf = synthetic_maps([left, right])
    people = op.decode_body(heat, paf)
    assert len(people) == 2
    people = people[np.argsort(people[:, 1, 0])]  # order by neck x
    for found, truth in zip(people, (left, right)):
        seen = ~np.isnan(truth[:, 0])
        assert np.array_equal(~np.isnan(found[:, 0]), seen)
        assert np.hypot(*(found[seen, :2] - truth[seen]).T).max() <= 1.0
    assert people[1, 13, 2] == 0


def test_limb_needs_agreeing_paf():
    """Without a PAF between them, parts are not joined: no person of 4+ connected parts is reported."""
    heat, _ = synthetic_maps([PERSON])
    assert len(op.decode_body(heat, np.zeros((256, 256, 38), np.float32))) == 0


# ---------------------------------------------------------------------------------------------- drawing
def test_skeleton_colours_and_widths():
    person = np.concatenate([PERSON + (0.0, 20.0), np.ones((18, 1))], 1)[None]
    canvas = op.draw_bodypose(np.zeros((256, 256, 3), np.uint8), person)
    # limb 0 (neck -> right shoulder) runs horizontally from (60, 82) to (44, 82): 60 % red along it
    assert tuple(canvas[82, 52]) == (153, 0, 0)
    assert tuple(canvas[82 + 3, 52]) == (153, 0, 0)     # stick half-width 4 px
    assert tuple(canvas[82 + 6, 52]) == (0, 0, 0)
    # limb 6 (neck -> right hip) is green, dimmed
    mid = ((person[0, 1, :2] + person[0, 8, :2]) / 2).astype(int)
    assert tuple(canvas[mid[1], mid[0]]) == (0, 153, 0)
    # keypoints: full-colour circles of radius 4 on top (right wrist = colour 4, left ankle = colour 13)
    for part in (4, 13):
        x, y = person[0, part, :2].astype(int)
        assert tuple(canvas[y, x]) == op.COLORS[part]
        assert tuple(canvas[y, x + 4]) == op.COLORS[part]
    assert canvas[0:10, 200:256].max() == 0
    # the ear-shoulder helper limbs are not drawn
    assert set(map(tuple, canvas.reshape(-1, 3))) <= {(0, 0, 0)} | set(op.COLORS) | {
        tuple(int(c * op.LIMB_DIM) for c in col) for col in op.COLORS[:op.DRAWN_LIMBS]}


def test_pose_json_is_controlnet_aux_layout():
    person = np.concatenate([PERSON, np.full((18, 1), 0.7)], 1)
    person[5] = (np.nan, np.nan, 0)
    data = op.pose_json(person[None], 256, 128)
    assert data["canvas_width"] == 256 and data["canvas_height"] == 128
    kp = data["people"][0]["pose_keypoints_2d"]
    assert len(kp) == 54
    assert kp[0:3] == pytest.approx([60 / 256, 40 / 128, 1.0])
    assert kp[15:18] == [0.0, 0.0, 0.0]


# ------------------------------------------------------------------------------------------------ hands
@pytest.fixture(scope="module")
def hand_model():
    torch.manual_seed(1)
    state = {op.standard_key(k): v for k, v in op.HandPoseNet().state_dict().items()}
    assert state["conv5_3_CPM.weight"].shape == (128, 512, 3, 3)
    assert state["conv6_2_CPM.weight"].shape == (22, 512, 1, 1)
    assert state["Mconv1_stage2.weight"].shape == (128, 150, 7, 7)
    assert state["Mconv7_stage6.bias"].shape == (22,)
    assert sum(v.numel() for v in state.values()) == 36_832_324
    return op.load_state_dict_standard(op.HandPoseNet(), state, "hand_pose_model.pth").eval()


def test_hand_network_loads_and_refuses_body_weights(hand_model, body_weights):
    with pytest.raises(UnflickerError, match=r"body_pose_model\.pth is not an OpenPose hand model"):
        op.load_state_dict_standard(op.HandPoseNet(), body_weights[1], "body_pose_model.pth", "an OpenPose hand model")
    crop = np.random.default_rng(2).integers(0, 256, (60, 60, 3), dtype=np.uint8)
    points = op.hand_keypoints(hand_model, crop, op.HandSettings(scales=(0.125,)))  # a 46 px pass keeps it fast
    assert points.shape == (21, 3)


def test_hand_boxes_follow_the_forearm():
    person = np.full((18, 3), np.nan)
    person[[2, 3, 4], :2] = [(100, 100), (100, 140), (100, 170)]  # right shoulder, elbow, wrist
    person[[5, 7], :2] = [(140, 100), (140, 170)]                  # left elbow missing: no left box
    # size 1.5 * max(30, 0.9 * 40) = 54, centred a third of the forearm past the wrist (100, 179.9)
    assert op.hand_boxes(person, 256, 256) == [(73, 152, 54, False)]
    assert op.hand_boxes(person, 256, 190) == [(73, 152, 37, False)]  # clipped at the bottom: 190 - 152.9
    assert op.hand_boxes(person, 256, 170) == []                       # under 20 px: skipped


def test_decode_hand_from_synthetic_heatmaps():
    yy, xx = np.mgrid[0:128, 0:128].astype(float)
    heat = np.zeros((128, 128, 22), np.float32)
    truth = [(20 + 4 * i, 30 + 3 * i) for i in range(21)]
    for i, (x, y) in enumerate(truth):
        heat[:, :, i] = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 3.0 ** 2))
    heat[:, :, 5] += 0.6 * np.exp(-((xx - 110) ** 2 + (yy - 10) ** 2) / (2 * 2.0 ** 2))  # a smaller distractor
    heat[:, :, 9] = 0                                                                    # point 9 not visible
    points = op.decode_hand(heat, 64, 96)
    for i, (x, y) in enumerate(truth):
        if i == 9:
            assert np.isnan(points[i, 0]) and points[i, 2] == 0
        else:
            assert tuple(points[i, :2]) == (int(x * 64 / 128), int(y * 96 / 128))


def test_hands_are_drawn_and_written_to_json():
    person = np.full((130, 3), np.nan)
    person[:18, :2] = PERSON + (0.0, 20.0)
    person[:18, 2] = 1.0
    right = np.array([(150 + 5 * (i % 5), 60 + 6 * (i // 5)) for i in range(21)], float)
    right[0], right[1] = (150, 40), (130, 40)
    person[op.RIGHT_HAND, :2] = right
    person[op.RIGHT_HAND, 2] = 1.0
    canvas = op.draw_bodypose(np.zeros((256, 256, 3), np.uint8), person[None])
    # edge 0 (point 0 -> 1, drawn 2 px wide) is the first rainbow colour, red; points are blue circles on top
    assert tuple(canvas[40, 138]) == op.HAND_EDGE_COLORS[0] == (255, 0, 0)
    assert tuple(canvas[43, 138]) == (0, 0, 0)
    assert tuple(canvas[int(right[7, 1]), int(right[7, 0])]) == (0, 0, 255)
    data = op.pose_json(person[None], 256, 256)["people"][0]
    assert data["hand_left_keypoints_2d"] is None
    assert data["hand_right_keypoints_2d"][:3] == pytest.approx([150 / 256, 40 / 256, 1.0])
    assert len(data["hand_right_keypoints_2d"]) == 63


def test_detect_hands_places_points_in_image_coordinates(hand_model):
    person = np.full((1, 18, 3), np.nan)
    person[0, [2, 3, 4], :2] = [(100, 100), (100, 140), (100, 170)]
    person[0, [2, 3, 4], 2] = 1.0
    image = np.random.default_rng(3).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    out = op.detect_hands(hand_model, image, person, op.HandSettings(scales=(0.125,)))
    assert out.shape == (1, 130, 3)
    assert np.array_equal(out[0, :18], person[0], equal_nan=True)
    assert np.isnan(out[0, op.FACE, 0]).all()
    assert np.isnan(out[0, op.LEFT_HAND, 0]).all()
    found = out[0, op.RIGHT_HAND]
    found = found[~np.isnan(found[:, 0])]
    assert ((found[:, 0] > 73) & (found[:, 0] < 73 + 54) & (found[:, 1] > 152) & (found[:, 1] < 152 + 54)).all()


# ------------------------------------------------------------------------------------------------- face
def test_face_network_loads_and_finds_landmarks_in_the_crop(hand_model):
    torch.manual_seed(2)
    state = {op.standard_key(k): v for k, v in op.FacePoseNet().state_dict().items()}
    assert state["conv6_2_CPM.weight"].shape == (71, 512, 1, 1)
    assert state["Mconv1_stage2.weight"].shape == (128, 199, 7, 7)
    assert state["Mconv7_stage6.bias"].shape == (71,)
    model = op.load_state_dict_standard(op.FacePoseNet(), state, "facenet.pth").eval()
    with pytest.raises(UnflickerError, match="not an OpenPose face model"):
        hand_state = {op.standard_key(k): v for k, v in hand_model.state_dict().items()}
        op.load_state_dict_standard(op.FacePoseNet(), hand_state, "hand_pose_model.pth", "an OpenPose face model")
    crop = np.random.default_rng(4).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    assert op.face_keypoints(model, crop, input_size=32).shape == (70, 3)


def test_face_box_and_decoding_have_known_answers():
    person = np.full((18, 3), np.nan)
    person[[0, 15, 16], :2] = [(100, 100), (94, 96), (88, 100)]  # nose, left eye, right ear
    # half size = max(3 x 6 (eye), 1.5 x 12 (ear)) = 18 around the nose
    assert op.face_box(person, 256, 256) == (82, 82, 36)
    shifted = person.copy()
    shifted[:, 0] -= 90
    assert op.face_box(shifted, 256, 256) == (0, 82, 36)   # the left edge clips the corner, not the size
    person[[15, 16]] = np.nan
    assert op.face_box(person, 256, 256) is None            # no eye or ear: no face
    yy, xx = np.mgrid[0:60, 0:60].astype(float)
    heat = np.zeros((60, 60, 71), np.float32)
    for i in range(70):
        heat[:, :, i] = np.exp(-((xx - (5 + i % 50)) ** 2 + (yy - (5 + i // 2)) ** 2) / 8.0)
    heat[:, :, 3] *= 0.04  # below the 0.05 threshold: not found
    points = op.decode_face(heat)
    assert np.isnan(points[3, 0]) and points[3, 2] == 0
    found = [i for i in range(70) if i != 3]
    assert np.array_equal(points[found, :2], [(5 + i % 50, 5 + i // 2) for i in found])


def test_face_is_drawn_and_written_to_json():
    person = np.full((130, 3), np.nan)
    person[:18, :2] = PERSON + (0.0, 20.0)
    person[op.FACE.start, :2] = (200, 200)
    canvas = op.draw_bodypose(np.zeros((256, 256, 3), np.uint8), person[None])
    assert tuple(canvas[200, 200]) == tuple(canvas[200, 203]) == (255, 255, 255)
    assert tuple(canvas[200, 205]) == (0, 0, 0)
    data = op.pose_json(person[None], 256, 256)["people"][0]
    assert len(data["face_keypoints_2d"]) == 210 and data["face_keypoints_2d"][:3] == pytest.approx([200 / 256] * 2 + [1.0])
    assert data["hand_left_keypoints_2d"] is None


# -------------------------------------------------------------------------------------------- smoothing
def _track_person(offset_x: np.ndarray, noise: float, seed: int):
    rng = np.random.default_rng(seed)
    frames = []
    for dx in offset_x:
        p = np.concatenate([PERSON + (dx, 0.0), np.ones((18, 1))], 1)
        p[:, :2] += rng.normal(0, noise, (18, 2))
        frames.append(p[None])
    return frames


def _lag(truth: np.ndarray, out: np.ndarray, window: slice) -> float:
    """Delay d (frames, 0.1 steps) that best aligns the output with the truth: out(t) ~ truth(t - d)."""
    t = np.arange(len(truth), dtype=float)
    errs = [(np.sqrt(np.mean((out[window] - np.interp(t[window] - d, t, truth)) ** 2)), d)
            for d in np.arange(0, 6.01, 0.1)]
    return min(errs)[1]


def _half_crossing_delay(truth, out, lo, hi):
    mid = (truth[lo] + truth[hi]) / 2
    sign = np.sign(truth[hi] - truth[lo])

    def crossing(x):
        s = sign * (x[lo:hi + 1] - mid)
        i = int(np.argmax(s >= 0))
        return lo + i - 1 + (-s[i - 1]) / (s[i] - s[i - 1])

    return crossing(out) - crossing(truth)


def test_one_euro_cuts_jitter_and_follows_real_movement():
    t = np.arange(150, dtype=float)

    def move(start, frames, a, b):
        s = np.clip((t - start) / frames, 0, 1)
        return a + (b - a) * (0.5 - 0.5 * np.cos(np.pi * s))

    # still, a quick 100 px move (10 frames), still, a slow 80 px move back (30 frames), still
    truth = np.where(t < 60, move(30, 10, 0, 100), move(80, 30, 100, 20))
    still = np.r_[0:28, 48:78, 122:150]
    params = op.smoothing_params(0.5)
    cut, lags, delays = [], [], []
    for seed in range(4):
        raw = _track_person(truth, noise=2.0, seed=seed)   # 2 px jitter at a 512 px detection size
        out = np.concatenate(list(op.smooth_pose_sequence(raw, scale=512, **params)))
        raw = np.concatenate(raw)
        base = PERSON[None, :, :]
        err_raw = raw[:, :, :2] - base - np.stack([truth, 0 * truth], 1)[:, None]
        err_out = out[:, :, :2] - base - np.stack([truth, 0 * truth], 1)[:, None]
        cut.append(1 - np.sqrt((err_out[still] ** 2).mean()) / np.sqrt((err_raw[still] ** 2).mean()))
        x = (out[:, :, 0] - base[:, :, 0]).mean(1)
        lags += [_lag(truth, x, slice(26, 44)), _lag(truth, x, slice(76, 114))]
        delays += [_half_crossing_delay(truth, x, 29, 41), _half_crossing_delay(truth, x, 79, 111)]
    assert min(cut) >= 0.5, cut
    assert max(lags) <= 2.0, lags
    assert max(delays) <= 2.0, delays


def test_tracking_keeps_people_apart_and_handles_missing_parts():
    a = np.concatenate([PERSON, np.ones((18, 1))], 1)
    b = a + (120, 0, 0)
    smoother = op.PoseSmoother(scale=256, hold=1, max_gap=3)
    for i in range(6):
        frame = np.stack([b, a] if i % 2 else [a, b]).copy()  # detection order swaps every frame
        frame[:, :, 0] += 2 * i
        if i == 3:
            frame[0 if i % 2 == 0 else 1, 4] = (np.nan, np.nan, 0)  # person a's right wrist vanishes
        out = smoother.update(frame)
        assert out.shape == (2, 18, 3)
        assert out[0, 1, 0] < out[1, 1, 0]  # output order follows the tracks, not the detection order
    assert not np.isnan(out[0, 4, 0])
    # hold=1: a part missing for one frame is kept at its filtered position, longer it is reported missing
    smoother = op.PoseSmoother(scale=256, hold=1, max_gap=3)
    missing = a.copy()
    missing[4] = (np.nan, np.nan, 0)
    seq = [smoother.update(f[None]) for f in (a, missing, missing, a + (60, 0, 0))]
    assert seq[1][0, 4, 0] == pytest.approx(a[4, 0])
    assert np.isnan(seq[2][0, 4, 0]) and seq[2][0, 4, 2] == 0
    # a part unseen longer than max_gap restarts its filter at the new position
    smoother = op.PoseSmoother(scale=256, max_gap=1)
    seq = [smoother.update(f[None]) for f in (a, missing, missing, a + (3, 0, 0))]
    assert seq[-1][0, 4, 0] == pytest.approx(a[4, 0] + 3)
    # body + hands + face (130 points per person) are smoothed alike
    with_hands = np.full((130, 3), np.nan)
    with_hands[:18] = a
    with_hands[op.LEFT_HAND] = (10.0, 10.0, 1.0)
    smoother = op.PoseSmoother(scale=256)
    outs = [smoother.update((with_hands + (d, 0, 0))[None]) for d in (0, 4, 0, 4)]
    assert outs[-1].shape == (1, 130, 3)
    assert 10 < outs[-1][0, op.LEFT_HAND.start, 0] < 14


def test_extract_poses_engine_runs_with_smoothing(body_model):
    frames = [np.full((96, 128, 3), v, np.uint8) for v in (40, 120)]
    done = []
    settings = op.DetectSettings(scales=(0.5,), boxsize=64)  # a small network input keeps the test fast
    poses = list(op.extract_poses(body_model, frames, 64, op.smoothing_params(0.5), settings,
                                  progress=lambda d, t: done.append(d), total=2))
    assert done == [1, 2]
    assert [p.skeleton.shape for p in poses] == [(64, 85, 3)] * 2
    assert all(p.keypoints["canvas_width"] == 85 and p.keypoints["canvas_height"] == 64 for p in poses)


# ------------------------------------------------------------------------------------------------- node
def test_openpose_node_end_to_end(pack, body_weights, monkeypatch):
    import comfy.model_management
    import comfy.utils
    import folder_paths

    node_mod = pack.nodes.openpose
    UnflickerError = pack.unflicker.errors.UnflickerError
    folder = os.path.join(folder_paths.models_dir, "openpose")
    monkeypatch.setattr(folder_paths, "folder_names_and_paths", dict(folder_paths.folder_names_and_paths))
    folder_paths.folder_names_and_paths.pop("openpose", None)
    node = node_mod.OpenPoseExtract()
    images = torch.rand(1, 128, 32, 3)  # one narrow frame: the network input is 184 px high at any resolution
    with pytest.raises(UnflickerError, match=r"body weights: 'body_pose_model\.pth' is not in ComfyUI's models/openpose folder \(.*models.openpose\)\. Put body_pose_model\.pth"):
        node.extract(images, 64, True, 0.5, 2)

    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, op.BODY_WEIGHTS)
    os.symlink(body_weights[0], target)
    try:
        comfy.utils.UPDATES.clear()
        pose_images, keypoints = node.extract(images, 64, True, 0.5, 2)
        assert pose_images.shape == (1, 256, 64, 3) and pose_images.dtype == torch.float32
        assert len(keypoints) == 1 and keypoints[0]["canvas_width"] == 64 and "people" in keypoints[0]
        assert comfy.utils.UPDATES[-1] == (1, 1)
        with pytest.raises(UnflickerError, match=r"hand weights: 'hand_pose_model\.pth' is not in ComfyUI's models/openpose"):
            node.extract(images, 64, True, 0.5, 2, hands=True)
        with pytest.raises(UnflickerError, match=r"face weights: 'facenet\.pth' is not in ComfyUI's models/openpose"):
            node.extract(images, 64, True, 0.5, 2, face=True)
        comfy.model_management.interrupt_current_processing(True)
        with pytest.raises(comfy.model_management.InterruptProcessingException):
            node.extract(images, 64, False, 0.5, 0)
    finally:
        comfy.model_management.interrupt_current_processing(False)
        os.remove(target)
    assert "UnflickerOpenPoseExtract" in pack.NODE_CLASS_MAPPINGS
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["UnflickerOpenPoseExtract"] == "OpenPose Extract"


def test_pose_cli_writes_skeleton_frames_and_json(body_weights, tmp_path):
    import json

    import cv2

    from unflicker.cli import main

    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(2):
        cv2.imwrite(str(clip / f"{i:03d}.png"), np.full((128, 32, 3), 60 * i, np.uint8))
    out = tmp_path / "pose"
    assert main(["pose", str(clip), str(out), "--body", str(body_weights[0]), "--resolution", "64"]) == 0
    assert sorted(os.listdir(out)) == ["keypoints.json", "pose_00000.png", "pose_00001.png"]
    assert cv2.imread(str(out / "pose_00001.png")).shape == (256, 64, 3)
    frames = json.loads((out / "keypoints.json").read_text())
    assert len(frames) == 2 and frames[0]["canvas_height"] == 256
    assert main(["pose", str(clip), str(out), "--body", str(tmp_path / "missing.pth")]) == 2

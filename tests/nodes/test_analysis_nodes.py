import json

import torch

from unflicker.media import synthetic


def _images(clip):
    return torch.from_numpy(clip).float() / 255.0


def test_analyze_flicker_node(pack):
    clip = synthetic.brightness_flicker(synthetic.moving_clip("zoom", 10, 80, 96, seed=5), 0.12, 2)[0]
    out = pack.nodes.analysis.AnalyzeFlicker().analyze(_images(clip), 8.0)
    report, js, chart, verdict = out["result"]
    ui = out["ui"]["unflicker_report"][0]
    assert ui["kinds"] == ["brightness"] and ui["verdict"] == verdict and ui["fps"] == 8.0
    assert {"mean_diff", "warp_error", "luma_hf"} <= set(ui["series"]) and len(ui["series"]["luma_hf"]) == 10
    assert json.loads(js)["kinds"] == ["brightness"] and "brightness" in report
    assert chart.dtype == torch.float32 and chart.shape == (1, 600, 960, 3) and 0 <= chart.min() and chart.max() <= 1
    json.dumps(out["ui"])  # the frontend receives it as JSON


def test_compare_flicker_node(pack):
    clean = synthetic.moving_clip("pan", 10, 80, 96, seed=6)
    bad = synthetic.colour_flicker(clean, 8, seed=3)
    out = pack.nodes.analysis.CompareFlicker().compare(_images(bad), _images(clean), 8.0)
    report, verdict = out["result"]
    ui = out["ui"]["unflicker_compare"][0]
    assert verdict.startswith("Fixed") and ui["verdict"] == verdict
    assert ui["changes"]["colour_hf_pct"] < -50 and set(ui["before"]) == set(ui["after"]) == set(ui["changes"])
    assert "classic" in report


def test_nodes_registered(pack):
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["UnflickerAnalyzeFlicker"] == "Analyze Flicker"
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["UnflickerCompareFlicker"] == "Compare Flicker"


def test_analyze_flicker_refuses_frames_too_small_naming_the_input(pack):
    import pytest

    UnflickerError = pack.unflicker.errors.UnflickerError  # the pack's own, as ComfyUI loads it
    tiny = torch.rand(5, 2, 2, 3)
    with pytest.raises(UnflickerError, match="images is 2x2 pixels; flicker analysis needs frames of at least 8x8"):
        pack.nodes.analysis.AnalyzeFlicker().analyze(tiny, 8.0)
    clip = _images(synthetic.moving_clip("pan", 6, 48, 64, seed=1))
    with pytest.raises(UnflickerError, match="after has 1 frame; flicker analysis needs at least 2"):
        pack.nodes.analysis.CompareFlicker().compare(clip, clip[:1], 8.0)
    # the rate is kept as given: the report states 23.976, not the exact rate it stands for
    out = pack.nodes.analysis.AnalyzeFlicker().analyze(clip, 23.976)
    assert out["ui"]["unflicker_report"][0]["fps"] == 23.976 and json.loads(out["result"][1])["fps"] == 23.976

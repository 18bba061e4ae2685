"""The `ui` payloads the nodes send to the frontend extension, checked against docs/CONTRACTS.md."""

from __future__ import annotations

import os
import re

import pytest
import torch

from conftest import REPO
from unflicker.media import synthetic

CONTRACTS = os.path.join(REPO, "docs", "CONTRACTS.md")
TYPES = {"string": str, "number": (int, float), "integer": int, "list of strings": list, "list of integers": list,
         "list of one string": str}


def documented() -> dict[str, dict[str, str]]:
    """ui key -> {field: type} from the tables of CONTRACTS.md."""
    out, key = {}, None
    with open(CONTRACTS, encoding="utf-8") as f:
        for line in f:
            head = re.match(r"## `(\w+)`", line)
            if head:
                key = head.group(1)
                out[key] = {}
            row = re.match(r"\| `(\w+)` \| ([^|]+) \|", line)
            if key and row:
                out[key][row.group(1)] = row.group(2).strip()
    return out


def check(payload: dict, fields: dict[str, str]) -> None:
    assert set(payload) == set(fields), f"keys {sorted(payload)} != documented {sorted(fields)}"
    for name, kind in fields.items():
        expected = dict if kind.startswith("object") else list if kind.startswith("list of numbers") else TYPES[kind]
        assert isinstance(payload[name], expected), (name, kind, type(payload[name]))


@pytest.fixture(scope="module")
def clips():
    clean = synthetic.moving_clip("pan", 6, 48, 64, seed=2)
    bad = synthetic.inject("brightness", clean, seed=1)
    return [torch.from_numpy(c).float() / 255.0 for c in (clean, bad)]


def test_contract_lists_every_ui_key_the_nodes_send():
    assert set(documented()) == {"unflicker_report", "unflicker_compare", "unflicker_video", "text"}


def test_analysis_payloads(pack, clips):
    docs = documented()
    report = pack.nodes.analysis.AnalyzeFlicker().analyze(clips[1], 8.0)["ui"]["unflicker_report"][0]
    check(report, docs["unflicker_report"])
    assert {"warp_error", "mean_diff", "luma_hf"} <= set(report["series"])
    assert {"warp_error", "mean_diff", "luma_hf_pct"} <= set(report["measures"])
    # the look: the fields CONTRACTS.md names under `look.seams` and `look.drift`
    assert set(report["look"]["seams"]) == {"found", "frames", "period", "step"}
    assert set(report["look"]["drift"]) == {"found", "levels", "saturation_pct", "contrast_pct", "score", "frames"}
    assert len(report["look"]["drift"]["levels"]) == 3 and report["look"]["drift"]["found"] is False
    compare = pack.nodes.analysis.CompareFlicker().compare(clips[1], clips[0], 8.0)["ui"]["unflicker_compare"][0]
    check(compare, docs["unflicker_compare"])
    assert {"seam_count", "seam_step", "drift_score"} <= set(compare["changes"])


def test_video_payloads(pack, clips):
    docs = documented()
    saved = pack.nodes.video_io.SaveVideo().save(clips[0], 8.0, "contract/clip", "mp4", 23)["ui"]
    check(saved["unflicker_video"][0], docs["unflicker_video"])
    assert saved["images"][0] == saved["unflicker_video"][0] and list(saved["animated"]) == [True]
    side = pack.nodes.compare.SideBySide().compare(clips[0], clips[1], "a", "b", 8.0, 2.0)["ui"]["unflicker_video"][0]
    check(side, docs["unflicker_video"])
    assert side["type"] == "temp" and side["format"] == "video/mp4"

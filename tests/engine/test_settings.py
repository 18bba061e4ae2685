"""unflicker.settings and nodes/inputs: each setting's default, range and help written once, used everywhere."""

from __future__ import annotations

import dataclasses

import pytest

from unflicker.errors import UnflickerError
from unflicker.settings import AnimateDiffSettings, DeflickerSettings, SVDSettings


def test_validated_names_the_setting_and_its_range():
    assert SVDSettings().validated() == SVDSettings()
    with pytest.raises(UnflickerError, match=r"steps must be between 1 and 200, got 0"):
        SVDSettings(steps=0).validated()
    with pytest.raises(UnflickerError, match="width must be a multiple of 8"):
        SVDSettings(width=100).validated()
    with pytest.raises(UnflickerError, match="min_guidance .* must not exceed max_guidance"):
        SVDSettings(min_guidance=5.0, max_guidance=3.0).validated()
    with pytest.raises(UnflickerError, match="mode must be one of auto, brightness"):
        DeflickerSettings(mode="sharpen").validated()
    with pytest.raises(UnflickerError, match=r"context_overlap must be between 0 and 3"):
        AnimateDiffSettings(context_length=4, context_overlap=4).validated()


def test_settings_are_frozen_and_replace_makes_copies():
    s = SVDSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.seed = 3
    assert dataclasses.replace(s, seed=3).seed == 3 and s.seed == 0
    assert DeflickerSettings.default("window") == 9
    assert DeflickerSettings.spec("strength")["high"] == 1.0


def test_node_entries_come_from_the_settings(pack):
    inputs = pack.nodes.inputs
    assert inputs.setting_input(SVDSettings, "width") == ("INT", {"default": 1024, "min": 64, "max": 4096, "step": 8})
    kind, options = inputs.setting_input(DeflickerSettings, "mode")
    assert kind == list(DeflickerSettings.spec("mode")["choices"]) and options["default"] == "auto"
    assert inputs.setting_input(SVDSettings, "seed", min=1)[1]["min"] == 1  # a node may override an option
    req = pack.nodes.svd.SVDGenerate.INPUT_TYPES()["required"]
    assert req["noise_aug_strength"][1]["tooltip"] == SVDSettings.spec("noise_aug_strength")["help"]


def test_cli_defaults_come_from_the_settings():
    from unflicker.cli import build_parser

    svd = build_parser().parse_args(["svd", "m", "i.png", "o.mp4"])
    assert (svd.width, svd.steps, svd.noise_aug_strength, svd.num_frames) == (1024, 25, 0.02, None)
    ad = build_parser().parse_args(["animatediff", "c", "m", "o.mp4", "--prompt", "x"])
    assert (ad.num_frames, ad.context_overlap, ad.guidance) == (16, 4, 7.5)

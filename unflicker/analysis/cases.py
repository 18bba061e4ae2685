"""The labelled synthetic set for the analyzer: real motion, injected flicker of each kind, real codec damage.

Each case: (name, frames uint8 (N, H, W, 3), expected kinds). "Right" (:func:`judge`, used by the tests and
bench/analyze_accuracy.py): every expected kind is reported, and nothing else except the tolerated extras in
TOLERATED. Not imported by the package: ``from unflicker.analysis.cases import build_cases``.
"""

from __future__ import annotations

import numpy as np

from ..media import synthetic as syn

H, W, N = 128, 160, 16
FPS = 8.0
CODEC_CRF = 45  # "high crf": at this size x264's deblocking hides most blocks below ~crf 40
# codec damage re-quantises fine detail on every frame, which is texture change too; segments chained with a growing
# look drift as well (the look of the last segment is not the first's)
TOLERATED = {"codec": {"texture"}, "seams": {"drift"}}


def scene(motion: str, frames: int, seed: int, speed: float) -> np.ndarray:
    """synthetic.moving_clip rendered 9/8 larger and scaled down: texture() has an octave of exactly 8-px cells,
    which lines up with the 8x8 coding grid and fakes blockiness; real footage has no such period."""
    import cv2

    big = syn.moving_clip(motion, frames, H * 9 // 8, W * 9 // 8, seed=seed, speed=speed * 9 / 8)
    return np.stack([cv2.resize(f, (W, H), interpolation=cv2.INTER_AREA) for f in big])


def _inject(kind: str, clip: np.ndarray, seed: int) -> np.ndarray:
    if kind == "clean":
        return clip
    if kind == "brightness":
        return syn.brightness_flicker(clip, 0.1, seed)[0]
    if kind == "regional":
        return syn.regional_flicker(clip, 0.1, seed)
    if kind == "colour":
        return syn.colour_flicker(clip, 8, seed)
    if kind == "texture":
        return syn.texture_flicker(clip, 6.0, seed)
    if kind == "codec":
        return syn.codec_damage(clip, CODEC_CRF, FPS)
    raise ValueError(kind)


def build_cases(seed: int = 0):
    """The set; ``seed`` shifts every scene and injection seed (0 = the set the tests use)."""
    cases = []
    kinds = ("clean", "brightness", "regional", "colour", "texture", "codec")
    for m, motion in enumerate(syn.MOTIONS):
        clip = scene(motion, N, seed + 11 + m, 2.5)
        for k, kind in enumerate(kinds):
            expected = {"steady"} if kind == "clean" else {kind}
            cases.append((f"{motion}/{kind}", _inject(kind, clip, seed + 100 + 7 * m + k), expected))
    # fast motion, clean: the classic rule calls these "generative"
    for i, (motion, speed) in enumerate((("pan", 10.0), ("pan", 14.0), ("zoom", 6.0), ("objects", 9.0), ("pan", 17.0), ("pan", 20.0))):
        clip = scene(motion, N, seed + 40 + i, speed)
        cases.append((f"fast-{motion}{speed:g}/clean", clip, {"steady"}))
    # two shots joined by a cut, clean or flickering: the cut must not read as flicker
    for i, (kind, motions) in enumerate((("clean", ("pan", "zoom")), ("clean", ("static", "objects")),
                                         ("brightness", ("pan", "static")), ("colour", ("zoom", "pan")),
                                         ("texture", ("objects", "pan")))):
        a = scene(motions[0], N // 2 + 2, seed + 60 + i, 2.0)
        b = scene(motions[1], N // 2 + 2, seed + 70 + i, 2.0)
        clip = _inject(kind, np.concatenate([a, b]), seed + 200 + i)
        expected = {"steady" if kind == "clean" else kind, "scene_cuts"}
        cases.append((f"cut-{'+'.join(motions)}/{kind}", clip, expected))
    # weaker doses on other scenes
    for i, (motion, kind) in enumerate((("pan", "brightness"), ("objects", "colour"), ("zoom", "regional"),
                                        ("static", "texture"), ("fade", "codec"))):
        clip = scene(motion, N, seed + 80 + i, 3.0)
        if kind == "brightness":
            bad = syn.brightness_flicker(clip, 0.05, seed + i)[0]
        elif kind == "colour":
            bad = syn.colour_flicker(clip, 5, seed + i)
        elif kind == "regional":
            bad = syn.regional_flicker(clip, 0.06, seed + i)
        elif kind == "texture":
            bad = syn.texture_flicker(clip, 4.0, seed + i)
        else:
            bad = syn.codec_damage(clip, 42, FPS)
        cases.append((f"weak-{motion}/{kind}", bad, {kind}))
    # chained segments (extend, context windows): each segment's look the one before's, darker, cast, more saturated
    for i, (motion, every) in enumerate((("pan", 5), ("objects", 6), ("zoom", 4))):
        clip = scene(motion, N, seed + 90 + i, 2.5)
        cases.append((f"seams-{motion}/every{every}", chained_looks(clip, every, seed + 300 + i), {"seams"}))
    # drift: a cast and more saturation eased in over the shot (and one with a fade on top: the fade is kept apart)
    for i, (motion, cast, fade) in enumerate((("pan", (12, 0, -12), 1.0), ("objects", (-12, 4, 12), 1.0),
                                              ("zoom", (12, -12, 0), 0.6))):
        clip = scene(motion, N, seed + 95 + i, 2.5)
        cases.append((f"drift-{motion}/cast{'+fade' if fade < 1 else ''}", eased_look(clip, 0.15, cast, fade),
                      {"drift"}))
    return cases


def eased_look(clip: np.ndarray, saturation: float, cast, fade: float = 1.0) -> np.ndarray:
    """``clip`` with a look eased in from none on the first frame to all of it on the last: saturation raised by
    ``saturation`` around the grey axis, ``cast`` levels added per channel, and the whole picture faded to ``fade``."""
    grey = np.full((3, 3), 1.0 / 3.0)
    out = []
    for t, frame in enumerate(clip):
        s = t / max(len(clip) - 1, 1)
        gain = (1 + (fade - 1) * s) * (grey + (1 + saturation * s) * (np.eye(3) - grey))
        out.append(frame.astype(np.float64) @ gain.T + s * np.asarray(cast, np.float64))
    return np.clip(np.round(np.stack(out)), 0, 255).astype(np.uint8)


def chained_looks(clip: np.ndarray, every: int, seed: int) -> np.ndarray:
    """``clip`` with a new look every ``every`` frames, chained: darker by 3-5 %, a cast of 2-4 levels per channel
    and 4-8 % more saturation than the segment before."""
    rng = np.random.default_rng(seed)
    grey = np.full((3, 3), 1.0 / 3.0)
    out, gain, offset = clip.astype(np.float64), np.eye(3), np.zeros(3)
    for t in range(every, len(clip), every):
        sat = grey + (1 + rng.uniform(0.04, 0.08)) * (np.eye(3) - grey)
        dark = 1 - rng.uniform(0.03, 0.05)
        gain, offset = dark * sat @ gain, dark * sat @ offset + rng.uniform(2, 4, 3) * rng.choice([-1, 1], 3)
        out[t:] = clip[t:].astype(np.float64) @ gain.T + offset
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def judge(expected: set, reported: list) -> bool:
    reported = set(reported)
    if not expected <= reported:
        return False
    allowed = set(expected)
    for kind in expected:
        allowed |= TOLERATED.get(kind, set())
    return reported <= allowed

"""CogVideoX / Wan engine: the real diffusers pipelines on tiny random-weight models, on CPU."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from unflicker.generate import videogen as vg
from unflicker.errors import UnflickerError

from videogen_tiny import WAN_FILES, cached_tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")
COG = dict(num_frames=9, width=32, height=32, steps=2)
WAN = dict(num_frames=5, width=64, height=64, steps=2)


@pytest.fixture(scope="module", autouse=True)
def free_pipeline_after():
    yield
    vg.free_pipeline()


@pytest.fixture(scope="module")
def first_frame():
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, 96, dtype=np.float32)
    img = np.stack([np.add.outer(base[:80] * 0.5, base * 0.5), np.add.outer(base[:80], 0 * base), 128 + 0 * np.add.outer(base[:80], base)], axis=-1)
    img += rng.normal(0, 10, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)  # 80x96: not the output aspect, so the crop path runs too


def load(kind):
    return vg.load_pipeline(cached_tiny(kind), "cpu")


@pytest.mark.parametrize("kind, size", [("cogvideox", COG), ("wan", WAN)])
def test_text_to_video_frames_size_range(kind, size):
    model = load(kind)
    result = vg.generate(model, "a red fox runs across a snowy field", seed=3, **size)
    n, w, h = size["num_frames"], size["width"], size["height"]
    assert result.frames.shape == (n, h, w, 3) and result.frames.dtype == np.float32
    assert 0.0 <= result.frames.min() and result.frames.max() <= 1.0
    assert result.frames.std() > 0.01  # a real decode, not a blank
    assert result.fps == {"cogvideox": 8.0, "wan": 16.0}[kind]


@pytest.mark.parametrize("kind, size", [("cogvideox", COG), ("wan", WAN), ("cogvideox-i2v", COG), ("wan-i2v", WAN)])
def test_same_seed_same_video_other_seed_differs(kind, size, first_frame):
    model = load(kind)
    image = first_frame if kind.endswith("i2v") else None
    a = vg.generate(model, "waves crash on the beach", image=image, seed=11, **size).frames
    b = vg.generate(model, "waves crash on the beach", image=image, seed=11, **size).frames
    c = vg.generate(model, "waves crash on the beach", image=image, seed=12, **size).frames
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3


@pytest.mark.parametrize("kind, size", [("cogvideox-i2v", COG), ("wan-i2v", WAN)])
def test_image_to_video_is_conditioned_on_the_first_image(kind, size, first_frame):
    model = load(kind)
    other = first_frame[::-1, ::-1].copy()  # same pixels, different picture
    a = vg.generate(model, "a slow pan", image=first_frame, seed=5, **size).frames
    b = vg.generate(model, "a slow pan", image=other, seed=5, **size).frames
    assert a.shape == (size["num_frames"], size["height"], size["width"], 3)
    assert np.abs(a - b).mean() > 1e-3  # the image reaches the model (same seed, same prompt)
    with pytest.raises(UnflickerError, match="needs a first image"):
        vg.generate(model, "a slow pan", seed=5, **size)


def test_text_to_video_refuses_an_image(first_frame):
    with pytest.raises(UnflickerError, match="text-to-video and takes no first image"):
        vg.generate(load("cogvideox"), "a cat", image=first_frame, **COG)


def test_prompt_reaches_the_model():
    model = load("wan")
    a = vg.generate(model, "a red fox", seed=2, **WAN).frames
    b = vg.generate(model, "a city street at night", seed=2, **WAN).frames
    assert np.abs(a - b).mean() > 1e-4


def test_native_defaults_from_the_model():
    cog, wan = load("cogvideox").info, load("wan").info
    assert (cog.frames, cog.width, cog.height, cog.fps, cog.frame_step) == (9, 32, 32, 8, 8)  # tiny config's own
    assert (wan.frames, wan.width, wan.height, wan.fps, wan.frame_step) == (81, 832, 480, 16, 4)
    s = vg.resolve_settings(cog, vg.native_settings("x"))
    assert (s.num_frames, s.guidance, s.steps, s.fps) == (9, 7.5, 40, 8)
    s = vg.resolve_settings(wan, vg.native_settings("x"))
    assert (s.num_frames, s.guidance, s.flow_shift, s.fps) == (81, 5.0, 3.0, 16)
    assert vg.resolve_settings(wan, vg.native_settings("x", width=1280, height=720)).flow_shift == 5.0


@pytest.mark.parametrize("kind, frames, near", [("wan", 80, "77 or 81"), ("wan", 50, "49 or 53"),
                                                ("cogvideox", 50, "49 or 57"), ("cogvideox", 13, "9 or 17")])
def test_invalid_frame_counts_name_the_nearest_valid(kind, frames, near):
    size = dict(COG if kind == "cogvideox" else WAN, num_frames=frames)
    with pytest.raises(UnflickerError, match=f"num_frames {frames} cannot be generated.*nearest valid: {near}"):
        vg.generate(load(kind), "a cat", **size)


def test_frames_accepted_are_the_frames_made():
    model = load("cogvideox")
    assert len(vg.generate(model, "a cat", **dict(COG, num_frames=17, steps=1)).frames) == 17


def test_coherence_guard_lines():
    model = load("wan")
    quiet = vg.generate(model, "a cat", seed=1, **dict(WAN, steps=35))
    assert quiet.messages == []
    loud = vg.generate(model, "a cat", seed=1, guidance=1.5, flow_shift=8.0, **dict(WAN, steps=20))
    text = "\n".join(loud.messages)
    assert "steps 20 is under 35: temporal coherence degrades" in text
    assert "guidance 1.5 is very low for Wan: less prompt adherence, more frame drift" in text
    assert "flow_shift 8 at 64x64: Wan uses 3 for 480p" in text
    info = model.info
    long = vg.coherence_notes(vg.resolve_settings(info, vg.native_settings("x", num_frames=121, steps=40)), info)
    assert len(long) == 1 and "121 frames is beyond the 81" in long[0]
    cog = load("cogvideox").info
    assert vg.coherence_notes(vg.resolve_settings(cog, vg.native_settings("x")), cog) == []  # the recipe itself is clean
    low = vg.coherence_notes(vg.resolve_settings(cog, vg.native_settings("x", guidance=3.0)), cog)
    assert len(low) == 1 and "guidance 3 is very low for CogVideoX" in low[0] and "7.5" in low[0]


@pytest.mark.parametrize("kind, size", [("cogvideox", COG), ("wan", WAN)])
def test_progress_per_step_and_interrupt(kind, size):
    model = load(kind)
    calls = []
    vg.generate(model, "a cat", progress=lambda d, t: calls.append((d, t)), **dict(size, steps=3))
    assert calls == [(1, 3), (2, 3), (3, 3)]

    class Interrupted(Exception):
        pass

    seen = []

    def stop_at_two(done, total):
        seen.append(done)
        if done == 2:
            raise Interrupted()

    reference = vg.generate(model, "a cat", seed=9, **dict(size, steps=4)).frames
    with pytest.raises(Interrupted):
        vg.generate(model, "a cat", seed=9, progress=stop_at_two, **dict(size, steps=4))
    assert seen == [1, 2]  # steps 3 and 4 never ran
    again = vg.generate(model, "a cat", seed=9, **dict(size, steps=4)).frames
    np.testing.assert_array_equal(reference, again)  # the cached pipeline carries nothing from the stopped run


@pytest.mark.parametrize("field, value, words", [
    ("width", 40, "multiple of 16"), ("height", 20, "between 32"), ("steps", 0, "steps"), ("seed", -1, "seed"),
    ("guidance", -1.0, "guidance"), ("prompt", "  ", "prompt must not be empty"), ("num_frames", 0, "num_frames"),
])
def test_bad_settings_name_the_input(field, value, words):
    kwargs = dict(WAN, **{"prompt": "a cat", field: value})
    with pytest.raises(UnflickerError, match=words):
        vg.generate(load("wan"), **kwargs)


def test_memory_options_give_the_same_video():
    """Slicing decodes one video at a time, tiling decodes tiles (frames this small fit in one): same video."""
    plain = vg.generate(load("wan"), "a cat", seed=4, **WAN).frames
    lean = vg.load_pipeline(cached_tiny("wan"), "cpu", vae_tiling=True, vae_slicing=True, offload="model", cache=False)
    assert lean.pipe.vae.use_tiling and lean.pipe.vae.use_slicing
    assert lean.offload == "none" and lean.messages == ["model offload ignored: the model already runs on the CPU"]
    np.testing.assert_allclose(vg.generate(lean, "a cat", seed=4, **WAN).frames, plain, atol=1e-5)
    cog_plain = vg.generate(load("cogvideox"), "a cat", seed=4, **COG).frames
    cog = vg.load_pipeline(cached_tiny("cogvideox"), "cpu", vae_slicing=True, offload="sequential", cache=False)
    assert cog.pipe.vae.use_slicing and cog.messages == ["sequential offload ignored: the model already runs on the CPU"]
    np.testing.assert_allclose(vg.generate(cog, "a cat", seed=4, **COG).frames, cog_plain, atol=1e-5)
    with pytest.raises(UnflickerError, match="offload"):
        vg.load_pipeline(cached_tiny("wan"), "cpu", offload="disk")


def test_loading_is_cached_and_can_be_freed():
    a = load("wan")
    assert load("wan") is a
    assert vg.free_pipeline() is True
    b = load("wan")
    assert b is not a
    c = vg.load_pipeline(cached_tiny("wan"), "cpu", dtype="bf16", cache=False)
    assert c.pipe.transformer.dtype == torch.bfloat16 and c.pipe.vae.dtype == torch.float32  # Wan's VAE stays fp32
    assert vg.free_pipeline() is False  # handed over, nothing kept


def test_loading_touches_no_network(monkeypatch):
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a))
    vg.free_pipeline()
    for kind, size in (("cogvideox", COG), ("cogvideox-i2v", None), ("wan", WAN), ("wan-i2v", None)):
        model = vg.load_pipeline(cached_tiny(kind), "cpu", cache=False)
        if size:
            assert len(vg.generate(model, "a cat", **size).frames) == size["num_frames"]
    split = vg.load_pipeline(vg.WanFiles(**WAN_FILES), "cpu", cache=False)
    assert len(vg.generate(split, "a cat", **WAN).frames) == 5
    assert attempts == []


def test_dtype_choice():
    assert vg.resolve_dtype("auto", "cpu") == torch.float32
    assert vg.resolve_dtype("auto", "cuda") == torch.bfloat16  # the recipe: bf16
    assert vg.resolve_dtype("fp16", "cpu") == torch.float16
    with pytest.raises(UnflickerError, match="dtype"):
        vg.resolve_dtype("int8", "cpu")


def test_bad_paths_are_reported(tmp_path):
    with pytest.raises(UnflickerError, match="does not exist"):
        vg.load_pipeline(str(tmp_path / "nope"), "cpu")
    with pytest.raises(UnflickerError, match="model_index.json"):
        vg.load_pipeline(str(tmp_path), "cpu")
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableVideoDiffusionPipeline"}')
    with pytest.raises(UnflickerError, match="holds a StableVideoDiffusionPipeline, not CogVideoX or Wan"):
        vg.load_pipeline(str(tmp_path), "cpu")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UnflickerError, match="not a folder"):
        vg.load_pipeline(str(tmp_path / "notes.txt"), "cpu")


def test_cli_generate_text_and_image_to_video(first_frame, tmp_path, capsys):
    from PIL import Image

    from unflicker import cli
    from unflicker.media import video

    out = str(tmp_path / "wan.mp4")
    args = ["generate", WAN_FILES["transformer"], out, "--prompt", "a red fox", "--vae", WAN_FILES["vae"],
            "--text-encoder", WAN_FILES["text_encoder"], "--config-dir", WAN_FILES["config_dir"], "--device", "cpu",
            "--frames", "5", "--width", "64", "--height", "64", "--steps", "2"]
    assert cli.main(args) == 0
    info, frames = video.iter_frames(out)
    assert (info.width, info.height, len(list(frames)), info.fps) == (64, 64, 5, 16.0)
    captured = capsys.readouterr()
    assert "steps 2 is under 35" in captured.err and "wrote" in captured.out
    image = str(tmp_path / "first.png")
    Image.fromarray(first_frame).save(image)
    out = str(tmp_path / "cog.mp4")
    assert cli.main(["generate", cached_tiny("cogvideox-i2v"), out, "--prompt", "a cat", "--image", image,
                     "--device", "cpu", "--steps", "1"]) == 0
    info, frames = video.iter_frames(out)
    assert (info.width, info.height, len(list(frames)), info.fps) == (32, 32, 9, 8.0)  # the tiny model's native
    assert cli.main(["generate", cached_tiny("cogvideox-i2v"), out, "--prompt", "a cat", "--image", image,
                     "--device", "cpu", "--frames", "10"]) == 2
    assert "nearest valid: 9 or 17" in capsys.readouterr().err
    assert cli.main(["generate", WAN_FILES["transformer"], out, "--prompt", "a cat"]) == 2


def test_cogvideox_15_layout():
    model = load("cogvideox15")
    assert model.info.variant == "CogVideoX 1.5" and model.info.fps == 16 and model.info.max_trained_frames == 161
    for n in (9, 17):  # the pipeline pads to whole temporal patches and drops the padding again
        assert vg.generate(model, "a cat", **dict(COG, num_frames=n)).frames.shape == (n, 32, 32, 3)
    with pytest.raises(UnflickerError, match="nearest valid: 9 or 17"):
        vg.generate(model, "a cat", **dict(COG, num_frames=13))


def test_wan_ti2v_takes_an_optional_first_image(first_frame):
    model = load("wan-ti2v")
    assert model.info.variant == "Wan 2.2 TI2V 5B" and model.info.accepts_image and not model.info.image_to_video
    assert (model.info.frames, model.info.width, model.info.height, model.info.fps) == (121, 1280, 704, 24)
    text = vg.generate(model, "a cat", seed=3, **WAN).frames
    again = vg.generate(model, "a cat", seed=3, **WAN).frames
    with_image = vg.generate(model, "a cat", image=first_frame, seed=3, **WAN).frames
    np.testing.assert_array_equal(text, again)
    assert with_image.shape == text.shape and np.abs(with_image - text).mean() > 1e-3


def test_wan22_two_experts_from_split_files(tmp_path):
    """Wan 2.2 A14B: high-noise transformer, then the low-noise transformer_2 after the boundary step."""
    from safetensors.torch import load_file, save_file

    single = vg.load_pipeline(vg.WanFiles(**WAN_FILES), "cpu", cache=False)
    same = vg.load_pipeline(vg.WanFiles(**dict(WAN_FILES, transformer_2=WAN_FILES["transformer"])), "cpu", cache=False)
    assert same.pipe.config.boundary_ratio == 0.875 and same.info.variant == "Wan 2.2 A14B text-to-video"
    size = dict(WAN, steps=4)
    reference = vg.generate(single, "a cat", seed=2, **size).frames
    np.testing.assert_array_equal(vg.generate(same, "a cat", seed=2, **size).frames, reference)  # same expert twice
    low = {k: v * 1.1 if v.ndim == 2 else v for k, v in load_file(WAN_FILES["transformer"]).items()}
    save_file(low, str(tmp_path / "wan_tiny_low_noise.safetensors"))
    two = vg.load_pipeline(vg.WanFiles(**dict(WAN_FILES, transformer_2=str(tmp_path / "wan_tiny_low_noise.safetensors"))),
                           "cpu", cache=False)
    assert np.abs(vg.generate(two, "a cat", seed=2, **size).frames - reference).mean() > 1e-4  # the 2nd expert ran


def test_learned_positional_embeddings_fix_length_and_size():
    """CogVideoX 5b-I2V learns its positional embeddings at 49 frames, 720x480: other lengths/sizes cannot run."""
    info = vg.ModelInfo("cogvideox", "CogVideoX image-to-video", True, True, 49, 49, 720, 480, 8, 8, 16, 49, True)
    assert vg.resolve_settings(info, vg.native_settings("x")).num_frames == 49
    with pytest.raises(UnflickerError, match="more than CogVideoX image-to-video can take: .* 49 frames"):
        vg.resolve_settings(info, vg.native_settings("x", num_frames=57))
    with pytest.raises(UnflickerError, match="generates at 720x480 only"):
        vg.resolve_settings(info, vg.native_settings("x", width=832))

"""emotion2vec backend: exact padded batching against FunASR's own one-at-a-time output.

Runs offline on a tiny random emotion2vec of the real architecture (width 32, 2 heads, prenet 1 +
depth 2, 16 conv channels with the real strides, 10 extra tokens).
"""

import importlib
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("funasr")

import torch
import torch.nn.functional as F

from xcorpus import testing
from xcorpus.features import emotion2vec, emotion2vec_encoder, emotion2vec_funasr, emotion2vec_hub
from xcorpus.features.encoder import ItemError, ModelNotFoundError, weights_hash

SECONDS = [0.1, 0.37, 0.5, 0.8, 1.0, 1.3, 1.7, 2.2, 2.5, 3.3, 3.9, 4.0]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    config = testing.random_model_config(
        width=32, heads=2, depth=2, prenet_depth=1, conv_channels=16
    )
    return testing.write_random_model(tmp_path_factory.mktemp("tiny"), config, seed=0)


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        (rng.standard_normal(int(s * 16000)) * rng.uniform(0.01, 0.5)).astype(np.float32)
        for s in SECONDS
    ]


@pytest.fixture(scope="module")
def funasr_model(tiny):
    return emotion2vec_funasr.funasr_model(tiny, "cpu")


def batched(model_dir: Path, **options) -> emotion2vec_encoder.Emotion2vecEncoder:
    """An encoder that runs padded batches on CPU too (CPU otherwise runs one at a time)."""
    encoder = emotion2vec.load(str(model_dir), device="cpu", **options)
    encoder.max_items = None
    return encoder


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)


def edited_copy(source: Path, target: Path, edit) -> Path:
    """A copy of a model directory whose checkpoint went through `edit(state_dict)`."""
    target.mkdir()
    shutil.copy(source / "config.yaml", target / "config.yaml")
    state = torch.load(source / "model.pt", weights_only=True)["model"]
    edit(state)
    torch.save({"model": state}, target / "model.pt")
    return target


def test_padded_batch_matches_funasr_generate(tiny, clips, funasr_model):
    encoder = batched(tiny)
    assert len(emotion2vec_encoder.batches([len(c) for c in clips], 60 * 16000, None)) == 1
    out = encoder(clips)
    hooked = [m for m in encoder.model.modules() if m._forward_pre_hooks or m._forward_hooks]
    assert not hooked  # the padding hooks are gone: the model is stock again
    for clip, item in zip(clips, out, strict=True):
        with emotion2vec_funasr.quiet():
            frames = funasr_model.generate(clip, granularity="frame", extract_embedding=True)
            vector = funasr_model.generate(clip, granularity="utterance", extract_embedding=True)
        assert item.frames.shape == frames[0]["feats"].shape
        assert item.frames.dtype == item.vector.dtype == np.float32
        assert cosine(item.frames, frames[0]["feats"]).min() >= 0.9999
        assert cosine(item.vector, vector[0]["feats"]) >= 0.9999
        np.testing.assert_allclose(item.vector, item.frames.mean(axis=0), rtol=1e-6, atol=1e-6)


def unpadded_blocks(model, clip: np.ndarray) -> list[np.ndarray]:
    """Every block's output for one clip run alone through the stock model (extra tokens cut)."""
    audio = model.modality_encoders["AUDIO"]
    blocks = [*audio.context_encoder.blocks, *model.blocks]
    outputs: list[torch.Tensor] = []
    hooks = [b.register_forward_hook(lambda _, __, out: outputs.append(out[0])) for b in blocks]
    source = torch.from_numpy(clip)
    with torch.inference_mode():
        model.extract_features(F.layer_norm(source, source.shape).view(1, -1))
    for hook in hooks:
        hook.remove()
    return [o[0, audio.modality_cfg.num_extra_tokens :].numpy() for o in outputs]


@pytest.mark.parametrize("layer", [0, 1, [0, 2], [1, 2, 0]])
def test_layers_match_unpadded_blocks(tiny, clips, funasr_model, layer):
    out = batched(tiny, layer=layer)(clips)
    for clip, item in zip(clips, out, strict=True):
        blocks = unpadded_blocks(funasr_model.model, clip)
        expected = np.mean([blocks[i] for i in np.atleast_1d(layer)], axis=0)
        assert item.frames.shape == expected.shape
        assert cosine(item.frames, expected).min() >= 0.9999


def test_last_block_is_last(tiny, clips):
    last = batched(tiny)(clips[:4])
    block = batched(tiny, layer=2)(clips[:4])
    for a, b in zip(last, block, strict=True):
        np.testing.assert_allclose(a.frames, b.frames, atol=1e-6)


def regroup(encoder, clips: list[np.ndarray]) -> list[list]:
    """The same clips as one call, as two interleaved calls, and as many small batches."""
    whole = encoder(clips)
    evens, odds = encoder(clips[::2]), encoder(clips[1::2])
    halves = [(evens if i % 2 == 0 else odds)[i // 2] for i in range(len(clips))]
    batch_seconds, encoder.batch_seconds = encoder.batch_seconds, 2.5
    many = encoder(clips)
    encoder.batch_seconds = batch_seconds
    return [whole, halves, many]


def test_one_at_a_time_does_not_depend_on_grouping(tiny, clips):
    whole, *others = regroup(emotion2vec.load(str(tiny), device="cpu"), clips)
    for other in others:
        for a, b in zip(whole, other, strict=True):
            np.testing.assert_array_equal(a.frames, b.frames)
            np.testing.assert_array_equal(a.vector, b.vector)


def test_padded_batches_do_not_depend_on_grouping(tiny, clips):
    # Different batch shapes round float32 differently: equal to ~1e-6 relative, not bitwise.
    encoder = batched(tiny)
    whole, *others = regroup(encoder, clips)
    encoder.max_items = 1
    for other in [*others, encoder(clips)]:
        for a, b in zip(whole, other, strict=True):
            np.testing.assert_allclose(a.frames, b.frames, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(a.vector, b.vector, rtol=1e-6, atol=1e-6)


def test_alibi_cache_is_bounded(tiny, clips, monkeypatch):
    encoder = batched(tiny)
    encoder(clips[:2])
    assert encoder.model.alibi_biases  # kept while small
    monkeypatch.setattr(emotion2vec_encoder, "ALIBI_CACHE_MAX", 1000)
    encoder(clips[:2])
    assert not encoder.model.alibi_biases


def test_group_norm_extractor_is_not_padded(tiny, tmp_path):
    assert emotion2vec.load(str(tiny), device="cpu").max_items == 1
    config = testing.random_model_config(32, 2, 2, 1, 16)
    config["model_conf"]["modalities"]["audio"]["extractor_mode"] = "default"
    model = emotion2vec.load(str(testing.write_random_model(tmp_path, config)), device="cpu")
    assert emotion2vec_encoder.padding_is_exact(batched(tiny).model)
    assert not emotion2vec_encoder.padding_is_exact(model.model)


def test_batches_bound_padded_seconds():
    lengths = [16000 * s for s in (1, 8, 2, 3, 2)]
    groups = emotion2vec_encoder.batches(lengths, 6 * 16000, None)
    assert groups == [[1], [3, 2], [4, 0]]
    assert emotion2vec_encoder.batches(lengths, 60 * 16000, 2) == [[1, 3], [2, 4], [0]]


def test_bfloat16_on_cpu_is_close(tiny, clips):
    fp32 = emotion2vec.load(str(tiny), device="cpu")(clips)
    bf16 = emotion2vec.load(str(tiny), device="cpu", dtype="bfloat16")(clips)
    for a, b in zip(fp32, bf16, strict=True):
        assert cosine(a.vector, b.vector) >= 0.999
        assert cosine(a.frames, b.frames).min() >= 0.99


def test_metadata_and_side_effects(tiny, clips, capsys):
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected_draw = torch.rand(1)
    torch.manual_seed(123)
    encoder = emotion2vec.load(str(tiny), layer=[0, 1], device="cpu")
    encoder(clips[:2])
    assert torch.rand(1) == expected_draw  # FunASR's reseeding did not leak
    assert torch.get_num_threads() == threads
    assert capsys.readouterr().out == ""
    assert encoder.dim == 32 and encoder.frame_rate == 50.0
    assert all(isinstance(v, str) for v in encoder.metadata.values())
    assert encoder.metadata["model"] == str(tiny.resolve())
    assert encoder.metadata["weights"] == weights_hash([tiny / "model.pt"])
    assert encoder.metadata["layer"] == "[0, 1]"
    assert set(emotion2vec.versions()) == {"funasr", "torch"}


def test_modelscope_layout(tiny, clips, tmp_path):
    (tmp_path / "weights").mkdir()
    shutil.copy(tiny / "model.pt", tmp_path / "weights" / "model.pt")
    shutil.copy(tiny / "config.yaml", tmp_path / "settings.yaml")
    metas = {"init_param": "weights/model.pt", "config": "settings.yaml"}
    (tmp_path / "configuration.json").write_text(json.dumps({"file_path_metas": metas}))
    encoder = emotion2vec.load(str(tmp_path), device="cpu")
    assert encoder.metadata["weights"] == weights_hash([tiny / "model.pt"])
    reference = emotion2vec.load(str(tiny), device="cpu")
    for a, b in zip(encoder(clips[:3]), reference(clips[:3]), strict=True):
        np.testing.assert_array_equal(a.frames, b.frames)

    (tmp_path / "weights" / "model.pt").unlink()
    with pytest.raises(ModelNotFoundError, match=r"configuration\.json"):
        emotion2vec.load(str(tmp_path), device="cpu")


def test_missing_directory(tmp_path):
    with pytest.raises(
        ModelNotFoundError, match=r"config\.yaml and model\.pt.*modelscope download"
    ):
        emotion2vec.load(str(tmp_path / "nowhere"), device="cpu")
    (tmp_path / "config.yaml").write_text("model: Emotion2vec\n")
    with pytest.raises(ModelNotFoundError, match="incomplete"):
        emotion2vec.load(str(tmp_path), device="cpu")


def test_hub_id_rule():
    assert emotion2vec_hub.is_hub_id("iic/emotion2vec_plus_base")
    for path in ("./iic/emotion2vec", "/models/emotion2vec", "~/e2v", "a/b/c", "e2v"):
        assert not emotion2vec_hub.is_hub_id(path)


def test_unreachable_hub_fails_fast(monkeypatch):
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "127.0.0.1:9")  # nothing listens: refused at once
    start = time.monotonic()
    with pytest.raises(ModelNotFoundError, match=r"not reachable.*modelscope download"):
        emotion2vec.load("iic/emotion2vec_plus_base", device="cpu")
    assert time.monotonic() - start < 5


def test_hub_id_downloads_into_the_cache(tiny, monkeypatch):
    # The module, not the function of the same name that `modelscope.hub` re-exports.
    hub = importlib.import_module("modelscope.hub.snapshot_download")
    monkeypatch.setattr(emotion2vec_hub, "hub_reachable", lambda: True)
    monkeypatch.setattr(hub, "snapshot_download", lambda model_id: str(tiny))
    encoder = emotion2vec.load("iic/emotion2vec_plus_base", device="cpu")
    assert encoder.metadata["model"] == "iic/emotion2vec_plus_base"

    def fail(model_id):
        raise RuntimeError("404")

    monkeypatch.setattr(hub, "snapshot_download", fail)
    with pytest.raises(ModelNotFoundError, match=r"could not be downloaded \(404\)"):
        emotion2vec.load("iic/emotion2vec_plus_base", device="cpu")


def test_wrong_shape_is_an_error(tiny, tmp_path):
    def shrink(state):
        state["blocks.1.attn.qkv.weight"] = state["blocks.1.attn.qkv.weight"][:, :16]

    bad = edited_copy(tiny, tmp_path / "bad", shrink)
    with pytest.raises(ValueError, match=r"blocks\.1\.attn\.qkv\.weight \(96, 16\) != \(96, 32\)"):
        emotion2vec.load(str(bad), device="cpu")


def test_missing_encoder_key_is_an_error(tiny, tmp_path):
    bad = edited_copy(tiny, tmp_path / "bad", lambda state: state.pop("blocks.0.mlp.fc1.bias"))
    with pytest.raises(ValueError, match=r"blocks\.0\.mlp\.fc1\.bias missing"):
        emotion2vec.load(str(bad), device="cpu")


def test_extra_encoder_key_is_an_error(tiny, tmp_path):
    def add_block(state):
        state["blocks.2.mlp.fc1.bias"] = state["blocks.1.mlp.fc1.bias"].clone()

    bad = edited_copy(tiny, tmp_path / "bad", add_block)
    with pytest.raises(ValueError, match=r"blocks\.2\.mlp\.fc1\.bias unexpected"):
        emotion2vec.load(str(bad), device="cpu")


def test_missing_decoder_is_fine(tiny, clips, tmp_path):
    def drop_decoder(state):
        for key in [k for k in state if ".decoder." in k]:
            del state[key]

    plus_like = edited_copy(tiny, tmp_path / "plus", drop_decoder)
    a = emotion2vec.load(str(plus_like), device="cpu")(clips[:2])
    b = emotion2vec.load(str(tiny), device="cpu")(clips[:2])
    np.testing.assert_array_equal(a[1].vector, b[1].vector)


def test_nan_output_names_the_item(tiny, clips, tmp_path):
    def poison(state):
        state["blocks.0.mlp.fc1.weight"][0, 0] = float("nan")

    bad = edited_copy(tiny, tmp_path / "nan", poison)
    with pytest.raises(ValueError, match=r"NaN or inf features for item 0 \(and 1 more\)"):
        emotion2vec.load(str(bad), device="cpu")(clips[:2])


def test_bad_signals_name_the_item(tiny, clips):
    encoder = emotion2vec.load(str(tiny), device="cpu")
    with pytest.raises(ItemError, match=r"item 1 is too short.*300 samples") as error:
        encoder([clips[0], np.zeros(300, np.float32)])
    assert error.value.index == 1
    with pytest.raises(ItemError, match=r"item 1: signal has NaN"):
        encoder([clips[0], np.full(4000, np.nan, np.float32)])
    with pytest.raises(ItemError, match=r"item 0: expected a mono 1-D signal"):
        encoder([np.zeros((2, 4000), np.float32)])
    assert encoder([np.zeros(400, np.float32)])[0].frames.shape == (1, 32)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"layer": 3}, "out of range"),
        ({"layer": [0, -1]}, "out of range"),
        ({"layer": []}, "layer must be"),
        ({"layer": "first"}, "layer must be"),
        ({"dtype": "float16"}, "needs CUDA"),
        ({"dtype": "float64"}, "dtype must be"),
    ],
)
def test_bad_options(tiny, options, message):
    with pytest.raises(ValueError, match=message):
        emotion2vec.load(str(tiny), device="cpu", **options)

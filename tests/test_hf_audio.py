"""hf_audio on tiny random speech encoders saved to local directories (no network, seconds)."""

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from safetensors.torch import load_file, save_file  # noqa: E402

from xcorpus.features import hf_audio  # noqa: E402
from xcorpus.features.encoder import ModelNotFoundError, weights_hash  # noqa: E402

# The real 7-layer conv stride pattern (320 samples per frame), 16 channels, 2 transformer layers.
TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 37,
    "conv_dim": (16,) * 7,
    "conv_stride": (5, 2, 2, 2, 2, 2, 2),
    "conv_kernel": (10, 3, 3, 3, 3, 2, 2),
    "num_conv_pos_embedding_groups": 2,
}
CONFIGS = {
    "wav2vec2-layer": lambda: transformers.Wav2Vec2Config(
        feat_extract_norm="layer", do_stable_layer_norm=True, num_conv_pos_embeddings=16, **TINY
    ),
    "wav2vec2-group": lambda: transformers.Wav2Vec2Config(
        feat_extract_norm="group", num_conv_pos_embeddings=16, **TINY
    ),
    "wavlm": lambda: transformers.WavLMConfig(
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        num_conv_pos_embeddings=16,
        num_buckets=16,
        max_bucket_distance=50,
        **TINY,
    ),
    "hubert": lambda: transformers.HubertConfig(
        feat_extract_norm="group", num_conv_pos_embeddings=16, **TINY
    ),
    "data2vec-audio": lambda: transformers.Data2VecAudioConfig(
        num_conv_pos_embeddings=3, conv_pos_kernel_size=5, **TINY
    ),
}
LENGTHS = (8000, 4000, 9100, 1200, 4000, 12000)  # a duplicate length, and 0.075 s (3 frames)


def save_tiny(path: Path, name: str) -> Path:
    torch.manual_seed(0)
    transformers.AutoModel.from_config(CONFIGS[name]()).save_pretrained(path)
    transformers.Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf_audio")
    return {name: save_tiny(root / name, name) for name in CONFIGS}


@pytest.fixture(scope="module")
def signals() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(n) + 0.02).astype(np.float32) for n in LENGTHS]


def reference(path: Path, signals: list[np.ndarray]) -> list:
    """The model's own outputs for each signal alone, unpadded and normalised."""
    extractor = transformers.AutoFeatureExtractor.from_pretrained(path)
    network = transformers.AutoModel.from_pretrained(path).eval()
    outputs = []
    for signal in signals:
        inputs = extractor(signal, sampling_rate=16000, return_tensors="pt")
        with torch.inference_mode():
            outputs.append(network(inputs["input_values"], output_hidden_states=True))
    return outputs


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.atleast_2d(a).astype(np.float64), np.atleast_2d(b).astype(np.float64)
    cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    return float(cos.min())


@pytest.mark.parametrize("name", CONFIGS)
def test_batched_equals_one_at_a_time(models, signals, name):
    encoder = hf_audio.load(str(models[name]), layer=[0, 1, 2], device="cpu")
    batched = encoder(signals)
    for signal, got, own in zip(signals, batched, reference(models[name], signals), strict=True):
        (alone,) = encoder([signal])
        assert got.frames.shape == alone.frames.shape == (own.last_hidden_state.shape[1], 32)
        assert min_cosine(got.frames, alone.frames) >= 0.9999
        assert min_cosine(got.vector, alone.vector) >= 0.9999
        assert got.frames.dtype == got.vector.dtype == np.float32


def test_group_norm_padding_would_change_features(models, signals):
    """Why GroupNorm models never pad: a naive padded batch drifts far from the lone output."""
    path = models["wav2vec2-group"]
    extractor = transformers.AutoFeatureExtractor.from_pretrained(path)
    network = transformers.AutoModel.from_pretrained(path).eval()
    short, long = signals[1], signals[0]
    inputs = extractor([short, long], sampling_rate=16000, padding=True, return_tensors="pt")
    with torch.inference_mode():
        padded = network(inputs["input_values"]).last_hidden_state[0, :12].numpy()
    (alone,) = reference(path, [short])
    assert min_cosine(padded, alone.last_hidden_state[0].numpy()) < 0.999


@pytest.mark.parametrize("name", ["wavlm", "wav2vec2-group", "data2vec-audio"])
def test_output_does_not_depend_on_grouping(models, signals, name):
    encoder = hf_audio.load(str(models[name]), device="cpu")
    whole = encoder(signals)
    encoder.max_samples = 10000  # batches of at most 0.625 s of padded audio
    parts = encoder(signals[::-1])[::-1]
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_allclose(a.frames, b.frames, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "layer"),
    [("wavlm", "last"), ("wavlm", 0), ("wavlm", -1), ("wavlm", [0, 2]), ("hubert", 1)],
)
def test_layer_selection(models, signals, name, layer):
    signal = signals[2]
    (got,) = hf_audio.load(str(models[name]), layer=layer, device="cpu")([signal])
    (own,) = reference(models[name], [signal])
    if layer == "last":
        want = own.last_hidden_state[0]
    elif isinstance(layer, list):
        want = torch.stack([own.hidden_states[i][0] for i in layer]).mean(0)
    else:
        want = own.hidden_states[layer][0]
    np.testing.assert_allclose(got.frames, want.numpy(), atol=1e-5)
    np.testing.assert_allclose(got.vector, want.numpy().mean(0), atol=1e-5)


def test_metadata(models):
    path = models["wavlm"]
    encoder = hf_audio.load(str(path), layer=-1, device="cpu")
    assert (encoder.dim, encoder.frame_rate) == (32, 50.0)
    assert encoder.metadata == {
        "model": str(path.resolve()),
        "weights": weights_hash([path / "model.safetensors"]),
        "architecture": "WavLMModel",
        "layer": "[2]",
        "dtype": "float32",
        "device": "cpu",
        "feat_extract_norm": "layer",
        "do_normalize": "True",
    }
    assert hf_audio.MODALITY == "audio"
    assert set(hf_audio.versions()) == {"transformers", "torch"}


def test_bfloat16_on_cpu_is_close(models, signals):
    (full,) = hf_audio.load(str(models["hubert"]), device="cpu")(signals[:1])
    (half,) = hf_audio.load(str(models["hubert"]), device="cpu", dtype="bfloat16")(signals[:1])
    assert min_cosine(full.vector, half.vector) > 0.99


def test_bad_options_and_signals(models, signals):
    path = str(models["wav2vec2-layer"])
    with pytest.raises(ValueError, match="float16 needs CUDA"):
        hf_audio.load(path, device="cpu", dtype="float16")
    with pytest.raises(ValueError, match="out of range"):
        hf_audio.load(path, device="cpu", layer=3)
    encoder = hf_audio.load(path, device="cpu")
    with pytest.raises(ValueError, match="item 1: 300 samples give no frame"):
        encoder([signals[0], np.zeros(300, np.float32)])
    bad = signals[1].copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="item 2: signal has NaN"):
        encoder([signals[0], signals[1], bad])


def test_missing_model_says_how_to_get_it(tmp_path):
    with pytest.raises(ModelNotFoundError, match="hf download microsoft/wavlm-base-plus"):
        hf_audio.load(str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotFoundError, match=r"lacks config\.json"):
        hf_audio.load(str(tmp_path))
    # A hub id is never downloaded: the advice names it.
    with pytest.raises(ModelNotFoundError, match="hf download facebook/hubert-large-ll60k"):
        hf_audio.load("facebook/hubert-large-ll60k")


def test_weights_that_do_not_load_are_errors(models, tmp_path):
    source = models["wav2vec2-layer"]
    missing, mismatched = tmp_path / "missing", tmp_path / "mismatched"
    for target in (missing, mismatched):
        target.mkdir()
        for f in source.iterdir():
            (target / f.name).write_bytes(f.read_bytes())
    weights = load_file(missing / "model.safetensors")
    del weights["encoder.layers.0.feed_forward.output_dense.weight"]
    save_file(weights, missing / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"missing \['encoder.layers.0.feed_forward.output_dense"):
        hf_audio.load(str(missing), device="cpu")
    config = json.loads((mismatched / "config.json").read_text())
    config["intermediate_size"] = 40
    (mismatched / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"shape mismatch.*intermediate_dense"):
        hf_audio.load(str(mismatched), device="cpu")

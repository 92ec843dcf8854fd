"""Frame sequences: streamed from the shards into a store (in memory or memory-mapped), row
views over it, batches, standardisation applied per batch, concatenation."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from xcorpus.features.shards import write_shard
from xcorpus.train.models import sequence_standardisation
from xcorpus.train.sequences import Sequences, Standardisation, concat, read_sequences

DIM = 3


def write_frames(path: Path, stored: list[np.ndarray]) -> None:
    """A shard as extraction writes it: utt_id, embedding and float16 frames."""
    columns = {
        "utt_id": [f"{path.stem}-{i}" for i in range(len(stored))],
        "embedding": [s.astype(np.float32).mean(axis=0) for s in stored],
        "frames": [list(s) for s in stored],
    }
    metadata = {"backend": "synthetic", "dim": str(DIM), "modality": "audio"}
    write_shard(pa.table(columns), path, metadata | {"granularity": "frames"})


@pytest.fixture
def shards(tmp_path) -> tuple[list[Path], list[np.ndarray]]:
    """Two shards of 1500 and 700 utterances (so more than one record batch each) with 1-6
    frames, and every utterance's frames in shard order."""
    rng = np.random.default_rng(0)
    stored = [rng.normal(size=(rng.integers(1, 7), DIM)).astype(np.float16) for _ in range(2200)]
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    write_frames(paths[0], stored[:1500])
    write_frames(paths[1], stored[1500:])
    return paths, stored


def padded(frames: list[np.ndarray]) -> np.ndarray:
    """Frames padded with zeros to the longest, as float32."""
    out = np.zeros((len(frames), max(len(f) for f in frames), DIM), np.float32)
    for i, f in enumerate(frames):
        out[i, : len(f)] = f
    return out


@pytest.mark.parametrize("mapped", [False, True])
def test_read_sequences_holds_exactly_the_stored_frames_of_the_rows(shards, tmp_path, mapped):
    paths, stored = shards
    positions = np.array([2199, 3, 1500, 1499, 3, 0])  # out of order, across shards, repeated
    seqs = read_sequences(paths, positions, tmp_path if mapped else None)
    assert seqs.lengths.tolist() == [len(stored[p]) for p in positions]
    assert seqs.values.dtype == torch.float16
    # Only the wanted utterances are stored, each once.
    assert len(seqs.values) == sum(len(stored[p]) for p in set(positions.tolist()))
    files = list(tmp_path.glob("*.f16"))
    if mapped:
        assert [f.stat().st_size for f in files] == [len(seqs.values) * DIM * 2]
    else:
        assert files == []
    frames, padding = seqs.batch(torch.tensor([0, 1, 2, 3, 4, 5]))
    np.testing.assert_array_equal(frames.numpy(), padded([stored[p] for p in positions]))
    assert padding.tolist() == [[j >= len(stored[p]) for j in range(6)] for p in positions]


def test_mapped_and_in_memory_stores_give_equal_batches(shards, tmp_path):
    paths, _ = shards
    positions = np.random.default_rng(1).permutation(2200)[:900]
    memory = read_sequences(paths, positions)
    mapped = read_sequences(paths, positions, tmp_path)
    rows = torch.from_numpy(np.random.default_rng(2).permutation(900)[:64])
    for a, b in zip(memory.batch(rows), mapped.batch(rows), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(sequence_standardisation(memory)[1], sequence_standardisation(mapped)[1])


def test_read_sequences_refuses_utterance_features_and_missing_rows(shards, tmp_path):
    table = pa.table({"utt_id": ["u0"], "embedding": [[1.0, 2.0, 3.0]]})
    write_shard(table, tmp_path / "vectors.parquet", {"dim": "3", "modality": "audio"})
    with pytest.raises(ValueError, match="granularity frames"):
        read_sequences([tmp_path / "vectors.parquet"], np.array([0]))
    with pytest.raises(ValueError, match="outside the feature set"):
        read_sequences(shards[0], np.array([-1]))
    with pytest.raises(ValueError, match="outside the feature set"):
        read_sequences(shards[0], np.array([2200]))


def test_views_share_the_store_and_compact_to_their_own_frames():
    seqs = Sequences.packed(torch.arange(30.0).reshape(10, 3).half(), [2, 5, 1, 2])
    view = seqs.take(np.array([3, 1]))
    assert view.values is seqs.values  # no frame copied
    assert view.frame_index().tolist() == [8, 9, 2, 3, 4, 5, 6]
    compact = view.compact("cpu")
    assert compact.values.tolist() == seqs.values[[8, 9, 2, 3, 4, 5, 6]].tolist()
    assert compact.starts.tolist() == [0, 2] and compact.lengths.tolist() == [2, 5]
    for a, b in zip(
        view.batch(torch.tensor([1, 0])), compact.batch(torch.tensor([1, 0])), strict=True
    ):
        assert torch.equal(a, b)
    assert view.to("cpu") is view
    assert view.describe("audio") == "audio: 2-5 frames (mean 3.5)"


def test_standardised_batches_equal_batches_of_normalised_stored_frames():
    """Standardising per batch gives exactly what storing normalised float16 frames gave."""
    gen = torch.Generator().manual_seed(0)
    values = (torch.randn(12, DIM, generator=gen) * 4 + 2).half()
    seqs = Sequences.packed(values, [3, 4, 2, 3])
    mean, std = torch.tensor([[2.0, 1.0, 0.5], [-1.0, 0.0, 3.0]]), torch.rand(2, DIM) + 0.5
    group = torch.tensor([1, 0, 1, 0])
    scaled = seqs.standardised(Standardisation(mean, std, group))
    stored = torch.cat(
        [
            ((values[s : s + n].float() - mean[g]) / std[g]).half()
            for s, n, g in zip([0, 3, 7, 9], [3, 4, 2, 3], group.tolist(), strict=True)
        ]
    )
    rows = torch.tensor([2, 0, 3])
    expected = Sequences.packed(stored, [3, 4, 2, 3]).batch(rows)
    for a, b in zip(scaled.batch(rows), expected, strict=True):
        assert torch.equal(a, b)
    view = scaled.take(np.array([3, 2]))  # a view keeps each row's group
    assert torch.equal(
        view.batch(torch.tensor([0, 1])).frames, scaled.batch(torch.tensor([3, 2])).frames
    )
    with pytest.raises(ValueError, match="already standardised"):
        sequence_standardisation(scaled)


def test_concat_keeps_views_of_one_store_and_renumbers_groups():
    seqs = Sequences.packed(torch.arange(18.0).reshape(6, 3).half(), [1, 2, 3])
    a, b = seqs.take(np.array([2])), seqs.take(np.array([0, 1]))
    joined = concat([a, b])
    assert joined.values is seqs.values and joined.starts.tolist() == [3, 0, 1]
    one = Standardisation(torch.zeros(1, DIM), torch.ones(1, DIM), torch.tensor([0]))
    two = Standardisation(torch.ones(2, DIM), torch.full((2, DIM), 2.0), torch.tensor([1, 0]))
    scaled = concat([a.standardised(one), b.standardised(two)])
    assert scaled.scale.group.tolist() == [0, 2, 1]
    assert torch.equal(
        scaled.batch(torch.tensor([1])).frames, b.standardised(two).batch(torch.tensor([0])).frames
    )
    with pytest.raises(ValueError, match="unstandardised"):
        concat([a.standardised(one), b])

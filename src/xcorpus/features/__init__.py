"""Utterance embeddings from an index table: the backend registry and the extraction stage.

A backend is a module `xcorpus.features.<name>` with `model_id(model)`, `versions()` and
`load(model)`; audio backends' `load` returns a function of one 16 kHz signal, text backends'
a function of a list of transcripts. Modules are imported on use, so the CLI starts without
loading opensmile or torch.
"""

import importlib
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xcorpus.audio import SAMPLE_RATE, AudioError, read_utterance
from xcorpus.features.shards import feature_schema, shard_rows, write_shard

# name -> (modality, embedding dimension)
BACKENDS: dict[str, tuple[str, int]] = {
    "egemaps": ("audio", 88),
    "minilm": ("text", 384),
}
AUDIO_COLUMNS = ("audio_path", "start_s", "end_s")


class FeatureError(ValueError):
    """An utterance whose features cannot be made; the message names it."""


def _backend(name: str) -> ModuleType:
    if name not in BACKENDS:
        raise ValueError(f"unknown feature backend {name!r}; known: {', '.join(BACKENDS)}")
    return importlib.import_module(f"xcorpus.features.{name}")


def feature_metadata(backend: str, model: str | None) -> dict[str, str]:
    """How features are made, stored with every shard so mismatched shards are caught."""
    module = _backend(backend)
    modality, dim = BACKENDS[backend]
    metadata = {
        "backend": backend,
        "model": module.model_id(model),
        "dim": str(dim),
        "modality": modality,
        "granularity": "utterance",
    }
    packages = {"xcorpus": version("xcorpus"), **module.versions()}
    if modality == "audio":
        metadata["sample_rate"] = str(SAMPLE_RATE)
        packages |= {"soundfile": version("soundfile"), "scipy": version("scipy")}
    metadata |= {f"version.{name}": v for name, v in sorted(packages.items())}
    return metadata


def extract(index: pa.Table, backend: str, model: str | None = None) -> pa.Table:
    """Embeddings of every utterance of `index`, in index order (`utt_id`, `embedding`)."""
    return _extract(index, backend, model)[0]


def _extract(index: pa.Table, backend: str, model: str | None) -> tuple[pa.Table, float]:
    """The feature table and the seconds of audio it was computed from (0 for text)."""
    module = _backend(backend)
    modality, dim = BACKENDS[backend]
    needed = ["utt_id", *(AUDIO_COLUMNS if modality == "audio" else ["transcript"])]
    if missing := [c for c in needed if c not in index.column_names]:
        raise ValueError(f"index has no column(s) {', '.join(missing)} for backend {backend}")
    utt_ids = index.column("utt_id").to_pylist()
    audio_s = 0.0
    if not utt_ids:  # a hash shard of a small corpus can be empty: no model to load
        module.model_id(model)  # still refuse a bad model argument
        embeddings = np.zeros((0, dim), np.float32)
    elif modality == "audio":
        embeddings, audio_s = _embed_audio(index, module.load(model))
    else:
        texts = _transcripts(index)  # before loading the model: fail fast on missing text
        embeddings = module.load(model)(texts)
    _check(utt_ids, embeddings, dim, backend)
    flat = pa.array(embeddings.reshape(-1), pa.float32())
    columns = [pa.array(utt_ids, pa.string()), pa.FixedSizeListArray.from_arrays(flat, dim)]
    return pa.Table.from_arrays(columns, schema=feature_schema(dim)), audio_s


def _embed_audio(
    index: pa.Table, embed: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, float]:
    """Embed each utterance's segment; a read failure is raised naming the utterance."""
    rows, samples = [], 0
    columns = [index.column(c).to_pylist() for c in ("utt_id", *AUDIO_COLUMNS)]
    for utt_id, path, start_s, end_s in zip(*columns, strict=True):
        try:
            signal = read_utterance(path, start_s, end_s)
        except AudioError as e:
            raise FeatureError(f"utterance {utt_id}: {e}") from e
        samples += len(signal)
        rows.append(embed(signal))
    return np.stack(rows), samples / SAMPLE_RATE


def _transcripts(index: pa.Table) -> list[str]:
    """Transcripts in index order; the caller chose these utterances, so each needs text."""
    utt_ids = index.column("utt_id").to_pylist()
    texts = index.column("transcript").to_pylist()
    missing = [u for u, t in zip(utt_ids, texts, strict=True) if t is None or not t.strip()]
    if missing:
        shown = ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise FeatureError(f"{len(missing)} utterance(s) have no transcript: {shown}")
    return texts


def _check(utt_ids: list[str], embeddings: np.ndarray, dim: int, backend: str) -> None:
    """Refuse wrong shapes and non-finite values: a bad row is an error, never a zero vector."""
    if embeddings.shape != (len(utt_ids), dim):
        raise FeatureError(
            f"{backend} gave embeddings of shape {embeddings.shape}, "
            f"expected ({len(utt_ids)}, {dim})"
        )
    bad = ~np.isfinite(embeddings).all(axis=1)
    if bad.any():
        names = ", ".join(u for u, b in zip(utt_ids, bad, strict=True) if b)
        raise FeatureError(f"{backend} gave NaN/inf features for utterance(s) {names}")


def extract_to_file(
    index_path: Path,
    out_path: Path,
    backend: str,
    model: str | None,
    shard: int = 0,
    n_shards: int = 1,
) -> None:
    """Extract one shard of an index parquet into a feature parquet, printing its speed.

    Text backends skip utterances without a transcript (and say how many): the manifest records
    them as rejected for text experiments, so no feature row is ever invented for them.
    """
    metadata = feature_metadata(backend, model)
    rows = shard_rows(pq.read_table(index_path), shard, n_shards)
    if BACKENDS[backend][0] == "text":
        texts = pc.utf8_trim_whitespace(rows.column("transcript"))
        has_text = pc.fill_null(pc.greater(pc.utf8_length(texts), 0), False)
        print(f"{len(rows) - pc.sum(has_text).as_py()} utterances without transcript skipped")
        rows = rows.filter(has_text)
    start = time.perf_counter()
    table, audio_s = _extract(rows, backend, model)
    elapsed = max(time.perf_counter() - start, 1e-9)
    write_shard(table, out_path, metadata)
    speed = f"{len(table) / elapsed:.1f} utt/s"
    if BACKENDS[backend][0] == "audio":
        speed += f", {audio_s / elapsed:.1f} audio-s/s"
    print(
        f"extract {backend} shard {shard}-of-{n_shards}: {len(table)} utterances "
        f"in {elapsed:.1f} s ({speed}) -> {out_path}",
        file=sys.stderr,
    )

"""Feature shards: which utterances a shard holds, and writing / reading them back safely.

A shard is a parquet file of `utt_id` + `embedding` whose key-value metadata records how the
features were made. Shards are merged only when that record agrees, so features from two
models (or two package versions) never end up in one training set.
"""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xcorpus.tables import write_parquet


def feature_schema(dim: int, frames: bool = False) -> pa.Schema:
    """Schema of a feature table with `dim`-dimensional embeddings, and with `frames` a
    float16 sequence of `dim`-dimensional frames per utterance."""
    fields = [
        pa.field("utt_id", pa.string(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32(), dim), nullable=False),
    ]
    if frames:
        fields.append(pa.field("frames", pa.list_(pa.list_(pa.float16(), dim)), nullable=False))
    return pa.schema(fields)


def shard_of(utt_id: str, n_shards: int) -> int:
    """Shard of an utterance: a hash of its id, so it depends on neither row order nor corpus."""
    digest = hashlib.blake2b(utt_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_shards


def shard_rows(index: pa.Table, shard: int, n_shards: int) -> pa.Table:
    """Rows of `index` that belong to `shard` (0-based) of `n_shards`, in index order."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
    mine = [shard_of(u, n_shards) == shard for u in index.column("utt_id").to_pylist()]
    return index.filter(pa.array(mine, pa.bool_()))


def write_shard(table: pa.Table, path: str | Path, metadata: dict[str, str]) -> None:
    """Write a feature table atomically, with `metadata` as parquet key-value metadata."""
    dim = int(metadata["dim"])
    schema = feature_schema(dim, has_frames(metadata)).with_metadata(metadata)
    write_parquet(table.select(schema.names).cast(schema), path)


def read_metadata(path: str | Path) -> dict[str, str]:
    """Key-value metadata that write_shard stored in `path`."""
    return schema_metadata(pq.read_schema(path))


def schema_metadata(schema: pa.Schema) -> dict[str, str]:
    """A feature table's key-value metadata as text (pyarrow's own entries left out)."""
    raw = schema.metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items() if not k.startswith(b"ARROW:")}


def check_feature_set(paths: list[Path]) -> dict[str, str]:
    """The metadata all shards of one feature set share, read from their footers only.

    Raises ValueError naming the files when shards disagree on how features were made or one
    does not hold the schema its metadata promises.
    """
    if not paths:
        raise ValueError("no feature shards given")
    reference = read_metadata(paths[0])
    if "dim" not in reference:
        raise ValueError(f"{paths[0]} has no feature metadata; was it written by write_shard?")
    schema = feature_schema(int(reference["dim"]), has_frames(reference))
    for path in paths:
        metadata = read_metadata(path)
        if metadata != reference:
            diff = sorted(
                k for k in reference.keys() | metadata.keys() if reference.get(k) != metadata.get(k)
            )
            details = "; ".join(f"{k}: {reference.get(k)!r} vs {metadata.get(k)!r}" for k in diff)
            raise ValueError(f"feature shards {paths[0]} and {path} disagree ({details})")
        stored = pq.read_schema(path)
        if not stored.equals(schema):
            raise ValueError(f"feature shard {path} does not hold {schema}: {stored}")
    return reference


def shard_ids(paths: list[Path]) -> pa.ChunkedArray:
    """The utt_ids of the shards, in `paths` order and row order within each; raises
    ValueError naming the utterance and files when one appears more than once."""
    tables = [pq.read_table(p, columns=["utt_id"]) for p in paths]
    _check_unique(paths, tables)
    return pa.chunked_array([c for t in tables for c in t.column("utt_id").chunks], pa.string())


def read_feature_set(paths: list[Path], columns: list[str] | None = None) -> pa.Table:
    """All shards of one feature set (their `columns`, utt_id among them; all by default) as
    one table sorted by utt_id, with the shared metadata, after check_feature_set's checks."""
    reference = check_feature_set(paths)
    tables = [pq.read_table(p, columns=columns) for p in paths]
    _check_unique(paths, tables)
    table = pa.concat_tables(tables)
    table = table.take(pc.sort_indices(table, [("utt_id", "ascending")]))
    return table.replace_schema_metadata(reference)


def iter_column(path: Path, name: str, rows: int = 1024) -> Iterator[pa.Array]:
    """Column `name` of one shard, `rows` rows at a time, read a page at a time: pre-buffering
    would read a whole row group (often a whole shard of frames) into memory at once."""
    shard = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    for batch in shard.iter_batches(batch_size=rows, columns=[name]):
        yield batch.column(0)


def has_frames(metadata: dict[str, str]) -> bool:
    """Whether the features were stored with their frame/token sequences."""
    return metadata.get("granularity") == "frames"


def _check_unique(paths: list[Path], tables: list[pa.Table]) -> None:
    """Raise naming the utterance and files when an utt_id appears more than once."""
    seen: dict[str, Path] = {}
    for path, table in zip(paths, tables, strict=True):
        for utt_id in table.column("utt_id").to_pylist():
            if utt_id in seen:
                raise ValueError(f"utterance {utt_id} appears in both {seen[utt_id]} and {path}")
            seen[utt_id] = path

"""Parquet schemas shared by the stages, and atomic writing.

Every stage reads and writes through these schemas so that a column that changes type or goes
missing fails at the writer, not three stages later.
"""

import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

INDEX_SCHEMA = pa.schema(
    [
        pa.field("utt_id", pa.string(), nullable=False),
        pa.field("corpus", pa.string(), nullable=False),
        pa.field("audio_path", pa.string(), nullable=False),
        # Segment bounds inside audio_path; null means the whole file.
        pa.field("start_s", pa.float64()),
        pa.field("end_s", pa.float64()),
        # From the audio file's header at index time; null only in tables built by hand.
        pa.field("sample_rate", pa.int32()),
        pa.field("channels", pa.int32()),
        pa.field("speaker", pa.string(), nullable=False),
        pa.field("gender", pa.string()),
        pa.field("session", pa.int32()),
        # Official partition where the corpus has one: train | dev | test | test1 | test2 | test3.
        pa.field("split", pa.string()),
        pa.field("label", pa.string(), nullable=False),
        pa.field("raw_label", pa.string(), nullable=False),
        # V/A/D on the corpus's native scale (see corpora.CorpusSpec.vad_scale).
        pa.field("valence", pa.float64()),
        pa.field("arousal", pa.float64()),
        pa.field("dominance", pa.float64()),
        pa.field("transcript", pa.string()),
        # Recording condition: IEMO improvised | scripted, MSPI P | R | S | T; else null.
        pa.field("condition", pa.string()),
        # Spoken language where the corpus gives it (SAMSEMO EN | DE | ES | PL | KO) or has
        # one (EN: CREMAD, RAVDESS, SAVEE, TESS); else null.
        pa.field("language", pa.string()),
        # Annotation statistics from the per-evaluator lines (IEMO, MSPI); null where the
        # corpus publishes none. n_raters: distinct non-self evaluators with a categorical
        # judgement; agreement: the share of them whose category matches the consensus;
        # vad_spread: mean over V, A, D of the evaluators' sample std (null below 2 evaluators).
        pa.field("n_raters", pa.int32()),
        pa.field("agreement", pa.float64()),
        pa.field("vad_spread", pa.float64()),
    ]
)

# Utterances rejected for their category alone but rated on all of V/A/D (dimensional
# training's extra rows, dimensional_all_rated): index rows whose label is null.
RATED_SCHEMA = pa.schema(
    [field.with_nullable(True) if field.name == "label" else field for field in INDEX_SCHEMA]
)

REJECTS_SCHEMA = pa.schema(
    [
        # Null only for a malformed entry from which no id could be read.
        pa.field("utt_id", pa.string()),
        pa.field("raw_label", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        # Where the utterance was read from: "file" or "file:line".
        pa.field("source", pa.string()),
    ]
)

DIFFICULTY_SCHEMA = pa.schema(
    [
        pa.field("utt_id", pa.string(), nullable=False),
        # V/A/D in the space the difficulty was measured in: 1-5 (difficulty_method euclidean),
        # z-scores within the corpus (centroid); null for agreement, which uses no V/A/D.
        pa.field("vad_norm", pa.list_(pa.float64(), 3)),
        pa.field("difficulty", pa.float64(), nullable=False),
    ]
)

# Schema metadata key of the index summary (corpus, root, variant, counts), stored as JSON.
INDEX_METADATA_KEY = b"xcorpus.index"

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("utt_id", pa.string(), nullable=False),
        pa.field("corpus", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),  # train | val | heldout | test
        pa.field("fold", pa.int32()),  # the session, for leave-one-session-out
    ]
)

# Content hash of each utterance's decoded samples (audio.signal_hash), for the leakage report.
AUDIO_HASH_SCHEMA = pa.schema(
    [
        pa.field("utt_id", pa.string(), nullable=False),
        pa.field("hash", pa.string(), nullable=False),
    ]
)


@contextmanager
def atomic(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename.

    An interrupted job therefore leaves either the old file or none, never half a file. A full
    disk is reported as `OSError: no space left on device while writing PATH` (errno ENOSPC)
    rather than as the writer's own message (see _out_of_space).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:
        if not _out_of_space(error, tmp):
            raise
        full = OSError(f"no space left on device while writing {path}")
        full.errno = errno.ENOSPC
        raise full from error
    finally:
        tmp.unlink(missing_ok=True)


# Below this many free bytes, a write that failed without an errno is taken for a full disk.
FULL_DISK_BYTES = 1 << 20


def _out_of_space(error: Exception, tmp: Path) -> bool:
    """Whether a failed write of `tmp` ran out of space: errno ENOSPC, or a RuntimeError (torch's
    stream writer drops the errno: `[enforce fail at inline_container.cc:...]`, `basic_ios::clear:
    iostream error`) while the file system holding `tmp` has under FULL_DISK_BYTES left."""
    if isinstance(error, OSError):
        return error.errno == errno.ENOSPC
    try:
        return shutil.disk_usage(tmp.parent).free < FULL_DISK_BYTES
    except OSError:
        return False


def read_by_corpus(paths: list[str | Path]) -> dict[str, pa.Table]:
    """Per-corpus parquet files (`.../{corpus}.parquet`: indexes, audio hashes) by corpus."""
    return {Path(p).stem: pq.read_table(p) for p in paths}


def with_rated(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """read_by_corpus tables with each corpus's `{corpus}.rated` table appended to its own:
    for the stages that read every utterance of an experiment alike (the leakage report)."""
    merged = {name: table for name, table in tables.items() if not name.endswith(".rated")}
    for name, table in tables.items():
        corpus = name.removesuffix(".rated")
        if corpus != name:
            merged[corpus] = pa.concat_tables([merged[corpus], table], promote_options="permissive")
    return merged


def write_parquet(table: pa.Table, path: str | Path, schema: pa.Schema | None = None) -> None:
    """Write `table` to `path` atomically, cast to `schema` if given.

    The cast raises on a missing column or an impossible type, naming the column. The table's
    schema metadata (e.g. the index summary) is kept, so the footer still describes the data.
    """
    if schema is not None:
        table = table.select(schema.names).cast(schema.with_metadata(table.schema.metadata))
    with atomic(path) as tmp:
        pq.write_table(table, tmp)


def write_csv(table: pa.Table, path: str | Path) -> None:
    """Write `table` as CSV atomically."""
    with atomic(path) as tmp:
        pacsv.write_csv(table, tmp)


def write_text(text: str, path: str | Path) -> None:
    """Write a text file atomically."""
    with atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def with_index_metadata(table: pa.Table, metadata: dict) -> pa.Table:
    """`table` carrying `metadata` (JSON-encodable) in its schema, to land in the parquet footer.

    The footer travels with the file, so what the index was built from can be read back
    without the log of the run that wrote it.
    """
    return table.replace_schema_metadata({INDEX_METADATA_KEY: json.dumps(metadata)})


def index_metadata(schema: pa.Schema) -> dict:
    """The index summary stored by `with_index_metadata`; ValueError when there is none."""
    raw = (schema.metadata or {}).get(INDEX_METADATA_KEY)
    if raw is None:
        raise ValueError("no index metadata in the schema (not written by xcorpus index?)")
    return json.loads(raw)


def read_index_metadata(path: str | Path) -> dict:
    """The index summary in the footer of the index parquet at `path`, reading no data."""
    return index_metadata(pq.read_schema(path))

"""Indexing one corpus: its loader's rows checked (audio, splits, transcripts) into the index
and rejects tables, with the summary the index carries in its footer."""

import csv
import os
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from xcorpus.corpora import CORPORA
from xcorpus.corpora.base import TEXT_ENCODING, Loaded, rows_table, to_tables
from xcorpus.corpora.probe import check_audio
from xcorpus.corpora.splits import group_by_speaker
from xcorpus.tables import RATED_SCHEMA, with_index_metadata

SPLITS = ("official", "speaker")
# Ignored files named in the index footer (and so in the indexing log); the rest are counted.
IGNORED_SHOWN = 20


class Indexed(NamedTuple):
    """What indexing a corpus writes: the four-class index, the rejects, and the rejects that
    are rated on V/A/D (RATED_SCHEMA, label null) for dimensional_all_rated."""

    index: pa.Table
    rejects: pa.Table
    rated: pa.Table


def index_corpus(
    name: str, root: str | Path, transcripts: str | Path | None = None, splits: str = "official"
) -> Indexed:
    """Read corpus `name` from `root` into its index, rejects and rated tables.

    `splits` "speaker" regroups the official splits so no speaker is in two of them
    (xcorpus.corpora.splits; for SAMSEMO, whose official splits share source videos).

    `transcripts` is an optional TSV (header `utt_id<TAB>transcript`) whose texts replace the
    corpus's own, e.g. ASR output for MSP-IMPROV; utterances it does not list get no transcript.
    Audio is checked here, once for every loader (see probe.check_audio). The index
    carries its summary (xcorpus.tables.index_metadata) in its schema metadata. A corpus with
    no usable utterance is a ValueError: it almost always means a wrong root or layout.

    The rated table holds the utterances rejected for their category alone that carry all of
    V/A/D (corpora.base.Loaded.rated), with the same transcripts, audio check and split
    regrouping as the index: a rated utterance whose audio fails the check is left out of it
    (and counted in the footer), and under `splits` "speaker" it takes its speaker's regrouped
    split, or none when that speaker has no split in the index.
    """
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{name}: corpus root {root} is not a directory")
    if splits not in SPLITS:
        raise ValueError(f"splits must be one of {', '.join(SPLITS)}, got {splits!r}")
    loaded = CORPORA[name].load(root)
    if transcripts is not None:
        texts = read_transcripts(Path(transcripts))
        for row in [*loaded.rows, *loaded.rated]:
            row["transcript"] = texts.get(row["utt_id"])
    check_audio(loaded)
    rated = Loaded(rows=loaded.rated)
    check_audio(rated)  # its failures are rejects already, under their category
    if splits == "speaker":  # after the audio check, so the split sizes count kept rows only
        placed = group_by_speaker(loaded.rows, name)
        for row in rated.rows:
            if row["split"] is not None:
                row["split"] = placed.get(row["speaker"])
        loaded.variant += " + splits grouped by speaker"
    index, rejects = to_tables(loaded, name)
    if index.num_rows == 0:
        raise ValueError(
            f"{name}: no usable utterances under {os.path.abspath(root)} "
            f"({rejects.num_rows} rejected)"
        )
    metadata = summary(name, root, loaded.variant, index, rejects)
    if loaded.ignored:  # only loaders that search for files by name have any
        shown = sorted(loaded.ignored)
        metadata["ignored"] = {"count": len(shown), "examples": shown[:IGNORED_SHOWN]}
    if loaded.rated:  # only loaders of rated corpora keep any
        metadata["rated"] = {"kept": len(rated.rows), "audio_failed": len(rated.rejects)}
    return Indexed(with_index_metadata(index, metadata), rejects, rated_table(rated.rows, name))


def rated_table(rows: list[dict], corpus: str) -> pa.Table:
    """The rated rows (label None) as a RATED_SCHEMA table sorted by utt_id."""
    rows = sorted(({**row, "corpus": corpus} for row in rows), key=lambda r: r["utt_id"])
    return rows_table(rows, RATED_SCHEMA)


def summary(name: str, root: Path, variant: str, index: pa.Table, rejects: pa.Table) -> dict:
    """What the index was built from and what it holds, for its parquet footer and the log."""
    splits = Counter(split or "none" for split in index.column("split").to_pylist())
    return {
        "corpus": name,
        "root": os.path.abspath(root),
        "variant": variant,
        "kept": index.num_rows,
        "rejected": rejects.num_rows,
        "classes": dict(sorted(Counter(index.column("label").to_pylist()).items())),
        "splits": dict(sorted(splits.items())),
    }


def read_transcripts(path: Path) -> dict[str, str]:
    """utt_id -> text from a two-column TSV with header; a repeated id is an error."""
    texts: dict[str, str] = {}
    with path.open(encoding=TEXT_ENCODING, newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != ["utt_id", "transcript"]:
            raise ValueError(f"{path}: header must be 'utt_id<TAB>transcript', got {header}")
        for line, fields in enumerate(reader, start=2):
            if len(fields) != 2:
                raise ValueError(f"{path}:{line}: expected 2 tab-separated fields")
            utt_id, text = fields
            if utt_id in texts:
                raise ValueError(f"{path}:{line}: utterance {utt_id} listed twice")
            texts[utt_id] = text
    return texts

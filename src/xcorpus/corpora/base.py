"""What every corpus loader returns, and how its rows become the index and rejects tables."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from xcorpus.labels import CLASSES
from xcorpus.tables import INDEX_SCHEMA, REJECTS_SCHEMA


@dataclass
class Loaded:
    """Rows of the index (dicts keyed by INDEX_SCHEMA names) and of the rejects table."""

    rows: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)

    def reject(self, utt_id: str, reason: str, raw_label: str | None, source: str) -> None:
        self.rejects.append(
            {"utt_id": utt_id, "raw_label": raw_label, "reason": reason, "source": source}
        )


@dataclass(frozen=True)
class CorpusSpec:
    """Static facts about a corpus that the config checks need before any job runs."""

    name: str
    load: Callable[[Path], Loaded]
    # Native V/A/D scale (low, high); None when the corpus has no V/A/D ratings.
    vad_scale: tuple[float, float] | None
    has_transcripts: bool


def to_tables(loaded: Loaded, corpus: str) -> tuple[pa.Table, pa.Table]:
    """Index and rejects tables, sorted by utt_id, checked for duplicate ids and bad labels."""
    rows = sorted(loaded.rows, key=lambda r: r["utt_id"])
    seen: set[str] = set()
    for row in rows:
        if row["utt_id"] in seen:
            raise ValueError(f"{corpus}: utterance {row['utt_id']} appears twice in the index")
        seen.add(row["utt_id"])
        if row["label"] not in CLASSES:
            raise ValueError(f"{corpus}: utterance {row['utt_id']} has label {row['label']!r}")
        row.setdefault("corpus", corpus)
    columns = {name: [r.get(name) for r in rows] for name in INDEX_SCHEMA.names}
    index = pa.Table.from_pydict(columns, schema=INDEX_SCHEMA)
    rejects = sorted(loaded.rejects, key=lambda r: r["utt_id"])
    rcols = {name: [r.get(name) for r in rejects] for name in REJECTS_SCHEMA.names}
    return index, pa.Table.from_pydict(rcols, schema=REJECTS_SCHEMA)

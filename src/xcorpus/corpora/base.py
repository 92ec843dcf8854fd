"""What every corpus loader returns, and how its rows become the index and rejects tables."""

import csv
import os
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from xcorpus.labels import CLASSES
from xcorpus.tables import INDEX_SCHEMA, REJECTS_SCHEMA

# Every text file is read as UTF-8 with a leading byte-order mark dropped: a BOM left in the
# text hides the first line from the patterns that recognise it.
TEXT_ENCODING = "utf-8-sig"


class Malformed(ValueError):
    """An entry of a label file that does not parse; loaders reject it and read on."""


@dataclass
class Loaded:
    """Rows of the index (dicts keyed by INDEX_SCHEMA names) and of the rejects table."""

    rows: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    # utt_id -> where it was first read, to reject later entries for the same id.
    seen: dict[str, str] = field(default_factory=dict)
    # utt_id -> how many later entries were rejected as its duplicates (for the accounting).
    duplicates: Counter[str] = field(default_factory=Counter)
    # Id (None when none could be read) -> how many malformed entries were rejected under it.
    malformed_ids: Counter[str | None] = field(default_factory=Counter)
    # Which release layout was read (label file, split names), recorded in the index footer.
    variant: str = "standard"
    # Entries the label files define (summary lines, rows, intervals, stray lines), counted as
    # they are read: each must end up kept or rejected exactly once.
    entries: int = 0
    # Files found that define no utterance (AppleDouble `._*`, names outside the corpus's file
    # grammar, identical second copies, clips no label row names), with why: for the log.
    ignored: list[str] = field(default_factory=list)
    # Rejected for their category alone (outside the four classes, or no majority) yet rated on
    # all of V/A/D, with their audio: index rows with label None, which dimensional training
    # can use (dimensional_all_rated). They stay rejects: the index holds the four classes.
    rated: list[dict] = field(default_factory=list)

    def reject(
        self, utt_id: str | None, reason: str, raw_label: str | None, source: str | None
    ) -> None:
        self.rejects.append(
            {"utt_id": utt_id, "raw_label": raw_label, "reason": reason, "source": source}
        )

    def malformed(
        self, what: str, source: str, utt_id: str | None = None, raw_label: str | None = None
    ) -> None:
        """Reject an entry that does not parse (`what`: which kind of line); reading goes on.

        `utt_id` is the id the entry seems to carry, or None when none can be read from it.
        """
        self.reject(utt_id, f"malformed {what}", raw_label, source)
        self.malformed_ids[utt_id] += 1

    def duplicate(self, utt_id: str, raw_label: str | None, source: str) -> bool:
        """True (and rejected) when `utt_id` was read before; otherwise remember it."""
        if utt_id in self.seen:
            self.reject(utt_id, f"duplicate of {self.seen[utt_id]}", raw_label, source)
            self.duplicates[utt_id] += 1
            return True
        self.seen[utt_id] = source
        return False

    def rate(self, row: dict) -> None:
        """Keep `row` (label None, its category rejected) among the rated ones if it carries
        all of V/A/D."""
        if all(row[d] is not None for d in ("valence", "arousal", "dominance")):
            self.rated.append(row)

    def label(
        self, utt_id: str, code: str, labels: dict[str, str], no_majority: str, source: str
    ) -> str | None:
        """The 4-class label of a consensus `code`, or None after rejecting the utterance."""
        if code == no_majority:
            self.reject(utt_id, "no majority label", code, source)
            return None
        if code not in labels:
            self.reject(utt_id, f"label {code} not in the 4 classes", code, source)
            return None
        return labels[code]


def delimited_records(
    path: Path,
    shown: str,
    corpus: str,
    columns: tuple[str, ...],
    encoding: str,
    delimiter: str,
    loaded: Loaded,
    id_of: Callable[[dict[str, str]], str | None],
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, record) per data row of a CSV/TSV with a header; blank rows are skipped.

    A missing required column is a ValueError naming the file (as `shown`); a row with the wrong
    number of fields is rejected into `loaded` as malformed, under the id `id_of` reads from the
    fields it has (None when it cannot), and reading goes on. Every non-blank row counts as an
    entry of `loaded`.
    """
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{corpus}: {shown} is empty (no header)")
        header = [h.strip() for h in header]
        for column in columns:
            if column not in header:
                raise ValueError(f"{corpus}: {shown} has no column {column}")
        while True:
            lineno = reader.line_num + 1
            fields = next(reader, None)
            if fields is None:
                return
            if not any(x.strip() for x in fields):
                continue
            loaded.entries += 1
            if len(fields) != len(header):
                what = f"line ({len(fields)} fields, the header has {len(header)})"
                partial = dict(zip(header, fields, strict=False))
                loaded.malformed(what, f"{shown}:{lineno}", id_of(partial))
                continue
            yield lineno, dict(zip(header, fields, strict=True))


def vad_spread(ratings: list[tuple[float, float, float]]) -> float | None:
    """Mean over the three dimensions of the sample std (ddof=1) of per-evaluator V/A/D ratings.

    None with fewer than two evaluators (a spread needs two).
    """
    if len(ratings) < 2:
        return None
    return sum(statistics.stdev(dim) for dim in zip(*ratings, strict=True)) / 3


def agreement(n_agree: int, n_raters: int) -> float | None:
    """The share of evaluators agreeing with the consensus; None without evaluators."""
    return n_agree / n_raters if n_raters else None


def rater_stats(
    code: str, judgements: Iterable[tuple[str, tuple[float, float, float] | None]]
) -> dict:
    """n_raters, agreement and vad_spread from each rater's (consensus code of their primary
    emotion, V/A/D or None); all None without raters."""
    judgements = list(judgements)
    n = len(judgements)
    ratings = [vad for _, vad in judgements if vad is not None]
    return {
        "n_raters": n or None,
        "agreement": agreement(sum(c == code for c, _ in judgements), n),
        "vad_spread": vad_spread(ratings),
    }


@dataclass(frozen=True)
class Sources:
    """What a loader reads under a root, for deciding when to reindex (xcorpus.corpora.sources).

    `files`: label, split and transcript files, read whole. `dirs`: the folders in which audio
    files are looked up by name (their mtime changes when an entry is added, removed or renamed).
    """

    files: Sequence[Path | str]
    dirs: Sequence[Path | str]


def listing(folder: Path, suffix: str) -> list[str]:
    """The entries of `folder` whose names end in `suffix` ([] when it does not exist), as
    strings: faster than Path.glob (BENCHMARKS.md, "Indexing at MSP-PODCAST scale")."""
    try:
        with os.scandir(folder) as entries:
            return [entry.path for entry in entries if entry.name.endswith(suffix)]
    except FileNotFoundError:
        return []


def folders(root: Path) -> list[Path]:
    """`root` and every folder below it: the `dirs` of a loader that finds audio by a recursive
    glob."""
    return [Path(folder) for folder, _, _ in os.walk(root)]


@dataclass(frozen=True)
class CorpusSpec:
    """Static facts about a corpus that the config checks need before any job runs."""

    name: str
    load: Callable[[Path], Loaded]
    # The files and folders `load` reads under a root (a subset of them may not exist).
    sources: Callable[[Path], Sources]
    # Native V/A/D scale (low, high); None when the corpus has no V/A/D ratings.
    vad_scale: tuple[float, float] | None
    has_transcripts: bool
    # Whether the loader can fill `agreement` (MSPP: when the release has labels_detailed).
    has_agreement: bool = False
    # Recording sessions, the folds of leave-one-session-out; None when the corpus has none.
    sessions: tuple[int, ...] | None = None
    # Languages spoken (and transcribed), as the index's `language` codes: known before
    # indexing, so a text encoder for other languages is refused before any job starts.
    languages: tuple[str, ...] = ("EN",)
    # The languages of its generated demo copy where they differ (the SAMSEMO demo is English).
    demo_languages: tuple[str, ...] | None = None
    # Whether the official splits are known to put one speaker in several of them (MELD's main
    # characters, every ESD speaker, SAMSEMO's source videos): training needs `splits: speaker`.
    splits_share_speakers: bool = False


def check_accounting(loaded: Loaded, corpus: str) -> None:
    """Raise unless every entry read is kept or rejected exactly once: kept + rejected = total.

    An id the loader saw must appear once in the rows or rejects, plus once more per entry
    rejected as its duplicate, so a loader that drops or doubles an utterance fails here, naming
    it; and kept + rejected must equal the entries the label files define (Loaded.entries), so
    an entry dropped before it was given an id cannot pass unseen either.
    """
    placed = Counter(row["utt_id"] for row in loaded.rows)
    placed.update(reject["utt_id"] for reject in loaded.rejects)
    expected = Counter(loaded.seen.keys()) + loaded.duplicates + loaded.malformed_ids
    missing = sorted(map(str, expected - placed))
    doubled = sorted(map(str, placed - expected))
    if missing or doubled:
        raise ValueError(
            f"{corpus}: kept + rejected != read; missing {_some(missing)}, "
            f"doubled or never read {_some(doubled)}"
        )
    if len(loaded.rows) + len(loaded.rejects) != loaded.entries:
        raise ValueError(
            f"{corpus}: kept {len(loaded.rows)} + rejected {len(loaded.rejects)} != "
            f"{loaded.entries} entries in the label files"
        )


def _some(ids: list[str], shown: int = 10) -> str:
    """At most `shown` ids and the count of the rest, to keep an error message readable."""
    if not ids:
        return "none"
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def to_tables(loaded: Loaded, corpus: str) -> tuple[pa.Table, pa.Table]:
    """Index and rejects tables, sorted by utt_id.

    Raises on an id twice in the index, a label outside the classes, or an utterance lost or
    doubled between reading and the tables (check_accounting).
    """
    rows = sorted(loaded.rows, key=lambda r: r["utt_id"])
    seen: set[str] = set()
    for row in rows:
        if row["utt_id"] in seen:
            raise ValueError(f"{corpus}: utterance {row['utt_id']} appears twice in the index")
        seen.add(row["utt_id"])
        if row["label"] not in CLASSES:
            raise ValueError(f"{corpus}: utterance {row['utt_id']} has label {row['label']!r}")
        row.setdefault("corpus", corpus)
    check_accounting(loaded, corpus)
    rejects = sorted(loaded.rejects, key=lambda r: (r["utt_id"] or "", r["source"] or ""))
    return rows_table(rows, INDEX_SCHEMA), rows_table(rejects, REJECTS_SCHEMA)


def rows_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """`rows` as a table of `schema`, a column a row lacks being null in it."""
    columns = {name: [r.get(name) for r in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)

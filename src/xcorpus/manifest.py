"""Which utterances an experiment trains, validates and tests on.

Cross-corpus protocol: train on the training corpora, select the model on held-out *speakers* of
those corpora (never a random utterance split, never a test corpus), test on every other
configured corpus in full. Every training corpus also gets an in-corpus test (role `heldout`):
speakers that neither training nor model selection sees, evaluated once with the selected model.

- A corpus with an official partition keeps it: train -> train, dev -> val, and its official
  test split (Test1, as EmoBox uses; `test` where a corpus has one) -> heldout; other official
  test splits (Test2, Test3) and rows outside the partition are left out. The partition must be
  speaker-disjoint: one speaker in two of those splits would carry test speakers into training
  or selection, so it is refused, naming the speakers, rather than dissolved (the way out is
  `corpora.<name>.splits: speaker`, which regroups the splits by speaker).
- A role the partition lacks, and both roles of a corpus without one, are drawn as fixed random
  shares of the training speakers (`test_speakers` for heldout, `validation_speakers` for val),
  from a generator seeded by the corpus name, so every experiment training on that corpus
  validates and tests on the same speakers.

For leave-one-session-out (evaluation_mode loso or both) the training corpus's rows carry their
session in `fold`; the training job builds each fold from them (loso_roles).

Only what the evaluation cannot do without is rejected here: a text model needs a transcript on
every row. Whether a curriculum has a difficulty for a row never changes validation or test sets;
the training job drops unscored *training* rows and counts them.
"""

import zlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa

from xcorpus.config import modalities
from xcorpus.tables import MANIFEST_SCHEMA, REJECTS_SCHEMA


def held_out_speakers(speakers: Iterable[str], key: str, shares: Sequence[float]) -> list[set]:
    """Disjoint fixed random sets of `speakers`, one per share (each at least one speaker), taken
    in order from a permutation seeded by `key`; at least one speaker is left to train on."""
    speakers = sorted(set(speakers))
    counts = [max(1, round(share * len(speakers))) for share in shares]
    if sum(counts) >= len(speakers):
        raise ValueError(
            f"{key}: {len(speakers)} speaker(s) cannot give {' + '.join(map(str, counts))} "
            "held-out speaker(s) and leave one to train on; a speaker-independent split needs "
            f"at least {sum(counts) + 1}"
        )
    order = np.random.default_rng(zlib.crc32(key.encode())).permutation(len(speakers))
    ends = np.cumsum(counts)
    return [
        {speakers[i] for i in order[end - n : end]} for n, end in zip(counts, ends, strict=True)
    ]


def validation_speakers(index: pa.Table, corpus: str, share: float) -> set[str]:
    """A fixed, corpus-seeded random `share` of the corpus's speakers (at least one)."""
    (chosen,) = held_out_speakers(index.column("speaker").to_pylist(), corpus, [share])
    return chosen


HELDOUT_SPLITS = ("test1", "test")
OFFICIAL_ROLES = {"train": "train", "dev": "val", **dict.fromkeys(HELDOUT_SPLITS, "heldout")}
# The held-out roles drawn from training speakers where a corpus has no official split for them.
DRAWN_ROLES = ("heldout", "val")


def check_speaker_disjoint(corpus: str, speakers: list[str], splits: list[str | None]) -> None:
    """Refuse an official partition that puts one speaker in two of train, dev and test."""
    by_speaker: dict[str, dict[str, str]] = {}
    for speaker, split in zip(speakers, splits, strict=True):
        if split in OFFICIAL_ROLES:
            by_speaker.setdefault(speaker, {})[OFFICIAL_ROLES[split]] = split
    shared = {s: sorted(r.values()) for s, r in sorted(by_speaker.items()) if len(r) > 1}
    if shared:
        named = "; ".join(f"{s} in {' and '.join(r)}" for s, r in list(shared.items())[:5])
        more = f" (and {len(shared) - 5} more)" if len(shared) > 5 else ""
        raise ValueError(
            f"{corpus}: its official partition is not speaker-disjoint: {len(shared)} "
            f"speaker(s) in two splits ({named}{more}); the official test split would meet its "
            f"speakers in training or validation. Set corpora.{corpus}.splits: speaker to "
            "regroup the splits by speaker"
        )


def role_by_speaker(
    index: pa.Table, corpus: str, validation_share: float, test_share: float
) -> Callable[[str, str | None], str | None]:
    """(speaker, split) -> role in a training corpus, drawn from its index alone: the official
    role where the corpus has a partition (else train), and a train speaker drawn into a role
    the partition lacks takes that role. So a rated row (dimensional_all_rated) takes its
    speaker's role, and the index's roles do not depend on whether rated rows exist."""
    speakers, splits = index.column("speaker").to_pylist(), index.column("split").to_pylist()
    official = any(split in OFFICIAL_ROLES for split in splits)
    if official:
        check_speaker_disjoint(corpus, speakers, splits)

    def given(split: str | None) -> str | None:
        return OFFICIAL_ROLES.get(split) if official else "train"  # type: ignore[arg-type]

    roles = [given(split) for split in splits]
    shares = {"heldout": test_share, "val": validation_share}
    missing = [r for r in DRAWN_ROLES if r not in roles]
    drawn: dict[str, str] = {}
    if missing:
        pool = [s for s, r in zip(speakers, roles, strict=True) if r == "train"]
        chosen = held_out_speakers(pool, corpus, [shares[r] for r in missing])
        for drawn_role, members in zip(missing, chosen, strict=True):
            drawn |= dict.fromkeys(members, drawn_role)

    def role(speaker: str, split: str | None) -> str | None:
        official_role = given(split)
        return drawn.get(speaker, "train") if official_role == "train" else official_role

    return role


def loso_roles(speakers: np.ndarray, sessions: np.ndarray, fold: int, corpus: str, share: float):
    """Roles of one leave-one-session-out fold: the fold's session is the test ('heldout'); a
    corpus-seeded `share` of the other sessions' speakers validates; the rest trains. The test
    session never takes part in model selection."""
    others = sessions != fold
    pool = pa.table({"speaker": speakers[others].tolist()})
    held_out = validation_speakers(pool, f"{corpus}/fold-{fold}", share)
    val = np.isin(speakers, list(held_out)) & others
    return np.where(~others, "heldout", np.where(val, "val", "train"))


def build_manifest(
    experiment: dict,
    indexes: dict[str, pa.Table],
    validation_share: float,
    test_share: float,
    test_lists: dict[str, set[str]] | None = None,
    rated: dict[str, pa.Table] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """(manifest, rejects) of one experiment; a test corpus in `test_lists` is tested on the
    listed ids only (corpora.test_lists), the rest of it being outside the protocol, not
    rejected. Under dimensional_all_rated each corpus's `rated` rows follow its index rows, a
    training corpus's with their speakers' roles (role_by_speaker)."""
    needs_text = "text" in modalities(experiment)
    loso = experiment["evaluation_mode"] in ("loso", "both")
    extra = (rated or {}) if experiment.get("dimensional_all_rated") else {}
    rows, rejects = [], []
    for corpus in experiment["train_dataset"] + experiment["test_datasets"]:
        index = indexes[corpus]
        tables = [index] + ([extra[corpus]] if corpus in extra else [])
        training = corpus in experiment["train_dataset"]
        roles = (
            corpus_roles(index, tables, corpus, validation_share, test_share)
            if training
            else ["test"] * sum(len(table) for table in tables)
        )
        listed = None if training else (test_lists or {}).get(corpus)
        columns = ["utt_id", "raw_label", "transcript", "session"]
        records = [record for table in tables for record in table.select(columns).to_pylist()]
        for record, role in zip(records, roles, strict=True):
            if role is None or (listed is not None and record["utt_id"] not in listed):
                continue
            reason = None
            if needs_text and not (record["transcript"] or "").strip():
                reason = f"no transcript (modality {experiment['modality']})"
            elif loso and training and record["session"] is None:
                reason = "no session (leave-one-session-out)"
            if reason:
                rejects.append({**record, "reason": reason, "source": corpus})
            else:
                fold = record["session"] if loso and training else None
                rows.append(
                    {"utt_id": record["utt_id"], "corpus": corpus, "role": role, "fold": fold}
                )
    manifest = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
    rejected = pa.Table.from_pylist(
        [{k: r[k] for k in REJECTS_SCHEMA.names} for r in rejects], schema=REJECTS_SCHEMA
    )
    return manifest, rejected


def corpus_roles(
    index: pa.Table,
    tables: list[pa.Table],
    corpus: str,
    validation_share: float,
    test_share: float,
) -> list[str | None]:
    """Roles of the rows of `tables` (the index, then its rated rows) of a training corpus,
    drawn from the index; an official partition must stay speaker-disjoint with them all."""
    role = role_by_speaker(index, corpus, validation_share, test_share)
    speakers = [s for table in tables for s in table.column("speaker").to_pylist()]
    splits = [s for table in tables for s in table.column("split").to_pylist()]
    if len(tables) > 1 and any(split in OFFICIAL_ROLES for split in splits):
        check_speaker_disjoint(corpus, speakers, splits)
    return [role(speaker, split) for speaker, split in zip(speakers, splits, strict=True)]

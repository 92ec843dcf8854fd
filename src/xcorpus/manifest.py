"""Which utterances an experiment trains, validates and tests on.

Cross-corpus protocol: train on the training corpora, select the model on held-out *speakers* of
those corpora (never a random utterance split, never a test corpus), test on every other
configured corpus in full. A training corpus whose official partition is speaker-disjoint in the
data (MSP-PODCAST) keeps it: train -> train, dev -> val, and its official test split (Test1, as
EmoBox uses; `test` where a corpus has one) -> heldout, an in-corpus test the model never sees
before its final evaluation; other official test splits (Test2, Test3) are left out. Otherwise a
fixed share of its speakers is held out for validation, chosen by a generator seeded from the
corpus name so every experiment training on that corpus validates on the same speakers, and the
corpus has no in-corpus test (its validation UAR is the in-corpus figure).

For leave-one-session-out (evaluation_mode loso or both) the training corpus's rows carry their
session in `fold`; the training job builds each fold from them (loso_roles).

Utterances an experiment cannot use (no transcript for a text model, no difficulty for a
difficulty curriculum) are returned as rejects with the reason.
"""

import zlib

import numpy as np
import pyarrow as pa

from xcorpus.config import modalities, uses_difficulty
from xcorpus.tables import MANIFEST_SCHEMA, REJECTS_SCHEMA


def validation_speakers(index: pa.Table, corpus: str, share: float) -> set[str]:
    """A fixed, corpus-seeded random `share` of the corpus's speakers (at least one)."""
    speakers = sorted(set(index.column("speaker").to_pylist()))
    if len(speakers) < 2:
        raise ValueError(
            f"{corpus}: {len(speakers)} speaker(s); a speaker-independent validation split "
            "needs at least two"
        )
    rng = np.random.default_rng(zlib.crc32(corpus.encode()))
    n_val = min(len(speakers) - 1, max(1, round(share * len(speakers))))
    return {speakers[i] for i in rng.permutation(len(speakers))[:n_val]}


HELDOUT_SPLITS = ("test1", "test")
OFFICIAL_ROLES = {"train": "train", "dev": "val", **dict.fromkeys(HELDOUT_SPLITS, "heldout")}


def _official_split_is_speaker_disjoint(index: pa.Table) -> bool:
    """Whether train, dev and the held-out test split exist-as-needed and share no speaker."""
    rows = index.select(["speaker", "split"]).to_pylist()
    speakers: dict[str, set[str]] = {}
    for r in rows:
        if r["split"] in OFFICIAL_ROLES:
            speakers.setdefault(OFFICIAL_ROLES[r["split"]], set()).add(r["speaker"])
    train, val = speakers.get("train", set()), speakers.get("val", set())
    heldout = speakers.get("heldout", set())
    return bool(train) and bool(val) and not (train & val or train & heldout or val & heldout)


def training_roles(index: pa.Table, corpus: str, share: float) -> list[str | None]:
    """Role per row of a training corpus: 'train', 'val', 'heldout' (in-corpus test) or None."""
    if _official_split_is_speaker_disjoint(index):
        return [OFFICIAL_ROLES.get(split) for split in index.column("split").to_pylist()]
    held_out = validation_speakers(index, corpus, share)
    return ["val" if s in held_out else "train" for s in index.column("speaker").to_pylist()]


def loso_roles(speakers: np.ndarray, sessions: np.ndarray, fold: int, corpus: str, share: float):
    """Roles of one leave-one-session-out fold: the fold's session is the test ('heldout'); a
    corpus-seeded `share` of the other sessions' speakers validates; the rest trains. The test
    session never takes part in model selection."""
    others = sessions != fold
    pool = pa.table({"speaker": speakers[others].tolist()})
    held_out = validation_speakers(pool, f"{corpus}/fold-{fold}", share)
    val = np.isin(speakers, list(held_out)) & others
    return np.where(~others, "heldout", np.where(val, "val", "train"))


# Roles whose utterances may be trained on: in LOSO every training-corpus row trains in some fold.
TRAINABLE = {False: ("train",), True: ("train", "val", "heldout")}


def build_manifest(
    experiment: dict,
    indexes: dict[str, pa.Table],
    share: float,
    difficulty: dict[str, pa.Table],
) -> tuple[pa.Table, pa.Table]:
    """(manifest, rejects) of one experiment; `difficulty` maps training corpora to their scores."""
    needs_text = "text" in modalities(experiment)
    curriculum = uses_difficulty(experiment)
    loso = experiment["evaluation_mode"] in ("loso", "both")
    rows, rejects = [], []
    for corpus in experiment["train_dataset"] + experiment["test_datasets"]:
        index = indexes[corpus]
        training = corpus in experiment["train_dataset"]
        roles = training_roles(index, corpus, share) if training else ["test"] * len(index)
        needs_score = curriculum and training
        scored = set(difficulty[corpus].column("utt_id").to_pylist()) if needs_score else set()
        records = index.select(["utt_id", "raw_label", "transcript", "session"]).to_pylist()
        for record, role in zip(records, roles, strict=True):
            if role is None:
                continue
            reason = None
            if needs_text and not (record["transcript"] or "").strip():
                reason = f"no transcript (modality {experiment['modality']})"
            elif needs_score and role in TRAINABLE[loso] and record["utt_id"] not in scored:
                reason = "no difficulty score (difficulty curriculum)"
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

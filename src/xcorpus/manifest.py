"""Which utterances an experiment trains, validates and tests on.

Cross-corpus protocol: train on the training corpora, select the model on held-out *speakers* of
those corpora (never a random utterance split, never a test corpus), test on every other
configured corpus in full. A training corpus whose official train/dev partition is
speaker-disjoint in the data (MSP-PODCAST) keeps it; otherwise a fixed share of its speakers is
held out, chosen by a generator seeded from the corpus name so every experiment training on that
corpus validates on the same speakers. Utterances an experiment cannot use (no transcript for a
text model, no difficulty for a difficulty curriculum) are returned as rejects with the reason.
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


def _official_split_is_speaker_disjoint(index: pa.Table) -> bool:
    rows = index.select(["speaker", "split"]).to_pylist()
    train = {r["speaker"] for r in rows if r["split"] == "train"}
    dev = {r["speaker"] for r in rows if r["split"] == "dev"}
    return bool(train) and bool(dev) and not train & dev


def training_roles(index: pa.Table, corpus: str, share: float) -> list[str | None]:
    """Role per row of a training corpus: 'train', 'val', or None (official test partitions)."""
    if _official_split_is_speaker_disjoint(index):
        names = {"train": "train", "dev": "val"}
        return [names.get(split) for split in index.column("split").to_pylist()]
    held_out = validation_speakers(index, corpus, share)
    return ["val" if s in held_out else "train" for s in index.column("speaker").to_pylist()]


def build_manifest(
    experiment: dict,
    indexes: dict[str, pa.Table],
    share: float,
    difficulty: dict[str, pa.Table],
) -> tuple[pa.Table, pa.Table]:
    """(manifest, rejects) of one experiment; `difficulty` maps training corpora to their scores."""
    needs_text = "text" in modalities(experiment)
    curriculum = uses_difficulty(experiment)
    rows, rejects = [], []
    for corpus in experiment["train_dataset"] + experiment["test_datasets"]:
        index = indexes[corpus]
        training = corpus in experiment["train_dataset"]
        roles = training_roles(index, corpus, share) if training else ["test"] * len(index)
        needs_score = curriculum and training
        scored = set(difficulty[corpus].column("utt_id").to_pylist()) if needs_score else set()
        records = index.select(["utt_id", "raw_label", "transcript"]).to_pylist()
        for record, role in zip(records, roles, strict=True):
            if role is None:
                continue
            reason = None
            if needs_text and not (record["transcript"] or "").strip():
                reason = f"no transcript (modality {experiment['modality']})"
            elif needs_score and role == "train" and record["utt_id"] not in scored:
                reason = "no difficulty score (difficulty curriculum)"
            if reason:
                rejects.append({**record, "reason": reason, "source": corpus})
            else:
                rows.append({"utt_id": record["utt_id"], "corpus": corpus, "role": role})
    manifest = pa.Table.from_pylist([{**r, "fold": None} for r in rows], schema=MANIFEST_SCHEMA)
    rejected = pa.Table.from_pylist(
        [{k: r[k] for k in REJECTS_SCHEMA.names} for r in rejects], schema=REJECTS_SCHEMA
    )
    return manifest, rejected

"""An experiment's utterances as tensors: manifest rows joined with labels, features, difficulty.

Everything is joined once, up front, and checked: an utterance without a label or a feature row
is an error naming it, never a zero vector (under dimensional_all_rated a rated utterance
outside the four classes has class NO_CLASS, which every class loss and metric leaves out).
Under a difficulty curriculum a training utterance without a difficulty is not trained on (never
given an invented score); how many were dropped is returned (`Data.unscored`) for the log and
metrics.json. Validation and test sets never depend on
whether a difficulty exists. Features and difficulty are looked up by utt_id alone (shards carry
no corpus column), so an utt_id shared by two corpora is refused as a duplicate rather than
guessed.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from xcorpus.config import train_name
from xcorpus.corpora import CORPORA
from xcorpus.difficulty import VAD_COLUMNS, rescale, score_centroid
from xcorpus.features.shards import check_feature_set, has_frames, read_feature_set, shard_ids
from xcorpus.labels import CLASS_INDEX
from xcorpus.manifest import loso_roles
from xcorpus.train.sequences import Sequences, read_sequences
from xcorpus.train.settings import DataSettings

ROLES = ("train", "val", "heldout", "test")
# The class of a rated utterance outside the four classes (dimensional_all_rated): the class
# losses and metrics leave such rows out (torch's cross-entropy ignore_index default).
NO_CLASS = -100


@dataclass(frozen=True)
class Split:
    """Utterances of one role (one corpus for test), as arrays aligned row by row."""

    utt_id: np.ndarray
    corpus: np.ndarray
    x: dict[str, torch.Tensor | Sequences]  # utterance vectors, or frame/token sequences
    y: torch.Tensor  # class index, NO_CLASS for a rated utterance outside the four classes
    speaker: np.ndarray | None = None  # from the corpus index, for speaker normalisation
    # n x 3 V/A/D on the common 1-5 scale, NaN where unrated; None when the task has no V/A/D
    vad: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.utt_id)

    def take(self, rows: np.ndarray) -> "Split":
        index = torch.from_numpy(rows)
        x = {m: t.take(rows) if isinstance(t, Sequences) else t[index] for m, t in self.x.items()}
        speaker = None if self.speaker is None else self.speaker[rows]
        vad = None if self.vad is None else self.vad[index]
        return Split(self.utt_id[rows], self.corpus[rows], x, self.y[index], speaker, vad)

    @property
    def vad_targets(self) -> torch.Tensor:
        """vad, for code that runs only with a V/A/D head."""
        if self.vad is None:
            raise ValueError("this split holds no V/A/D (the task is categorical)")
        return self.vad

    @property
    def labelled(self) -> torch.Tensor:
        """Which rows have one of the four classes (boolean, on the split's device)."""
        return self.y != NO_CLASS

    @property
    def rated(self) -> torch.Tensor:
        """Which rows carry all three of V/A/D (boolean, on the split's device)."""
        return torch.isfinite(self.vad_targets).all(dim=1)

    @property
    def has_sequences(self) -> bool:
        return any(isinstance(t, Sequences) for t in self.x.values())

    def inputs(self, rows: torch.Tensor) -> dict:
        """The model's input for `rows`: vectors sliced, or sequences padded with their masks."""
        return {
            m: t.batch(rows) if isinstance(t, Sequences) else t[rows] for m, t in self.x.items()
        }

    def to(self, device: torch.device) -> "Split":
        x = {m: t.to(device) for m, t in self.x.items()}
        vad = None if self.vad is None else self.vad.to(device)
        return Split(self.utt_id, self.corpus, x, self.y.to(device), self.speaker, vad)


@dataclass(frozen=True)
class Data:
    """The splits, plus the difficulty of each training row (None without a curriculum) and the
    number of training rows left out for having none."""

    train: Split
    val: Split
    test: dict[str, Split]  # cross-corpus tests, per test corpus
    heldout: dict[str, Split]  # in-corpus tests (test speakers, official split, LOSO session)
    difficulty: np.ndarray | None
    unscored: int = 0
    unrated: int = 0  # training rows without V/A/D left out under task dimensional


def load_data(
    settings: DataSettings,
    manifest: Path,
    indexes: list[Path],
    features: dict[str, list[Path]],
    difficulty: list[Path] | None,
    fold: int | None = None,
    share: float | None = None,
    frames_dir: Path | None = None,
) -> Data:
    """The experiment's splits; `difficulty` None means no difficulty curriculum, else the
    difficulty files of its training corpora (none for centroid difficulty, which is computed
    here from the training rows alone).

    Cross-corpus (fold None): the manifest's roles. One leave-one-session-out fold: the training
    corpus's rows only, session `fold` held out as the in-corpus test and a `share` of the other
    sessions' speakers validating (manifest.loso_roles); no other corpus is tested.
    Training rows are ordered by corpus in `train_dataset` order (so corpus blocks are
    contiguous, as the console summary reports), manifest order within a corpus. Frame
    sequences are memory-mapped from a file in `frames_dir` when given, else held in memory.
    """
    rows = ordered_manifest(settings, manifest)
    labels = read_labels(indexes)
    rows = rows.merge(labels, on=["corpus", "utt_id"], how="left", validate="one_to_one")
    _require(rows, rows["speaker"].isna(), "is not in the corpus indexes")
    unlabelled = rows["label"].isna()
    if not settings.dimensional_all_rated:
        _require(rows, unlabelled, "has no label in the corpus indexes")
    unknown = ~(rows["label"].isin(list(CLASS_INDEX)) | unlabelled)
    _require(rows, unknown, f"has a label outside {list(CLASS_INDEX)}")
    if fold is not None:
        if share is None:
            raise ValueError(f"fold {fold} needs the share of speakers that validate")
        rows = fold_rows(rows, settings, fold, share)
    classes = rows["label"].map(CLASS_INDEX).fillna(NO_CLASS)
    y = torch.tensor(classes.to_numpy(np.int64))
    sets = [feature_set(kind, paths) for kind, paths in features.items()]
    sequences = uses_sequences(settings, sets)
    x = {s.kind: read_features(rows, s, sequences, frames_dir) for s in sets}
    vad = common_scale_vad(rows) if settings.has_dimensional_head else None
    full = Split(
        rows["utt_id"].to_numpy(object),
        rows["corpus"].to_numpy(object),
        x,
        y,
        rows["speaker"].to_numpy(object),
        vad,
    )
    role = rows["role"].to_numpy(object)
    train = np.flatnonzero(role == "train")
    unrated = 0
    if settings.task == "dimensional":
        # Nothing to learn from a row without ratings when V/A/D is all that is trained.
        rated = full.rated.numpy()[train]
        train, unrated = train[rated], int((~rated).sum())
    scores = None
    if difficulty is not None:
        scores = training_difficulty(settings, rows.iloc[train], difficulty)
        train, scores = train[~np.isnan(scores)], scores[~np.isnan(scores)]

    def of(role_name: str, corpus: str) -> Split:
        return full.take(np.flatnonzero((role == role_name) & (full.corpus == corpus)))

    heldout = [
        c for c in settings.train_dataset if ((role == "heldout") & (full.corpus == c)).any()
    ]
    tests = settings.test_datasets if fold is None else ()
    return Data(
        train=full.take(train),
        val=full.take(np.flatnonzero(role == "val")),
        test={c: of("test", c) for c in tests},
        heldout={c: of("heldout", c) for c in heldout},
        difficulty=scores,
        unscored=int((role == "train").sum()) - unrated - len(train),
        unrated=unrated,
    )


def common_scale_vad(rows: pd.DataFrame) -> torch.Tensor:
    """The rows' V/A/D (n x 3, float32) rescaled from each corpus's rating scale to the common
    1-5 scale (difficulty.rescale); NaN for a missing rating and for corpora that rate none. A
    rating outside its corpus's scale is an error naming the utterance."""
    vad = np.full((len(rows), len(VAD_COLUMNS)), np.nan)
    for corpus in rows["corpus"].unique():
        scale = CORPORA[corpus].vad_scale
        members = (rows["corpus"] == corpus).to_numpy()
        if scale is None:
            continue
        native = rows.loc[members, list(VAD_COLUMNS)].to_numpy(np.float64)
        outside = (native < scale[0]) | (native > scale[1])
        _require(rows[members], outside.any(axis=1), f"has V/A/D outside {corpus}'s scale {scale}")
        vad[members] = rescale(native, scale)
    return torch.from_numpy(vad.astype(np.float32))


def fold_rows(rows: pd.DataFrame, settings: DataSettings, fold: int, share: float) -> pd.DataFrame:
    """The training corpus's rows with their roles in leave-one-session-out fold `fold`."""
    (corpus,) = settings.train_dataset
    rows = rows[(rows["corpus"] == corpus) & rows["fold"].notna()].reset_index(drop=True)
    if fold not in set(rows["fold"].astype(int)):
        raise ValueError(f"{corpus} has no session {fold} in the manifest")
    sessions = rows["fold"].astype(int).to_numpy()
    roles = loso_roles(rows["speaker"].to_numpy(object), sessions, fold, corpus, share)
    rows = rows.assign(role=roles)
    order = np.argsort(
        rows["role"].map({r: i for i, r in enumerate(ROLES)}).to_numpy(), kind="stable"
    )
    return rows.iloc[order].reset_index(drop=True)


def ordered_manifest(settings: DataSettings, path: Path) -> pd.DataFrame:
    """Manifest rows, checked against the experiment, train rows first in train_dataset order."""
    rows = pq.read_table(path, columns=["utt_id", "corpus", "role", "fold"]).to_pandas()
    _require(rows, ~rows["role"].isin(ROLES), f"has a role outside {ROLES}")
    _require(rows, rows.duplicated(["corpus", "utt_id"]), f"appears twice in {path}")
    train, test = settings.train_dataset, settings.test_datasets
    stray_heldout = sorted(set(rows.loc[rows["role"] == "heldout", "corpus"]) - set(train))
    if stray_heldout:
        raise ValueError(f"{path}: heldout rows of {stray_heldout[0]}, which is not trained on")
    for role, corpora in (("train", train), ("val", train), ("test", test)):
        present = rows.loc[rows["role"] == role, "corpus"]
        if stray := sorted(set(present) - set(corpora)):
            raise ValueError(
                f"{path}: {role} rows of corpus {stray[0]}, which experiment "
                f"{settings.name} does not list for {role} ({', '.join(corpora)})"
            )
        if missing := [c for c in corpora if c not in set(present)]:
            raise ValueError(f"{path}: no {role} utterances of {missing[0]}")
    role_rank = rows["role"].map({r: i for i, r in enumerate(ROLES)})
    corpus_rank = rows["corpus"].map({c: i for i, c in enumerate(train + test)})
    order = np.lexsort((corpus_rank.to_numpy(), role_rank.to_numpy()))
    return rows.iloc[order].reset_index(drop=True)


def read_labels(paths: list[Path]) -> pd.DataFrame:
    """(corpus, utt_id, label, raw_label, speaker, V/A/D) of every utterance in the corpus
    indexes (and rated tables, whose label is null): the labels, and what speaker
    normalisation and centroid difficulty read."""
    columns = ["corpus", "utt_id", "label", "raw_label", "speaker", *VAD_COLUMNS]
    tables = [pq.read_table(p, columns=columns).to_pandas() for p in paths]
    labels = pd.concat(tables, ignore_index=True)
    _require(labels, labels.duplicated(["corpus", "utt_id"]), "appears twice in the indexes")
    return labels


@dataclass(frozen=True)
class FeatureSet:
    """The shards of one feature set, checked to agree and to hold `kind` (nothing read yet
    but their footers)."""

    kind: str  # audio | text
    name: str  # for messages
    paths: list[Path]
    frames: bool  # stored with frame/token sequences


def feature_set(kind: str, paths: list[Path]) -> FeatureSet:
    if not paths:
        raise ValueError(f"modality needs {kind} features, but no {kind} feature shards were given")
    metadata = check_feature_set(paths)
    where = os.path.commonpath([Path(p).parent for p in paths])
    name = f"{kind} feature set {metadata.get('backend', '?')} ({where})"
    if metadata.get("modality", kind) != kind:
        raise ValueError(f"{name} holds {metadata['modality']} features, not {kind}")
    return FeatureSet(kind, name, list(paths), has_frames(metadata))


def uses_sequences(settings: DataSettings, sets: list[FeatureSet]) -> bool:
    """Cross-attention attends over sequences when both feature sets stored them."""
    frames = [s.frames for s in sets]
    return settings.fusion_type == "cross_attention" and len(sets) == 2 and all(frames)


def read_features(
    rows: pd.DataFrame, features: FeatureSet, sequences: bool, frames_dir: Path | None = None
) -> torch.Tensor | Sequences:
    """One feature set's inputs, one per manifest row: the embedding matrix (float32), or the
    frame/token sequences when `sequences` (only the rows' frames are read, a batch of rows at
    a time; memory-mapped from `frames_dir` when given)."""
    if sequences:
        ids = shard_ids(features.paths).to_numpy(zero_copy_only=False)
        positions = pd.Index(ids).get_indexer(rows["utt_id"])
        _require(rows, positions < 0, f"has no row in the {features.name}")
        read = read_sequences(features.paths, positions, frames_dir)
        _require(rows, read.lengths.numpy() < 1, f"has no frames in the {features.name}")
        return read
    table = read_feature_set(features.paths, ["utt_id", "embedding"])
    positions = pd.Index(table.column("utt_id").to_numpy()).get_indexer(rows["utt_id"])
    _require(rows, positions < 0, f"has no row in the {features.name}")
    column = table.column("embedding").combine_chunks()
    matrix = column.flatten().to_numpy().reshape(len(column), column.type.list_size)
    return torch.from_numpy(np.ascontiguousarray(matrix[positions], dtype=np.float32))


def training_difficulty(
    settings: DataSettings, rows: pd.DataFrame, paths: list[Path]
) -> np.ndarray:
    """Difficulty of each training row (NaN where it has none), by the experiment's method.

    Centroid difficulty depends on statistics of the rated utterances (z-scores, class
    centroids), so it is computed from these training rows alone: validation speakers, a
    held-out session and test corpora never shape the training order. Euclidean and agreement
    difficulty are per-utterance values and are read from the difficulty files.
    """
    if settings.difficulty_method == "centroid":
        return centroid_difficulty(rows)
    if not paths:
        raise ValueError("the difficulty curriculum needs difficulty files, but none were given")
    tables = [pq.read_table(p, columns=["utt_id", "difficulty"]).to_pandas() for p in paths]
    return _lookup(rows, pd.concat(tables, ignore_index=True), "the difficulty files")


def centroid_difficulty(rows: pd.DataFrame) -> np.ndarray:
    """Centroid difficulty of `rows` (with their index's labels and V/A/D), z-scores and
    centroids per corpus over `rows` only."""
    columns = ["utt_id", "corpus", "label", "raw_label", *VAD_COLUMNS]
    scores = []
    for corpus, members in rows.groupby("corpus", sort=False):
        rated = pa.Table.from_pandas(members[columns], preserve_index=False)
        table, _ = score_centroid(rated, CORPORA[corpus].vad_scale)
        scores.append(table.select(["utt_id", "difficulty"]).to_pandas())
    return _lookup(rows, pd.concat(scores, ignore_index=True), "the centroid scores")


def _lookup(rows: pd.DataFrame, scores: pd.DataFrame, where: str) -> np.ndarray:
    """Each row's `difficulty` from `scores` by utt_id; NaN where it has none."""
    _require(scores, scores.duplicated("utt_id"), f"appears twice in {where}")
    positions = pd.Index(scores["utt_id"]).get_indexer(rows["utt_id"])
    found = positions >= 0
    values = np.full(len(rows), np.nan)
    values[found] = scores["difficulty"].to_numpy(np.float64)[positions[found]]
    return values


def _require(rows: pd.DataFrame, bad, problem: str) -> None:
    """Raise naming the first offending utterance (and how many) when any row of `bad` is set."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        first = rows[bad].iloc[0]
        where = f" ({first['corpus']})" if "corpus" in rows else ""
        others = f" (and {bad.sum() - 1} more)" if bad.sum() > 1 else ""
        raise ValueError(f"utterance {first['utt_id']}{where} {problem}{others}")


def announce(train_counts: dict[str, int], test_datasets: Sequence[str]) -> None:
    """Print the seed's console summary of the training set and where it is tested.

    `train_counts` maps each training corpus, in training order, to its training-role size.
    """
    name = train_name(list(train_counts))
    if len(train_counts) > 1:
        print(f"🔗 Training on multiple datasets: {', '.join(train_counts)}")
        print(f"✅ Concatenated {len(train_counts)} datasets: {name}")
        print(f"   Total samples: {sum(train_counts.values())}")
        first = 0
        for corpus, count in train_counts.items():
            print(f"   {corpus}: {count} samples (indices {first}-{first + count - 1})")
            first += count
        print()
    print(f"🚀 Training: {name} -> {list(test_datasets)}")

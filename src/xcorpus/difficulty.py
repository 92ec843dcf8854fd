"""Per-utterance difficulty, the key a difficulty curriculum orders training by (larger = harder).

Three methods (`difficulty_method`):

- euclidean: how far the utterance's V/A/D, rescaled from the corpus's native scale to 1-5
  (MSP-PODCAST rates on 1-7), lies from what its class should sound like (`expected_vad`). One
  set of prototypes serves every corpus, so difficulties are comparable across corpora.
- centroid: how far its V/A/D lies from its class's centroid in the corpus's own z-scored V/A/D.
  Needs no prototypes and no scale: each corpus defines its own typical member of each class.
- agreement: 1 - the share of annotators who agreed with the consensus label; needs no V/A/D.

An utterance whose method's inputs are missing (incomplete V/A/D, no agreement) gets no
difficulty; it is returned as a reject with the reason instead of being given an invented value.
"""

import math

import numpy as np
import pyarrow as pa

from xcorpus.tables import DIFFICULTY_SCHEMA, REJECTS_SCHEMA

COMMON_SCALE = (1.0, 5.0)
VAD_COLUMNS = ("valence", "arousal", "dominance")
METHODS = ("euclidean", "centroid", "agreement")


def score(
    index: pa.Table,
    method: str,
    vad_scale: tuple[float, float] | None,
    expected_vad: dict[str, list[float]] | None,
) -> tuple[pa.Table, pa.Table]:
    """(difficulty, rejects) of `index`'s utterances by `method` (see the module docstring);
    `expected_vad` is read by euclidean only."""
    if method == "euclidean":
        return score_difficulty(index, vad_scale, expected_vad)
    if method == "centroid":
        return score_centroid(index, vad_scale)
    if method == "agreement":
        return score_agreement(index)
    raise ValueError(f"unknown difficulty_method {method!r} (expected one of {METHODS})")


def rescale(values: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Map ratings linearly from `scale` onto the common 1-5 scale."""
    low, high = scale
    new_low, new_high = COMMON_SCALE
    return new_low + (values - low) * (new_high - new_low) / (high - low)


def score_difficulty(
    index: pa.Table,
    vad_scale: tuple[float, float] | None,
    expected_vad: dict[str, list[float]] | None,
) -> tuple[pa.Table, pa.Table]:
    """(difficulty, rejects): Euclidean distance of rescaled V/A/D to the class's expected V/A/D.

    vad_norm is the V/A/D on the common 1-5 scale.
    """
    if vad_scale is None:
        raise ValueError("euclidean difficulty needs the corpus's V/A/D scale; it has none")
    if expected_vad is None:
        raise ValueError("euclidean difficulty needs expected_vad; none was given")
    rows, vad, rejects = _rated(index, vad_scale)
    norm = rescale(vad, vad_scale)
    expected = np.asarray([expected_vad[row["label"]] for row in rows], dtype=np.float64)
    distance = np.linalg.norm(norm - expected.reshape(-1, 3), axis=1)
    return _tables(rows, norm, distance, rejects)


def score_centroid(
    index: pa.Table, vad_scale: tuple[float, float] | None
) -> tuple[pa.Table, pa.Table]:
    """(difficulty, rejects): distance to the class centroid in the corpus's z-scored V/A/D.

    Each of V/A/D is z-scored within its corpus over the utterances with complete ratings, with
    the population std (defined for a single utterance; a constant dimension gets std 1, i.e.
    z = 0). The z-scores make the result independent of the corpus's rating scale, so
    `vad_scale` only serves to check the ratings when given. vad_norm is the z-scored V/A/D.

    Centroids use the labels of every rated utterance in the index, validation speakers
    included: the difficulty only orders training rows, and no test corpus is scored. A class
    with no rated utterance has no centroid, but then every utterance of it is already rejected
    for its own missing rating.
    """
    rows, vad, rejects = _rated(index, vad_scale)
    corpora = np.asarray([row["corpus"] for row in rows])
    labels = np.asarray([row["label"] for row in rows])
    z = np.empty_like(vad)
    distance = np.empty(len(rows))
    for corpus in np.unique(corpora):
        in_corpus = corpora == corpus
        z[in_corpus] = _zscore(vad[in_corpus])
        for label in np.unique(labels[in_corpus]):
            members = in_corpus & (labels == label)
            distance[members] = np.linalg.norm(z[members] - z[members].mean(axis=0), axis=1)
    return _tables(rows, z, distance, rejects)


def score_agreement(index: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(difficulty, rejects): annotator disagreement, 1 - agreement; vad_norm is null."""
    kept, rejects = [], []
    for row in index.select(["utt_id", "raw_label", "agreement"]).to_pylist():
        agreement = row["agreement"]
        if agreement is None or math.isnan(agreement):
            rejects.append(_reject(row, "no annotator agreement: difficulty undefined"))
            continue
        if not 0.0 <= agreement <= 1.0:
            raise ValueError(f"utterance {row['utt_id']}: agreement {agreement} lies outside 0-1")
        kept.append({"utt_id": row["utt_id"], "vad_norm": None, "difficulty": 1.0 - agreement})
    return pa.Table.from_pylist(kept, schema=DIFFICULTY_SCHEMA), _rejects_table(rejects)


def _rated(
    index: pa.Table, vad_scale: tuple[float, float] | None
) -> tuple[list[dict], np.ndarray, list[dict]]:
    """Rows with complete V/A/D, their V/A/D (n x 3), and rejects for the others.

    A rating outside `vad_scale` (when given) is an error: the index or the scale is wrong.
    """
    rows, vads, rejects = [], [], []
    for row in index.select(["utt_id", "corpus", "label", "raw_label", *VAD_COLUMNS]).to_pylist():
        vad = [row[c] for c in VAD_COLUMNS]
        missing = [c for c, v in zip(VAD_COLUMNS, vad, strict=True) if v is None or math.isnan(v)]
        if missing:
            rejects.append(_reject(row, f"no {'/'.join(missing)} rating: difficulty undefined"))
            continue
        if vad_scale is not None and not all(vad_scale[0] <= v <= vad_scale[1] for v in vad):
            low, high = vad_scale
            raise ValueError(
                f"utterance {row['utt_id']}: V/A/D {vad} lies outside the corpus scale {low}-{high}"
            )
        rows.append(row)
        vads.append(vad)
    return rows, np.asarray(vads, dtype=np.float64).reshape(-1, 3), rejects


def _zscore(vad: np.ndarray) -> np.ndarray:
    """Each column minus its mean over its population std (1 where the column is constant)."""
    std = vad.std(axis=0)
    return (vad - vad.mean(axis=0)) / np.where(std > 0.0, std, 1.0)


def _reject(row: dict, reason: str) -> dict:
    return {"utt_id": row["utt_id"], "raw_label": row["raw_label"], "reason": reason}


def _tables(
    rows: list[dict], vad_norm: np.ndarray, difficulty: np.ndarray, rejects: list[dict]
) -> tuple[pa.Table, pa.Table]:
    """The difficulty table of the scored `rows` and the rejects table."""
    kept = [
        {"utt_id": row["utt_id"], "vad_norm": norm, "difficulty": value}
        for row, norm, value in zip(rows, vad_norm.tolist(), difficulty.tolist(), strict=True)
    ]
    return pa.Table.from_pylist(kept, schema=DIFFICULTY_SCHEMA), _rejects_table(rejects)


def _rejects_table(rejects: list[dict]) -> pa.Table:
    return pa.Table.from_pylist([{**r, "source": None} for r in rejects], schema=REJECTS_SCHEMA)

"""Per-utterance difficulty: how far its V/A/D ratings lie from what its class should sound like.

Ratings are first rescaled from the corpus's native scale to 1-5 (MSP-PODCAST rates on 1-7), so
that one set of expected V/A/D prototypes serves every corpus and difficulties are comparable.
Utterances without complete V/A/D get no difficulty; they are returned as rejects with the reason
instead of being given an invented middle value.
"""

import math

import numpy as np
import pyarrow as pa

from xcorpus.tables import DIFFICULTY_SCHEMA, REJECTS_SCHEMA

COMMON_SCALE = (1.0, 5.0)
VAD_COLUMNS = ("valence", "arousal", "dominance")


def rescale(values: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Map ratings linearly from `scale` onto the common 1-5 scale."""
    low, high = scale
    new_low, new_high = COMMON_SCALE
    return new_low + (values - low) * (new_high - new_low) / (high - low)


def score_difficulty(
    index: pa.Table, vad_scale: tuple[float, float], expected_vad: dict[str, list[float]]
) -> tuple[pa.Table, pa.Table]:
    """(difficulty, rejects): Euclidean distance of rescaled V/A/D to the class's expected V/A/D."""
    rows = index.select(["utt_id", "label", "raw_label", *VAD_COLUMNS]).to_pylist()
    kept, rejects = [], []
    for row in rows:
        vad = [row[c] for c in VAD_COLUMNS]
        missing = [c for c, v in zip(VAD_COLUMNS, vad, strict=True) if v is None or math.isnan(v)]
        if missing:
            reason = f"no {'/'.join(missing)} rating: difficulty undefined"
            rejects.append(
                {"utt_id": row["utt_id"], "raw_label": row["raw_label"], "reason": reason}
            )
            continue
        low, high = vad_scale
        outside = [v for v in vad if not low <= v <= high]
        if outside:
            raise ValueError(
                f"utterance {row['utt_id']}: V/A/D {vad} lies outside the corpus scale {low}-{high}"
            )
        norm = rescale(np.asarray(vad, dtype=np.float64), vad_scale)
        expected = np.asarray(expected_vad[row["label"]], dtype=np.float64)
        distance = float(np.linalg.norm(norm - expected))
        kept.append({"utt_id": row["utt_id"], "vad_norm": norm.tolist(), "difficulty": distance})
    difficulty = pa.Table.from_pylist(kept, schema=DIFFICULTY_SCHEMA)
    rejected = pa.Table.from_pylist([{**r, "source": None} for r in rejects], schema=REJECTS_SCHEMA)
    return difficulty, rejected

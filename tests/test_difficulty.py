import math

import pyarrow as pa
import pytest

from xcorpus.difficulty import rescale, score_difficulty
from xcorpus.tables import INDEX_SCHEMA

EXPECTED = {
    "neutral": [3.0, 3.0, 3.0],
    "happy": [4.2, 3.8, 3.5],
    "sad": [1.8, 2.2, 2.5],
    "angry": [2.5, 4.0, 3.2],
}


def index(rows: list[tuple]) -> pa.Table:
    base = {name: None for name in INDEX_SCHEMA.names}
    records = [
        base
        | {
            "utt_id": u,
            "corpus": "X",
            "audio_path": "a.wav",
            "speaker": "s",
            "label": label,
            "raw_label": label,
            "valence": v,
            "arousal": a,
            "dominance": d,
        }
        for u, label, v, a, d in rows
    ]
    return pa.Table.from_pylist(records, schema=INDEX_SCHEMA)


def test_rescale_maps_one_to_seven_onto_one_to_five():
    assert rescale(pa.array([1.0, 4.0, 7.0]).to_numpy(), (1, 7)).tolist() == [1.0, 3.0, 5.0]


def test_distance_to_expected_class_vad():
    table = index([("a", "happy", 4.2, 3.8, 3.5), ("b", "sad", 3.0, 3.0, 3.0)])
    difficulty, rejects = score_difficulty(table, (1, 5), EXPECTED)
    assert difficulty.column("utt_id").to_pylist() == ["a", "b"]
    assert difficulty.column("difficulty").to_pylist()[0] == 0.0
    assert difficulty.column("difficulty").to_pylist()[1] == pytest.approx(
        math.dist([3, 3, 3], [1.8, 2.2, 2.5])
    )
    assert len(rejects) == 0


def test_native_scale_is_rescaled_before_the_distance():
    table = index([("p", "neutral", 4.0, 4.0, 4.0)])  # the middle of 1-7
    difficulty, _ = score_difficulty(table, (1, 7), EXPECTED)
    assert difficulty.column("vad_norm").to_pylist() == [[3.0, 3.0, 3.0]]
    assert difficulty.column("difficulty").to_pylist() == [0.0]


def test_missing_rating_is_rejected_not_invented():
    table = index([("a", "angry", None, 4.0, 3.0), ("b", "angry", float("nan"), 4.0, 3.0)])
    difficulty, rejects = score_difficulty(table, (1, 5), EXPECTED)
    assert len(difficulty) == 0
    assert rejects.column("reason").to_pylist() == ["no valence rating: difficulty undefined"] * 2


def test_rating_outside_the_scale_is_an_error():
    with pytest.raises(ValueError, match="utterance a: V/A/D"):
        score_difficulty(index([("a", "angry", 6.0, 4.0, 3.0)]), (1, 5), EXPECTED)

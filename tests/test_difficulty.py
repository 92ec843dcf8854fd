import math

import pyarrow as pa
import pytest

from xcorpus.difficulty import rescale, score, score_centroid, score_difficulty
from xcorpus.tables import INDEX_SCHEMA

EXPECTED = {
    "neutral": [3.0, 3.0, 3.0],
    "happy": [4.2, 3.8, 3.5],
    "sad": [1.8, 2.2, 2.5],
    "angry": [2.5, 4.0, 3.2],
}


def index(rows: list[tuple], corpus: str = "X", agreement: list | None = None) -> pa.Table:
    base = {name: None for name in INDEX_SCHEMA.names}
    agreement = agreement or [None] * len(rows)
    records = [
        base
        | {
            "utt_id": u,
            "corpus": corpus,
            "audio_path": "a.wav",
            "speaker": "s",
            "label": label,
            "raw_label": label,
            "valence": v,
            "arousal": a,
            "dominance": d,
            "agreement": agreed,
        }
        for (u, label, v, a, d), agreed in zip(rows, agreement, strict=True)
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


def test_euclidean_needs_the_scale_and_unknown_methods_fail():
    table = index([("a", "happy", 4.2, 3.8, 3.5)])
    assert score(table, "euclidean", (1, 5), EXPECTED)[0].equals(
        score_difficulty(table, (1, 5), EXPECTED)[0]
    )
    with pytest.raises(ValueError, match="needs the corpus's V/A/D scale"):
        score(table, "euclidean", None, EXPECTED)
    with pytest.raises(ValueError, match="unknown difficulty_method 'vad'"):
        score(table, "vad", (1, 5), EXPECTED)


# V: 1 1 5 5 and A: 1 5 1 5 have mean 3 and population std 2, so z = -1 or 1; D is constant
# (std taken as 1, z = 0). Happy's centroid is (-1/3, -1/3, 0); sad has one rated member.
CENTROID_ROWS = [
    ("a", "happy", 1.0, 1.0, 3.0),
    ("b", "happy", 1.0, 5.0, 3.0),
    ("c", "happy", 5.0, 1.0, 3.0),
    ("d", "sad", 5.0, 5.0, 3.0),
    ("e", "sad", 2.0, None, 3.0),  # rejected, and left out of the z-scores and centroids
    ("f", "angry", None, None, None),  # the only angry: no centroid, rejected for its ratings
]
CENTROID_DIFFICULTY = [2 * math.sqrt(2) / 3, math.sqrt(20) / 3, math.sqrt(20) / 3, 0.0]


def test_centroid_distance_in_the_corpus_z_scores():
    difficulty, rejects = score(index(CENTROID_ROWS), "centroid", (1, 5), EXPECTED)
    assert difficulty.column("utt_id").to_pylist() == ["a", "b", "c", "d"]
    assert difficulty.column("difficulty").to_pylist() == pytest.approx(CENTROID_DIFFICULTY)
    assert difficulty.column("vad_norm").to_pylist() == [
        [-1.0, -1.0, 0.0],
        [-1.0, 1.0, 0.0],
        [1.0, -1.0, 0.0],
        [1.0, 1.0, 0.0],
    ]
    assert rejects.select(["utt_id", "reason"]).to_pylist() == [
        {"utt_id": "e", "reason": "no arousal rating: difficulty undefined"},
        {"utt_id": "f", "reason": "no valence/arousal/dominance rating: difficulty undefined"},
    ]


def on_one_to_seven(rows: list[tuple]) -> list[tuple]:
    """The same ratings mapped linearly from 1-5 onto 1-7."""
    seven = [None if x is None else 1 + (x - 1) * 1.5 for row in rows for x in row[2:]]
    return [(*row[:2], *seven[3 * i : 3 * i + 3]) for i, row in enumerate(rows)]


def test_centroid_does_not_depend_on_the_corpus_scale():
    difficulty, _ = score_centroid(index(on_one_to_seven(CENTROID_ROWS)), (1, 7))
    assert difficulty.column("difficulty").to_pylist() == pytest.approx(CENTROID_DIFFICULTY)
    with pytest.raises(ValueError, match="utterance b: V/A/D"):
        score_centroid(index(on_one_to_seven(CENTROID_ROWS)), (1, 5))


def test_centroid_z_scores_each_corpus_on_its_own():
    both = pa.concat_tables([index(CENTROID_ROWS, "X"), index(on_one_to_seven(CENTROID_ROWS), "Y")])
    difficulty, rejects = score_centroid(both, None)
    assert difficulty.column("difficulty").to_pylist() == pytest.approx(CENTROID_DIFFICULTY * 2)
    assert len(rejects) == 4


def test_centroid_of_a_single_rated_utterance_is_zero():
    difficulty, _ = score_centroid(index([("a", "sad", 2.0, 2.0, 2.0)]), (1, 5))
    assert difficulty.to_pylist() == [{"utt_id": "a", "vad_norm": [0.0] * 3, "difficulty": 0.0}]


def test_agreement_is_annotator_disagreement_and_needs_no_vad():
    rows = [(u, "happy", None, None, None) for u in "abcd"]
    table = index(rows, agreement=[1.0, 0.75, None, float("nan")])
    difficulty, rejects = score(table, "agreement", None, EXPECTED)
    assert difficulty.to_pylist() == [
        {"utt_id": "a", "vad_norm": None, "difficulty": 0.0},
        {"utt_id": "b", "vad_norm": None, "difficulty": 0.25},
    ]
    assert rejects.column("utt_id").to_pylist() == ["c", "d"]
    assert (
        rejects.column("reason").to_pylist() == ["no annotator agreement: difficulty undefined"] * 2
    )


def test_agreement_outside_zero_to_one_is_an_error():
    with pytest.raises(ValueError, match=r"utterance a: agreement 1\.5"):
        score(index([("a", "sad", 2.0, 2.0, 2.0)], agreement=[1.5]), "agreement", None, {})

import math
from dataclasses import replace

import numpy as np
import pytest
from conftest import schema_settings

from xcorpus.train.curriculum import PACINGS, describe, make_curriculum, pacing_fraction
from xcorpus.train.settings import Settings


def experiment(**changes) -> Settings:
    return schema_settings(
        **{
            "use_curriculum_learning": True,
            "curriculum_type": "difficulty",
            "curriculum_pacing": "linear",
            "curriculum_epochs": 4,
            "curriculum_start": 0.2,
            "difficulty_method": "euclidean",
            "num_epochs": 8,
        }
        | changes
    )


def curriculum(groups, labels=None, difficulty=None, seed=0, **changes):
    groups = np.asarray(groups)
    labels = np.zeros(len(groups), dtype=int) if labels is None else np.asarray(labels)
    return make_curriculum(experiment(**changes), groups, labels, difficulty, seed)


@pytest.mark.parametrize(
    ("pacing", "epochs", "expected"),
    [
        ("linear", 4, [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]),
        ("sqrt", 4, [0.2, 0.6, 0.2 + 0.8 * math.sqrt(0.5), 0.2 + 0.8 * math.sqrt(0.75), 1.0, 1.0]),
        (
            "log",
            4,
            [0.2, *(0.2 + 0.8 * math.log(1 + (math.e - 1) * t) for t in (0.25, 0.5, 0.75)), 1, 1],
        ),
        ("exponential", 2, [0.25, 0.5, 1.0, 1.0]),
        ("exponential", 4, [0.2, 0.2 * 5**0.25, 0.2 * math.sqrt(5), 0.2 * 5**0.75, 1.0]),
        ("step", 8, [0.2, 0.2, 0.4, 0.4, 0.6, 0.6, 0.8, 0.8, 1.0, 1.0]),
    ],
)
def test_pacing_values(pacing, epochs, expected):
    start = 0.25 if (pacing, epochs) == ("exponential", 2) else 0.2
    got = [pacing_fraction(e, start, epochs, pacing) for e in range(len(expected))]
    assert got == pytest.approx(expected)


@pytest.mark.parametrize("pacing", PACINGS)
def test_every_pacing_starts_at_start_grows_and_ends_at_one(pacing):
    fractions = [pacing_fraction(e, 0.3, 10, pacing) for e in range(15)]
    assert fractions[0] == pytest.approx(0.3)
    assert (np.diff(fractions) >= 0).all()
    assert fractions[10:] == [1.0] * 5
    assert pacing_fraction(0, 0.3, 0, pacing) == 1.0


def test_pacing_errors_name_the_value():
    with pytest.raises(ValueError, match="'cubic'"):
        pacing_fraction(0, 0.3, 4, "cubic")
    for start in (0.0, 1.5):
        with pytest.raises(ValueError, match="curriculum_start must be in"):
            pacing_fraction(0, start, 4, "linear")


def test_each_corpus_enters_at_the_same_pace_easiest_first():
    groups = np.array(["A"] * 10 + ["B"] * 30)
    difficulty = np.concatenate([np.arange(10.0)[::-1], np.arange(30.0)])
    c = curriculum(groups, difficulty=difficulty)
    assert [c.fraction(e) for e in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert [len(c.indices(e)) for e in range(5)] == [2 + 6, 4 + 12, 6 + 18, 8 + 24, 40]
    assert c.indices(0).tolist() == [8, 9, 10, 11, 12, 13, 14, 15]
    assert c.indices(4).tolist() == list(range(40))


def test_a_tiny_corpus_keeps_at_least_one_row():
    c = curriculum(["A"] * 2 + ["B"] * 20, difficulty=np.arange(22.0), curriculum_start=0.1)
    assert c.indices(0).tolist() == [0, 2, 3]


def test_inverse_difficulty_takes_the_hardest_first():
    difficulty = np.array([0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0])
    groups = ["A"] * 10
    easy = curriculum(groups, difficulty=difficulty, curriculum_start=0.3)
    hard = curriculum(
        groups, difficulty=difficulty, curriculum_start=0.3, curriculum_type="inverse_difficulty"
    )
    assert easy.indices(0).tolist() == [1, 5, 9]
    assert hard.indices(0).tolist() == [2, 4, 6]
    half = {"curriculum_start": 0.5, "difficulty": difficulty}
    first = curriculum(groups, **half).indices(0)
    last = curriculum(groups, **half, curriculum_type="inverse_difficulty").indices(0)
    assert sorted([*first, *last]) == list(range(10))


def test_difficulty_ties_are_broken_by_a_seeded_permutation_not_row_order():
    difficulty = np.array([1.0] * 20 + [0.0] * 20)
    easy = curriculum(["A"] * 40, difficulty=difficulty, seed=3)
    hard = curriculum(
        ["A"] * 40, difficulty=difficulty, seed=3, curriculum_type="inverse_difficulty"
    )
    assert sorted(easy.ranked[0][:20]) == list(range(20, 40))  # easiest first, whatever the seed
    assert sorted(hard.ranked[0][:20]) == list(range(20))
    assert easy.ranked[0][:20].tolist() != list(range(20, 40))  # not row order among equals
    again = curriculum(["A"] * 40, difficulty=difficulty, seed=3)
    other = curriculum(["A"] * 40, difficulty=difficulty, seed=4)
    assert easy.ranked[0].tolist() == again.ranked[0].tolist()
    assert easy.ranked[0].tolist() != other.ranked[0].tolist()


def test_describe_names_the_curriculum_and_its_defaults():
    exp = experiment(
        curriculum_epochs=4,
        num_epochs=8,
        curriculum_defaults=["curriculum_pacing", "difficulty_method"],
    )
    assert describe(exp) == (
        "curriculum: difficulty (difficulty_method euclidean), linear pacing from 20% of each "
        "corpus's order at epoch 0 to all of it from epoch 4 on (epochs 0-7) "
        "[schema defaults: curriculum_pacing, difficulty_method]"
    )
    assert describe(replace(exp, use_curriculum_learning=False)).startswith(
        "curriculum: none: every training row in every epoch"
    )


def test_random_is_seeded_per_corpus_and_paced():
    groups = np.array(["A"] * 40 + ["B"] * 60)
    a = curriculum(groups, curriculum_type="random", seed=1)
    again = curriculum(groups, curriculum_type="random", seed=1)
    other = curriculum(groups, curriculum_type="random", seed=2)
    first = a.indices(0)
    assert first.tolist() == again.indices(0).tolist()
    assert first.tolist() != other.indices(0).tolist()
    assert ((first < 40).sum(), (first >= 40).sum()) == (8, 12)
    assert a.indices(4).tolist() == list(range(100))


def test_class_balance_interleaves_classes_on_imbalanced_data():
    labels = np.array([0] * 12 + [1] * 4 + [2] * 2)
    rng = np.random.default_rng(5)
    order = rng.permutation(18)  # classes scattered over the rows
    c = curriculum(["A"] * 18, labels=labels[order], curriculum_type="class_balance")
    ranked_labels = labels[order][c.ranked[0]].tolist()
    assert ranked_labels == [0, 1, 2, 0, 1, 2, 0, 1, 0, 1] + [0] * 8
    assert sorted(c.ranked[0].tolist()) == list(range(18))
    other = curriculum(["A"] * 18, labels=labels[order], curriculum_type="class_balance", seed=9)
    assert labels[order][other.ranked[0]].tolist() == ranked_labels
    assert other.ranked[0].tolist() != c.ranked[0].tolist()


def test_class_balance_ranks_within_each_corpus():
    groups = np.array(["A"] * 6 + ["B"] * 4)
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 0])
    c = curriculum(groups, labels=labels, curriculum_type="class_balance", curriculum_start=0.5)
    taken = c.indices(0)
    assert labels[taken[taken < 6]].tolist().count(1) == 1  # A: 3 rows, one of its two 1s
    assert sorted(labels[taken[taken >= 6]].tolist()) == [0, 1]  # B: 2 rows, one per class


def test_model_confidence_follows_the_confidence_each_epoch():
    groups = np.array(["A"] * 5 + ["B"] * 5)
    c = curriculum(groups, curriculum_type="model_confidence", curriculum_start=0.4)
    assert c.needs_confidence
    confidence = np.array([0.1, 0.9, 0.5, 0.8, 0.2, 0.3, 0.3, 0.7, 0.1, 0.6])
    assert c.indices(0, confidence).tolist() == [1, 3, 7, 9]
    assert c.indices(0, 1.0 - confidence).tolist() == [0, 4, 5, 8]
    assert c.indices(0, np.full(10, 0.5)).tolist() == [0, 1, 5, 6]  # ties: row order
    assert c.indices(4, confidence).tolist() == list(range(10))


def test_model_confidence_needs_one_confidence_per_row():
    c = curriculum(["A"] * 4, curriculum_type="model_confidence")
    with pytest.raises(ValueError, match="needs the model's confidence"):
        c.indices(0)
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(4\)"):
        c.indices(0, np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        c.indices(0, np.array([0.1, np.nan, 0.2, 0.3]))


@pytest.mark.parametrize(
    "changes", [{"curriculum_type": "none"}, {"use_curriculum_learning": False}]
)
def test_no_curriculum_uses_every_row_every_epoch(changes):
    c = curriculum(["A"] * 3 + ["B"] * 4, **changes)
    assert not c.needs_confidence
    assert c.fraction(0) == 1.0
    assert c.indices(0).tolist() == list(range(7))


def test_other_curricula_ignore_confidence():
    c = curriculum(["A"] * 4, difficulty=np.arange(4.0), curriculum_start=0.5)
    assert not c.needs_confidence
    assert c.indices(0, np.array([0.0, 0.0, 1.0, 1.0])).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"curriculum_type": "easy_first"}, "unknown curriculum_type 'easy_first'"),
        ({"curriculum_pacing": "cubic"}, "unknown curriculum_pacing 'cubic'"),
        ({"curriculum_start": 0.0}, "curriculum_start must be in"),
        ({"curriculum_start": 1.2, "curriculum_type": "random"}, "curriculum_start must be in"),
    ],
)
def test_bad_settings_fail_when_the_curriculum_is_made(changes, message):
    with pytest.raises(ValueError, match=message):
        curriculum(["A"] * 4, difficulty=np.arange(4.0), **changes)


@pytest.mark.parametrize("kind", ["difficulty", "inverse_difficulty"])
def test_difficulty_curricula_need_one_difficulty_per_row(kind):
    with pytest.raises(ValueError, match=f"curriculum_type {kind} needs a difficulty"):
        curriculum(["A"] * 4, curriculum_type=kind)
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(4,\)"):
        curriculum(["A"] * 4, difficulty=np.arange(3.0), curriculum_type=kind)

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from xcorpus.metrics import classification_metrics


def test_hand_computed_case():
    m = classification_metrics([0, 0, 0, 1, 1, 2, 2, 3], [0, 0, 1, 1, 2, 2, 2, 0])
    assert m["confusion"] == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 2, 0], [1, 0, 0, 0]]
    assert m["uar"] == pytest.approx((2 / 3 + 1 / 2 + 1 + 0) / 4)
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 4 / 5 + 0) / 4)


def test_class_absent_from_truth_is_left_out_of_uar():
    # Classes 2 and 3 have no true samples: UAR averages the recalls of 0 and 1 only;
    # class 3 was predicted, so it counts in macro-F1 with F1 0.
    m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 3])
    assert m["uar"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    assert m["confusion"][2] == [0, 0, 0, 0]


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", range(20))
def test_agrees_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    classes = rng.choice(4, size=int(rng.integers(1, 5)), replace=False)
    y_true = rng.choice(classes, size=n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, 4, size=n))
    m = classification_metrics(y_true, y_pred)
    assert m["uar"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert m["confusion"] == confusion_matrix(y_true, y_pred, labels=[0, 1, 2, 3]).tolist()


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [([], [], "empty"), ([0, 1], [0], "must be equal"), ([0, 4], [0, 1], "outside 0..3")],
)
def test_bad_input(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        classification_metrics(y_true, y_pred)

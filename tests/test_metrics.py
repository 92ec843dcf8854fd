import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from xcorpus.metrics import DIMENSIONS, classification_metrics, concordance, dimensional_metrics


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


def _direct_ccc(t, p):
    """Lin's CCC written out term by term, independently of xcorpus.metrics."""
    n = len(t)
    mt, mp = sum(t) / n, sum(p) / n
    cov = sum((a - mt) * (b - mp) for a, b in zip(t, p, strict=True)) / n
    vt = sum((a - mt) ** 2 for a in t) / n
    vp = sum((b - mp) ** 2 for b in p) / n
    return 2 * cov / (vt + vp + (mt - mp) ** 2)


def _vad(*columns):
    return np.asarray(columns, dtype=np.float64).T


def test_ccc_hand_computed_values():
    t = [1.0, 2.0, 3.0]
    m = dimensional_metrics(
        _vad(t, t, t),
        # valence: [1, 2, 4] -> 2 * 1 / (2/3 + 14/9 + 1/9) = 6/7; arousal reversed -> -1;
        # dominance shifted by 1 -> (4/3) / (4/3 + 1) = 4/7.
        _vad([1.0, 2.0, 4.0], [3.0, 2.0, 1.0], [2.0, 3.0, 4.0]),
    )
    assert m["ccc_valence"] == pytest.approx(6 / 7)
    assert m["ccc_arousal"] == pytest.approx(-1.0)
    assert m["ccc_dominance"] == pytest.approx(4 / 7)
    assert m["ccc_mean"] == pytest.approx((6 / 7 - 1 + 4 / 7) / 3)
    assert m["pearson_arousal"] == pytest.approx(-1.0)
    assert m["pearson_dominance"] == pytest.approx(1.0)
    assert m["rmse_valence"] == pytest.approx(np.sqrt(1 / 3))
    assert m["rmse_arousal"] == pytest.approx(np.sqrt(8 / 3))
    assert m["rmse_dominance"] == pytest.approx(1.0)


def test_ccc_perfect_agreement_and_constant_predictions():
    t = [1.0, 2.5, 4.0, 5.0]
    m = dimensional_metrics(_vad(t, t, t), _vad(t, [3.0] * 4, [2.0] * 4))
    assert m["ccc_valence"] == 1.0 and m["pearson_valence"] == pytest.approx(1.0)
    assert m["rmse_valence"] == 0.0
    # A constant prediction has no covariance with the truth: CCC 0; Pearson r is undefined.
    assert m["ccc_arousal"] == 0.0 and m["ccc_dominance"] == 0.0
    assert m["pearson_arousal"] is None and m["pearson_mean"] is None
    assert m["ccc_mean"] == pytest.approx(1 / 3)


def test_ccc_of_a_constant_truth_predicted_exactly_is_undefined():
    m = dimensional_metrics(
        _vad([3.0] * 3, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), _vad(*[[3.0] * 3] * 3)
    )
    assert m["ccc_valence"] is None and m["ccc_mean"] is None
    assert m["ccc_arousal"] == 0.0


@pytest.mark.parametrize("seed", range(10))
def test_ccc_agrees_with_the_direct_formula(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 50))
    t = rng.uniform(1, 5, (n, 3))
    p = t * rng.uniform(0.2, 1.5) + rng.normal(0, 1, (n, 3))
    m = dimensional_metrics(t, p)
    for i, dim in enumerate(DIMENSIONS):
        assert m[f"ccc_{dim}"] == pytest.approx(_direct_ccc(list(t[:, i]), list(p[:, i])))
        assert m[f"pearson_{dim}"] == pytest.approx(np.corrcoef(t[:, i], p[:, i])[0, 1])
    # The torch path (training loss) computes the same numbers.
    torch_ccc = concordance(torch.from_numpy(t), torch.from_numpy(p)).numpy()
    assert torch_ccc == pytest.approx([m[f"ccc_{d}"] for d in DIMENSIONS])


@pytest.mark.parametrize(
    ("t", "p", "match"),
    [
        (np.ones((2, 3)), np.ones((2, 2)), "n x 3"),
        (np.ones((0, 3)), np.ones((0, 3)), "empty"),
        (np.full((2, 3), np.nan), np.ones((2, 3)), "finite"),
    ],
)
def test_dimensional_bad_input(t, p, match):
    with pytest.raises(ValueError, match=match):
        dimensional_metrics(t, p)

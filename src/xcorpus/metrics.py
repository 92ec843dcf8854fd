"""Classification metrics over the four classes, computed from one confusion matrix, and
dimensional metrics of V/A/D predictions (CCC, Pearson r, RMSE).

UAR (unweighted average recall) is the headline SER metric: it does not reward predicting the
majority class. Conventions for classes that a split does not contain:

- UAR averages recall over the classes present in `y_true` only (as sklearn's
  `balanced_accuracy_score`): recall of a class with no true samples is undefined, and counting
  it as 0 or 1 would move the score for reasons that have nothing to do with the model.
- Macro-F1 averages over the classes present in `y_true` or `y_pred` (as sklearn's
  `f1_score(average="macro")`): a class predicted but never true has F1 0, so false alarms on it
  still cost; a class neither true nor predicted is left out.
"""

import hashlib
from collections.abc import Iterable

import numpy as np

from xcorpus.labels import CLASSES


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts with rows = true class, columns = predicted class, both in CLASSES order."""
    n = len(CLASSES)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be equal 1-d")
    if len(y_true) == 0:
        raise ValueError("metrics of an empty split are undefined")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.min() < 0 or y.max() >= n:
            raise ValueError(f"{name} holds class indices outside 0..{n - 1}")
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    return confusion


def classification_metrics(y_true, y_pred) -> dict:
    """UAR, accuracy, macro-F1 and the 4x4 confusion matrix (list of lists) of class indices."""
    confusion = confusion_matrix(np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64))
    hits = np.diag(confusion)
    true_counts = confusion.sum(axis=1)
    pred_counts = confusion.sum(axis=0)
    present = true_counts > 0
    recall = hits[present] / true_counts[present]
    seen = present | (pred_counts > 0)
    f1 = 2 * hits[seen] / (true_counts[seen] + pred_counts[seen])
    return {
        "uar": float(recall.mean()),
        "accuracy": float(hits.sum() / confusion.sum()),
        "macro_f1": float(f1.mean()),
        "confusion": confusion.tolist(),
    }


# The split of the validation (selection) scores, in metrics.json and in every results table.
VALIDATION = "validation"


def utterance_digest(corpus_utt_ids: Iterable[tuple[str, str]]) -> str:
    """A short fingerprint of the set of (corpus, utt_id) a metric was computed on: two cells
    of a table are comparable only when their fingerprints are equal (same utterances)."""
    lines = sorted(f"{corpus}\t{utt_id}" for corpus, utt_id in corpus_utt_ids)
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=8).hexdigest()


# V/A/D, in the order of the index columns and of every dimensional array (n x 3).
DIMENSIONS = ("valence", "arousal", "dominance")
DIMENSIONS_AND_MEAN = (*DIMENSIONS, "mean")
DIMENSIONAL_METRICS = ("ccc", "pearson", "rmse")
# The keys dimensional_metrics returns: each metric per dimension and its mean over them.
DIMENSIONAL_KEYS = tuple(f"{m}_{d}" for m in DIMENSIONAL_METRICS for d in DIMENSIONS_AND_MEAN)


def concordance(y_true, y_pred, eps: float = 0.0):
    """Lin's concordance correlation coefficient per column (axis 0), with population moments:
    2 cov / (var_true + var_pred + (mean_true - mean_pred)^2).

    Written with operations numpy arrays and torch tensors share, so the training loss (torch,
    `eps` > 0 keeping a constant batch finite) and the reported metric (numpy) are one formula.
    """
    mean_true, mean_pred = y_true.mean(0), y_pred.mean(0)
    dev_true, dev_pred = y_true - mean_true, y_pred - mean_pred
    covariance = (dev_true * dev_pred).mean(0)
    spread = (dev_true**2).mean(0) + (dev_pred**2).mean(0) + (mean_true - mean_pred) ** 2
    return 2 * covariance / (spread + eps)


def _ccc(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """CCC of one dimension; None when undefined (truth and prediction one and the same
    constant: 0 / 0). A constant prediction of varying truth has CCC 0."""
    mean_true, mean_pred = y_true.mean(), y_pred.mean()
    if y_true.var() + y_pred.var() + (mean_true - mean_pred) ** 2 == 0:
        return None
    return float(concordance(y_true, y_pred))


def _pearson(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """Pearson r; None when either side is constant (r is undefined, not 0)."""
    if y_true.std() == 0 or y_pred.std() == 0:
        return None
    return float(np.corrcoef(y_true, y_pred)[0, 1])


def dimensional_metrics(y_true, y_pred) -> dict:
    """CCC, Pearson r and RMSE per dimension (`ccc_valence`, ...) and their mean over the
    dimensions (`ccc_mean`, ...; None when a dimension's value is undefined), of n x 3 true and
    predicted V/A/D on one scale. Every row must be rated: unrated rows are the caller's to
    leave out, as no value stands in for a missing rating."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    shape = (len(y_true), len(DIMENSIONS))
    if y_true.shape != shape or y_pred.shape != shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be n x 3")
    if len(y_true) == 0:
        raise ValueError("dimensional metrics of an empty split are undefined")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        raise ValueError("dimensional metrics need finite V/A/D (unrated rows left out)")
    metrics: dict = {}
    for i, dim in enumerate(DIMENSIONS):
        t, p = y_true[:, i], y_pred[:, i]
        metrics[f"ccc_{dim}"] = _ccc(t, p)
        metrics[f"pearson_{dim}"] = _pearson(t, p)
        metrics[f"rmse_{dim}"] = float(np.sqrt(np.mean((t - p) ** 2)))
    for name in DIMENSIONAL_METRICS:
        values = [metrics[f"{name}_{dim}"] for dim in DIMENSIONS]
        metrics[f"{name}_mean"] = None if None in values else float(np.mean(values))
    return metrics

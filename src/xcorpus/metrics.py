"""Classification metrics over the four classes, computed from one confusion matrix.

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


def utterance_digest(corpus_utt_ids: Iterable[tuple[str, str]]) -> str:
    """A short fingerprint of the set of (corpus, utt_id) a metric was computed on: two cells
    of a table are comparable only when their fingerprints are equal (same utterances)."""
    lines = sorted(f"{corpus}\t{utt_id}" for corpus, utt_id in corpus_utt_ids)
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=8).hexdigest()

"""Classical baselines (`classifier`: logistic, svm, xgboost) on utterance vectors.

A classical classifier reads the same splits as the MLP (after feature_normalisation; under
`train` it standardises with the training split's statistics, as the MLP's encoders do) with
the modalities concatenated in modality order (audio, then text). Every point of its
hyperparameter grid is fitted on the training rows and scored by validation UAR; the first
point with the highest score (grid order) is the one model evaluated on validation, the
in-corpus tests and the test corpora. Test rows are never seen before that.

Decisions where the issue is silent:

- Probabilities. logistic and xgboost give their own. svm gives Platt scaling: a sigmoid per
  class fitted on the SVM's one-vs-rest decision values of the training rows, each value from
  an SVM fitted without that row's fold (5 stratified folds in row order, no shuffling; as
  many as the rarest training class has rows when that is fewer, at least 2), the
  SVM itself fitted on all training rows, the sigmoids' outputs normalised to sum 1
  (scikit-learn's CalibratedClassifierCV, ensemble=False). No random numbers are drawn, so it
  is deterministic. `pred` is always the argmax of the probabilities (as for the MLP), so UAR,
  predictions and probabilities agree; for an SVM this may differ from its decision
  function's vote on a few utterances. A class absent from the training set gets
  probability 0.
- Determinism. No classifier here draws random numbers that depend on the seed (xgboost fits
  every row and feature, no subsampling, with random_state 0), and
  the splits do not depend on it either, so every seed yields the same model: the log, the
  metrics (`classifier.deterministic`) and the summary tables say so instead of showing a
  spread.
- class_weights: true weights each training row by the inverse frequency of its class
  (loop.class_weights, the MLP's loss weights) through the estimators' sample_weight.
- gamma "scale" (svm rbf) is resolved as scikit-learn does, 1 / (dimensions x variance of the
  training matrix), and recorded as that number.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from xcorpus.grids import CLASSIFIERS, grid_points
from xcorpus.labels import CLASSES
from xcorpus.metrics import classification_metrics
from xcorpus.tables import atomic
from xcorpus.train.data import Data
from xcorpus.train.loop import class_weights
from xcorpus.train.normalise import model_statistics
from xcorpus.train.settings import Settings

MODEL_FORMAT = "xcorpus.classical/1"
CALIBRATION_FOLDS = 5  # an SVM's Platt scaling: fewer when a class has fewer training rows


def vectors(x: dict, stats: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The modalities of `stats` (in its order) standardised with it and concatenated
    (float64)."""
    parts = []
    for m, (mean, std) in stats.items():
        if not isinstance(x[m], torch.Tensor):
            raise ValueError(f"a classical classifier takes utterance vectors; {m} has sequences")
        parts.append((x[m].cpu().double().numpy() - mean) / std)
    return np.concatenate(parts, axis=1)


def make_estimator(name: str, kernel: str, params: dict, folds: int = CALIBRATION_FOLDS):
    """An unfitted estimator of the classifier with these hyperparameters (deterministic);
    an SVM's probabilities are calibrated over `folds` folds of its training rows."""
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=params["C"], max_iter=5000)
    if name == "svm":
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        return CalibratedClassifierCV(SVC(kernel=kernel, **params), cv=folds, ensemble=False)
    if name == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(**params, tree_method="hist", n_jobs=1, random_state=0)
    raise ValueError(f"unknown classifier {name!r}; known: mlp, {', '.join(CLASSIFIERS)}")


class ClassicalModel(nn.Module):
    """A fitted estimator with the standardisation it was fitted after. Its forward returns
    log-probabilities, which serve as logits, so it is evaluated exactly as the MLP is."""

    def __init__(self, record: dict):
        super().__init__()
        self.record = record

    @property
    def estimator(self):
        return self.record["estimator"]

    def probabilities(self, x: dict[str, torch.Tensor]) -> np.ndarray:
        """n x len(CLASSES) probabilities; classes absent from training get 0."""
        fitted = self.estimator.predict_proba(vectors(x, self.record["standardisation"]))
        probs = np.zeros((len(fitted), len(CLASSES)))
        probs[:, self.record["classes"]] = fitted
        return probs

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        device = next(iter(inputs.values())).device
        with np.errstate(divide="ignore"):  # log 0 = -inf: a class never trained on
            return torch.from_numpy(np.log(self.probabilities(inputs))).to(device)

    def save(self, path: Path) -> None:
        """model.pt: torch.save of the record (format, classifier, hyperparameters, standardisation
        per modality in input order, classes, the fitted estimator), written atomically."""
        with atomic(path) as tmp:
            torch.save(self.record, tmp)


def load_model(path: Path) -> ClassicalModel:
    """A classical model.pt. It holds a pickled scikit-learn/XGBoost estimator, so it loads
    with weights_only=False: only load files you trust."""
    record = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(record, dict) or record.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path} is not a classical model ({MODEL_FORMAT})")
    return ClassicalModel(record)


@dataclass
class Selection:
    model: ClassicalModel
    history: list[dict]  # one row per grid point
    record: dict  # metrics.json `classifier`


def fit_classical(settings: Settings, data: Data) -> Selection:
    """Fit every grid point on the training rows, keep the first with the best validation
    UAR. Only data.train and data.val are read."""
    name, label = settings.classifier, settings.grid_key
    stats = {
        m: (mean.double().numpy(), std.double().numpy())
        for m, (mean, std) in model_statistics(settings.feature_normalisation, data.train).items()
    }
    x, x_val = vectors(data.train.x, stats), vectors(data.val.x, stats)
    y, y_val = data.train.y.cpu().numpy(), data.val.y.cpu().numpy()
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"classifier {name} needs at least two classes in the training set")
    encoded = np.searchsorted(classes, y)
    folds = _calibration_folds(name, classes, encoded)
    weights = class_weights(data.train.y.cpu()).double().numpy()[y]
    sample_weight = weights if settings.class_weights else None
    history, best = [], None
    for i, point in enumerate(grid_points(settings.grid)):
        params = _resolved(point, x)
        estimator = make_estimator(name, settings.svm_kernel, params, folds)
        estimator.fit(x, encoded, sample_weight=sample_weight)
        pred = classes[estimator.predict_proba(x_val).argmax(axis=1)]
        uar = classification_metrics(y_val, pred)["uar"]
        print(f"grid point {i}: {_show(params)}: val UAR {uar:.4f}")
        history.append({"grid_point": i, **params, "val_uar": uar})
        if best is None or uar > best[0]:
            best = (uar, i, params, estimator)
    assert best is not None  # check_grid's values are non-empty lists: one point at least
    best_uar, chosen, params, estimator = best
    for row in history:
        row["selected"] = row["grid_point"] == chosen
    print(
        f"classifier {label}: grid point {chosen} of {len(history)} chosen on validation UAR "
        f"({_show(params)}; {best_uar:.4f}); deterministic: every seed gives this same model, "
        "so seeds are identical runs, not samples of a spread"
    )
    record = {
        "format": MODEL_FORMAT,
        "classifier": label,
        "hyperparameters": params,
        "standardisation": stats,
        "classes": classes.tolist(),
        "estimator": estimator,
    }
    summary = {
        "name": label,
        "hyperparameters": params,
        "grid_point": chosen,
        "grid": settings.grid,
        "validation_uar": best_uar,
        "deterministic": True,
    }
    return Selection(ClassicalModel(record), history, summary)


def _calibration_folds(name: str, classes: np.ndarray, encoded: np.ndarray) -> int:
    """Folds for an SVM's Platt scaling: 5, or as many as the rarest class has rows."""
    counts = np.bincount(encoded)
    folds = min(CALIBRATION_FOLDS, int(counts.min()))
    if name == "svm" and folds < 2:
        rare = CLASSES[classes[counts.argmin()]]
        raise ValueError(
            "classifier svm calibrates its probabilities on folds of the training rows, which "
            f"needs at least 2 training utterances of each class; {rare} has 1"
        )
    return folds


def _resolved(point: dict, x: np.ndarray) -> dict:
    """The grid point with gamma "scale" replaced by scikit-learn's value for `x`."""
    if point.get("gamma") == "scale":
        return point | {"gamma": float(1.0 / (x.shape[1] * x.var()))}
    return dict(point)


def _show(params: dict) -> str:
    return ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items()
    )

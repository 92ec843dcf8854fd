"""Training epochs, losses, learning-rate schedules, early stopping, model selection on
validation UAR (or, with selection_metric ccc, mean validation CCC over V/A/D), prediction,
and resuming a killed run from its last epoch.

Data lives in tensors on the device; a batch is an index slice of a permuted index tensor.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from xcorpus.labels import CLASSES
from xcorpus.metrics import DIMENSIONS, classification_metrics, concordance, dimensional_metrics
from xcorpus.train.checkpoint import Progress, Scheduler, load_training, save_training
from xcorpus.train.dann import DomainAdversarial, Trained
from xcorpus.train.data import NO_CLASS, Split
from xcorpus.train.models import EmotionClassifier
from xcorpus.train.settings import Settings

EVAL_BATCH = 4096
# Padded sequences (up to 200 frames) and their attention weights need smaller batches.
SEQUENCE_EVAL_BATCH = 256
SCHEDULERS = ("none", "cosine", "step", "plateau", "exponential")


class Curriculum(Protocol):
    """Which training rows an epoch sees; a self-paced one ranks them by the model's confidence.

    `indices` must depend on nothing but its arguments (and fixed construction data): a resumed
    run rebuilds the curriculum and must get the same rows.
    """

    @property
    def needs_confidence(self) -> bool: ...

    def fraction(self, epoch: int) -> float: ...

    def indices(self, epoch: int, confidence: np.ndarray | None) -> np.ndarray: ...


def set_determinism(seed: int) -> None:
    """Seed torch and ask for deterministic kernels: same seed, same inputs -> same metrics.

    One thread per run: the workflow runs seeds in parallel, and it removes thread-count
    dependent float reductions.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(1)


def class_weights(y: torch.Tensor) -> torch.Tensor:
    """Inverse class frequency, normalised to mean 1 over the classes present (absent: 0);
    rows without a class (NO_CLASS) are not counted."""
    counts = torch.bincount(y[y != NO_CLASS], minlength=len(CLASSES)).double()
    inverse = torch.where(counts > 0, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
    return (inverse / inverse[counts > 0].mean()).float()


class FocalLoss(nn.Module):
    """Focal loss, -(1 - p)^gamma log p, which down-weights samples the model already gets right.

    With label smoothing the target is the distribution q = (1 - s) onehot(y) + s / C and the
    loss of a sample is sum_c q_c w_c (1 - p_c)^gamma (-log p_c). Reduction is that of
    `nn.CrossEntropyLoss` with weights: sum over the batch divided by the sum of the targets'
    weights w_y (n without weights). Hence gamma = 0 is exactly cross-entropy, smoothing and
    weights included.
    """

    weight: torch.Tensor | None  # a buffer, registered in __init__

    def __init__(self, gamma: float, weight: torch.Tensor | None = None, label_smoothing=0.0):
        super().__init__()
        self.gamma = gamma
        self.label_smoothing = label_smoothing
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(logits, dim=-1)
        n_classes = logits.shape[-1]
        onehot = nn.functional.one_hot(target, n_classes).to(log_p.dtype)
        q = onehot * (1.0 - self.label_smoothing) + self.label_smoothing / n_classes
        # 1 - p as -expm1(log p) is exact near p = 1; the clamp keeps gamma < 1 finite at p = 1.
        miss = (-torch.expm1(log_p)).clamp(min=torch.finfo(log_p.dtype).tiny)
        per_class = -q * miss.pow(self.gamma) * log_p
        weight = torch.ones_like(log_p[0]) if self.weight is None else self.weight
        return (per_class * weight).sum() / weight[target].sum()


def make_loss(settings: Settings, y: torch.Tensor) -> nn.Module:
    """The experiment's loss, weighted by inverse training-class frequency if asked."""
    weight = class_weights(y.cpu()).to(y.device) if settings.class_weights else None
    smoothing = settings.label_smoothing
    if settings.loss == "cross_entropy":
        return nn.CrossEntropyLoss(weight=weight, label_smoothing=smoothing)
    if settings.loss == "focal":
        return FocalLoss(settings.focal_gamma, weight, smoothing)
    raise ValueError(f"unknown loss {settings.loss!r}; known: cross_entropy, focal")


class DimensionalLoss(nn.Module):
    """Loss of the V/A/D head over the batch's rated rows (targets NaN elsewhere): ccc, the mean
    over dimensions of 1 - the batch's CCC (xcorpus.metrics.concordance, the reported formula),
    or mse on the common scale. A batch with too few rated rows for the loss (2 for ccc, which
    needs a spread; 1 for mse) contributes nothing rather than an invented value."""

    def __init__(self, kind: str):
        super().__init__()
        if kind not in ("ccc", "mse"):
            raise ValueError(f"unknown dimensional_loss {kind!r}; known: ccc, mse")
        self.kind = kind

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        rated = torch.isfinite(target).all(dim=1)
        if int(rated.sum()) < (2 if self.kind == "ccc" else 1):
            return pred.sum() * 0.0
        pred, target = pred[rated], target[rated]
        if self.kind == "mse":
            return ((pred - target) ** 2).mean()
        return (1.0 - concordance(target, pred, eps=1e-8)).mean()


class TaskLoss:
    """The experiment's training loss of one batch: the class loss (categorical), the
    dimensional loss (dimensional), or class loss + dimensional_weight x dimensional loss
    (multitask), from one pass through the shared encoder."""

    def __init__(self, settings: Settings, train: Split):
        self.task = settings.task
        # Under dimensional_all_rated some rows have no class: the class loss skips them.
        self.masked = settings.dimensional_all_rated
        if self.task != "dimensional":
            self.categorical = make_loss(settings, train.y)
        if self.task != "categorical":
            self.dimensional = DimensionalLoss(settings.dimensional_loss)
        self.weight = settings.dimensional_weight

    def __call__(self, model: EmotionClassifier, split: Split, rows: torch.Tensor) -> torch.Tensor:
        return self.of_shared(model, model.embed(split.inputs(rows)), split, rows)

    def of_shared(
        self, model: EmotionClassifier, shared: torch.Tensor, split: Split, rows: torch.Tensor
    ) -> torch.Tensor:
        """The loss of `rows` from their shared representation (EmotionClassifier.embed), so
        another head (domain-adversarial training) can read the same pass."""
        logits, vad = model.heads(shared)
        if self.task == "categorical":
            return self.categorical(logits, split.y[rows])
        dimensional = self.dimensional(vad, split.vad_targets[rows])
        if self.task == "dimensional":
            return dimensional
        return self.class_loss(logits, split.y[rows]) + self.weight * dimensional

    def class_loss(self, logits: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor:
        """The class loss over the rows that have a class; nothing from a batch with none."""
        if logits is None:
            raise ValueError("a class loss needs a class head (task categorical or multitask)")
        if not self.masked:
            return self.categorical(logits, y)
        labelled = y != NO_CLASS
        if not bool(labelled.any()):
            return logits.sum() * 0.0
        return self.categorical(logits[labelled], y[labelled])


def make_optimizer(model: nn.Module, settings: Settings) -> torch.optim.AdamW:
    """AdamW, fused: one kernel per step instead of several per parameter, which on CPU roughly
    halves the time of a training step of the default model (still deterministic)."""
    return torch.optim.AdamW(
        model.parameters(),
        lr=settings.learning_rate,
        weight_decay=settings.weight_decay,
        fused=True,
    )


def make_scheduler(optimizer: torch.optim.Optimizer, settings: Settings) -> Scheduler | None:
    """The learning-rate schedule, stepped once per epoch (None: constant learning rate).

    plateau counts an epoch as an improvement when the selection score (validation UAR or
    CCC) is strictly higher than the best so far (threshold 0), the criterion of model
    selection; it multiplies the rate by lr_gamma once more than lr_patience epochs in a row
    were not (torch's semantics).
    """
    kind, gamma = settings.lr_scheduler, settings.lr_gamma
    schedules = torch.optim.lr_scheduler
    if kind == "none":
        return None
    if kind == "cosine":
        return schedules.CosineAnnealingLR(optimizer, T_max=settings.num_epochs)
    if kind == "step":
        return schedules.StepLR(optimizer, step_size=settings.lr_step_size, gamma=gamma)
    if kind == "exponential":
        return schedules.ExponentialLR(optimizer, gamma=gamma)
    if kind == "plateau":
        return schedules.ReduceLROnPlateau(
            optimizer, mode="max", factor=gamma, patience=settings.lr_patience, threshold=0.0
        )
    raise ValueError(f"unknown lr_scheduler {kind!r}; known: {', '.join(SCHEDULERS)}")


def step_scheduler(scheduler: Scheduler | None, score: float) -> None:
    """End-of-epoch step; plateau needs the epoch's selection score."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(score)
    elif scheduler is not None:
        scheduler.step()


def predict_proba(model: nn.Module, split: Split) -> np.ndarray:
    """Class probabilities (n x 4) in eval mode."""
    return _predict(model, split, lambda inputs: torch.softmax(model(inputs), dim=-1))


def predict_vad(model: Trained, split: Split) -> np.ndarray:
    """V/A/D predictions (n x 3, common 1-5 scale) in eval mode."""
    return _predict(model, split, lambda inputs: model.outputs(inputs)[1])


@torch.no_grad()
def _predict(model: nn.Module, split: Split, output) -> np.ndarray:
    """`output(inputs)` of every row in eval mode, batched, as float64."""
    model.eval()
    parts = []
    size = SEQUENCE_EVAL_BATCH if split.has_sequences else EVAL_BATCH
    for rows in torch.arange(len(split), device=split.y.device).split(size):
        parts.append(output(split.inputs(rows)).cpu())
    return torch.cat(parts).double().numpy()


def true_class_confidence(model: nn.Module, split: Split) -> np.ndarray:
    """The model's probability of each row's true class (eval mode), for self-paced curricula."""
    probs = predict_proba(model, split)
    return probs[np.arange(len(split)), split.y.cpu().numpy()]


def validation_uar(model: nn.Module, split: Split) -> float:
    """The model-selection criterion, over the rows that have a class."""
    pred = predict_proba(model, split).argmax(axis=1)
    labelled = split.labelled.cpu().numpy()
    return classification_metrics(split.y.cpu().numpy()[labelled], pred[labelled])["uar"]


SELECTION_COLUMNS = {"uar": "val_uar", "ccc": "val_ccc_mean"}  # history column per metric


def validation_scores(model: Trained, split: Split, task: str) -> dict[str, float | None]:
    """The epoch's validation columns: val_uar where there is a class head; val_ccc_<dim> and
    val_ccc_mean (over the rated rows) where there is a V/A/D head, None where undefined."""
    scores: dict[str, float | None] = {}
    if task != "dimensional":
        scores["val_uar"] = validation_uar(model, split)
    if task != "categorical":
        rated = split.rated.cpu().numpy()
        metrics = dimensional_metrics(
            split.vad_targets.cpu().numpy()[rated], predict_vad(model, split)[rated]
        )
        scores |= {f"val_ccc_{d}": metrics[f"ccc_{d}"] for d in (*DIMENSIONS, "mean")}
    return scores


def selection_score(row: dict, metric: str) -> float:
    """The row's selection score; an undefined CCC (None) never counts as an improvement."""
    score = row[SELECTION_COLUMNS[metric]]
    return -np.inf if score is None else score


def epoch_order(
    curriculum: Curriculum, epoch: int, confidence: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """This epoch's training rows in random order (a curriculum subset is never fed sorted)."""
    return rng.permutation(curriculum.indices(epoch, confidence))


def train_epoch(
    model: Trained,
    optimizer: torch.optim.Optimizer,
    loss_fn: TaskLoss,
    split: Split,
    order: np.ndarray,
    batch_size: int,
) -> float:
    """One pass over `order`; returns the mean training loss per sample.

    The loss is summed on the device (float64) and read once, so a GPU never waits per batch.
    """
    model.train()
    total = torch.zeros((), dtype=torch.float64, device=split.y.device)
    for rows in torch.from_numpy(order).to(split.y.device).split(batch_size):
        loss, reported = step_loss(model, loss_fn, split, rows)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += reported.detach().double() * len(rows)
    return total.item() / len(order)


def step_loss(
    model: Trained, loss_fn: TaskLoss, split: Split, rows: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(what a training step descends, the task loss it reports as train_loss): the same
    for a classifier; a domain-adversarial model adds its domain loss to the first."""
    if isinstance(model, DomainAdversarial):
        return model.step_loss(loss_fn, split, rows)
    loss = loss_fn(model, split, rows)
    return loss, loss


def run_epoch(
    model: Trained,
    optimizer: torch.optim.Optimizer,
    loss_fn: TaskLoss,
    data: tuple[Split, Split],
    curriculum: Curriculum,
    settings: Settings,
    rng: np.random.Generator,
    progress: Progress,
) -> dict:
    """Train epoch `progress.epoch` and validate; return its history row."""
    train, val = data
    epoch = progress.epoch
    confidence = true_class_confidence(model, train) if curriculum.needs_confidence else None
    order = epoch_order(curriculum, epoch, confidence, rng)
    learning_rate = optimizer.param_groups[0]["lr"]
    if isinstance(model, DomainAdversarial):
        model.start_epoch(epoch, len(order), settings.batch_size)
    loss = train_epoch(model, optimizer, loss_fn, train, order, settings.batch_size)
    row = {
        "epoch": epoch,
        "train_loss": loss,
        **validation_scores(model, val, settings.task),
        "learning_rate": learning_rate,
        "curriculum_fraction": curriculum.fraction(epoch),
        "samples_seen": progress.samples_seen + len(order),
    }
    return (row | model.epoch_record()) if isinstance(model, DomainAdversarial) else row


def record_epoch(
    progress: Progress, row: dict, model: nn.Module, min_delta: float, metric: str = "uar"
) -> None:
    """Append the row; keep a deep copy of the weights on a strictly better validation score
    (`metric`: uar or ccc; ties keep the earlier epoch); count epochs without an improvement of
    more than min_delta.
    """
    score = selection_score(row, metric)
    if score > progress.best_score:
        progress.best_score, progress.best_epoch = score, row["epoch"]
        progress.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if score > progress.stopping_reference + min_delta:
        progress.stopping_reference, progress.epochs_without_improvement = score, 0
    else:
        progress.epochs_without_improvement += 1
    progress.history.append(row)
    progress.epoch += 1


def finished(progress: Progress, settings: Settings) -> bool:
    """All epochs done, or early stopping's patience is used up."""
    patience_over = (
        settings.use_early_stopping
        and progress.epochs_without_improvement >= settings.early_stopping_patience
    )
    return progress.epoch >= settings.num_epochs or patience_over


@dataclass
class Fit:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    best_score: float  # validation UAR or CCC, as selection_metric says
    history: list[dict]


def fit(
    model: Trained,
    train: Split,
    val: Split,
    curriculum: Curriculum,
    settings: Settings,
    rng: np.random.Generator,
    checkpoint: Path | None = None,
) -> Fit:
    """Train for num_epochs (fewer under early stopping), keeping a cloned copy of the weights
    with the best validation score (selection_metric).

    Ties keep the earlier epoch. `model` is left with the last epoch's weights. History rows:
    0-based epoch, mean train loss, val UAR (with a class head), val CCC per dimension and
    their mean (with a V/A/D head), the learning rate used during the epoch, curriculum
    fraction, and samples_seen, the cumulative number of training samples fed so far; for a
    DomainAdversarial model also dann_lambda and domain_loss (train_loss stays the task loss).

    With `checkpoint`, the resume state is written there after every epoch, and a run finding
    it on start continues after its last epoch, ending exactly as an uninterrupted run would
    (same history, best epoch, bitwise the same weights) given the same model construction,
    data, settings and seed. A finished run's checkpoint is kept: the caller deletes it once
    it has written what it derives from the returned Fit, so that a kill before then resumes
    instead of training again.
    """
    if settings.num_epochs < 1:
        raise ValueError(f"num_epochs must be at least 1, got {settings.num_epochs}")
    loss_fn = TaskLoss(settings, train)
    metric = settings.selection_metric
    optimizer = make_optimizer(model, settings)
    scheduler = make_scheduler(optimizer, settings)
    progress = Progress()
    if checkpoint is not None and checkpoint.exists():
        progress = load_training(checkpoint, model, optimizer, scheduler, rng)
        print(f"resuming from {checkpoint} at epoch {progress.epoch}")
    while not finished(progress, settings):
        row = run_epoch(
            model, optimizer, loss_fn, (train, val), curriculum, settings, rng, progress
        )
        print(
            f"epoch {row['epoch']}: loss {row['train_loss']:.4f}, {_scores(row)}, "
            f"lr {row['learning_rate']:.3g}, {row['samples_seen'] - progress.samples_seen} "
            f"samples ({row['curriculum_fraction']:.0%})"
            + (
                f", domain loss {row['domain_loss']:.4f} (λ {row['dann_lambda']:.3g})"
                if "domain_loss" in row
                else ""
            )
        )
        record_epoch(progress, row, model, settings.early_stopping_min_delta, metric)
        step_scheduler(scheduler, selection_score(row, metric))
        if checkpoint is not None:
            save_training(checkpoint, model, optimizer, scheduler, progress, rng)
    if progress.best_epoch < 0:
        raise ValueError(
            f"experiment {settings.name}: no epoch had a defined validation "
            f"{metric} (CCC is undefined when prediction and truth are one constant), so no "
            "epoch can be selected"
        )
    return Fit(progress.best_state, progress.best_epoch, progress.best_score, progress.history)


def _scores(row: dict) -> str:
    """ "val UAR 0.4123" and/or "val CCC 0.2100" for the epoch's console line."""
    shown = []
    if "val_uar" in row:
        shown.append(f"val UAR {row['val_uar']:.4f}")
    if "val_ccc_mean" in row:
        ccc = row["val_ccc_mean"]
        shown.append("val CCC undefined" if ccc is None else f"val CCC {ccc:.4f}")
    return ", ".join(shown)

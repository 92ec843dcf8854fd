"""Training epochs, model selection on validation UAR, and prediction.

Data lives in tensors on the device; a batch is an index slice of a permuted index tensor.
"""

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from xcorpus.labels import CLASSES
from xcorpus.metrics import classification_metrics
from xcorpus.train.curriculum import Curriculum
from xcorpus.train.data import Split

EVAL_BATCH = 4096


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
    """Inverse class frequency, normalised to mean 1 over the classes present (absent: 0)."""
    counts = torch.bincount(y, minlength=len(CLASSES)).double()
    inverse = torch.where(counts > 0, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
    return (inverse / inverse[counts > 0].mean()).float()


def epoch_order(curriculum: Curriculum, epoch: int, rng: np.random.Generator) -> np.ndarray:
    """This epoch's training rows in random order (a curriculum subset is never fed sorted)."""
    return rng.permutation(curriculum.indices(epoch))


@torch.no_grad()
def predict_proba(model: nn.Module, split: Split) -> np.ndarray:
    """Class probabilities (n x 4) in eval mode."""
    model.eval()
    probs = []
    for rows in torch.arange(len(split), device=split.y.device).split(EVAL_BATCH):
        logits = model({m: x[rows] for m, x in split.x.items()})
        probs.append(torch.softmax(logits, dim=-1).cpu())
    return torch.cat(probs).double().numpy()


def validation_uar(model: nn.Module, split: Split) -> float:
    """The model-selection criterion."""
    pred = predict_proba(model, split).argmax(axis=1)
    return classification_metrics(split.y.cpu().numpy(), pred)["uar"]


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    split: Split,
    order: np.ndarray,
    batch_size: int,
) -> float:
    """One pass over `order`; returns the mean training loss per sample."""
    model.train()
    total = 0.0
    for rows in torch.from_numpy(order).to(split.y.device).split(batch_size):
        loss = loss_fn(model({m: x[rows] for m, x in split.x.items()}), split.y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(rows)
    return total / len(order)


@dataclass
class Fit:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    history: list[dict]


def fit(
    model: nn.Module,
    train: Split,
    val: Split,
    curriculum: Curriculum,
    experiment: dict,
    rng: np.random.Generator,
) -> Fit:
    """Train for num_epochs, keeping a cloned copy of the weights with the best validation UAR.

    Ties keep the earlier epoch. `model` is left with the final epoch's weights. History rows:
    0-based epoch, mean train loss, val UAR, learning rate, curriculum fraction, and
    samples_seen, the cumulative number of training samples fed so far.
    """
    if experiment["num_epochs"] < 1:
        raise ValueError(f"num_epochs must be at least 1, got {experiment['num_epochs']}")
    weight = (
        class_weights(train.y.cpu()).to(train.y.device) if experiment["class_weights"] else None
    )
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=experiment["learning_rate"],
        weight_decay=experiment["weight_decay"],
    )
    best_uar, best_epoch, best_state = -1.0, -1, {}
    history, seen = [], 0
    for epoch in range(experiment["num_epochs"]):
        order = epoch_order(curriculum, epoch, rng)
        loss = train_epoch(model, optimizer, loss_fn, train, order, experiment["batch_size"])
        seen += len(order)
        uar = validation_uar(model, val)
        if uar > best_uar:
            best_uar, best_epoch = uar, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        history.append(
            {
                "epoch": epoch,
                "train_loss": loss,
                "val_uar": uar,
                "learning_rate": optimizer.param_groups[0]["lr"],
                "curriculum_fraction": curriculum.fraction(epoch),
                "samples_seen": seen,
            }
        )
        print(
            f"epoch {epoch}: loss {loss:.4f}, val UAR {uar:.4f}, "
            f"{len(order)} samples ({curriculum.fraction(epoch):.0%})"
        )
    return Fit(best_state, best_epoch, history)

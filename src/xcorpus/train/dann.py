"""Domain-adversarial training (`domain_adaptation: dann`, Ganin & Lempitsky's DANN).

A corpus classifier reads the classifier's shared representation (EmotionClassifier.embed)
through a gradient-reversal layer: the domain head learns to tell the corpora apart, while the
encoder receives the negative of that gradient, scaled by λ, and so learns features the corpora
share. The domains are the training corpora (their training rows, the rows the class loss sees
in the same step) and, with `dann_unlabelled_test`, each test corpus (its features only, never
its labels), which makes the result transductive.

λ follows a linear warm-up over epochs: λ_e = dann_weight · min(1, e / dann_warmup_epochs)
(dann_weight from the first epoch when dann_warmup_epochs is 0), so the domain head learns
before its reversed gradient reaches the encoder. Model selection stays on validation UAR.

The domain head lives beside the classifier, in `DomainAdversarial` (the module training
optimises and checkpoints), not in the classifier: model.pt holds the classifier alone, loads
with load_model and evaluates exactly as the trained model did.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
from torch import nn

from xcorpus.train.data import Data, Split
from xcorpus.train.models import EmotionClassifier
from xcorpus.train.sequences import Sequences, concat
from xcorpus.train.settings import Settings

if TYPE_CHECKING:  # loop imports this module
    from xcorpus.train.loop import TaskLoss

METHODS = ("none", "dann")


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.weight * grad, None


def reverse_gradient(x: torch.Tensor, weight: float) -> torch.Tensor:
    """Identity forward; backward multiplies the gradient by -weight."""
    return _Reverse.apply(x, weight)


def reversal_weight(epoch: int, weight: float, warmup_epochs: int) -> float:
    """λ of epoch `epoch` (0-based): a linear ramp from 0 to `weight` over `warmup_epochs`."""
    if warmup_epochs == 0:
        return weight
    return weight * min(1.0, epoch / warmup_epochs)


@dataclass(frozen=True)
class Domains:
    """What enters the domain loss: the training rows' domains (row-aligned with the training
    split) and, with unlabelled test corpora, their features and domains (no labels)."""

    names: list[str]  # domain index -> corpus
    train: torch.Tensor  # (n_train,) int64
    unlabelled_x: dict[str, torch.Tensor | Sequences] | None
    unlabelled: torch.Tensor | None  # (n_unlabelled,) int64

    def to(self, device: torch.device) -> "Domains":
        x = self.unlabelled_x
        return Domains(
            self.names,
            self.train.to(device),
            None if x is None else {m: t.to(device) for m, t in x.items()},
            None if self.unlabelled is None else self.unlabelled.to(device),
        )


def domains(data: Data, train_corpora: Sequence[str], unlabelled_test: bool) -> Domains:
    """Domain labels: training corpus i in `train_corpora` order is domain i; with
    `unlabelled_test`, the test corpora follow in their order, with their features only.
    Validation and in-corpus test rows never enter the domain loss."""
    index = {c: i for i, c in enumerate(train_corpora)}
    train = torch.tensor([index[c] for c in data.train.corpus], dtype=torch.int64)
    tests = list(data.test) if unlabelled_test else []
    if not tests:
        return Domains(list(train_corpora), train, None, None)
    labels = [torch.full((len(data.test[c]),), len(index) + i) for i, c in enumerate(tests)]
    x = {m: _concat([data.test[c].x[m] for c in tests]) for m in data.train.x}
    return Domains([*train_corpora, *tests], train, x, torch.cat(labels).long())


def _concat(parts: list[torch.Tensor | Sequences]) -> torch.Tensor | Sequences:
    # A modality is sequences in every split or in none (Data).
    if not isinstance(parts[0], Sequences):
        return torch.cat(cast(list[torch.Tensor], parts))
    return concat(cast(list[Sequences], parts))


class DomainAdversarial(nn.Module):
    """The classifier plus its domain head, as training sees them. forward is the classifier's
    (validation, prediction); step_loss is a training step's class + domain loss."""

    def __init__(
        self, classifier: EmotionClassifier, domains: Domains, settings: Settings, seed: int
    ):
        super().__init__()
        self.classifier = classifier
        # The class head is _head's Sequential, a Linear first.
        width = cast(nn.Linear, classifier.head[0]).in_features
        hidden = classifier.config.hidden_dim
        self.domain_head = nn.Sequential(
            nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, len(domains.names))
        )
        self.domains = domains
        self.weight, self.warmup = settings.dann_weight, settings.dann_warmup_epochs
        self.seed = seed
        self.domain_loss = nn.CrossEntropyLoss(reduction="sum")
        self.start_epoch(0, 0, 1)  # until fit starts epoch 0: its λ, no unlabelled rows

    def forward(self, x: dict) -> torch.Tensor:
        return self.classifier(x)

    def outputs(self, x: dict) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return self.classifier.outputs(x)

    def start_epoch(self, epoch: int, n_rows: int, batch_size: int) -> None:
        """Set λ and this epoch's unlabelled rows, one batch of them per training batch (as
        many as it has rows), drawn from a generator of (seed, epoch) alone: a resumed epoch
        draws the same rows, and the training order's generator is left untouched."""
        self.lam = reversal_weight(epoch, self.weight, self.warmup)
        self.batch_size, self.step, self.total, self.rows = batch_size, 0, 0.0, 0
        self.unlabelled_order = None
        if self.domains.unlabelled is not None and n_rows:
            n = len(self.domains.unlabelled)
            draws = -(-n_rows // n)  # whole permutations, cut to one row per training row
            rng = np.random.default_rng([self.seed, epoch])
            order = np.concatenate([rng.permutation(n) for _ in range(draws)])[:n_rows]
            self.unlabelled_order = torch.from_numpy(order).to(self.domains.unlabelled.device)

    def step_loss(
        self, loss_fn: "TaskLoss", split: Split, rows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(task loss + domain loss, the task loss): the domain loss is the mean
        cross-entropy of the corpus over the batch's training rows and its unlabelled rows."""
        embedded = self.classifier.embed(split.inputs(rows))
        class_loss = loss_fn.of_shared(self.classifier, embedded, split, rows)
        logits = self.domain_head(reverse_gradient(embedded, self.lam))
        domain_sum = self.domain_loss(logits, self.domains.train[rows])
        count = len(rows)
        # An order is drawn only with unlabelled rows, whose features Domains holds with them.
        features, labels = self.domains.unlabelled_x, self.domains.unlabelled
        if self.unlabelled_order is not None and features is not None and labels is not None:
            start = self.step * self.batch_size
            extra = self.unlabelled_order[start : start + len(rows)]
            x = {m: _rows(t, extra) for m, t in features.items()}
            extra_logits = self.domain_head(reverse_gradient(self.classifier.embed(x), self.lam))
            domain_sum = domain_sum + self.domain_loss(extra_logits, labels[extra])
            count += len(extra)
        domain = domain_sum / count
        self.step += 1
        self.total = self.total + domain.detach().double() * count  # read once, per epoch
        self.rows += count
        return class_loss + domain, class_loss

    def epoch_record(self) -> dict:
        """The epoch's history columns: λ and the mean domain loss per domain-loss row."""
        return {"dann_lambda": self.lam, "domain_loss": float(self.total) / max(self.rows, 1)}


Trained = EmotionClassifier | DomainAdversarial  # what training optimises (adversarial)


def _rows(x: torch.Tensor | Sequences, rows: torch.Tensor):
    return x.batch(rows) if isinstance(x, Sequences) else x[rows]


def describe(record: dict) -> str:
    """The training log's line for a domain-adaptation record."""
    if record["method"] == "none":
        return "domain adaptation: none"
    counts = ", ".join(f"{c} ({n})" for c, n in record["domains"].items())
    line = (
        f"domain adaptation: dann, reversal weight {record['weight']:g} reached after "
        f"{record['warmup_epochs']} warm-up epoch(s), domains {counts}"
    )
    if record["transductive"]:
        line += f"; TRANSDUCTIVE: {record['reason']}"
    return line


def record(settings: Settings, domains: Domains | None) -> dict:
    """metrics.json's `domain_adaptation`: method, weight, warm-up, the domains with their
    domain-loss rows, and whether (and why) the result is transductive."""
    if domains is None:
        return {"method": "none", "transductive": False, "reason": None}
    counts = torch.bincount(domains.train, minlength=len(domains.names))
    if domains.unlabelled is not None:
        counts = counts + torch.bincount(domains.unlabelled, minlength=len(domains.names))
    tests = domains.names[len(settings.train_dataset) :]
    transductive = bool(tests)
    return {
        "method": "dann",
        "weight": settings.dann_weight,
        "warmup_epochs": settings.dann_warmup_epochs,
        "unlabelled_test": settings.dann_unlabelled_test,
        "domains": dict(zip(domains.names, counts.tolist(), strict=True)),
        "transductive": transductive,
        "reason": (
            f"the domain loss reads the unlabelled features of test corpora {', '.join(tests)}"
            if transductive
            else None
        ),
    }


def adversarial(
    settings: Settings, seed: int, model: EmotionClassifier, data: Data, device: torch.device
) -> tuple["Trained", dict]:
    """What training optimises (the classifier, or under dann the classifier with its domain
    head beside it) and the `domain_adaptation` record for metrics.json."""
    if settings.domain_adaptation == "none":
        return model, record(settings, None)
    corpora = domains(data, settings.train_dataset, settings.dann_unlabelled_test)
    trained = DomainAdversarial(model, corpora.to(device), settings, seed).to(device)
    return trained, record(settings, corpora)

"""Which training samples each epoch sees: a per-corpus ordering, and a pacing of how much of it.

Every curriculum type is an ordering of each training corpus's rows; the pacing says what share of
that ordering an epoch uses, growing from `curriculum_start` to all rows at `curriculum_epochs`.
Orderings are ranked within each training corpus, not globally: corpora rate V/A/D differently
(different raters, scales, elicitation), so a global ranking would let the corpus with the
"easiest-looking" ratings fill the early epochs alone. Ranking per corpus makes every corpus
enter at the same pace. The baselines (random, class_balance) share the pacing, so that a
difficulty ordering is compared with the same amount of data per epoch.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xcorpus.train.settings import Settings

CURRICULUM_TYPES = (
    "difficulty",
    "inverse_difficulty",
    "random",
    "class_balance",
    "model_confidence",
    "none",
)

# Share of the ordering used at progress t in [0, 1), given the share `start` at t = 0.
_PACINGS: dict[str, Callable[[float, float], float]] = {
    "linear": lambda t, start: start + (1.0 - start) * t,
    "sqrt": lambda t, start: start + (1.0 - start) * math.sqrt(t),
    "log": lambda t, start: start + (1.0 - start) * math.log(1.0 + (math.e - 1.0) * t),
    "exponential": lambda t, start: start * (1.0 / start) ** t,
    "step": lambda t, start: start + (1.0 - start) * math.floor(4.0 * t) / 4.0,
}
PACINGS = tuple(_PACINGS)


def pacing_fraction(epoch: int, start: float, epochs: int, pacing: str) -> float:
    """Share of each corpus's ordering used at 0-based `epoch`, with progress t = epoch / epochs.

    All pacings give `start` at epoch 0, never decrease, and give 1.0 from `epochs` on (and
    always when epochs <= 0):

    - linear: start + (1 - start) t, the same number of rows added every epoch.
    - sqrt: start + (1 - start) sqrt(t), most rows added early (quickly past the easy part).
    - log: start + (1 - start) ln(1 + (e - 1) t), like sqrt but gentler at the very start.
    - exponential: start (1 / start)^t, geometric growth, few rows added early and many late
      (Hacohen & Weinshall 2019).
    - step: start + (1 - start) floor(4 t) / 4, four equal jumps held for a quarter each.
    """
    if pacing not in _PACINGS:
        raise ValueError(f"unknown curriculum_pacing {pacing!r} (expected one of {PACINGS})")
    if not 0.0 < start <= 1.0:
        raise ValueError(f"curriculum_start must be in (0, 1], got {start}")
    if epochs <= 0 or epoch >= epochs:
        return 1.0
    return min(1.0, _PACINGS[pacing](epoch / epochs, start))


@dataclass(frozen=True)
class Curriculum:
    """Per group (training corpus), its rows in curriculum order, and the pacing.

    With `needs_confidence`, `ranked` holds each group's rows in row order and the order is
    re-ranked every epoch from the model's confidence (self-paced learning).
    """

    ranked: tuple[np.ndarray, ...]
    start: float = 1.0
    epochs: int = 0
    pacing: str = "linear"
    needs_confidence: bool = False

    def __post_init__(self) -> None:
        self.fraction(0)  # a bad start or pacing fails when the curriculum is made, not in training

    @classmethod
    def everything(cls, n: int) -> "Curriculum":
        """No curriculum: every sample in every epoch."""
        return cls((np.arange(n),))

    @property
    def n(self) -> int:
        """Number of training rows."""
        return sum(len(rows) for rows in self.ranked)

    def fraction(self, epoch: int) -> float:
        """Share of each group's ordering used at 0-based `epoch`."""
        return pacing_fraction(epoch, self.start, self.epochs, self.pacing)

    def indices(self, epoch: int, confidence: np.ndarray | None = None) -> np.ndarray:
        """The first max(1, round(fraction * n_g)) rows of each group's ordering, in row order.

        `confidence` (the model's probability of each row's true class) is required with
        `needs_confidence` and ignored otherwise.
        """
        ranked = self._by_confidence(confidence) if self.needs_confidence else self.ranked
        fraction = self.fraction(epoch)
        taken = [rows[: max(1, round(fraction * len(rows)))] for rows in ranked]
        return np.sort(np.concatenate(taken))

    def _by_confidence(self, confidence: np.ndarray | None) -> tuple[np.ndarray, ...]:
        """Each group's rows, most confident (easiest for the model now) first; ties by row."""
        if confidence is None:
            raise ValueError("curriculum_type model_confidence needs the model's confidence")
        confidence = np.asarray(confidence, dtype=np.float64)
        if confidence.shape != (self.n,):
            raise ValueError(
                f"confidence has shape {confidence.shape}, expected one value per training row "
                f"({self.n})"
            )
        if np.isnan(confidence).any():
            raise ValueError("confidence has NaN values")
        return tuple(rows[np.argsort(-confidence[rows], kind="stable")] for rows in self.ranked)


def make_curriculum(
    settings: Settings,
    groups: np.ndarray,
    labels: np.ndarray,
    difficulty: np.ndarray | None,
    seed: int,
) -> Curriculum:
    """The experiment's curriculum over training rows with corpus `groups` and class `labels`.

    `difficulty` (larger = harder) is needed only by difficulty and inverse_difficulty; `seed`
    fixes the random and class_balance orderings.
    """
    kind = settings.curriculum_type
    if kind not in CURRICULUM_TYPES:
        raise ValueError(f"unknown curriculum_type {kind!r} (expected one of {CURRICULUM_TYPES})")
    if not settings.use_curriculum_learning or kind == "none":
        return Curriculum.everything(len(groups))
    members = [np.flatnonzero(groups == g) for g in dict.fromkeys(groups.tolist())]
    rng = np.random.default_rng(seed)
    if kind in ("difficulty", "inverse_difficulty"):
        scores = _checked_difficulty(difficulty, len(groups), kind)
        ranked = _by_difficulty(members, scores, kind, rng)
    elif kind == "random":
        ranked = [rng.permutation(rows) for rows in members]
    elif kind == "class_balance":
        ranked = [_round_robin(rows, labels[rows], rng) for rows in members]
    else:  # model_confidence: ordered afresh each epoch
        ranked = members
    return Curriculum(
        tuple(ranked),
        settings.curriculum_start,
        settings.curriculum_epochs,
        settings.curriculum_pacing,
        needs_confidence=kind == "model_confidence",
    )


def _checked_difficulty(difficulty: np.ndarray | None, n: int, kind: str) -> np.ndarray:
    """`difficulty` as floats, one per training row; ValueError otherwise."""
    if difficulty is None:
        raise ValueError(f"curriculum_type {kind} needs a difficulty per training row")
    difficulty = np.asarray(difficulty, dtype=np.float64)
    if difficulty.shape != (n,):
        raise ValueError(f"difficulty has shape {difficulty.shape}, expected ({n},)")
    return difficulty


def _by_difficulty(
    members: list[np.ndarray], difficulty: np.ndarray, kind: str, rng: np.random.Generator
) -> list[np.ndarray]:
    """Easiest first (difficulty) or hardest first (inverse_difficulty); ties in a seeded random
    order, not row order (which would put earlier sessions or files first among equals)."""
    sign = 1.0 if kind == "difficulty" else -1.0
    shuffled = [rng.permutation(rows) for rows in members]
    return [rows[np.argsort(sign * difficulty[rows], kind="stable")] for rows in shuffled]


def describe(settings: Settings) -> str:
    """The curriculum in effect, for the training log: type, pacing, epochs, and which of its
    keys the experiment left to the schema's defaults."""
    kind = settings.curriculum_type
    if not settings.use_curriculum_learning or kind == "none":
        what = "none: every training row in every epoch"
    else:
        method = f" (difficulty_method {settings.difficulty_method})"
        what = (
            f"{kind}{method if kind in ('difficulty', 'inverse_difficulty') else ''}, "
            f"{settings.curriculum_pacing} pacing from {settings.curriculum_start:.0%} "
            f"of each corpus's order at epoch 0 to all of it from epoch "
            f"{settings.curriculum_epochs} on (epochs 0-{settings.num_epochs - 1})"
        )
    defaults = settings.curriculum_defaults
    return f"curriculum: {what}" + (
        f" [schema defaults: {', '.join(defaults)}]" if defaults else ""
    )


def _round_robin(rows: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`rows` with classes interleaved (each class's rows shuffled), so every prefix is balanced.

    The k-th row of every class comes before the (k+1)-th of any; once a class runs out, the
    remaining classes go on interleaving.
    """
    classes = np.unique(labels)
    shuffled = [rng.permutation(rows[labels == c]) for c in classes]
    turn = np.concatenate([np.arange(len(s)) for s in shuffled])
    position = np.concatenate([np.full(len(s), i) for i, s in enumerate(shuffled)])
    return np.concatenate(shuffled)[np.lexsort((position, turn))]

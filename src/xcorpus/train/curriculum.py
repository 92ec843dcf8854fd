"""Which training samples each epoch sees: easiest first, growing linearly to all of them.

Difficulty is ranked within each training corpus, not globally: corpora rate V/A/D differently
(different raters, scales, elicitation), so a global ranking would let the corpus with the
"easiest-looking" ratings fill the early epochs alone. Ranking per corpus makes every corpus
enter at the same pace.
"""

from dataclasses import dataclass

import numpy as np


def pacing_fraction(epoch: int, start: float, epochs: int) -> float:
    """Linear pacing: share of training samples used at 0-based `epoch`."""
    if epochs <= 0:
        return 1.0
    return min(1.0, start + (1.0 - start) * epoch / epochs)


@dataclass(frozen=True)
class Curriculum:
    """Per group (training corpus), sample indices from easiest to hardest, and the pacing."""

    ranked: list[np.ndarray]
    start: float = 1.0
    epochs: int = 0

    @classmethod
    def by_difficulty(
        cls, difficulty: np.ndarray, groups: np.ndarray, start: float, epochs: int
    ) -> "Curriculum":
        """Rank samples by difficulty (larger = harder) inside each group; ties keep row order."""
        if not 0.0 < start <= 1.0:
            raise ValueError(f"curriculum_start must be in (0, 1], got {start}")
        ranked = []
        for group in dict.fromkeys(groups.tolist()):
            rows = np.flatnonzero(groups == group)
            ranked.append(rows[np.argsort(difficulty[rows], kind="stable")])
        return cls(ranked, start, epochs)

    @classmethod
    def everything(cls, n: int) -> "Curriculum":
        """No curriculum: every sample in every epoch."""
        return cls([np.arange(n)])

    def fraction(self, epoch: int) -> float:
        return pacing_fraction(epoch, self.start, self.epochs)

    def indices(self, epoch: int) -> np.ndarray:
        """The easiest round(fraction * n_g) samples of each group (at least one), in row order."""
        fraction = self.fraction(epoch)
        taken = [rows[: max(1, round(fraction * len(rows)))] for rows in self.ranked]
        return np.sort(np.concatenate(taken))

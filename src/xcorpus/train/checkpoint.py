"""Resume state of a training run, written after every epoch and read back on restart.

A run killed at any moment and restarted must finish exactly as an uninterrupted one, so the
checkpoint holds everything the next epoch depends on: weights, optimizer and scheduler state,
model selection and early-stopping bookkeeping, the history, and every random generator (numpy
for the epoch order, torch for dropout). It is written atomically (temp file + rename), so a
kill leaves the previous epoch's checkpoint or the new one, never half of one. Only tensors and
plain Python values are stored, so it loads with `torch.load(weights_only=True)`.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from xcorpus.tables import atomic

Scheduler = torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau


@dataclass
class Progress:
    """Where a run stands after its last finished epoch (`epoch` is the next one to run)."""

    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)
    best_epoch: int = -1
    best_score: float = -np.inf  # best validation selection score (UAR or CCC) so far
    stopping_reference: float = -np.inf  # last selection score that counted as an improvement
    epochs_without_improvement: int = 0

    @property
    def samples_seen(self) -> int:
        return self.history[-1]["samples_seen"] if self.history else 0


def rng_states(rng: np.random.Generator, device: torch.device) -> dict:
    """The numpy generator's and torch's (CPU, and CUDA on CUDA) random states."""
    states = {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict, rng: np.random.Generator) -> None:
    """Put every generator back where `rng_states` found it; `rng` is updated in place."""
    rng.bit_generator.state = states["numpy"]
    torch.set_rng_state(states["torch"])
    if "cuda" in states:
        torch.cuda.set_rng_state_all(states["cuda"])


def save_training(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Scheduler | None,
    progress: Progress,
    rng: np.random.Generator,
) -> None:
    """Write the resume state atomically."""
    device = next(model.parameters()).device
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "progress": vars(progress),
        "rng": rng_states(rng, device),
    }
    with atomic(path) as tmp:
        torch.save(state, tmp)


def load_training(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Scheduler | None,
    rng: np.random.Generator,
) -> Progress:
    """Restore model, optimizer, scheduler and generators from `path`; return the progress."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    restore_rng_states(state["rng"], rng)
    progress = Progress(**state["progress"])
    device = next(model.parameters()).device
    progress.best_state = {k: v.to(device) for k, v in progress.best_state.items()}
    return progress

"""The training loop: schedules, early stopping, losses, self-paced confidence, resume after kill.

Run as a script (`python tests/test_loop.py CHECKPOINT RESULT`), this file trains the small
synthetic problem of the kill-and-resume test, as a caller of `fit` would.
"""

import math
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import schema_settings
from torch import nn

from xcorpus.tables import atomic
from xcorpus.train import loop
from xcorpus.train.data import Split
from xcorpus.train.loop import FocalLoss, fit, make_loss, set_determinism, true_class_confidence
from xcorpus.train.settings import Settings

LR = 1e-2
PACE_S = 0.004  # per training batch in the kill-and-resume script, so kills land mid-epoch


def experiment(**overrides) -> Settings:
    """Every training key at its schema default, except a few for speed."""
    fast = {"learning_rate": LR, "num_epochs": 6, "batch_size": 32}
    return schema_settings(**fast | overrides)


class Mlp(nn.Module):
    """A small classifier over the `audio` modality, with dropout (torch's RNG matters); embed
    and heads as the training loss reads an EmotionClassifier."""

    def __init__(self, dim: int, pace_s: float = 0.0):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, 64), nn.GELU(), nn.Dropout(0.3))
        self.head = nn.Linear(64, 4)
        self.pace_s = pace_s

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.embed(x))

    def embed(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.training and self.pace_s:
            time.sleep(self.pace_s)
        return self.body(x["audio"])

    def heads(self, shared: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.head(shared), None


class Everything:
    """Curriculum double: every row, every epoch."""

    needs_confidence = False

    def __init__(self, n: int):
        self.n = n

    def fraction(self, epoch: int) -> float:
        return 1.0

    def indices(self, epoch: int, confidence: np.ndarray | None) -> np.ndarray:
        return np.arange(self.n)


class MostConfidentHalf:
    """Self-paced curriculum double: the half of the rows the model is most sure of."""

    needs_confidence = True

    def __init__(self):
        self.seen: list[np.ndarray] = []

    def fraction(self, epoch: int) -> float:
        return 0.5

    def indices(self, epoch: int, confidence: np.ndarray | None) -> np.ndarray:
        self.seen.append(confidence)
        return np.sort(np.argsort(-confidence, kind="stable")[: len(confidence) // 2])


def synthetic(n: int = 600, dim: int = 32, n_val: int = 120) -> tuple[Split, Split]:
    """Four gaussian classes, overlapping enough that validation UAR moves between epochs."""
    rng = np.random.default_rng(0)
    y = np.arange(n) % 4
    x = (rng.normal(size=(4, dim))[y] * 0.6 + rng.normal(size=(n, dim))).astype(np.float32)
    full = Split(
        np.array([f"u{i}" for i in range(n)], dtype=object),
        np.array(["C"] * n, dtype=object),
        {"audio": torch.from_numpy(x)},
        torch.from_numpy(y),
    )
    return full.take(np.arange(n_val, n)), full.take(np.arange(n_val))


@pytest.fixture(scope="module")
def data() -> tuple[Split, Split]:
    return synthetic()


def train(data, exp: Settings, seed: int = 3, curriculum=None, checkpoint=None, pace_s=0.0):
    """Seeded model and fit, as train_seed does; returns (Fit, model)."""
    set_determinism(seed)
    model = Mlp(data[0].x["audio"].shape[1], pace_s)
    curriculum = curriculum or Everything(len(data[0]))
    result = fit(model, *data, curriculum, exp, np.random.default_rng(seed), checkpoint)
    return result, model


def scripted_uar(monkeypatch, script: list[float]) -> list[dict]:
    """Replace validation UAR by `script`; return the weight snapshots taken at each epoch."""
    snapshots = []

    def uar(model, split):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return script[len(snapshots) - 1]

    monkeypatch.setattr(loop, "validation_uar", uar)
    return snapshots


def learning_rates(result) -> list[float]:
    return [row["learning_rate"] for row in result.history]


def test_cosine_anneals_to_zero_over_num_epochs(data):
    result, _ = train(data, experiment(num_epochs=8, lr_scheduler="cosine"))
    expected = [LR * (1 + math.cos(math.pi * e / 8)) / 2 for e in range(8)]
    assert learning_rates(result) == pytest.approx(expected, rel=1e-9)


def test_step_multiplies_by_gamma_every_step_size(data):
    result, _ = train(data, experiment(num_epochs=7, lr_scheduler="step", lr_step_size=2))
    assert learning_rates(result) == pytest.approx([LR * 0.5 ** (e // 2) for e in range(7)])


def test_exponential_multiplies_by_gamma_each_epoch(data):
    exp = experiment(num_epochs=5, lr_scheduler="exponential", lr_gamma=0.8)
    assert learning_rates(train(data, exp)[0]) == pytest.approx([LR * 0.8**e for e in range(5)])


def test_no_scheduler_keeps_the_rate(data):
    assert learning_rates(train(data, experiment(num_epochs=3))[0]) == [LR] * 3


def test_plateau_reduces_after_patience_epochs_without_improvement(data, monkeypatch):
    # best 0.6 at epoch 1; epochs 2, 3 do not beat it (an equal UAR is no improvement), so
    # after epoch 3 (the second bad epoch, one more than patience 1) the rate halves.
    scripted_uar(monkeypatch, [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.69, 0.71])
    exp = experiment(num_epochs=8, lr_scheduler="plateau", lr_patience=1)
    rates = learning_rates(train(data, exp)[0])
    assert rates == pytest.approx([LR] * 4 + [LR / 2] * 3 + [LR / 4])


def test_unknown_scheduler_is_an_error(data):
    with pytest.raises(ValueError, match="unknown lr_scheduler 'linear'"):
        train(data, experiment(lr_scheduler="linear"))


@pytest.mark.parametrize(
    ("script", "patience", "min_delta", "epochs_run", "best"),
    [
        ([0.5, 0.8, 0.7, 0.6, 0.9, 0.95], 2, 0.0, 4, 1),
        # 0.72 and 0.74 beat the best (model selection) but not by min_delta (stopping).
        ([0.5, 0.7, 0.72, 0.74, 0.9, 0.95], 2, 0.05, 4, 3),
        ([0.5, 0.5, 0.6, 0.6, 0.6, 0.6], 3, 0.0, 6, 2),
    ],
)
def test_early_stopping_stops_and_keeps_the_best_weights(
    data, monkeypatch, script, patience, min_delta, epochs_run, best
):
    snapshots = scripted_uar(monkeypatch, script)
    exp = experiment(
        num_epochs=len(script),
        use_early_stopping=True,
        early_stopping_patience=patience,
        early_stopping_min_delta=min_delta,
    )
    result, model = train(data, exp)
    assert len(result.history) == epochs_run
    assert (result.best_epoch, result.best_score) == (best, script[best])
    for name, tensor in result.best_state.items():
        assert torch.equal(tensor, snapshots[best][name])
    final = model.state_dict()
    if best != epochs_run - 1:  # later epochs changed the model, not the kept copy
        assert any(not torch.equal(result.best_state[k], final[k]) for k in final)


def test_best_weights_equal_a_run_stopped_at_the_best_epoch(data, monkeypatch):
    script = [0.5, 0.8, 0.7, 0.6, 0.5]
    scripted_uar(monkeypatch, script)
    long, _ = train(data, experiment(num_epochs=5))
    assert long.best_epoch == 1
    scripted_uar(monkeypatch, script)
    exp = experiment(num_epochs=5, use_early_stopping=True, early_stopping_patience=1)
    short, _ = train(data, exp)
    assert len(short.history) == 3
    scripted_uar(monkeypatch, script)
    _, two_epochs = train(data, experiment(num_epochs=2))
    for name, tensor in long.best_state.items():
        assert torch.equal(tensor, short.best_state[name])
        assert torch.equal(tensor, two_epochs.state_dict()[name])


def test_focal_with_gamma_zero_is_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 4, generator=gen, dtype=torch.float64) * 3
    target = torch.randint(0, 4, (50,), generator=gen)
    weight = torch.tensor([0.5, 1.0, 2.0, 0.5], dtype=torch.float64)
    for w in (None, weight):
        for smoothing in (0.0, 0.1, 0.3):
            expected = nn.functional.cross_entropy(
                logits, target, weight=w, label_smoothing=smoothing
            )
            focal = FocalLoss(0.0, w, smoothing)(logits, target)
            torch.testing.assert_close(focal, expected, rtol=1e-12, atol=0)


def test_focal_has_the_right_sign_and_decreases_in_p_t():
    p_t = torch.linspace(0.05, 0.99, 40, dtype=torch.float64)
    logits = torch.stack([torch.log(p_t), torch.log1p(-p_t)], dim=1)  # two classes
    per_sample = torch.stack([FocalLoss(2.0)(row[None], torch.tensor([0])) for row in logits])
    torch.testing.assert_close(per_sample, -((1 - p_t) ** 2) * torch.log(p_t))
    assert (per_sample > 0).all()
    assert (per_sample.diff() < 0).all()
    # below cross-entropy, most of all for well-classified samples
    assert (per_sample < -torch.log(p_t)).all()


def test_focal_gradient_stays_finite_for_a_saturated_sample():
    logits = torch.tensor([[60.0, -60.0, 0.0, 0.0]], requires_grad=True)
    FocalLoss(0.5)(logits, torch.tensor([0])).backward()
    assert torch.isfinite(logits.grad).all()


def test_make_loss_builds_the_configured_loss(data):
    y = data[0].y
    focal = make_loss(experiment(loss="focal", focal_gamma=1.5, label_smoothing=0.1), y)
    assert isinstance(focal, FocalLoss)
    assert (focal.gamma, focal.label_smoothing) == (1.5, 0.1)
    torch.testing.assert_close(focal.weight, loop.class_weights(y))
    ce = make_loss(experiment(class_weights=False, label_smoothing=0.2), y)
    assert isinstance(ce, nn.CrossEntropyLoss)
    assert ce.weight is None and ce.label_smoothing == 0.2
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss(experiment(loss="hinge"), y)


def test_focal_training_learns(data):
    result, _ = train(data, experiment(loss="focal", num_epochs=8))
    assert result.best_score > 0.6


def test_self_paced_curriculum_gets_the_models_confidence_before_each_epoch(data):
    set_determinism(3)
    initial = true_class_confidence(Mlp(32), data[0])  # the model train() builds with seed 3
    curriculum = MostConfidentHalf()
    result, _ = train(data, experiment(num_epochs=3), curriculum=curriculum)
    assert len(curriculum.seen) == 3
    for confidence in curriculum.seen:
        assert confidence.dtype == np.float64 and confidence.shape == (len(data[0]),)
        assert ((confidence > 0) & (confidence < 1)).all()
    np.testing.assert_array_equal(curriculum.seen[0], initial)
    assert [row["samples_seen"] for row in result.history] == [240, 480, 720]
    assert [row["curriculum_fraction"] for row in result.history] == [0.5] * 3


def test_same_seed_same_history(data):
    exp = experiment(lr_scheduler="cosine", loss="focal")
    a, _ = train(data, exp)
    b, _ = train(data, exp)
    assert a.history == b.history
    assert a.best_epoch == b.best_epoch
    assert all(torch.equal(a.best_state[k], b.best_state[k]) for k in a.best_state)
    c, _ = train(data, exp, seed=4)
    assert c.history != a.history


def test_checkpoint_loads_weights_only_and_a_finished_run_is_not_retrained(
    data, tmp_path, monkeypatch
):
    path = tmp_path / "resume.pt"
    exp = experiment(num_epochs=3, lr_scheduler="plateau")
    first, _ = train(data, exp, checkpoint=path)
    state = torch.load(path, weights_only=True)
    assert set(state) == {"model", "optimizer", "scheduler", "progress", "rng"}
    assert state["progress"]["epoch"] == 3
    assert state["progress"]["history"] == first.history
    assert set(state["rng"]) == {"numpy", "torch"}

    def no_training(*args):
        raise AssertionError("a finished run trained again")

    monkeypatch.setattr(loop, "train_epoch", no_training)
    again, _ = train(data, exp, checkpoint=path)
    assert again.history == first.history and again.best_epoch == first.best_epoch
    assert all(torch.equal(first.best_state[k], again.best_state[k]) for k in first.best_state)


def run_script(checkpoint: Path, result: Path, log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, "-u", __file__, str(checkpoint), str(result)],
            stdout=out,
            stderr=out,
        )


def finish(process: subprocess.Popen) -> None:
    assert process.wait(timeout=120) == 0


def kill(process: subprocess.Popen) -> bool:
    """SIGKILL the run if it is still going; whether it was."""
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return True


def wait_until(condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_a_run_killed_at_any_moment_resumes_to_the_same_result(tmp_path):
    finish(run_script(tmp_path / "a.pt", tmp_path / "a.result", tmp_path / "a.log"))
    assert not (tmp_path / "a.pt").exists()  # the caller deleted it
    pace_s = 12 * 15 * PACE_S / 2  # half the paced time of epochs x batches

    ckpt, result, log = tmp_path / "b.pt", tmp_path / "b.result", tmp_path / "b.log"
    process = run_script(ckpt, result, log)
    wait_until(lambda: ckpt.exists())
    assert kill(process), "the run ended before it could be killed after its first epoch"
    kills, times = 1, random.Random(0)
    while kills < 4:  # at random moments after a resume, until a run outpaces its kill
        process = run_script(ckpt, result, log)
        wait_until(lambda n=kills: log.read_text().count("resuming from") == n)
        time.sleep(times.uniform(0.0, pace_s))
        if not kill(process) or result.exists():
            break
        kills += 1
    if not result.exists():
        finish(run_script(ckpt, result, log))
    assert log.read_text().count("resuming from") >= 3

    a = torch.load(tmp_path / "a.result", weights_only=True)
    b = torch.load(result, weights_only=True)
    assert b["history"] == a["history"]
    assert b["best_epoch"] == a["best_epoch"]
    assert all(torch.equal(a["best_state"][k], b["best_state"][k]) for k in a["best_state"])


def train_and_save(checkpoint: Path, result: Path) -> None:
    """A caller of fit: train the synthetic problem, write the result, delete the checkpoint."""
    exp = experiment(num_epochs=12, lr_scheduler="step", lr_step_size=3, use_early_stopping=True)
    fitted, _ = train(synthetic(), exp, seed=11, checkpoint=checkpoint, pace_s=PACE_S)
    with atomic(result) as tmp:
        torch.save(
            {
                "history": fitted.history,
                "best_epoch": fitted.best_epoch,
                "best_state": fitted.best_state,
            },
            tmp,
        )
    checkpoint.unlink()


if __name__ == "__main__":
    train_and_save(Path(sys.argv[1]), Path(sys.argv[2]))

"""Training throughput: our tensors-on-device path against per-sample Dataset + DataLoader.

Usage: python benchmarks/train_throughput.py [--epochs 3] [--device cpu] [--threads 1]
    [--profile]

Both paths train the same EmotionClassifier (schema defaults: hidden 256, dropout 0.2, AdamW
lr 1e-3, weight decay 1e-4, batch 64, class-weighted cross-entropy) from the same initial
weights on 20,000 x 768 synthetic features (4 gaussian classes, overlapping a little), and
validate on a held-out 4,000 after every epoch, in one process:

- ours: the real `fit` (features in one tensor, a batch is an index slice of a permutation);
- baseline: what straightforward research code does, a map-style Dataset returning
  {"features": tensor, "label": tensor} per sample, DataLoader(batch_size=64, shuffle=True) with
  the default collate, and the same per-epoch validation through a DataLoader.

Reports training samples/s of each (epochs x 20,000 / wall time, validation included), their
ratio and each final validation accuracy. --profile prints where our path spends its time.
"""

import argparse
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from xcorpus.train.curriculum import Curriculum
from xcorpus.train.data import Split
from xcorpus.train.loop import (
    class_weights,
    fit,
    make_loss,
    make_optimizer,
    predict_proba,
    set_determinism,
    train_epoch,
)
from xcorpus.train.models import EmotionClassifier, ModelConfig, standardisation
from xcorpus.train.settings import Settings

SEED = 0


def experiment(epochs: int) -> Settings:
    """The schema's defaults (those of train_scale's experiment, without a curriculum)."""
    from train_scale import experiment as scale_experiment

    return scale_experiment(epochs, frames=False)


def synthetic(n: int, dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian classes whose means are about 2.7 noise std apart: separable, but not quite."""
    y = rng.integers(0, 4, n)
    means = rng.normal(size=(4, dim)) * 0.07
    return (means[y] + rng.normal(size=(n, dim))).astype(np.float32), y


def split(x: np.ndarray, y: np.ndarray, device: torch.device) -> Split:
    ids = np.array([str(i) for i in range(len(y))], dtype=object)
    corpus = np.full(len(y), "SYN", dtype=object)
    return Split(ids, corpus, {"audio": torch.from_numpy(x)}, torch.from_numpy(y)).to(device)


def build_model(exp: Settings, x_train: np.ndarray, device: torch.device) -> EmotionClassifier:
    """The classifier with the same initial weights on every call."""
    torch.manual_seed(SEED)
    stats = {"audio": standardisation(torch.from_numpy(x_train))}
    config = ModelConfig.from_settings(exp, {"audio": x_train.shape[1]})
    return EmotionClassifier(config, stats).to(device)


def run_ours(exp: Settings, train: Split, val: Split, x_train: np.ndarray) -> tuple[float, float]:
    """Seconds and final validation accuracy of `fit`."""
    model = build_model(exp, x_train, train.y.device)
    start = time.perf_counter()
    fit(model, train, val, Curriculum.everything(len(train)), exp, np.random.default_rng(SEED))
    seconds = time.perf_counter() - start
    accuracy = (predict_proba(model, val).argmax(axis=1) == val.y.cpu().numpy()).mean()
    return seconds, float(accuracy)


class FeatureDataset(Dataset):
    """Per-sample access, as research code writes it."""

    def __init__(self, features: np.ndarray, labels: np.ndarray):
        self.features, self.labels = features, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> dict[str, torch.Tensor]:
        return {
            "features": torch.tensor(self.features[idx], dtype=torch.float32),
            "label": torch.tensor(self.labels[idx], dtype=torch.long),
        }


def baseline_accuracy(model: nn.Module, loader: DataLoader, device: torch.device) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for batch in loader:
            logits = model({"audio": batch["features"].to(device)})
            correct += (logits.argmax(dim=1).cpu() == batch["label"]).sum().item()
    return correct / len(loader.dataset)


def run_baseline(
    exp: Settings, data: tuple[np.ndarray, ...], device: torch.device
) -> tuple[float, float]:
    """Seconds and final validation accuracy of the Dataset + DataLoader loop."""
    x_train, y_train, x_val, y_val = data
    model = build_model(exp, x_train, device)
    weight = class_weights(torch.from_numpy(y_train)).to(device)
    criterion = nn.CrossEntropyLoss(weight=weight)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=exp.learning_rate, weight_decay=exp.weight_decay
    )
    train_loader = DataLoader(FeatureDataset(x_train, y_train), batch_size=64, shuffle=True)
    val_loader = DataLoader(FeatureDataset(x_val, y_val), batch_size=64)
    start = time.perf_counter()
    for epoch in range(exp.num_epochs):
        model.train()
        total = 0.0
        for batch in train_loader:
            logits = model({"audio": batch["features"].to(device)})
            loss = criterion(logits, batch["label"].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        accuracy = baseline_accuracy(model, val_loader, device)
        print(f"baseline epoch {epoch}: loss {total / len(train_loader):.4f}, acc {accuracy:.4f}")
    return time.perf_counter() - start, accuracy


def profile_ours(exp: Settings, train: Split, x_train: np.ndarray) -> None:
    """Operator-level profile of one training epoch of our path."""
    model = build_model(exp, x_train, train.y.device)
    optimizer, loss_fn = make_optimizer(model, exp), make_loss(exp, train.y)
    order = np.random.default_rng(SEED).permutation(len(train))
    with torch.profiler.profile() as prof:
        train_epoch(model, optimizer, loss_fn, train, order, exp.batch_size)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (workflow: 1)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    set_determinism(SEED)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(SEED)
    x, y = synthetic(24_000, 768, rng)
    data = (x[:20_000], y[:20_000], x[20_000:], y[20_000:])
    exp = experiment(args.epochs)
    train, val = split(data[0], data[1], device), split(data[2], data[3], device)

    ours_s, ours_acc = run_ours(exp, train, val, data[0])
    base_s, base_acc = run_baseline(exp, data, device)
    samples = args.epochs * len(train)
    print(f"\n{args.epochs} epochs x {len(train)} samples, device {device}, {args.threads} threads")
    print(f"ours      {samples / ours_s:10.0f} samples/s  ({ours_s:.1f} s)  val acc {ours_acc:.4f}")
    print(f"baseline  {samples / base_s:10.0f} samples/s  ({base_s:.1f} s)  val acc {base_acc:.4f}")
    print(f"ratio     {base_s / ours_s:10.2f}x")
    if args.profile:
        profile_ours(exp, train, data[0])


if __name__ == "__main__":
    main()

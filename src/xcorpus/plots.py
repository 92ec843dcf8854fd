"""Figures for the workflow report: what the numbers in the tables look like.

Every figure is drawn from the files the workflow wrote (summary CSV, metrics.json,
history.csv, predictions.parquet, difficulty parquets, and for the feature maps the features,
manifests and indexes), so the report shows exactly what the tables hold. Matplotlib runs
headless (Agg).
"""

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the headless backend
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from xcorpus.aggregate import read_run, split_results
from xcorpus.difficulty import COMMON_SCALE
from xcorpus.feature_map import Panel
from xcorpus.labels import CLASSES
from xcorpus.metrics import DIMENSIONS
from xcorpus.tables import atomic

DPI = 110
DIFFICULTY_BINS = 5


def _save(figure: plt.Figure, out: Path) -> None:
    with atomic(out) as tmp:
        figure.savefig(tmp, dpi=DPI, bbox_inches="tight", format=Path(out).suffix[1:])
    plt.close(figure)


def uar_heatmap(summary_csv: Path, out: Path) -> None:
    """Experiments x (validation, test corpora, in-corpus tests) mean UAR, each cell annotated
    mean ± std. The colour scale starts at 0.25, chance for four classes; a test set with
    fewer classes has a higher chance level (1 / classes present), as the colour bar says."""
    summary = pd.read_csv(summary_csv)
    columns = [c.removesuffix("_uar_mean") for c in summary.columns if c.endswith("_uar_mean")]
    means = summary[[f"{c}_uar_mean" for c in columns]].to_numpy(float)
    stds = summary[[f"{c}_uar_std" for c in columns]].to_numpy(float)
    figure, ax = plt.subplots(figsize=(1.6 + 1.3 * len(columns), 1.0 + 0.6 * len(summary)))
    image = ax.imshow(np.ma.masked_invalid(means), cmap="viridis", vmin=0.25, vmax=1.0)
    for (i, j), mean in np.ndenumerate(means):
        if np.isfinite(mean):
            text = f"{mean:.3f}" + (f"\n± {stds[i, j]:.3f}" if np.isfinite(stds[i, j]) else "")
            ax.text(j, i, text, ha="center", va="center", color="white", fontsize=8)
    ax.set_xticks(
        range(len(columns)), [c.replace("validation", "validation (selection)") for c in columns]
    )
    ax.set_yticks(range(len(summary)), summary["experiment"])
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    ax.set_xlabel("tested on")
    ax.set_ylabel("experiment (training set)")
    figure.colorbar(image, ax=ax, label="UAR (chance: 1 / classes in the test set)")
    _save(figure, out)


def confusion_totals(metrics_paths: list[Path]) -> dict[str, np.ndarray]:
    """Per split, named and combined as in the tables (a seed's cross-corpus validation, not
    its LOSO folds'; `IEMO LOSO` for held-out sessions), the confusion counts summed over seeds
    (none for a model without a class head, task dimensional)."""
    run = read_run(metrics_paths)
    return {
        split: np.sum([np.asarray(r.metrics["confusion"], dtype=float) for r in seeds.values()], 0)
        for split, seeds in split_results(run.experiment, run.metrics).items()
        if all("confusion" in r.metrics for r in seeds.values())
    }


def _placeholder(text: str, out: Path) -> None:
    """A figure that says why there is nothing to draw, so the report keeps its place."""
    figure, ax = plt.subplots(figsize=(5, 1.5))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.set_axis_off()
    _save(figure, out)


def confusion_matrices(metrics_paths: list[Path], out: Path) -> None:
    """One row-normalised confusion matrix per split, summed over the seeds' runs."""
    totals = confusion_totals(metrics_paths)
    if not totals:
        _placeholder("task dimensional: no class head, no confusion matrix", out)
        return
    figure, axes = plt.subplots(1, len(totals), figsize=(3.2 * len(totals), 3.2), squeeze=False)
    for ax, (split, counts) in zip(axes[0], totals.items(), strict=True):
        rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for (i, j), rate in np.ndenumerate(rates):
            ax.text(j, i, f"{rate:.2f}", ha="center", va="center", fontsize=7)
        name = "validation (selection)" if split == "validation" else split
        ax.set_title(f"{name} (n={int(counts.sum())})", fontsize=9)
        ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=45, fontsize=7)
        ax.set_yticks(range(len(CLASSES)), CLASSES, fontsize=7)
        ax.set_xlabel("predicted", fontsize=8)
    axes[0][0].set_ylabel("true", fontsize=8)
    _save(figure, out)


def _run_label(path: Path) -> str:
    run = Path(path).parent  # seed-1, or seed-1/fold-3 in leave-one-session-out
    return f"{run.parent.name}/{run.name}" if run.name.startswith("fold-") else run.name


def learning_curves(history_paths: list[Path], out: Path) -> None:
    """Validation UAR (mean validation CCC without a class head) and training loss per epoch
    for each seed, with the curriculum fraction; for a classical classifier, validation UAR
    per grid point."""
    if history_paths and "grid_point" in pd.read_csv(history_paths[0], nrows=0).columns:
        grid_curves(history_paths, out)
        return
    figure, (uar_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    fraction_ax = uar_ax.twinx()
    score = "validation UAR"
    for path in history_paths:
        history = pd.read_csv(path)
        label = _run_label(path)
        column = "val_uar" if "val_uar" in history else "val_ccc_mean"
        score = "validation UAR" if column == "val_uar" else "validation CCC (mean over V/A/D)"
        uar_ax.plot(history["epoch"], history[column], marker=".", label=label)
        loss_ax.plot(history["epoch"], history["train_loss"], marker=".", label=label)
        fraction_ax.plot(
            history["epoch"], history["curriculum_fraction"], color="grey", ls=":", lw=1
        )
    uar_ax.set(xlabel="epoch", ylabel=score, title="validation score")
    fraction_ax.set_ylabel("curriculum fraction (dotted)", color="grey")
    fraction_ax.set_ylim(0, 1.05)
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="training loss")
    uar_ax.legend(fontsize=7)
    _save(figure, out)


def grid_curves(history_paths: list[Path], out: Path) -> None:
    """A classical classifier's validation UAR per grid point (history.csv rows), the chosen
    point circled; seeds of a deterministic classifier coincide."""
    figure, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    for path in history_paths:
        history = pd.read_csv(path)
        run = Path(path).parent
        label = f"{run.parent.name}/{run.name}" if run.name.startswith("fold-") else run.name
        ax.plot(history["grid_point"], history["val_uar"], marker=".", label=label)
        chosen = history[history["selected"]]
        ax.scatter(chosen["grid_point"], chosen["val_uar"], s=120, facecolors="none",
                   edgecolors="black")  # fmt: skip
    ax.set(xlabel="grid point (history.csv)", ylabel="validation UAR",
           title="model selection criterion per grid point (circled: chosen)")  # fmt: skip
    ax.legend(fontsize=7)
    _save(figure, out)


def accuracy_by_difficulty(
    predictions_paths: list[Path], difficulty_paths: list[Path], out: Path
) -> None:
    """Validation accuracy per difficulty quintile (pooled over seeds): do the utterances the
    curriculum calls hard really get misclassified more?"""
    figure, ax = plt.subplots(figsize=(5, 3.5))
    scores = _difficulty(difficulty_paths)
    columns = ["utt_id", "role", "label", "pred"]  # not the class probabilities
    predictions = pd.concat(
        [pq.read_table(p, columns=columns).to_pandas() for p in predictions_paths]
    )
    classified = (
        (predictions["role"] == "val") & predictions["pred"].notna() & predictions["label"].notna()
    )
    rows = predictions[classified].merge(scores, on="utt_id")
    if len(rows) < DIFFICULTY_BINS:
        ax.text(0.5, 0.5, "no validation class predictions with a difficulty", ha="center")
        ax.set_axis_off()
    else:
        rows["bin"] = pd.qcut(
            rows["difficulty"].rank(method="first"), DIFFICULTY_BINS, labels=False
        )
        correct = (rows["label"] == rows["pred"]).groupby(rows["bin"])
        ax.bar(range(1, DIFFICULTY_BINS + 1), correct.mean(), color="tab:orange")
        ax.set(xlabel="difficulty quintile (1 = easiest)", ylabel="validation accuracy")
        ax.set_ylim(0, 1)
        ax.set_title(f"{len(rows)} validation predictions", fontsize=9)
    _save(figure, out)


def _difficulty(paths: list[Path]) -> pd.DataFrame:
    tables = [pq.read_table(p, columns=["utt_id", "difficulty"]).to_pandas() for p in paths]
    return pd.concat(tables) if tables else pd.DataFrame({"utt_id": [], "difficulty": []})


def feature_map(panels: list[Panel], feature_set: str, out: Path) -> None:
    """One column per panel (as extracted, then each normalisation), coloured by corpus (top)
    and by class (bottom): how far apart the corpora lie, and whether the classes do."""
    figure, axes = plt.subplots(
        2, len(panels), figsize=(4.2 * len(panels), 8), squeeze=False, layout="constrained"
    )
    corpora = list(dict.fromkeys(c for p in panels for c in p.corpus))
    # matplotlib's stubs type tab10 and Set1 as Colormap, which has no `colors`; both are
    # ListedColormaps, whose colours are a tuple of RGB tuples.
    tab10, set1 = plt.cm.tab10.colors, plt.cm.Set1.colors  # type: ignore[attr-defined]
    colours = {"corpus": dict(zip(corpora, tab10, strict=False))}
    colours["class"] = dict(zip(CLASSES, set1, strict=False))
    for column, p in enumerate(panels):
        groups = {"corpus": p.corpus, "class": np.array(CLASSES, dtype=object)[p.label]}
        for row, (by, values) in enumerate(groups.items()):
            ax = axes[row][column]
            for name, colour in colours[by].items():
                mine = values == name
                if mine.any():
                    ax.scatter(*p.points[mine].T, s=6, color=colour, label=name, alpha=0.7)
            ax.set_title(f"{p.title} ({p.embedding}), by {by}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if column == len(panels) - 1:
                ax.legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    counts = ", ".join(f"{c} {int((panels[0].corpus == c).sum())}" for c in corpora)
    figure.suptitle(f"{feature_set}: {len(panels[0].corpus)} utterances ({counts})", fontsize=10)
    _save(figure, out)


def vad_scatter(predictions_paths: list[Path], out: Path) -> None:
    """True against predicted V/A/D (common 1-5 scale) per split (rows) and dimension
    (columns), pooled over seeds, with the identity line; unrated splits are left out."""
    columns = ["utt_id", "corpus", "role", *DIMENSIONS, *(f"pred_{d}" for d in DIMENSIONS)]
    rows = pd.concat([pq.read_table(p, columns=columns).to_pandas() for p in predictions_paths])
    rows = rows.dropna(subset=list(DIMENSIONS))
    names: dict[str, Callable[[str], str]] = {
        "val": lambda c: "validation (selection)",
        "test": str,
        "heldout": "{} in-corpus".format,
    }
    rows["split"] = [names[r](c) for r, c in zip(rows["role"], rows["corpus"], strict=True)]
    splits = list(dict.fromkeys(rows["split"]))
    if not splits:
        _placeholder("no rated utterance in any split", out)
        return
    figure, axes = plt.subplots(
        len(splits),
        len(DIMENSIONS),
        figsize=(9, 2.9 * len(splits)),
        squeeze=False,
        layout="constrained",
    )
    low, high = COMMON_SCALE
    for i, split in enumerate(splits):
        members = rows[rows["split"] == split]
        for ax, d in zip(axes[i], DIMENSIONS, strict=True):
            ax.scatter(members[d], members[f"pred_{d}"], s=3, alpha=0.3, rasterized=True)
            ax.plot([low, high], [low, high], color="grey", lw=1, ls="--")
            ax.set(xlim=(low, high), xlabel=f"true {d}", ylabel=f"predicted {d}")
            n = members["utt_id"].nunique()
            ax.set_title(f"{split} (n={n}, {len(members)} points)", fontsize=9)
    _save(figure, out)


def ccc_curves(history_paths: list[Path], out: Path) -> None:
    """Validation CCC per epoch for each seed: one panel per dimension and one for their mean."""
    panels = (*DIMENSIONS, "mean")
    figure, axes = plt.subplots(1, len(panels), figsize=(13, 3.2), layout="constrained")
    for path in history_paths:
        history = pd.read_csv(path)
        for ax, d in zip(axes, panels, strict=True):
            ax.plot(history["epoch"], history[f"val_ccc_{d}"], marker=".", label=_run_label(path))
    for ax, d in zip(axes, panels, strict=True):
        ax.set(xlabel="epoch", ylabel=f"validation CCC {d}")
    axes[0].legend(fontsize=7)
    _save(figure, out)

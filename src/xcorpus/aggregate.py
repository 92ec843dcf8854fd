"""Per-seed metrics into tables: one per experiment, and the cross-corpus UAR summary.

Spread over seeds is the sample standard deviation (ddof=1), the estimate of seed-to-seed
variation; with one seed it is undefined and left null rather than reported as 0.
"""

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from xcorpus.tables import write_csv, write_text

METRICS = ("uar", "accuracy", "macro_f1")
VALIDATION = "validation"

EXPERIMENT_SCHEMA = pa.schema(
    [
        pa.field("experiment", pa.string(), nullable=False),
        pa.field("train", pa.string(), nullable=False),
        pa.field("seed", pa.string(), nullable=False),  # a seed, or "mean" / "std"
        pa.field("split", pa.string(), nullable=False),  # "validation" or a test corpus
        *(pa.field(m, pa.float64()) for m in METRICS),
        pa.field("n", pa.int64()),
    ]
)


class Run(NamedTuple):
    """One experiment's results: its name, training-set name and metrics.json per seed."""

    experiment: str
    train: str
    metrics: dict[int, dict]


def read_run(paths: list[Path]) -> Run:
    """The results of one experiment's seeds, checked to belong together.

    Per seed, a cross-corpus `metrics.json` and/or a leave-one-session-out `loso.json`; with
    both, the LOSO result joins the cross-corpus one's in-corpus tests.
    """
    loaded = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    if not loaded:
        raise ValueError("no metrics.json files to aggregate")
    first = loaded[0]
    metrics: dict[int, dict] = {}
    seen: set[tuple[int, str]] = set()
    for path, m in zip(paths, loaded, strict=True):
        if (m["experiment"], m["train"]) != (first["experiment"], first["train"]):
            raise ValueError(f"{path} belongs to {m['experiment']}, not {first['experiment']}")
        kind = "loso" if "folds" in m else "cross_corpus"
        if (m["seed"], kind) in seen:
            raise ValueError(f"{path}: seed {m['seed']} of {m['experiment']} given twice")
        seen.add((m["seed"], kind))
        m = _loso_labelled(m) if kind == "loso" else m
        metrics[m["seed"]] = _merge(metrics[m["seed"]], m) if m["seed"] in metrics else m
    return Run(first["experiment"], first["train"], metrics)


def _loso_labelled(loso: dict) -> dict:
    """A LOSO result whose in-corpus test is named `<corpus> LOSO`."""
    in_corpus = {f"{c} LOSO": m for c, m in loso["in_corpus"].items()}
    n = loso["n"] | {"in_corpus": {f"{c} LOSO": k for c, k in loso["n"]["in_corpus"].items()}}
    return loso | {"in_corpus": in_corpus, "n": n}


def _merge(a: dict, b: dict) -> dict:
    """One seed's cross-corpus and LOSO results: the cross-corpus run's, plus LOSO in-corpus."""
    cross, loso = (b, a) if "folds" in a else (a, b)
    n = cross["n"] | {"in_corpus": cross["n"].get("in_corpus", {}) | loso["n"]["in_corpus"]}
    return cross | {"in_corpus": cross.get("in_corpus", {}) | loso["in_corpus"], "n": n}


def mean_std(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample std (None for a single value)."""
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else None
    return float(array.mean()), std


def split_results(name: str, metrics: dict[int, dict]) -> dict[str, dict[int, tuple[dict, int]]]:
    """split -> seed -> (metrics, n); "validation" first, then test corpora in metrics order,
    then in-corpus tests (an official test split, or LOSO's held-out sessions).

    Raises ValueError when there are no seeds or the seeds disagree on the splits or their sizes
    (runs from different manifests mixed together).
    """
    if not metrics:
        raise ValueError(f"experiment {name}: no seeds to aggregate")
    splits: dict[str, dict[int, tuple[dict, int]]] = {}
    for seed, m in metrics.items():
        results = {VALIDATION: (m["validation"], m["n"]["validation"])}
        results |= {c: (m["test"][c], m["n"]["test"][c]) for c in m["test"]}
        in_corpus = m.get("in_corpus", {})
        results |= {_in_corpus(c): (in_corpus[c], m["n"]["in_corpus"][c]) for c in in_corpus}
        if splits and list(results) != list(splits):
            raise ValueError(f"experiment {name}: seed {seed} has splits {list(results)}")
        for split, (values, n) in results.items():
            sizes = {size for _, size in splits.get(split, {}).values()}
            if sizes and sizes != {n}:
                raise ValueError(f"experiment {name}: seed {seed} has {n} {split} utterances")
            splits.setdefault(split, {})[seed] = (values, n)
    return splits


def _in_corpus(name: str) -> str:
    """The split name of an in-corpus test: `MSPP in-corpus` (an official test split) or
    `IEMO LOSO` (the mean over held-out sessions)."""
    return name if name.endswith(" LOSO") else f"{name} in-corpus"


def experiment_table(name: str, train: str, metrics: dict[int, dict]) -> pa.Table:
    """One row per seed and split, then a "mean" and a "std" row per split."""
    rows = []
    splits = split_results(name, metrics)
    for seed in metrics:
        for split, by_seed in splits.items():
            values, n = by_seed[seed]
            rows.append(
                {"seed": str(seed), "split": split, "n": n} | {k: values[k] for k in METRICS}
            )
    for split, by_seed in splits.items():
        stats = {k: mean_std([values[k] for values, _ in by_seed.values()]) for k in METRICS}
        n = next(iter(by_seed.values()))[1]
        rows.append({"seed": "mean", "split": split, "n": n} | {k: s[0] for k, s in stats.items()})
        rows.append(
            {"seed": "std", "split": split, "n": None} | {k: s[1] for k, s in stats.items()}
        )
    rows = [{"experiment": name, "train": train} | row for row in rows]
    return pa.Table.from_pylist(rows, schema=EXPERIMENT_SCHEMA)


def cross_corpus_table(runs: list[tuple[str, str, dict[int, dict]]]) -> pa.Table:
    """One row per experiment: in-corpus (validation) and per-test-corpus UAR mean and std.

    Test corpora are ordered by first appearance; a corpus an experiment did not test on (it
    was a training corpus) is null.
    """
    if not runs:
        raise ValueError("no experiments to aggregate")
    results = [split_results(name, metrics) for name, _, metrics in runs]
    corpora = list(dict.fromkeys(s for splits in results for s in splits if s != VALIDATION))
    columns = ["in_corpus", *corpora]
    fields = [
        pa.field("experiment", pa.string(), nullable=False),
        pa.field("train", pa.string(), nullable=False),
        pa.field("n_seeds", pa.int64(), nullable=False),
        *(pa.field(f"{c}_uar_{stat}", pa.float64()) for c in columns for stat in ("mean", "std")),
    ]
    rows = []
    for (name, train, metrics), splits in zip(runs, results, strict=True):
        row = {"experiment": name, "train": train, "n_seeds": len(metrics)}
        for column in columns:
            by_seed = splits.get(VALIDATION if column == "in_corpus" else column)
            mean, std = (
                mean_std([v["uar"] for v, _ in by_seed.values()]) if by_seed else (None, None)
            )
            row |= {f"{column}_uar_mean": mean, f"{column}_uar_std": std}
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


def _cell(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "—"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"


def markdown_table(table: pa.Table) -> str:
    """The cross-corpus table as Markdown: experiments x (in-corpus, test corpora) UAR."""
    corpora = [
        c.removesuffix("_uar_mean")
        for c in table.column_names
        if c.endswith("_uar_mean") and c != "in_corpus_uar_mean"
    ]
    header = ["Experiment", "Train", "Seeds", "In-corpus (val)", *corpora]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---", "---:"] + ["---:"] * (1 + len(corpora))) + "|",
    ]
    for row in table.to_pylist():
        cells = [row["experiment"], row["train"], str(row["n_seeds"])]
        for c in ["in_corpus", *corpora]:
            cells.append(_cell(row[f"{c}_uar_mean"], row[f"{c}_uar_std"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_experiment_table(run: Run, path: Path) -> pa.Table:
    """results/tables/{experiment}.csv: per-seed rows plus mean and std per split."""
    table = experiment_table(*run)
    write_csv(table, path)
    return table


def write_summary(runs: list[Run], csv_path: Path, md_path: Path) -> str:
    """The cross-corpus summary as CSV and Markdown; prints and returns the Markdown."""
    summary = cross_corpus_table(runs)
    write_csv(summary, csv_path)
    markdown = markdown_table(summary)
    write_text(markdown, md_path)
    print(markdown, end="")
    return markdown

"""Per-seed metrics into tables: one per experiment, and the cross-corpus UAR summary.

Spread over seeds is the sample standard deviation (ddof=1), the estimate of seed-to-seed
variation; the 95% confidence interval of the mean is mean ± t(0.975, n-1) · s / sqrt(n), the
t interval, since a handful of seeds is far from the normal approximation. With one seed both
are undefined and left null rather than reported as 0.

A seed counts only when all of its results exist (metrics.json and/or loso.json, as its
evaluation_mode asks), so every cell of a row averages the same seeds; expected seeds without
results are listed as missing next to the number of seeds averaged, never silently dropped.
"""

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from scipy import stats

from xcorpus.tables import write_csv, write_text

METRICS = ("uar", "accuracy", "macro_f1")
VALIDATION = "validation"

EXPERIMENT_SCHEMA = pa.schema(
    [
        pa.field("experiment", pa.string(), nullable=False),
        pa.field("train", pa.string(), nullable=False),
        # A seed, or a statistic over seeds: "mean", "std", "ci95_low", "ci95_high".
        pa.field("seed", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),  # "validation" or a test corpus
        *(pa.field(m, pa.float64()) for m in METRICS),
        pa.field("n", pa.int64()),  # utterances in the split (per-seed and "mean" rows)
        pa.field("n_seeds", pa.int64(), nullable=False),  # seeds the row summarises
        pa.field("missing_seeds", pa.string()),  # expected seeds without results, "3;5"
    ]
)
STATISTICS = ("mean", "std", "ci95_low", "ci95_high")
# The results files each seed must have, by evaluation_mode.
EXPECTED_KINDS = {
    "cross_corpus": {"cross_corpus"},
    "loso": {"loso"},
    "both": {"cross_corpus", "loso"},
}


class Run(NamedTuple):
    """One experiment's results: its name, training-set name, metrics.json per seed, and the
    expected seeds that have no (complete) results."""

    experiment: str
    train: str
    metrics: dict[int, dict]
    missing: tuple[int, ...] = ()


def read_run(paths: list[Path]) -> Run:
    """The results of one experiment's seeds, checked to belong together.

    Per seed, a cross-corpus `metrics.json` and/or a leave-one-session-out `loso.json`; with
    both, the LOSO result joins the cross-corpus one's in-corpus tests.
    """
    return _combine(paths, [_read(p) for p in paths])


def _combine(paths: list[Path], loaded: list[dict]) -> Run:
    """read_run on results already read (`loaded[i]` from `paths[i]`)."""
    if not loaded:
        raise ValueError("no metrics.json files to aggregate")
    first = loaded[0]
    metrics: dict[int, dict] = {}
    seen: set[tuple[int, str]] = set()
    for path, m in zip(paths, loaded, strict=True):
        if (m["experiment"], m["train"]) != (first["experiment"], first["train"]):
            raise ValueError(f"{path} belongs to {m['experiment']}, not {first['experiment']}")
        kind = _kind(m)
        if (m["seed"], kind) in seen:
            raise ValueError(f"{path}: seed {m['seed']} of {m['experiment']} given twice")
        seen.add((m["seed"], kind))
        m = _loso_labelled(m) if kind == "loso" else m
        metrics[m["seed"]] = _merge(metrics[m["seed"]], m) if m["seed"] in metrics else m
    return Run(first["experiment"], first["train"], metrics)


def _read(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _kind(metrics: dict) -> str:
    """ "loso" for a seed's leave-one-session-out mean (it lists its folds), else "cross_corpus"."""
    return "loso" if "folds" in metrics else "cross_corpus"


def _missing(experiment: dict, loaded: list[dict]) -> tuple[int, ...]:
    kinds: dict[int, set[str]] = {}
    for m in loaded:
        if m["experiment"] != experiment["name"]:
            raise ValueError(f"results of {m['experiment']} given for {experiment['name']}")
        kinds.setdefault(m["seed"], set()).add(_kind(m))
    needed = EXPECTED_KINDS[experiment["evaluation_mode"]]
    return tuple(s for s in experiment["seeds"] if not needed <= kinds.get(s, set()))


def read_experiment(experiment: dict, found: Iterable[Path]) -> Run:
    """The results of the experiment's complete seeds, with the missing ones listed.

    Raises ValueError naming the experiment when no expected seed has complete results.
    """
    found = list(found)
    loaded = [_read(p) for p in found]
    missing = _missing(experiment, loaded)
    complete = set(experiment["seeds"]) - set(missing)
    if not complete:
        raise ValueError(
            f"experiment {experiment['name']}: none of its seeds {list(experiment['seeds'])} "
            "has complete results"
        )
    if missing:
        print(
            f"warning: experiment {experiment['name']}: no results for seed(s) "
            f"{', '.join(map(str, missing))}; aggregating {len(complete)} of "
            f"{len(experiment['seeds'])}"
        )
    kept = [(p, m) for p, m in zip(found, loaded, strict=True) if m["seed"] in complete]
    paths, results = [p for p, _ in kept], [m for _, m in kept]
    return _combine(paths, results)._replace(missing=missing)


def _loso_labelled(loso: dict) -> dict:
    """A LOSO result whose in-corpus test is named `<corpus> LOSO`."""
    in_corpus = {f"{c} LOSO": m for c, m in loso["in_corpus"].items()}
    n = loso["n"] | {"in_corpus": {f"{c} LOSO": k for c, k in loso["n"]["in_corpus"].items()}}
    return loso | {"in_corpus": in_corpus, "n": n}


def _merge(a: dict, b: dict) -> dict:
    """One seed's cross-corpus and LOSO results: the cross-corpus run's, plus LOSO in-corpus."""
    cross, loso = (b, a) if _kind(a) == "loso" else (a, b)
    n = cross["n"] | {"in_corpus": cross["n"].get("in_corpus", {}) | loso["n"]["in_corpus"]}
    return cross | {"in_corpus": cross.get("in_corpus", {}) | loso["in_corpus"], "n": n}


def loso_mean(fold_metrics: list[Path], out: Path) -> dict:
    """The seed's leave-one-session-out result: per metric the mean over folds of validation
    and of the held-out session (confusion matrices summed), with the folds listed."""
    folds = [_read(p) for p in fold_metrics]
    first = folds[0]
    (corpus,) = first["in_corpus"]
    summary = {
        "experiment": first["experiment"],
        "train": first["train"],
        "seed": first["seed"],
        "folds": [f["fold"] for f in folds],
        "validation": mean_metrics([f["validation"] for f in folds]),
        "test": {},
        "in_corpus": {corpus: mean_metrics([f["in_corpus"][corpus] for f in folds])},
        "n": {
            "validation": sum(f["n"]["validation"] for f in folds),
            "test": {},
            "in_corpus": {corpus: sum(f["n"]["in_corpus"][corpus] for f in folds)},
        },
    }
    write_text(json.dumps(summary, indent=2) + "\n", out)
    return summary


def mean_metrics(metrics: list[dict]) -> dict:
    """Mean UAR, accuracy and macro-F1 over folds; the confusion matrices summed."""
    mean = {k: float(np.mean([m[k] for m in metrics])) for k in METRICS}
    confusion = np.sum([np.asarray(m["confusion"]) for m in metrics], axis=0)
    return mean | {"confusion": confusion.tolist()}


def mean_std(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample std (None for a single value)."""
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else None
    return float(array.mean()), std


def summarise(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, sample std and the t-distribution 95% confidence interval of the mean (None for
    std and interval with a single value)."""
    mean, std = mean_std(list(values))
    if std is None:
        return {"mean": mean, "std": None, "ci95_low": None, "ci95_high": None}
    half = float(stats.t.ppf(0.975, len(values) - 1)) * std / np.sqrt(len(values))
    return {"mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}


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


def experiment_table(
    name: str, train: str, metrics: dict[int, dict], missing: Sequence[int] = ()
) -> pa.Table:
    """One row per seed and split, then per split the rows "mean", "std", "ci95_low" and
    "ci95_high" over the seeds, which carry n_seeds and the missing seeds."""
    rows = []
    splits = split_results(name, metrics)
    for seed in metrics:
        for split, by_seed in splits.items():
            values, n = by_seed[seed]
            rows.append(
                {"seed": str(seed), "split": split, "n": n, "n_seeds": 1}
                | {k: values[k] for k in METRICS}
            )
    over_seeds = {"n_seeds": len(metrics), "missing_seeds": _seed_list(missing)}
    for split, by_seed in splits.items():
        summary = {k: summarise([values[k] for values, _ in by_seed.values()]) for k in METRICS}
        n = next(iter(by_seed.values()))[1]
        for stat in STATISTICS:
            rows.append(
                {"seed": stat, "split": split, "n": n if stat == "mean" else None}
                | over_seeds
                | {k: summary[k][stat] for k in METRICS}
            )
    rows = [{"experiment": name, "train": train} | row for row in rows]
    return pa.Table.from_pylist(rows, schema=EXPERIMENT_SCHEMA)


def _seed_list(seeds: Sequence[int]) -> str | None:
    return ";".join(map(str, seeds)) or None


def cross_corpus_table(runs: list[Run]) -> pa.Table:
    """One row per experiment: in-corpus (validation) and per-test-corpus UAR mean, std and 95%
    confidence interval over its n_seeds seeds, with the expected seeds that are missing.

    Test corpora are ordered by first appearance; a corpus an experiment did not test on (it
    was a training corpus) is null.
    """
    if not runs:
        raise ValueError("no experiments to aggregate")
    results = [split_results(run.experiment, run.metrics) for run in runs]
    corpora = list(dict.fromkeys(s for splits in results for s in splits if s != VALIDATION))
    columns = ["in_corpus", *corpora]
    fields = [
        pa.field("experiment", pa.string(), nullable=False),
        pa.field("train", pa.string(), nullable=False),
        pa.field("n_seeds", pa.int64(), nullable=False),
        pa.field("missing_seeds", pa.string()),
        *(pa.field(f"{c}_uar_{stat}", pa.float64()) for c in columns for stat in STATISTICS),
    ]
    rows = []
    for run, splits in zip(runs, results, strict=True):
        row = {
            "experiment": run.experiment,
            "train": run.train,
            "n_seeds": len(run.metrics),
            "missing_seeds": _seed_list(run.missing),
        }
        for column in columns:
            by_seed = splits.get(VALIDATION if column == "in_corpus" else column)
            summary = summarise([v["uar"] for v, _ in by_seed.values()]) if by_seed else {}
            row |= {f"{column}_uar_{stat}": summary.get(stat) for stat in STATISTICS}
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


def _corpora(table: pa.Table) -> list[str]:
    """The test columns of a summary table (test corpora and in-corpus tests), in order."""
    return [
        c.removesuffix("_uar_mean")
        for c in table.column_names
        if c.endswith("_uar_mean") and c != "in_corpus_uar_mean"
    ]


def _seeds(row: dict) -> str:
    """ "3", or "2 of 3" when expected seeds are missing."""
    missing = len(row["missing_seeds"].split(";")) if row["missing_seeds"] else 0
    n = row["n_seeds"]
    return f"{n} of {n + missing}" if missing else str(n)


def _cell(mean: float | None, std: float | None, pm: str = "±", none: str = "—") -> str:
    if mean is None:
        return none
    return f"{mean:.3f}" if std is None else f"{mean:.3f} {pm} {std:.3f}"


def markdown_table(table: pa.Table) -> str:
    """The cross-corpus table as Markdown: experiments x (in-corpus, test corpora) UAR, with
    the seeds averaged ("2 of 3" when some are missing) and the missing seeds named below."""
    corpora = _corpora(table)
    header = ["Experiment", "Train", "Seeds", "In-corpus (val)", *corpora]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---", "---:"] + ["---:"] * (1 + len(corpora))) + "|",
    ]
    rows = table.to_pylist()
    for row in rows:
        cells = [row["experiment"], row["train"], _seeds(row)]
        for c in ["in_corpus", *corpora]:
            cells.append(_cell(row[f"{c}_uar_mean"], row[f"{c}_uar_std"]))
        lines.append("| " + " | ".join(cells) + " |")
    notes = [
        f"{row['experiment']}: seed(s) {row['missing_seeds'].replace(';', ', ')}"
        for row in rows
        if row["missing_seeds"]
    ]
    if notes:
        lines += ["", "Missing seeds (no results, not averaged): " + "; ".join(notes) + "."]
    return "\n".join(lines) + "\n"


LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """`text` safe in LaTeX text mode (`+` needs no escape there and is kept)."""
    return "".join(LATEX_SPECIAL.get(char, char) for char in text)


def latex_table(table: pa.Table) -> str:
    """The cross-corpus table as a booktabs `tabular`: mean $\\pm$ std UAR, the best mean per
    test column in bold (ties at the printed precision all bold).

    The validation column is never bold: each training set has its own validation utterances,
    so its values are not comparable across rows.
    """
    corpora = _corpora(table)
    rows = table.to_pylist()
    best = {
        c: max((round(m, 3) for r in rows if (m := r[f"{c}_uar_mean"]) is not None), default=None)
        for c in corpora
    }
    header = ["Experiment", "Train", "Seeds", "In-corpus (val)", *corpora]
    lines = [
        r"\begin{tabular}{ll" + "r" * (len(header) - 2) + "}",
        r"\toprule",
        " & ".join(map(latex_escape, header)) + r" \\",
        r"\midrule",
    ]
    for row in rows:
        cells = [latex_escape(row["experiment"]), latex_escape(row["train"]), _seeds(row)]
        cells.append(_cell(row["in_corpus_uar_mean"], row["in_corpus_uar_std"], r"$\pm$", "---"))
        for c in corpora:
            mean = row[f"{c}_uar_mean"]
            cell = _cell(mean, row[f"{c}_uar_std"], r"$\pm$", "---")
            bold = mean is not None and round(mean, 3) == best[c]
            cells.append(rf"\textbf{{{cell}}}" if bold else cell)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_experiment_table(run: Run, path: Path) -> pa.Table:
    """results/tables/{experiment}.csv: per-seed rows plus mean, std and 95% CI per split."""
    table = experiment_table(*run)
    write_csv(table, path)
    return table


def read_experiment_table(path: Path) -> pa.Table:
    """An experiment table as write_experiment_table wrote it, with its column types."""
    types = pacsv.ConvertOptions(column_types=EXPERIMENT_SCHEMA)
    return pacsv.read_csv(path, convert_options=types).cast(EXPERIMENT_SCHEMA)


def write_summary(runs: list[Run], csv_path: Path, md_path: Path, tex_path: Path) -> str:
    """The cross-corpus summary as CSV, Markdown and LaTeX; prints and returns the Markdown."""
    summary = cross_corpus_table(runs)
    write_csv(summary, csv_path)
    markdown = markdown_table(summary)
    write_text(markdown, md_path)
    write_text(latex_table(summary), tex_path)
    print(markdown, end="")
    return markdown

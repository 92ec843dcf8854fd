"""Per-seed metrics into tables: one per experiment, and the cross-corpus UAR summary.

Spread over seeds is the sample standard deviation (ddof=1), the estimate of seed-to-seed
variation; the 95% confidence interval of the mean is mean ± t(0.975, n-1) · s / sqrt(n), the
t interval, since a handful of seeds is far from the normal approximation. With one seed both
are undefined and left null rather than reported as 0.

A seed counts only when all of its results exist (metrics.json and/or loso.json, as its
evaluation_mode asks), so every cell of a row averages the same seeds; expected seeds without
results are listed as missing next to the number of seeds averaged, never silently dropped.

Every split carries the number of utterances it was scored on and a fingerprint of which ones
(metrics.json `utterances`): seeds must agree on both, and the summary tables show n and mark
cells of a column that were scored on other utterances than the rest, so that a "best" is only
ever chosen among numbers measured on the same utterances. xcorpus.render prints the summary as
Markdown and LaTeX.
"""

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy import stats

from xcorpus.metrics import DIMENSIONAL_KEYS, VALIDATION, utterance_digest
from xcorpus.render import latex_table, markdown_table
from xcorpus.tables import write_csv, write_text

METRICS = ("uar", "accuracy", "macro_f1")

EXPERIMENT_SCHEMA = pa.schema(
    [
        pa.field("experiment", pa.string(), nullable=False),
        pa.field("train", pa.string(), nullable=False),
        # A seed, or a statistic over seeds: "mean", "std", "ci95_low", "ci95_high".
        pa.field("seed", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),  # "validation" or a test corpus
        *(pa.field(m, pa.float64()) for m in METRICS),  # null without a class head
        pa.field("n", pa.int64()),  # utterances in the split (per-seed and "mean" rows)
        pa.field("n_seeds", pa.int64(), nullable=False),  # seeds the row summarises
        pa.field("missing_seeds", pa.string()),  # expected seeds without results, "3;5"
        # With a V/A/D head: CCC, Pearson r and RMSE per dimension and mean over the split's
        # rated utterances (n_rated); null, with the reason in `unrated`, where none is rated.
        *(pa.field(m, pa.float64()) for m in DIMENSIONAL_KEYS),
        pa.field("n_rated", pa.int64()),
        pa.field("unrated", pa.string()),
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
    labelled = {}
    for key in ("n", "utterances"):
        named = {f"{c} LOSO": v for c, v in loso[key]["in_corpus"].items()}
        labelled[key] = loso[key] | {"in_corpus": named}
    in_corpus = {f"{c} LOSO": m for c, m in loso["in_corpus"].items()}
    return loso | labelled | {"in_corpus": in_corpus}


def _merge(a: dict, b: dict) -> dict:
    """One seed's cross-corpus and LOSO results: the cross-corpus run's, plus LOSO in-corpus."""
    cross, loso = (b, a) if _kind(a) == "loso" else (a, b)
    merged = {"in_corpus": cross.get("in_corpus", {}) | loso["in_corpus"]}
    for key in ("n", "utterances"):
        in_corpus = cross[key].get("in_corpus", {}) | loso[key]["in_corpus"]
        merged[key] = cross[key] | {"in_corpus": in_corpus}
    return cross | merged


def loso_mean(fold_metrics: list[Path], fold_predictions: list[Path], out: Path) -> dict:
    """The seed's leave-one-session-out result: per metric the mean over folds of validation
    and of the held-out session (confusion matrices summed), with the folds listed.

    n counts distinct utterances (from the folds' predictions): the folds' validation sets
    overlap, so summing their sizes would count an utterance once per fold it validated.
    """
    folds = [_read(p) for p in fold_metrics]
    first = folds[0]
    (corpus,) = first["in_corpus"]
    scored = _scored_utterances(fold_predictions)
    summary = {
        "experiment": first["experiment"],
        "train": first["train"],
        "seed": first["seed"],
        "folds": [f["fold"] for f in folds],
        **{k: first[k] for k in ("task", "selection_metric") if k in first},
        **_normalisation(folds),
        **({"classifier": first["classifier"]} if first.get("classifier") else {}),
        "validation": mean_metrics([f["validation"] for f in folds]),
        "test": {},
        "in_corpus": {corpus: _held_out_mean([f["in_corpus"][corpus] for f in folds])},
        "n": {
            "validation": len(scored["val"]),
            "test": {},
            "in_corpus": {corpus: len(scored["heldout"])},
        },
        "utterances": {
            "validation": utterance_digest(scored["val"]),
            "test": {},
            "in_corpus": {corpus: utterance_digest(scored["heldout"])},
        },
    }
    write_text(json.dumps(summary, indent=2) + "\n", out)
    return summary


def _normalisation(results: list[dict]) -> dict:
    """The `feature_normalisation` record of the first of `results` that is transductive (else
    of the first), as {"feature_normalisation": record}; {} for results without one."""
    records = [r["feature_normalisation"] for r in results if "feature_normalisation" in r]
    chosen = next((r for r in records if r["transductive"]), records[0] if records else None)
    return {"feature_normalisation": chosen} if chosen else {}


# Records of metrics.json that say whether (and why) a result used evaluated utterances' own
# unlabelled features: feature_normalisation corpus or speaker, dann with dann_unlabelled_test.
TRANSDUCTIVE_RECORDS = ("feature_normalisation", "domain_adaptation")


def transductive_reasons(metrics: dict) -> list[str]:
    """The reasons one result (one seed or fold) is transductive; empty if it is not."""
    records = (metrics.get(key) for key in TRANSDUCTIVE_RECORDS)
    return [r["reason"] for r in records if r and r["transductive"]]


def run_task(run: "Run") -> str:
    """The run's task (results from before tasks existed are categorical)."""
    return next(iter(run.metrics.values())).get("task", "categorical")


def transductive_reason(run: "Run") -> str | None:
    """Why the run's results are transductive, or None: the reasons of its first transductive
    seed, joined by "; "."""
    reasons = (transductive_reasons(m) for m in run.metrics.values())
    return "; ".join(next((r for r in reasons if r), [])) or None


def deterministic_classifier(run: "Run") -> str | None:
    """The classifier of a run whose seeds all give the same model (xcorpus.train.classical),
    or None."""
    records = [m.get("classifier") for m in run.metrics.values()]
    first = records[0] if records else None
    deterministic = first and all(r and r["deterministic"] for r in records)
    return first["name"] if first and deterministic else None


def _scored_utterances(predictions: list[Path]) -> dict[str, set[tuple[str, str]]]:
    """Role -> the distinct (corpus, utt_id) scored in that role across the given runs."""
    scored: dict[str, set[tuple[str, str]]] = {"val": set(), "heldout": set()}
    for path in predictions:
        table = pq.read_table(path, columns=["utt_id", "corpus", "role"]).to_pylist()
        for row in table:
            scored.setdefault(row["role"], set()).add((row["corpus"], row["utt_id"]))
    return scored


def mean_metrics(metrics: list[dict]) -> dict:
    """Mean over folds of each metric the folds have (UAR, accuracy and macro-F1 with a class
    head; the dimensional ones with a V/A/D head: None where a fold's is undefined, and absent
    unless every fold was rated) and the confusion matrices summed."""
    keys = [k for k in (*METRICS, *DIMENSIONAL_KEYS) if all(k in m for m in metrics)]
    mean = {k: _mean_or_none([m[k] for m in metrics]) for k in keys}
    if "confusion" not in metrics[0]:
        return mean
    confusion = np.sum([np.asarray(m["confusion"]) for m in metrics], axis=0)
    return mean | {"confusion": confusion.tolist()}


def _held_out_mean(metrics: list[dict]) -> dict:
    """mean_metrics of the folds' held-out sessions, with n_rated their sum where rated: the
    sessions are disjoint, so the sum counts each rated utterance once."""
    mean = mean_metrics(metrics)
    if all("n_rated" in m for m in metrics):
        mean["n_rated"] = sum(m["n_rated"] for m in metrics)
    return mean


def _mean_or_none(values: list[float | None]) -> float | None:
    """The mean, or None when a value is undefined (a mean over an undefined value is too)."""
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if len(defined) == len(values) else None


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


def summarise_defined(values: Sequence[float | None]) -> dict[str, float | None]:
    """summarise, or every statistic None when a seed's value is undefined or absent (a split
    without ratings, a task without that head): a summary never skips a seed."""
    defined = [v for v in values if v is not None]
    if len(defined) < len(values):
        return dict.fromkeys(STATISTICS)
    return summarise(defined)


def unrated_reasons(metrics: dict[int, dict]) -> dict[str, str]:
    """Split -> why it has no dimensional metric (metrics.json `unrated`, the same every seed)."""
    return next(iter(metrics.values())).get("unrated", {})


class Scored(NamedTuple):
    """One seed's result on one split: its metrics, its size and which utterances (a digest)."""

    metrics: dict
    n: int
    utterances: str


def split_results(name: str, metrics: dict[int, dict]) -> dict[str, dict[int, Scored]]:
    """split -> seed -> Scored; "validation" first, then test corpora in metrics order, then
    in-corpus tests (test speakers, an official test split, or LOSO's held-out sessions).

    Raises ValueError when there are no seeds or the seeds disagree on the splits or on the
    utterances of a split (runs from different manifests mixed together).
    """
    if not metrics:
        raise ValueError(f"experiment {name}: no seeds to aggregate")
    splits: dict[str, dict[int, Scored]] = {}
    for seed, m in metrics.items():
        n, utterances = m["n"], m["utterances"]
        results = {VALIDATION: Scored(m["validation"], n["validation"], utterances["validation"])}
        results |= {c: Scored(m["test"][c], n["test"][c], utterances["test"][c]) for c in m["test"]}
        in_corpus = m.get("in_corpus", {})
        results |= {
            _in_corpus(c): Scored(in_corpus[c], n["in_corpus"][c], utterances["in_corpus"][c])
            for c in in_corpus
        }
        if splits and list(results) != list(splits):
            raise ValueError(f"experiment {name}: seed {seed} has splits {list(results)}")
        for split, result in results.items():
            others = {(r.n, r.utterances) for r in splits.get(split, {}).values()}
            if others and others != {(result.n, result.utterances)}:
                raise ValueError(
                    f"experiment {name}: seed {seed} scored other {split} utterances "
                    f"({result.n}) than the other seeds"
                )
            splits.setdefault(split, {})[seed] = result
    return splits


def _in_corpus(name: str) -> str:
    """The split name of an in-corpus test: `IEMO in-corpus` (test speakers, or an official
    test split) or `IEMO LOSO` (the mean over held-out sessions)."""
    return name if name.endswith(" LOSO") else f"{name} in-corpus"


def experiment_table(
    name: str, train: str, metrics: dict[int, dict], missing: Sequence[int] = ()
) -> pa.Table:
    """One row per seed and split, then per split the rows "mean", "std", "ci95_low" and
    "ci95_high" over the seeds, which carry n_seeds and the missing seeds."""
    rows = []
    splits = split_results(name, metrics)
    unrated = unrated_reasons(metrics)
    for seed in metrics:
        for split, by_seed in splits.items():
            values, n, _ = by_seed[seed]
            rows.append(
                {"seed": str(seed), "split": split, "n": n, "n_seeds": 1}
                | {k: values.get(k) for k in (*METRICS, *DIMENSIONAL_KEYS, "n_rated")}
                | {"unrated": unrated.get(split)}
            )
    over_seeds = {"n_seeds": len(metrics), "missing_seeds": _seed_list(missing)}
    for split, by_seed in splits.items():
        keys = (*METRICS, *DIMENSIONAL_KEYS)
        summary = {k: summarise_defined([r.metrics.get(k) for r in by_seed.values()]) for k in keys}
        first = next(iter(by_seed.values()))
        for stat in STATISTICS:
            mean_row = stat == "mean"
            rows.append(
                {"seed": stat, "split": split, "n": first.n if mean_row else None}
                | over_seeds
                | {k: summary[k][stat] for k in keys}
                | {"n_rated": first.metrics.get("n_rated") if mean_row else None}
                | {"unrated": unrated.get(split)}
            )
    rows = [{"experiment": name, "train": train} | row for row in rows]
    return pa.Table.from_pylist(rows, schema=EXPERIMENT_SCHEMA)


def _seed_list(seeds: Sequence[int]) -> str | None:
    return ";".join(map(str, seeds)) or None


def cross_corpus_table(runs: list[Run]) -> pa.Table:
    """One row per experiment: validation (the selection score), per-test-corpus and in-corpus
    UAR mean, std and 95% confidence interval over its n_seeds seeds, with the expected seeds
    that are missing, and per column the utterances scored (`_n`) and their digest.

    Test corpora are ordered by first appearance; a corpus an experiment did not test on (it
    was a training corpus) is null.
    """
    if not runs:
        raise ValueError("no experiments to aggregate")
    results = [split_results(run.experiment, run.metrics) for run in runs]
    corpora = list(dict.fromkeys(s for splits in results for s in splits if s != VALIDATION))
    columns = [VALIDATION, *corpora]
    fields = [
        pa.field("experiment", pa.string(), nullable=False),
        pa.field("train", pa.string(), nullable=False),
        pa.field("n_seeds", pa.int64(), nullable=False),
        pa.field("missing_seeds", pa.string()),
        pa.field("transductive", pa.string()),  # why, for a transductive experiment; else null
        pa.field("deterministic", pa.string()),  # its classifier, if every seed is the same run
        pa.field("task", pa.string(), nullable=False),  # dimensional: no UAR, cells null
    ]
    for c in columns:
        fields += [pa.field(f"{c}_uar_{stat}", pa.float64()) for stat in STATISTICS]
        fields += [pa.field(f"{c}_n", pa.int64()), pa.field(f"{c}_utterances", pa.string())]
    rows = []
    for run, splits in zip(runs, results, strict=True):
        row = {
            "experiment": run.experiment,
            "train": run.train,
            "n_seeds": len(run.metrics),
            "missing_seeds": _seed_list(run.missing),
            "transductive": transductive_reason(run),
            "deterministic": deterministic_classifier(run),
            "task": run_task(run),
        }
        for column in columns:
            by_seed = splits.get(column)
            uar = [r.metrics.get("uar") for r in by_seed.values()] if by_seed else []
            summary = summarise_defined(uar) if uar else {}
            row |= {f"{column}_uar_{stat}": summary.get(stat) for stat in STATISTICS}
            first = next(iter(by_seed.values())) if by_seed else None
            row[f"{column}_n"] = first.n if first else None
            row[f"{column}_utterances"] = first.utterances if first else None
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


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

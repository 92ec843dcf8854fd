"""Dimensional emotion on the default demo: the default config's experiments with task
multitask, once per dimensional_weight, beside the categorical baseline, in one workflow run.

Usage: python benchmarks/dimensional.py [--cores N] [--weights 0.5 1 2] [--all-rated]
Copies the tracked files of this checkout into a temporary directory and runs the default
config's experiments (IEMO, IEMO+MSPI, IEMO+MSPI+MSPP; same seeds) as `{experiment}.categorical`
and as `{experiment}.w{weight}` (task multitask). Prints, per weight, CCC per dimension (mean
over seeds) on each rated corpus each experiment was tested on (test corpora, and in-corpus
tests marked "in-corpus"), and the mean cross-corpus CCC and UAR per weight against the
categorical baseline's UAR.

With --all-rated it runs instead each experiment as multitask without a curriculum (which
dimensional_all_rated excludes), with and without dimensional_all_rated, and prints the mean
cross-corpus CCC of each over its own rated test utterances, and over the four-class ones alone
(recomputed from predictions.parquet, the same utterances for both), and UAR.
"""

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml
from workflow_timing import REPO, fresh_copy, timed

from xcorpus.metrics import DIMENSIONS, dimensional_metrics

RATED = ("IEMO", "MSPI", "MSPP")
COLUMNS = (*DIMENSIONS, "mean")


def experiments(config: dict, weights: list[float]) -> list[dict]:
    """The categorical baseline and one multitask copy per weight of each experiment."""
    runs = [exp | {"name": f"{exp['name']}.categorical"} for exp in config["experiments"]]
    for weight in weights:
        runs += [
            exp
            | {"name": f"{exp['name']}.w{weight:g}", "task": "multitask"}
            | {"dimensional_weight": weight}
            for exp in config["experiments"]
        ]
    return runs


def all_rated_experiments(config: dict) -> list[dict]:
    """Each experiment as multitask without a curriculum, with and without all_rated."""
    plain = {"task": "multitask", "use_curriculum_learning": False}
    return [
        exp | {"name": f"{exp['name']}.{suffix}"} | plain | {"dimensional_all_rated": flag}
        for suffix, flag in (("multitask", False), ("all_rated", True))
        for exp in config["experiments"]
    ]


def four_class_ccc(runs: Path, name: str, key: str) -> list[float]:
    """Per rated cross-corpus test corpus, CCC `key` (e.g. ccc_mean) over its test utterances
    that have one of the four classes, mean over seeds: cells as cross_corpus pools them."""
    cells: dict[str, list[float]] = {}
    for path in sorted((runs / name).glob("seed-*/predictions.parquet")):
        rows = pq.read_table(path).to_pandas()
        rows = rows[(rows["role"] == "test") & rows["label"].notna()].dropna(subset=["valence"])
        for corpus, corpus_rows in rows.groupby("corpus"):
            true = corpus_rows[list(DIMENSIONS)].to_numpy()
            pred = corpus_rows[[f"pred_{d}" for d in DIMENSIONS]].to_numpy()
            cells.setdefault(str(corpus), []).append(dimensional_metrics(true, pred)[key])
    return [float(np.mean(values)) for values in cells.values()]


def seed_mean(runs: Path, name: str) -> dict[str, dict[str, float]]:
    """Split ("MSPP", "IEMO in-corpus") -> metric -> mean over seeds, for rated splits."""
    seeds = [json.loads(p.read_text()) for p in sorted((runs / name).glob("seed-*/metrics.json"))]
    splits = {c: [m["test"][c] for m in seeds] for c in seeds[0]["test"]}
    splits |= {f"{c} in-corpus": [m["in_corpus"][c] for m in seeds] for c in seeds[0]["in_corpus"]}
    return {
        split: {k: float(np.mean([m[k] for m in values])) for k in values[0] if k != "confusion"}
        for split, values in splits.items()
    }


def ccc_table(runs: Path, names: list[str]) -> list[str]:
    """Markdown: experiments x rated corpora, cells V / A / D / mean CCC."""
    lines = ["| experiment | " + " | ".join(RATED) + " |", "|---|" + "---|" * len(RATED)]
    for name in names:
        means = seed_mean(runs, name)
        cells = []
        for corpus in RATED:
            split = next((s for s in (corpus, f"{corpus} in-corpus") if s in means), None)
            values = means[split]
            text = " / ".join(f"{values[f'ccc_{d}']:.3f}" for d in COLUMNS)
            cells.append(text + (" (in-corpus)" if split.endswith("in-corpus") else ""))
        lines.append(f"| {name.split('.')[0]} | " + " | ".join(cells) + " |")
    return lines


def cross_corpus(runs: Path, names: list[str], key: str) -> float:
    """Mean of `key` over experiment x test-corpus cells (rated corpora only for CCC)."""
    cells = [
        values[key]
        for name in names
        for split, values in seed_mean(runs, name).items()
        if not split.endswith("in-corpus") and key in values
    ]
    return float(np.mean(cells))


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--cores", default="all")
    args.add_argument("--weights", type=float, nargs="+", default=[1.0, 0.5, 2.0])
    args.add_argument("--all-rated", action="store_true")
    opts = args.parse_args()
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    base = [exp["name"] for exp in config["experiments"]]
    runs_of = all_rated_experiments(config) if opts.all_rated else experiments(config, opts.weights)
    config |= {"experiments": runs_of, "wandb_mode": "disabled"}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        fresh_copy(workdir)
        (workdir / "dimensional.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        command = ["snakemake", "--cores", opts.cores, "--configfile", "dimensional.yaml"]
        elapsed, _ = timed(command, workdir)
        runs = workdir / "results" / "runs"
        print(f"{len(config['experiments'])} experiments in {elapsed:.0f} s on {os.cpu_count()} "
              f"CPUs, {platform.processor() or platform.machine()}, Python "
              f"{platform.python_version()}")  # fmt: skip
        if opts.all_rated:
            all_rated_table(runs, base)
            return
        for weight in opts.weights:
            print(f"\nCCC valence / arousal / dominance / mean, dimensional_weight {weight:g}:\n")
            print("\n".join(ccc_table(runs, [f"{n}.w{weight:g}" for n in base])))
        header = " | ".join(f"CCC {c}" for c in COLUMNS)
        print(f"\nCross-corpus means:\n\n| run | {header} | UAR |")
        print("|---|" + "---:|" * (len(COLUMNS) + 1))
        uar = cross_corpus(runs, [f"{n}.categorical" for n in base], "uar")
        print("| categorical baseline | " + " | ".join("—" for _ in COLUMNS) + f" | {uar:.3f} |")
        for weight in opts.weights:
            names = [f"{n}.w{weight:g}" for n in base]
            ccc = [cross_corpus(runs, names, f"ccc_{d}") for d in COLUMNS]
            uar = cross_corpus(runs, names, "uar")
            cells = " | ".join(f"{c:.3f}" for c in ccc)
            print(f"| multitask, weight {weight:g} | {cells} | {uar:.3f} |")


def all_rated_table(runs: Path, base: list[str]) -> None:
    """Cross-corpus CCC (own rated utterances, then four-class ones) and UAR, with and without
    dimensional_all_rated."""
    header = " | ".join(f"CCC {c}" for c in COLUMNS)
    print(f"\n| run | {header} | CCC mean, four-class rows | UAR |")
    print("|---|" + "---:|" * (len(COLUMNS) + 2))
    for suffix in ("multitask", "all_rated"):
        names = [f"{n}.{suffix}" for n in base]
        ccc = " | ".join(f"{cross_corpus(runs, names, f'ccc_{d}'):.3f}" for d in COLUMNS)
        four = np.mean([cell for n in names for cell in four_class_ccc(runs, n, "ccc_mean")])
        print(f"| {suffix} | {ccc} | {four:.3f} | {cross_corpus(runs, names, 'uar'):.3f} |")


if __name__ == "__main__":
    main()

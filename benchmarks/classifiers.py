"""Compare our MLP with the classical classifiers under each normalisation, on the default demo.

Usage: python benchmarks/classifiers.py [--cores N] [--mlp-seeds N]
Copies the tracked files of this checkout into a temporary directory and runs, in one workflow
run, the default config's experiments (same train/val/test roles and eGeMAPS features) once
per classifier (mlp as configured; logistic, svm rbf and xgboost with
use_curriculum_learning false) and per `feature_normalisation`, named
`{experiment}.{classifier}.{method}`, up to the training jobs' metrics (no tables, plots or
leakage reports). svm linear is left out: libsvm's linear kernel is too slow on the raw
eGeMAPS of `none` (BENCHMARKS.md, "Classical baselines against our MLP"). The classical
classifiers are deterministic (every seed gives the same model), so they run one seed; the MLP
runs the first `--mlp-seeds` of the config's. Prints per classifier and normalisation the mean
cross-corpus UAR over the experiment x test-corpus cells (each the mean over seeds) and the
mean in-corpus UAR.
"""

import argparse
import os
import platform

import numpy as np
import yaml
from normalisation import METHODS, cell_means, workflow_run
from workflow_timing import REPO

CLASSIFIERS = {
    "mlp": {},
    "logistic": {"classifier": "logistic"},
    "svm-rbf": {"classifier": "svm", "svm_kernel": "rbf"},
    "xgboost": {"classifier": "xgboost"},
}


def experiments(config: dict, mlp_seeds: int) -> list[dict]:
    """Each experiment of `config` once per classifier and normalisation."""
    runs = []
    for label, keys in CLASSIFIERS.items():
        for method in METHODS:
            for exp in config["experiments"]:
                run = exp | keys | {"name": f"{exp['name']}.{label}.{method}"}
                run["feature_normalisation"] = method
                if keys:
                    run |= {"use_curriculum_learning": False, "seeds": exp["seeds"][:1]}
                else:
                    run["seeds"] = exp["seeds"][:mlp_seeds]
                runs.append(run)
    return runs


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--cores", default="all")
    args.add_argument("--mlp-seeds", type=int, default=3)
    opts = args.parse_args()
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    original = config["experiments"]
    config |= {"experiments": experiments(config, opts.mlp_seeds), "wandb_mode": "disabled"}
    metrics = [
        f"results/runs/{e['name']}/seed-{seed}/metrics.json"
        for e in config["experiments"]
        for seed in e["seeds"]
    ]
    with workflow_run(config, opts.cores, metrics) as (elapsed, runs):
        table = {}
        for label in CLASSIFIERS:
            for method in METHODS:
                names = [f"{e['name']}.{label}.{method}" for e in original]
                cross = [u for n in names for u in cell_means(runs, n, "test")]
                within = [u for n in names for u in cell_means(runs, n, "in_corpus")]
                table[label, method] = (np.mean(cross), len(cross), np.mean(within))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{len(config['experiments'])} experiments, MLP {opts.mlp_seeds} seed(s), classical 1")
    print(f"in {elapsed:.0f} s\n")
    marks = {"corpus": " ‡", "speaker": " ‡"}
    header = [f"{m}{marks.get(m, '')}" for m in METHODS]
    for title, column in (("cross-corpus UAR", 0), ("in-corpus UAR", 2)):
        print(f"{title}:\n")
        print("| classifier | " + " | ".join(header) + " |")
        print("|---|" + "---:|" * len(METHODS))
        for label in CLASSIFIERS:
            cells = [f"{table[label, m][column]:.3f}" for m in METHODS]
            print(f"| {label} | " + " | ".join(cells) + " |")
        print()
    print(f"cells per cross-corpus mean: {table['mlp', 'train'][1]}; ‡ transductive")


if __name__ == "__main__":
    main()

"""Compare the four feature normalisations on the default demo, all in one workflow run.

Usage: python benchmarks/normalisation.py [--cores N]
Copies the tracked files of this checkout into a temporary directory, runs the default config's
experiments once per `feature_normalisation` (named `{experiment}.{method}`, same seeds), and
prints per normalisation the mean cross-corpus UAR (over experiments x test corpora, each the
mean over seeds) and the mean in-corpus UAR, with whether the results are transductive.
"""

import json
import os
import platform
from pathlib import Path

import numpy as np
from workflow_timing import variants_run

METHODS = ("train", "corpus", "speaker", "none")


def experiments(config: dict) -> list[dict]:
    """Each experiment of `config` once per normalisation."""
    return [
        exp | {"name": f"{exp['name']}.{method}", "feature_normalisation": method}
        for method in METHODS
        for exp in config["experiments"]
    ]


def cell_means(runs: Path, name: str, split: str) -> list[float]:
    """Per test corpus (or in-corpus test) of experiment `name`, its UAR's mean over seeds."""
    seeds = [json.loads(p.read_text()) for p in sorted((runs / name).glob("seed-*/metrics.json"))]
    corpora = seeds[0][split]
    return [float(np.mean([m[split][c]["uar"] for m in seeds])) for c in corpora]


def main() -> None:
    with variants_run(experiments) as (config, runs, elapsed):
        names = {
            m: [e["name"] for e in config["experiments"] if e["name"].endswith(m)] for m in METHODS
        }
        rows = []
        for method, members in names.items():
            cross = [u for n in members for u in cell_means(runs, n, "test")]
            within = [u for n in members for u in cell_means(runs, n, "in_corpus")]
            first = json.loads(next((runs / members[0]).glob("seed-*/metrics.json")).read_text())
            transductive = first["feature_normalisation"]["transductive"]
            rows.append((method, np.mean(cross), len(cross), np.mean(within), transductive))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{len(config['experiments'])} experiments x {len(config['template']['seeds'])} seeds")
    print(f"in {elapsed:.0f} s\n")
    print("| feature_normalisation | cross-corpus UAR (cells) | in-corpus UAR | transductive |")
    print("|---|---:|---:|---|")
    for method, cross, cells, within, transductive in rows:
        marked = "yes" if transductive else "no"
        print(f"| {method} | {cross:.3f} ({cells}) | {within:.3f} | {marked} |")


if __name__ == "__main__":
    main()

"""Compare the four feature normalisations on the default demo, all in one workflow run.

Usage: python benchmarks/normalisation.py [--cores N]
Copies the tracked files of this checkout into a temporary directory, runs the default config's
experiments once per `feature_normalisation` (named `{experiment}.{method}`, same seeds), and
prints per normalisation the mean cross-corpus UAR (over experiments x test corpora, each the
mean over seeds) and the mean in-corpus UAR, with whether the results are transductive.
"""

import argparse
import json
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import yaml
from workflow_timing import REPO, fresh_copy, timed

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


@contextmanager
def workflow_run(config: dict, cores: str, targets: list[str] = ()) -> Iterator[tuple[float, Path]]:
    """Run the workflow with `config` in a fresh copy of this checkout (to `targets`, by default
    its default target); yield its wall time and its results/runs directory, which lives until
    the block ends."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        fresh_copy(workdir)
        (workdir / "benchmark.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        command = ["snakemake", "--cores", cores, *targets, "--configfile", "benchmark.yaml"]
        elapsed, _ = timed(command, workdir)
        yield elapsed, workdir / "results" / "runs"


def default_with(variants: Callable[[dict], list[dict]]) -> tuple[dict, str]:
    """The default config with `variants(config)` as its experiments and W&B off, and the
    command line's --cores."""
    args = argparse.ArgumentParser()
    args.add_argument("--cores", default="all")
    opts = args.parse_args()
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    return config | {"experiments": variants(config), "wandb_mode": "disabled"}, opts.cores


def main() -> None:
    config, cores = default_with(experiments)
    with workflow_run(config, cores) as (elapsed, runs):
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

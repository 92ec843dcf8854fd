"""Domain-adversarial training against none on the default demo, all in one workflow run.

Usage: python benchmarks/dann.py [--cores N]
Copies the tracked files of this checkout into a temporary directory and runs the default
config's experiments (same seeds) as they are (`none`), with `dann` where they have two
training corpora or more (one corpus is one domain, which the config refuses), and with `dann`
plus `dann_unlabelled_test` (transductive). Prints per experiment and variant the mean
cross-corpus UAR (over its test corpora, each the mean over seeds) and the mean in-corpus UAR.
"""

import json
import os
import platform

import numpy as np
from normalisation import cell_means, default_with, workflow_run

VARIANTS = {
    "none": {},
    "dann": {"domain_adaptation": "dann"},
    "dann_unlabelled_test": {"domain_adaptation": "dann", "dann_unlabelled_test": True},
}


def experiments(config: dict) -> list[dict]:
    """Each experiment of `config` once per variant it can run."""
    runs = []
    for variant, keys in VARIANTS.items():
        for exp in config["experiments"]:
            one_domain = isinstance(exp["train_dataset"], str) or len(exp["train_dataset"]) < 2
            if variant == "dann" and one_domain:
                continue
            runs.append(exp | keys | {"name": f"{exp['name']}.{variant}"})
    return runs


def main() -> None:
    config, cores = default_with(experiments)
    with workflow_run(config, cores) as (elapsed, runs):
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
        print(
            f"{len(config['experiments'])} experiments x {len(config['template']['seeds'])} seeds"
        )
        print(f"in {elapsed:.0f} s\n")
        print("| experiment | " + " | ".join(VARIANTS) + " |")
        print("|---|" + "---:|" * len(VARIANTS))
        names = dict.fromkeys(e["name"].rsplit(".", 1)[0] for e in config["experiments"])
        for name in names:
            cells = []
            for variant in VARIANTS:
                if not (runs / f"{name}.{variant}").exists():
                    cells.append("refused (one domain)")
                    continue
                run = f"{name}.{variant}"
                cross, within = cell_means(runs, run, "test"), cell_means(runs, run, "in_corpus")
                cells.append(f"{np.mean(cross):.3f} / {np.mean(within):.3f}")
            print(f"| {name} | " + " | ".join(cells) + " |")
        first = json.loads(
            next(runs.glob("*.dann_unlabelled_test/seed-*/metrics.json")).read_text()
        )
        print(f"\ndann_unlabelled_test transductive: {first['domain_adaptation']['transductive']}")


if __name__ == "__main__":
    main()

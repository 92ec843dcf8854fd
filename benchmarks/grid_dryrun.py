"""Time Snakemake's planning of a 5-corpus x 30-experiment x 5-seed grid: a dry run, and the
no-op rerun once every output exists.

Usage: python benchmarks/grid_dryrun.py [--experiments 30] [--seeds 5] [--repeats 3] [--dir DIR]
    [--sweep]
Writes a config with five corpora (empty root directories: indexing is never run), one
feature set and the experiment grid (with --sweep, written as one `sweep:` entry); times
`snakemake -n`; then creates every output file the plan lists (empty), stamps them in DAG order
with `snakemake --touch`, and times the no-op rerun.
Both goals are under 5 s.
"""

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SNAKEFILE = Path(__file__).resolve().parents[1] / "workflow" / "Snakefile"
CORPORA = ("IEMO", "MSPI", "MSPP", "CMUMOSEI", "SAMSEMO")
TRAIN_SETS = [["IEMO"], ["MSPI"], ["MSPP"], ["IEMO", "MSPI"], ["IEMO", "MSPP"], ["MSPI", "MSPP"]]
CURRICULA = ("difficulty", "inverse_difficulty", "random", "none", "class_balance")


def write_config(workdir: Path, experiments: int, seeds: int, sweep: bool) -> None:
    """Five corpora, eGeMAPS in 4 shards, `experiments` experiments over training sets and
    curricula, each with `seeds` seeds; with `sweep`, the 30 of them as one sweep entry."""
    variants = itertools.cycle(itertools.product(TRAIN_SETS, CURRICULA))
    grid = [
        {
            "name": f"exp{i:02d}",
            "train_dataset": train,
            "curriculum_type": curriculum,
            "seeds": list(range(1, seeds + 1)),
        }
        for i, (train, curriculum) in zip(range(experiments), variants, strict=False)
    ]
    if sweep:
        assert experiments == len(TRAIN_SETS) * len(CURRICULA), "a sweep is the whole product"
        sweeps = {"train_dataset": TRAIN_SETS, "curriculum_type": list(CURRICULA)}
        grid = [{"seeds": list(range(1, seeds + 1)), "sweep": sweeps}]
    for corpus in CORPORA:  # roots must exist before any job; nothing reads them here
        (workdir / "corpora" / corpus).mkdir(parents=True, exist_ok=True)
    config = {
        "corpora": {c: {"root": f"corpora/{c}"} for c in CORPORA},
        "features": {"egemaps": {"backend": "egemaps", "shards": 4}},
        "experiments": grid,
        "wandb_mode": "disabled",
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def snakemake(workdir: Path, *args: str) -> tuple[float, str]:
    """Seconds and output of one snakemake call in `workdir`."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE)]
    command += ["--directory", str(workdir), "--cores", "1", *args]
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, run.stdout + run.stderr


def create_outputs(workdir: Path) -> int:
    """Create every output file of the plan, empty; return how many."""
    _, summary = snakemake(workdir, "--summary")
    files = [line.split("\t")[0] for line in summary.splitlines()[1:] if "\t" in line]
    for name in files:
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", help="work directory (default: a temporary one)")
    parser.add_argument(
        "--sweep", action="store_true", help="write the 30 experiments as one `sweep:` entry"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        workdir = Path(tmp)
        write_config(workdir, args.experiments, args.seeds, args.sweep)
        dry = [snakemake(workdir, "-n") for _ in range(args.repeats)]
        jobs = dry[0][1].split("total")[1].split()[0] if "total" in dry[0][1] else "?"
        n_files = create_outputs(workdir)
        snakemake(workdir, "--touch")
        noop = [snakemake(workdir) for _ in range(args.repeats)]
        assert all("Nothing to be done" in out for _, out in noop), noop[0][1][-2000:]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(
        f"{len(CORPORA)} corpora x {args.experiments} experiments x {args.seeds} seeds: "
        f"{jobs} jobs, {n_files} output files"
    )
    print(f"dry run:      best {min(t for t, _ in dry):.2f} s of {args.repeats}")
    print(f"no-op rerun:  best {min(t for t, _ in noop):.2f} s of {args.repeats}")


if __name__ == "__main__":
    main()

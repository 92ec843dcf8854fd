"""Time Snakemake's planning of a 757-job grid, written as one `sweep:` entry and written out
experiment by experiment, in the same run: a dry run, and the no-op rerun once every output
exists.

Usage: python benchmarks/grid_dryrun.py [--seeds 5] [--repeats 5] [--dir DIR]
Writes two configs with five corpora (empty root directories: indexing is never run), eGeMAPS in
4 shards and the same 48 experiments: six training sets x four curricula x two learning rates,
each with 5 seeds; one as a single `sweep:` entry, one as 48 hand-written entries. Times
`snakemake -n` of each, alternating, `--repeats` times; then creates every output file the plan
lists (empty), stamps them in DAG order with `snakemake --touch`, and times the no-op reruns the
same way. Prints medians. Both goals are under 5 s.

The job count: 34 jobs whatever the grid (per corpus index_corpus, hash_audio and 4
extract_features; feature_map, aggregate_all, plot_summary, all), one score_difficulty per
corpus a difficulty curriculum trains on (IEMO, MSPI, MSPP: 3), 5 per experiment
(build_manifest, leakage, aggregate_experiment, plot_experiment, log_averaged_run) and 2 per
experiment and seed (train, log_seed_run): 37 + 48 x (5 + 2 x 5) = 757. A 750-job grid would
need 47.5 experiments; 47 (742 jobs) is prime, so 48 is the nearest grid of swept axes.
"""

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SNAKEFILE = Path(__file__).resolve().parents[1] / "workflow" / "Snakefile"
CORPORA = ("IEMO", "MSPI", "MSPP", "CMUMOSEI", "SAMSEMO")
TRAIN_SETS = [["IEMO"], ["MSPI"], ["MSPP"], ["IEMO", "MSPI"], ["IEMO", "MSPP"], ["MSPI", "MSPP"]]
# The curriculum comparison: no curriculum, easiest first, hardest first, a random order.
CURRICULA = ["none", "difficulty", "inverse_difficulty", "random"]
LEARNING_RATES = [1e-3, 1e-4]
FORMS = ("sweep", "written out")


def experiments(seeds: int, sweep: bool) -> list[dict]:
    """The grid as one sweep entry, or as its experiments written out one by one."""
    seed_list = list(range(1, seeds + 1))
    if sweep:
        axes = {"train_dataset": TRAIN_SETS, "curriculum_type": CURRICULA}
        return [{"seeds": seed_list, "sweep": axes | {"learning_rate": LEARNING_RATES}}]
    grid = itertools.product(TRAIN_SETS, CURRICULA, LEARNING_RATES)
    return [
        {
            "name": f"exp{i:02d}",
            "train_dataset": train,
            "curriculum_type": curriculum,
            "learning_rate": lr,
            "seeds": seed_list,
        }
        for i, (train, curriculum, lr) in enumerate(grid)
    ]


def write_config(workdir: Path, seeds: int, sweep: bool) -> None:
    """Five corpora, eGeMAPS in 4 shards and the grid."""
    for corpus in CORPORA:  # roots must exist before any job; nothing reads them here
        (workdir / "corpora" / corpus).mkdir(parents=True, exist_ok=True)
    config = {
        "corpora": {c: {"root": f"corpora/{c}"} for c in CORPORA},
        "features": {"egemaps": {"backend": "egemaps", "shards": 4}},
        "experiments": experiments(seeds, sweep),
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


def job_count(dry_run_output: str) -> int:
    """The total of a dry run's job table."""
    return int(dry_run_output.split("total")[1].split()[0])


def create_outputs(workdir: Path) -> int:
    """Create every output file of the plan, empty; return how many."""
    _, summary = snakemake(workdir, "--summary")
    files = [line.split("\t")[0] for line in summary.splitlines()[1:] if "\t" in line]
    for name in files:
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return len(files)


def alternating(workdirs: dict[str, Path], repeats: int, *args: str) -> dict[str, list]:
    """(seconds, output) of `repeats` snakemake calls per form, the forms taking turns, so
    that a change in the machine's load falls on both."""
    runs: dict[str, list] = {form: [] for form in workdirs}
    for _ in range(repeats):
        for form, workdir in workdirs.items():
            runs[form].append(snakemake(workdir, *args))
    return runs


def seconds(runs: list) -> str:
    times = [t for t, _ in runs]
    return f"median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", help="work directory (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        workdirs = {form: Path(tmp) / form.replace(" ", "_") for form in FORMS}
        for form, workdir in workdirs.items():
            write_config(workdir, args.seeds, sweep=form == "sweep")
        dry = alternating(workdirs, args.repeats, "-n")
        jobs = {form: job_count(runs[0][1]) for form, runs in dry.items()}
        files = {form: create_outputs(workdir) for form, workdir in workdirs.items()}
        assert len(set(jobs.values())) == 1 and len(set(files.values())) == 1, (jobs, files)
        for workdir in workdirs.values():
            snakemake(workdir, "--touch")
        noop = alternating(workdirs, args.repeats)
        for runs in noop.values():
            assert all("Nothing to be done" in out for _, out in runs), runs[0][1][-2000:]
    n_experiments = len(experiments(args.seeds, sweep=False))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(
        f"{len(CORPORA)} corpora x {n_experiments} experiments x {args.seeds} seeds: "
        f"{jobs['sweep']} jobs, {files['sweep']} output files; {args.repeats} runs each"
    )
    for form in FORMS:
        print(f"{form:12} dry run:     {seconds(dry[form])}")
        print(f"{form:12} no-op rerun: {seconds(noop[form])}")


if __name__ == "__main__":
    main()

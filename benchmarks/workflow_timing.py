"""Time the default workflow end to end on a fresh copy, then its no-op rerun.

Usage: python benchmarks/workflow_timing.py [--cores N] [--configfile FILE]
Copies the tracked files of this checkout into a temporary directory (so no earlier results are
reused), runs `snakemake --cores N` there, then runs it again and checks "Nothing to be done";
prints the times, the jobs, job-seconds and largest peak RSS of feature extraction and training
(from their `benchmark:` files, results/benchmarks/) and the run's summary table.
"""

import argparse
import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fresh_copy(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{run.stderr[-4000:]}")
    return elapsed, run.stdout + run.stderr


def benchmark_figures(results: Path) -> dict[str, tuple[int, float, float]]:
    """Per benchmarked stage (results/benchmarks/features, runs): jobs, wall seconds summed
    and the largest peak RSS (MB), from the `benchmark:` files Snakemake wrote."""
    figures = {}
    for stage in sorted(p.name for p in (results / "benchmarks").iterdir()):
        paths = (results / "benchmarks" / stage).rglob("*.tsv")
        rows = [next(csv.DictReader(p.read_text().splitlines(), delimiter="\t")) for p in paths]
        seconds = sum(float(row["s"]) for row in rows)
        figures[stage] = (len(rows), seconds, max(float(row["max_rss"]) for row in rows))
    return figures


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--cores", default="all")
    args.add_argument("--configfile", default=None)
    opts = args.parse_args()
    command = ["snakemake", "--cores", opts.cores]
    if opts.configfile:
        command += ["--configfile", opts.configfile]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        fresh_copy(workdir)
        full, log = timed(command, workdir)
        jobs = log.count("localrule ") + log.count("\nrule ")
        stages = benchmark_figures(workdir / "results")
        noop, log = timed(command, workdir)
        assert "Nothing to be done" in log, log[-2000:]
        table = (workdir / "results" / "cross_corpus_uar.md").read_text()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"full run: {full:.1f} s ({jobs} jobs)")
    print(f"no-op rerun: {noop:.2f} s")
    for stage, (n, seconds, rss) in stages.items():
        print(f"  {stage}: {n} jobs, {seconds:.0f} job-seconds, peak RSS up to {rss:.0f} MB")
    print(f"\nthe run's summary table:\n{table}")


if __name__ == "__main__":
    main()

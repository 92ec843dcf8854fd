"""Time the default workflow end to end on a fresh copy, then its no-op rerun.

Usage: python benchmarks/workflow_timing.py [--cores N] [--configfile FILE]
Copies the tracked files of this checkout into a temporary directory (so no earlier results are
reused), runs `snakemake --cores N` there, then runs it again and checks "Nothing to be done";
prints the times, the job-seconds per rule and the run's summary table.
"""

import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

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


@contextmanager
def variants_run(experiments: Callable[[dict], list[dict]]) -> Iterator[tuple[dict, Path, float]]:
    """Run the default config with `experiments(config)` as its experiments (W&B off) in a
    fresh copy of the checkout, with the command line's --cores; yield (that config, its
    results/runs directory, the run's seconds) while the directory exists."""
    args = argparse.ArgumentParser()
    args.add_argument("--cores", default="all")
    opts = args.parse_args()
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config |= {"experiments": experiments(config), "wandb_mode": "disabled"}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        fresh_copy(workdir)
        (workdir / "benchmark.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        command = ["snakemake", "--cores", opts.cores, "--configfile", "benchmark.yaml"]
        elapsed, _ = timed(command, workdir)
        yield config, workdir / "results" / "runs", elapsed


def rule_seconds(log: str) -> dict[str, float]:
    """Wall seconds per rule, summed over its jobs, from Snakemake's timestamped console log."""
    started: dict[str, tuple[str, datetime.datetime]] = {}
    totals: dict[str, float] = {}
    stamp, rule = None, None
    for line in log.splitlines():
        if m := re.match(r"\[(\w+ \w+ +\d+ [\d:]+ \d+)\]", line):
            stamp = datetime.datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := re.match(r"(?:local)?rule (\w+):", line):
            rule = m.group(1)
        elif (m := re.match(r"\s+jobid: (\d+)", line)) and rule:
            started[m.group(1)], rule = (rule, stamp), None
        elif (m := re.match(r"Finished jobid: (\d+)", line)) and m.group(1) in started:
            name, start = started.pop(m.group(1))
            totals[name] = totals.get(name, 0.0) + (stamp - start).total_seconds()
    return totals


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
        per_rule = rule_seconds(log)
        noop, log = timed(command, workdir)
        assert "Nothing to be done" in log, log[-2000:]
        table = (workdir / "results" / "cross_corpus_uar.md").read_text()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"full run: {full:.1f} s ({jobs} jobs)")
    print(f"no-op rerun: {noop:.2f} s")
    total = sum(per_rule.values())
    for name, seconds in sorted(per_rule.items(), key=lambda item: -item[1]):
        print(f"  {name}: {seconds:.0f} job-seconds ({100 * seconds / total:.0f} %)")
    print(f"\nthe run's summary table:\n{table}")


if __name__ == "__main__":
    main()

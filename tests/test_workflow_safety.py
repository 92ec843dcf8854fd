"""The workflow against what users do to it: odd corpus paths, a killed Snakemake."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pyarrow.parquet as pq
import pytest
from conftest import SNAKEFILE
from test_workflow import experiment, snakemake, write_config

from xcorpus.corpora.demo import DemoSettings, write_demo
from xcorpus.tables import read_index_metadata

pytestmark = pytest.mark.workflow

TWO_CORPORA = {c: {"root": f"results/demo/{c}", "demo": True} for c in ("IEMO", "MSPI")}


def test_corpus_paths_reach_the_shell_quoted(tmp_path):
    """A root and transcripts path with a space, non-ASCII letters and `$(...)` index as they
    are, and the command substitution never runs."""
    root = tmp_path / "dir with space" / "ünï $(touch PWNED)"
    write_demo("MSPI", root, DemoSettings(utterances=12))
    corpora = TWO_CORPORA | {
        "MSPI": {"root": str(root), "transcripts": str(root / "transcripts_asr.tsv")}
    }
    workdir = tmp_path / "work"
    write_config(workdir, utterances=12, experiments=[experiment("mspi", "MSPI")], corpora=corpora)
    run = snakemake(workdir, "results/corpora/MSPI.parquet")
    assert run.returncode == 0, run.stderr[-3000:]
    assert not list(tmp_path.rglob("PWNED"))
    index = pq.read_table(workdir / "results/corpora/MSPI.parquet")
    assert read_index_metadata(workdir / "results/corpora/MSPI.parquet")["root"] == str(root)
    assert index.num_rows > 0 and None not in index.column("transcript").to_pylist()


def test_a_plain_rerun_after_snakemake_was_killed_finishes(tmp_path):
    """kill -9 of Snakemake while a job runs leaves the job to finish as an orphan and its
    output marked incomplete; the default profile's rerun-incomplete redoes it."""
    write_config(
        tmp_path, utterances=12, experiments=[experiment("iemo", "IEMO")], corpora=TWO_CORPORA
    )
    target = "results/corpora/IEMO.parquet"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE)]
    command += ["--directory", str(tmp_path), "--cores", "1", target]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as run:
        started = tmp_path / "results/logs/index/IEMO.log"  # the job's shell opens it first
        deadline = time.monotonic() + 600
        while not started.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert started.exists() and run.poll() is None, "the index job never started"
        jobs = psutil.Process(run.pid).children(recursive=True)
        os.kill(run.pid, signal.SIGKILL)
    psutil.wait_procs(jobs, timeout=600)
    assert os.listdir(tmp_path / ".snakemake/incomplete"), "the job was not interrupted"
    assert (tmp_path / target).exists()  # written by the orphaned job
    assert snakemake(tmp_path, "--unlock").returncode == 0
    rerun = snakemake(tmp_path, target)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "rule index_corpus" in rerun.stdout + rerun.stderr
    assert not os.listdir(tmp_path / ".snakemake/incomplete")

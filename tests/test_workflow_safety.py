"""The workflow against what users do to it: edited corpora, odd corpus paths, a killed
Snakemake."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from conftest import SNAKEFILE
from test_workflow import FAST, dry_run_jobs, experiment, snakemake, write_config

from xcorpus.corpora.demo import DemoSettings, write_demo
from xcorpus.tables import read_index_metadata

pytestmark = pytest.mark.workflow

TWO_CORPORA = {c: {"root": f"results/demo/{c}", "demo": True} for c in ("IEMO", "MSPI")}
TWO_CORPORA["MSPI"]["transcripts"] = "results/demo/MSPI/transcripts_asr.tsv"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    """The whole workflow on two small demo corpora, IEMO trained, MSPI tested."""
    workdir = tmp_path_factory.mktemp("small")
    iemo = [experiment("iemo", "IEMO") | FAST]
    write_config(workdir, utterances=12, experiments=iemo, corpora=TWO_CORPORA)
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


def copied(workdir: Path, tmp_path: Path) -> Path:
    """A copy of a finished run (mtimes kept), to edit its corpora."""
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)
    assert dry_run_jobs(copy) == {}  # a copy is as up to date as the run
    return copy


# What an edit of IEMO (the training corpus) reruns; MSPI, only tested on, is not reindexed.
IEMO_DOWNSTREAM = {
    "index_corpus": 1,
    "extract_features": 2,
    "score_difficulty": 1,
    "build_manifest": 1,
    "hash_audio": 1,
    "leakage": 1,
    "train": 1,
    "log_seed_run": 1,
    "log_averaged_run": 1,
    "aggregate_experiment": 1,
    "aggregate_all": 1,
    "plot_experiment": 1,
    "plot_summary": 1,
    "feature_map": 1,
    "all": 1,
}


def planned_outputs(workdir: Path) -> str:
    run = snakemake(workdir, "-n")
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout + run.stderr


def test_editing_a_label_reindexes_that_corpus_and_what_depends_on_it(small_run, tmp_path):
    copy = copied(small_run, tmp_path)
    index = pq.read_table(copy / "results/corpora/IEMO.parquet").to_pylist()
    utt_id = next(row["utt_id"] for row in index if row["raw_label"] == "neu")
    labels = (copy / "results/demo/IEMO").glob("Session*/dialog/EmoEvaluation/*.txt")
    path = next(p for p in labels if f"\t{utt_id}\tneu\t" in p.read_text())
    path.write_text(path.read_text().replace(f"\t{utt_id}\tneu\t", f"\t{utt_id}\tsad\t"))
    assert dry_run_jobs(copy) == IEMO_DOWNSTREAM
    planned = planned_outputs(copy)
    assert "Params have changed since last execution" in planned
    assert "output: results/corpora/MSPI.parquet" not in planned
    run = snakemake(copy, "results/corpora/IEMO.parquet")
    assert run.returncode == 0, run.stderr[-3000:]
    index = pq.read_table(copy / "results/corpora/IEMO.parquet").to_pylist()
    assert next(row for row in index if row["utt_id"] == utt_id)["label"] == "sad"


def test_adding_or_removing_a_wav_reindexes_that_corpus(small_run, tmp_path):
    copy = copied(small_run, tmp_path)
    wav = next((copy / "results/demo/IEMO").glob("Session1/sentences/wav/*/*.wav"))
    added = wav.with_name("extra.wav")
    shutil.copy(wav, added)
    assert dry_run_jobs(copy) == IEMO_DOWNSTREAM
    assert snakemake(copy, "--touch").returncode == 0  # as if it had run
    added.unlink()
    assert dry_run_jobs(copy) == IEMO_DOWNSTREAM


def test_editing_a_transcripts_file_reindexes_that_corpus(small_run, tmp_path):
    copy = copied(small_run, tmp_path)
    tsv = copy / "results/demo/MSPI/transcripts_asr.tsv"
    header, first, *rest = tsv.read_text().splitlines()
    tsv.write_text("\n".join([header, f"{first} (edited)", *rest]) + "\n")
    jobs = dry_run_jobs(copy)
    assert jobs["index_corpus"] == 1 and "train" in jobs
    assert "output: results/corpora/IEMO.parquet" not in planned_outputs(copy)


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

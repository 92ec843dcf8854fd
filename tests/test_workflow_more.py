"""A tiny run of the real Snakefile with the MELD (MP4), EMODB and ESD demo corpora."""

import csv
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import SNAKEFILE

pytestmark = pytest.mark.workflow

UTTERANCES = 40


def test_new_corpora_train_and_test_end_to_end(tmp_path: Path) -> None:
    """IEMO is tested on the three; MELD+ESD train with their splits regrouped by speaker."""
    quick = {"num_epochs": 3, "seeds": [1], "use_curriculum_learning": False}
    config = {
        "demo": {"seed": 7, "utterances": UTTERANCES},
        "corpora": {
            "IEMO": {"root": "results/demo/IEMO", "demo": True},
            "MELD": {"root": "results/demo/MELD", "demo": True, "splits": "speaker"},
            "EMODB": {"root": "results/demo/EMODB", "demo": True},
            "ESD": {"root": "results/demo/ESD", "demo": True, "splits": "speaker"},
        },
        "features": {"egemaps": {"backend": "egemaps", "shards": 1}},
        "experiments": [
            {"name": "meld_esd", "train_dataset": ["MELD", "ESD"], **quick},
            {"name": "iemo", "train_dataset": "IEMO", **quick},
        ],
        "wandb_mode": "disabled",
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE)]
    command += ["--directory", str(tmp_path), "--cores", "2"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]

    results = tmp_path / "results"
    for corpus in ("MELD", "EMODB", "ESD"):
        assert pq.read_table(results / "corpora" / f"{corpus}.parquet").num_rows == UTTERANCES
    meld = pq.read_table(results / "corpora" / "MELD.parquet").to_pylist()
    assert {r["channels"] for r in meld} == {2, 6} and {r["sample_rate"] for r in meld} == {48000}
    with (results / "cross_corpus_uar.csv").open() as f:
        table = {row["experiment"]: row for row in csv.DictReader(f)}
    assert [table["iemo"][f"{c}_n"] for c in ("MELD", "EMODB", "ESD")] == [str(UTTERANCES)] * 3
    assert table["meld_esd"]["MELD in-corpus_n"] and table["meld_esd"]["ESD in-corpus_n"]
    # The regrouped splits keep every speaker in one role.
    manifest = pq.read_table(results / "manifests" / "meld_esd.parquet").to_pylist()
    speakers = {(r["corpus"], r["utt_id"]): r["speaker"] for r in meld}
    esd = pq.read_table(results / "corpora" / "ESD.parquet").to_pylist()
    speakers |= {("ESD", r["utt_id"]): r["speaker"] for r in esd}
    roles: dict[tuple[str, str], set[str]] = {}
    for r in manifest:
        if r["corpus"] in ("MELD", "ESD"):  # the training corpora
            key = (r["corpus"], speakers[(r["corpus"], r["utt_id"])])
            roles.setdefault(key, set()).add(r["role"])
    assert {"train", "val", "heldout"} <= set().union(*roles.values())
    assert all(len(r) == 1 for r in roles.values())

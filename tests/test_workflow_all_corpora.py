"""The twelve-corpus demo grid (configs/all_corpora.yaml), one of its experiments, tiny."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, SNAKEFILE

pytestmark = pytest.mark.workflow


def test_twelve_demo_corpora_train_leave_one_corpus_out(tmp_path):
    config = yaml.safe_load((REPO / "configs" / "all_corpora.yaml").read_text())
    config["demo"]["utterances"] = 48
    (leave_out_iemo,) = [e for e in config["experiments"] if e["name"] == "LeaveOut_IEMO"]
    config["experiments"] = [leave_out_iemo | {"num_epochs": 3, "seeds": [1]}]
    config["wandb_mode"] = "disabled"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
        "--directory", str(tmp_path), "--cores", "2",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]

    results = tmp_path / "results"
    sizes = {
        c: pq.read_metadata(results / f"corpora/{c}.parquet").num_rows for c in config["corpora"]
    }
    assert all(n > 0 for n in sizes.values())
    metrics = json.loads((results / "runs/LeaveOut_IEMO/seed-1/metrics.json").read_text())
    training = [c for c in config["corpora"] if c not in ("IEMO", "TESS")]
    assert metrics["n"]["test"] == {"IEMO": sizes["IEMO"], "TESS": sizes["TESS"]}
    assert sorted(metrics["in_corpus"]) == sorted(training)
    manifest = pq.read_table(results / "manifests/LeaveOut_IEMO.parquet").to_pylist()
    roles = {(r["corpus"], r["role"]) for r in manifest}
    assert {c for c, role in roles if role == "train"} == set(training)
    header = (results / "cross_corpus_uar.md").read_text().splitlines()[0]
    assert "IEMO" in header and "TESS" in header and "ESD in-corpus" in header

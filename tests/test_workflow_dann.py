"""End-to-end: a domain-adversarial experiment on tiny demo corpora through the real Snakefile."""

import json

import pyarrow.csv as pacsv
import pytest
from test_workflow import experiment, refusal, snakemake, write_config

pytestmark = pytest.mark.workflow


def test_dann_on_unlabelled_test_corpora_is_recorded_and_marked(tmp_path):
    dann = experiment(
        "dann",
        "IEMO",
        num_epochs=3,
        seeds=[1],
        use_curriculum_learning=False,
        domain_adaptation="dann",
        dann_weight=0.5,
        dann_warmup_epochs=1,
        dann_unlabelled_test=True,
    )
    write_config(tmp_path, utterances=48, experiments=[dann])
    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results"
    metrics = json.loads((results / "runs/dann/seed-1/metrics.json").read_text())
    tests = ["MSPI", "MSPP", "CMUMOSEI", "SAMSEMO"]
    reason = f"the domain loss reads the unlabelled features of test corpora {', '.join(tests)}"
    record = metrics["domain_adaptation"]
    assert {k: v for k, v in record.items() if k != "domains"} == {
        "method": "dann",
        "weight": 0.5,
        "warmup_epochs": 1,
        "unlabelled_test": True,
        "transductive": True,
        "reason": reason,
    }
    assert list(record["domains"]) == ["IEMO", *tests]
    assert record["domains"]["IEMO"] == metrics["n"]["train"]
    assert [record["domains"][c] for c in tests] == [metrics["n"]["test"][c] for c in tests]
    assert metrics["feature_normalisation"]["transductive"] is False
    history = pacsv.read_csv(results / "runs/dann/seed-1/history.csv").to_pydict()
    assert history["dann_lambda"] == [0.0, 0.5, 0.5]
    log = (results / "logs/runs/dann/seed-1.log").read_text()
    assert "domain adaptation: dann, reversal weight 0.5 reached after 1 warm-up epoch(s)" in log
    assert f"; TRANSDUCTIVE: {reason}" in log
    table = (results / "cross_corpus_uar.md").read_text().splitlines()
    assert table[2].startswith("| dann ‡ | IEMO | 1 |")
    assert f"- ‡ dann: transductive, {reason}; not comparable with inductive results." in table
    # The default target maps the feature set: as extracted, then as the experiment's model
    # sees it (feature_normalisation train).
    png = results / "plots/feature_map/egemaps.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    n = sum(metrics["n"]["test"].values()) + metrics["n"]["train"] + metrics["n"]["validation"]
    n += sum(metrics["n"]["in_corpus"].values())
    lines = (results / "logs/plots/feature_map/egemaps.log").read_text().splitlines()
    assert [line.rsplit(" in ", 1)[0] for line in lines if "utterances" in line] == [
        f"as extracted: {n} of {n} utterances (at most 100 per corpus), t-SNE",
        f"train (as in dann): {n} of {n} utterances (at most 100 per corpus), t-SNE",
    ]


def test_dann_config_errors_stop_before_any_job(tmp_path):
    refusals = {
        "experiment bad: dann_weight set, but domain_adaptation is none; set "
        "domain_adaptation: dann or remove them": {"dann_weight": 0.3},
        "experiment bad: domain_adaptation dann with one training corpus (IEMO) has one domain "
        "to tell apart; train on several corpora or set dann_unlabelled_test: true "
        "(transductive)": {"domain_adaptation": "dann"},
    }
    for message, change in refusals.items():
        assert refusal(tmp_path, experiment("bad", "IEMO", **change)) == message
    assert not (tmp_path / "results").exists()

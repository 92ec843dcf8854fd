"""The classical classifiers through the real Snakefile, beside an MLP, on tiny demo corpora."""

import json

import pyarrow.parquet as pq
import pytest
from test_workflow import experiment, snakemake, write_config

pytestmark = pytest.mark.workflow

QUICK = {"seeds": [1, 2], "use_curriculum_learning": False, "min_speaker_utterances": 2}
RUNS = {
    "logistic": {"classifier": "logistic", "feature_normalisation": "corpus"},
    "svm": {"classifier": "svm", "feature_normalisation": "speaker"},
    "xgboost": {"classifier": "xgboost", "feature_normalisation": "none"},
    "mlp": {"num_epochs": 3},
}


def test_one_experiment_per_classifier_and_normalisation(tmp_path):
    experiments = [experiment(name, "IEMO", **QUICK | change) for name, change in RUNS.items()]
    write_config(tmp_path, utterances=48, experiments=experiments)
    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results"
    manifest = pq.read_table(results / "manifests/logistic.parquet").to_pandas()
    counts = manifest.groupby(["role", "corpus"]).size().to_dict()
    expected = {
        "val": counts["val", "IEMO"],
        "heldout": counts["heldout", "IEMO"],
        "test": sum(n for (role, _), n in counts.items() if role == "test"),
    }
    for name in RUNS:
        for seed in (1, 2):
            out = results / f"runs/{name}/seed-{seed}"
            predictions = pq.read_table(out / "predictions.parquet").to_pandas()
            assert predictions.groupby("role").size().to_dict() == expected, name
            metrics = json.loads((out / "metrics.json").read_text())
            assert metrics["n"]["validation"] == expected["val"]
            assert sum(metrics["n"]["test"].values()) == expected["test"]
            assert (out / "model.pt").stat().st_size > 0 and (out / "history.csv").exists()
    for name in ("logistic", "svm", "xgboost"):
        runs = [results / f"runs/{name}/seed-{s}" for s in (1, 2)]
        seeds = [json.loads((r / "metrics.json").read_text()) for r in runs]
        assert seeds[0]["classifier"]["deterministic"] is True
        assert [m.pop("seed") for m in seeds] == [1, 2] and seeds[0] == seeds[1]
        for file in ("predictions.parquet", "history.csv", "model.pt"):
            assert (runs[0] / file).read_bytes() == (runs[1] / file).read_bytes(), (name, file)
        log = (results / f"logs/runs/{name}/seed-1.log").read_text()
        assert "deterministic: every seed gives this same model" in log
    assert seeds[0]["feature_normalisation"]["method"] == "none"
    table = (results / "cross_corpus_uar.md").read_text().splitlines()
    names = [line.split(" | ")[0].removeprefix("| ") for line in table[2:6]]
    assert names == ["logistic ‡", "svm ‡", "xgboost", "mlp"]
    notes = [line for line in table if "is deterministic" in line]
    assert [n.split(":")[0] for n in notes] == ["- logistic", "- svm", "- xgboost"]
    for name in RUNS:
        png = results / f"plots/{name}/learning_curves.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

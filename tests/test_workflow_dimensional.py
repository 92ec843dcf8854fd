"""End-to-end: one multitask and one dimensional experiment through the real Snakefile on
tiny demo corpora, down to the dimensional summary, figures and W&B keys."""

import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest
from test_tracking import offline_runs
from test_workflow import experiment, snakemake, write_config

from xcorpus.metrics import DIMENSIONS

pytestmark = pytest.mark.workflow
UNRATED = ("CMUMOSEI", "SAMSEMO")


@pytest.fixture(scope="module")
def dimensional_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("dimensional")
    write_config(
        workdir,
        utterances=48,
        experiments=[
            experiment("IEMO+MSPI_multi", ["IEMO", "MSPI"], task="multitask", curriculum_epochs=5),
            experiment("IEMO_dim", "IEMO", task="dimensional", dimensional_loss="mse"),
        ],
        wandb_mode="offline",
        comparisons=[{"name": "multi_vs_dim", "a": "IEMO_dim", "b": "IEMO+MSPI_multi"}],
    )
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir / "results"


def seeds(results: Path, name: str) -> list[dict]:
    paths = sorted((results / "runs" / name).glob("seed-*/metrics.json"))
    return [json.loads(p.read_text()) for p in paths]


def test_metrics_hold_ccc_on_rated_splits_only(dimensional_run):
    (multi, _), (dim, _) = (
        seeds(dimensional_run, "IEMO+MSPI_multi"),
        seeds(dimensional_run, "IEMO_dim"),
    )
    assert multi["selection_metric"] == "uar" and dim["selection_metric"] == "ccc"
    for split in (multi["validation"], multi["test"]["MSPP"], multi["in_corpus"]["IEMO"]):
        assert {"uar", "ccc_valence", "pearson_mean", "rmse_dominance", "n_rated"} <= set(split)
    assert "uar" not in dim["validation"] and "ccc_mean" in dim["test"]["MSPP"]
    for metrics in (multi, dim):
        for corpus in UNRATED:
            assert not any(
                k.startswith(("ccc", "pearson", "rmse")) for k in metrics["test"][corpus]
            )
            assert metrics["unrated"][corpus] == f"{corpus} has no V/A/D ratings"


def test_dimensional_summary_averages_the_seeds_and_marks_unrated_corpora(dimensional_run):
    rows = pacsv.read_csv(dimensional_run / "cross_corpus_ccc.csv").to_pylist()
    assert {r["experiment"] for r in rows} == {"IEMO+MSPI_multi", "IEMO_dim"}
    cell = next(r for r in rows if r["experiment"] == "IEMO_dim" and r["split"] == "MSPP")
    per_seed = [m["test"]["MSPP"] for m in seeds(dimensional_run, "IEMO_dim")]
    for d in (*DIMENSIONS, "mean"):
        values = [m[f"ccc_{d}"] for m in per_seed]
        assert cell[f"ccc_{d}_mean"] == pytest.approx(np.mean(values))
        assert cell[f"ccc_{d}_std"] == pytest.approx(np.std(values, ddof=1))
    unrated = next(r for r in rows if r["experiment"] == "IEMO_dim" and r["split"] == "CMUMOSEI")
    assert unrated["ccc_valence_mean"] is None and unrated["n_rated"] is None
    markdown = (dimensional_run / "cross_corpus_ccc.md").read_text()
    assert "| IEMO_dim | IEMO | 2 | CMUMOSEI | — | — | — | — | — |" in markdown
    assert "- — (no dimensional metric): CMUMOSEI has no V/A/D ratings; SAMSEMO has no" in markdown
    # The UAR summary keeps the dimensional experiment, without UAR and saying why.
    uar = (dimensional_run / "cross_corpus_uar.md").read_text()
    assert "IEMO_dim: task dimensional, no class head, so no UAR" in uar


def test_experiment_table_wandb_and_figures(dimensional_run):
    table = pacsv.read_csv(dimensional_run / "tables/IEMO+MSPI_multi.csv").to_pylist()
    mean = next(r for r in table if r["seed"] == "mean" and r["split"] == "MSPP")
    assert mean["ccc_arousal"] is not None and mean["uar"] is not None
    unrated = next(r for r in table if r["seed"] == "mean" and r["split"] == "SAMSEMO")
    assert unrated["ccc_arousal"] is None and unrated["unrated"] == "SAMSEMO has no V/A/D ratings"
    averaged = offline_runs(dimensional_run)["AVERAGED_IEMO+MSPI"]
    assert averaged.summary["IEMO+MSPItoMSPP_ccc_valence_mean"] == pytest.approx(
        next(r for r in table if r["seed"] == "mean" and r["split"] == "MSPP")["ccc_valence"]
    )
    assert "IEMO+MSPItoCMUMOSEI_ccc_valence_mean" not in averaged.summary
    for name in ("IEMO+MSPI_multi", "IEMO_dim"):
        for plot in ("vad_scatter", "ccc_curves", "learning_curves", "confusion"):
            png = dimensional_run / f"plots/{name}/{plot}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    report = snakemake(dimensional_run.parent, "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (dimensional_run / "report.html").read_text(encoding="utf-8", errors="replace")
    assert "vad_scatter.png" in html and "ccc_curves.png" in html


def test_a_pair_with_v_a_d_heads_is_compared_on_ccc_only(dimensional_run):
    rows = pacsv.read_csv(dimensional_run / "comparisons_ccc.csv").to_pylist()
    # Shared rated test splits only: the unrated corpora and MSPI (a training corpus of b) not.
    assert [r["split"] for r in rows] == ["MSPP", "IEMO in-corpus"]
    dim = seeds(dimensional_run, "IEMO_dim")
    assert rows[0]["ccc_a"] == pytest.approx(np.mean([m["test"]["MSPP"]["ccc_mean"] for m in dim]))
    assert not (dimensional_run / "comparisons.csv").exists()  # IEMO_dim has no class head

"""The real Snakefile on the acted demo corpora (CREMAD, RAVDESS, SAVEE, TESS) alone."""

import json

import pyarrow.parquet as pq
import pytest
import yaml
from test_workflow import snakemake

pytestmark = pytest.mark.workflow

ACTED = ("CREMAD", "RAVDESS", "SAVEE", "TESS")


def test_acted_corpora_run_end_to_end_with_an_agreement_curriculum(tmp_path):
    """CREMA-D's rater votes rank a difficulty curriculum; the three others are its tests."""
    config = {
        "demo": {"seed": 7, "utterances": 48},
        "corpora": {c: {"root": f"results/demo/{c}", "demo": True} for c in ACTED},
        "features": {"egemaps": {"backend": "egemaps", "shards": 1}},
        "experiments": [
            {
                "name": "CREMAD_only",
                "train_dataset": "CREMAD",
                "num_epochs": 4,
                "seeds": [1],
                "curriculum_epochs": 2,
                "difficulty_method": "agreement",
            }
        ],
        "wandb_mode": "disabled",
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for corpus in ACTED:
        meta = json.loads(
            pq.read_schema(tmp_path / f"results/corpora/{corpus}.parquet").metadata[
                b"xcorpus.index"
            ]
        )
        assert meta["kept"] == 48 and meta["splits"] == {"none": 48}
        log = (tmp_path / f"results/logs/index/{corpus}.log").read_text()
        # AppleDouble files, the doubled Kaggle tree: in the footer and the log alike.
        assert meta["ignored"]["count"] > 0
        assert f"  ignored {meta['ignored']['count']} files that define no utterance" in log
        assert all(f"    {example}\n" in log for example in meta["ignored"]["examples"])
    difficulty = pq.read_table(tmp_path / "results/difficulty/agreement/CREMAD.parquet")
    assert difficulty.num_rows == 48
    metrics = json.loads((tmp_path / "results/runs/CREMAD_only/seed-1/metrics.json").read_text())
    assert set(metrics["test"]) == {"RAVDESS", "SAVEE", "TESS"}
    table = (tmp_path / "results/cross_corpus_uar.md").read_text()
    assert all(name in table for name in ("RAVDESS", "SAVEE", "TESS", "CREMAD in-corpus"))

"""End-to-end: dimensional_all_rated through the real Snakefile on tiny demo corpora, beside the
same multitask experiment without it: the rated utterances outside the four classes join the
V/A/D head's data and nothing else."""

import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from test_workflow import experiment, snakemake, write_config

from xcorpus.labels import CLASS_INDEX
from xcorpus.metrics import classification_metrics

pytestmark = pytest.mark.workflow
RATED = ("IEMO", "MSPI", "MSPP")
PLAIN, ALL = "IEMO_multi", "IEMO_multi_all_rated"


@pytest.fixture(scope="module")
def all_rated_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("all_rated")
    same = {"task": "multitask", "use_curriculum_learning": False, "seeds": [1]}
    write_config(
        workdir,
        utterances=48,
        experiments=[
            experiment(PLAIN, "IEMO", **same),
            experiment(ALL, "IEMO", dimensional_all_rated=True, **same),
        ],
        comparisons=[{"name": "all_rated", "a": PLAIN, "b": ALL}],
    )
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir / "results"


def table(path: Path) -> dict[str, dict]:
    return {r["utt_id"]: r for r in pq.read_table(path).to_pylist()}


def test_the_manifest_adds_the_rated_rows_with_their_speakers_roles(all_rated_run):
    plain = table(all_rated_run / f"manifests/{PLAIN}.parquet")
    added = table(all_rated_run / f"manifests/{ALL}.parquet")
    assert {u: added[u] for u in plain} == plain  # the four-class rows keep their roles
    rated = {c: table(all_rated_run / f"corpora/{c}.rated.parquet") for c in RATED}
    assert all(rated.values())  # every rated demo corpus has some
    assert set(added) - set(plain) == {u for rows in rated.values() for u in rows}
    index = table(all_rated_run / "corpora/IEMO.parquet")
    role_of_speaker = {index[u]["speaker"]: r["role"] for u, r in plain.items() if u in index}
    for utt, row in rated["IEMO"].items():
        assert added[utt]["role"] == role_of_speaker[row["speaker"]], utt
    for corpus in ("MSPI", "MSPP"):
        assert {added[u]["role"] for u in rated[corpus]} == {"test"}


def test_uar_stays_on_the_four_classes_and_ccc_gains_the_rated_rows(all_rated_run):
    plain, added = (
        json.loads((all_rated_run / f"runs/{name}/seed-1/metrics.json").read_text())
        for name in (PLAIN, ALL)
    )
    # The evaluated splits' n and digests describe what UAR is over: the same four-class rows;
    # training adds the rated rows outside the classes.
    unlabelled = added["n"].pop("train_unlabelled")
    assert unlabelled > 0 and added["n"]["train"] == plain["n"]["train"] + unlabelled
    assert added["n"] | {"train": None} == plain["n"] | {"train": None}
    assert added["utterances"] == plain["utterances"]
    rated = {c: pq.read_table(all_rated_run / f"corpora/{c}.rated.parquet") for c in RATED}
    for corpus in ("MSPI", "MSPP"):
        extra = rated[corpus].num_rows
        assert added["test"][corpus]["n_rated"] == plain["test"][corpus]["n_rated"] + extra
    predictions = pq.read_table(all_rated_run / f"runs/{ALL}/seed-1/predictions.parquet")
    rows = predictions.to_pandas()
    unlabelled = rows[rows["label"].isna()]
    assert set(unlabelled["utt_id"]) <= {u for t in rated.values() for u in t["utt_id"].to_pylist()}
    assert unlabelled[["valence", "pred_valence", "pred"]].notna().all().all()
    mspp = rows[(rows["corpus"] == "MSPP") & rows["label"].notna()]
    y = mspp["label"].map(CLASS_INDEX).to_numpy()
    pred = mspp["pred"].map(CLASS_INDEX).to_numpy()
    assert added["test"]["MSPP"]["uar"] == classification_metrics(y, pred)["uar"]
    assert added["test"]["MSPP"]["confusion"] == classification_metrics(y, pred)["confusion"]


def test_uar_comparison_pairs_the_four_class_rows_and_leakage_reads_every_row(all_rated_run):
    rows = pacsv.read_csv(all_rated_run / "comparisons.csv").to_pylist()
    plain = json.loads((all_rated_run / f"runs/{PLAIN}/seed-1/metrics.json").read_text())
    mspp = next(r for r in rows if r["split"] == "MSPP")
    assert mspp["n_utterances"] == plain["n"]["test"]["MSPP"]
    assert not (all_rated_run / "comparisons_ccc.csv").exists()  # not the same utterances
    assert (all_rated_run / f"leakage/{ALL}.csv").exists()
    assert np.isfinite(mspp["uar_b"])

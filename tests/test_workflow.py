"""End-to-end runs of the real Snakefile on small generated demo corpora."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, SNAKEFILE

pytestmark = pytest.mark.workflow

CORPORA = ("IEMO", "MSPI", "MSPP", "CMUMOSEI", "SAMSEMO")


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
        "--directory", str(workdir), "--cores", "2", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=1800)


def write_config(workdir: Path, utterances: int, experiments: list[dict], **extra) -> None:
    corpora = {c: {"root": f"results/demo/{c}", "demo": True} for c in CORPORA}
    corpora["MSPI"]["transcripts"] = "results/demo/MSPI/transcripts_asr.tsv"
    config = {
        "demo": {"seed": 7, "utterances": utterances},
        "corpora": corpora,
        "features": {"egemaps": {"backend": "egemaps", "shards": 2}},
        "experiments": experiments,
        "wandb_mode": "disabled",  # tiny_run checks the offline W&B runs
    } | extra
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def experiment(name: str, train, **changes) -> dict:
    return {"name": name, "train_dataset": train, "num_epochs": 20, "seeds": [1, 2]} | changes


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    workdir = tmp_path_factory.mktemp("tiny")
    write_config(
        workdir,
        utterances=48,
        experiments=[
            experiment("IEMO_only", "IEMO"),
            experiment("IEMO+MSPI", ["IEMO", "MSPI"], curriculum_epochs=5),
        ],
        wandb_mode="offline",
        comparisons=[{"name": "add_MSPI", "a": "IEMO_only", "b": "IEMO+MSPI"}],
    )
    return workdir, snakemake(workdir)


def test_tiny_workflow_writes_every_stage(tiny_run):
    workdir, run = tiny_run
    assert run.returncode == 0, run.stderr[-3000:]
    results = workdir / "results"
    for corpus in CORPORA:
        index = pq.read_table(results / "corpora" / f"{corpus}.parquet")
        assert set(index["corpus"].to_pylist()) == {corpus}
        for shard in range(2):
            assert (results / "features/egemaps" / corpus / f"shard-{shard}-of-2.parquet").exists()
    manifest = pq.read_table(results / "manifests" / "IEMO+MSPI.parquet").to_pylist()
    assert {(r["corpus"], r["role"]) for r in manifest} == {
        ("IEMO", "train"), ("IEMO", "val"), ("IEMO", "heldout"),
        ("MSPI", "train"), ("MSPI", "val"), ("MSPI", "heldout"),
        ("MSPP", "test"), ("CMUMOSEI", "test"), ("SAMSEMO", "test"),
    }  # fmt: skip
    metrics = json.loads((results / "runs/IEMO+MSPI/seed-1/metrics.json").read_text())
    assert sorted(metrics["test"]) == ["CMUMOSEI", "MSPP", "SAMSEMO"]
    assert metrics["n"]["validation"] == sum(r["role"] == "val" for r in manifest)
    # Every training corpus has its own in-corpus test on speakers training never saw.
    assert metrics["n"]["in_corpus"] == {
        c: sum(r["role"] == "heldout" and r["corpus"] == c for r in manifest)
        for c in ("IEMO", "MSPI")
    }
    assert "🚀 Training: IEMO+MSPI -> ['MSPP', 'CMUMOSEI', 'SAMSEMO']" in run.stdout + run.stderr
    leakage = pq_csv(results / "leakage" / "IEMO+MSPI.csv")
    assert [r["count"] for r in leakage if r["check"] == "speaker_overlap"] == [0]
    table = (results / "cross_corpus_uar.md").read_text()
    assert "IEMO+MSPI" in table and "SAMSEMO" in table
    assert table.strip() in run.stdout


def test_report_builds_with_every_figure(tiny_run):
    workdir, first = tiny_run
    assert first.returncode == 0
    for experiment in ("IEMO_only", "IEMO+MSPI"):
        for plot in ("confusion", "learning_curves", "accuracy_by_difficulty"):
            png = workdir / f"results/plots/{experiment}/{plot}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    png = workdir / "results/plots/feature_map/egemaps.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run = snakemake(workdir, "--report", "results/report.html")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (workdir / "results/report.html").stat().st_size > 100_000
    # The report bundles the figures with their captions (checked by their file names here;
    # the HTML itself is an app that renders them).
    html = (workdir / "results/report.html").read_text(encoding="utf-8", errors="replace")
    names = ("cross_corpus_uar.png", "confusion.png", "learning_curves.png", "IEMO+MSPI.csv")
    for name in (*names, "egemaps.png"):  # the feature map
        assert name in html


def test_weights_and_biases_runs_are_written_offline(tiny_run):
    workdir, first = tiny_run
    assert first.returncode == 0
    runs = sorted((workdir / "results/wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 2 * 2 + 2  # one per seed, one AVERAGED_{train} per experiment
    assert not (workdir / "wandb").exists()  # nothing outside results/


def test_comparison_and_latex_table(tiny_run):
    workdir, first = tiny_run
    assert first.returncode == 0
    rows = pacsv.read_csv(workdir / "results/comparisons.csv").to_pylist()
    # Only the tests both experiments scored on the same utterances (the test corpora, and IEMO's
    # in-corpus test speakers, fixed per corpus); never validation.
    assert [r["split"] for r in rows] == ["MSPP", "CMUMOSEI", "SAMSEMO", "IEMO in-corpus"]
    for row in rows:
        assert (row["comparison"], row["a"], row["b"], row["n_seeds"]) == (
            "add_MSPI",
            "IEMO_only",
            "IEMO+MSPI",
            2,
        )
        assert row["boot_ci95_low"] <= row["diff_mean"] <= row["boot_ci95_high"]
    tex = (workdir / "results/cross_corpus_uar.tex").read_text()
    assert "\\toprule" in tex and "IEMO+MSPI" in tex and "\\textbf{" in tex


def test_tables_from_the_seeds_that_finished(tiny_run, tmp_path):
    workdir, first = tiny_run
    assert first.returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)
    (copy / "results/runs/IEMO_only/seed-2/metrics.json").unlink()
    run = snakemake(copy, "--config", "aggregate_available=True", "wandb_mode=disabled")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "rule train" not in run.stdout + run.stderr  # nothing retrained
    table = (copy / "results/cross_corpus_uar.md").read_text()
    assert "1 of 2" in table and "IEMO_only: seed(s) 2" in table


def planned_jobs(workdir: Path, change) -> dict[str, int]:
    """Jobs per rule a dry run plans after `change` edits a copy of the run's config."""
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    change(config)
    changed = workdir / "changed.yaml"
    changed.write_text(yaml.safe_dump(config, sort_keys=False))
    return dry_run_jobs(workdir, "--configfile", str(changed))


def dry_run_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Jobs per rule that `snakemake -n *args` plans in `workdir`."""
    run = snakemake(workdir, "-n", *args)
    assert run.returncode == 0, run.stderr[-3000:]
    output = run.stdout + run.stderr
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:")[1].split("total")[0]
    counts = {}
    for line in table.splitlines()[3:]:
        if line.strip():
            rule, count = line.split()
            counts[rule] = int(count)
    return counts


DOWNSTREAM_OF_ONE_EXPERIMENT = {
    "aggregate_experiment": 1,
    "aggregate_all": 1,
    "plot_experiment": 1,
    "plot_summary": 1,
    "compare_experiments": 1,
    "log_averaged_run": 1,
    "all": 1,
}


def test_cache_a_hyperparameter_reruns_only_that_experiments_training(tiny_run):
    workdir, first = tiny_run
    assert first.returncode == 0

    def change(config):
        config["experiments"][0]["learning_rate"] = 0.002

    jobs = planned_jobs(workdir, change)
    assert jobs == {"train": 2, "log_seed_run": 2} | DOWNSTREAM_OF_ONE_EXPERIMENT


def test_cache_a_new_seed_trains_only_that_seed(tiny_run):
    workdir, first = tiny_run
    assert first.returncode == 0

    def change(config):
        config["experiments"][0]["seeds"] = [1, 2, 3]

    jobs = planned_jobs(workdir, change)
    assert jobs == {"train": 1, "log_seed_run": 1} | DOWNSTREAM_OF_ONE_EXPERIMENT


def test_cache_weights_and_biases_settings_rerun_only_the_logging(tiny_run):
    workdir, first = tiny_run
    assert first.returncode == 0

    def project(config):
        config["experiments"][0]["wandb_project"] = "elsewhere"

    logging = {"log_seed_run": 2, "log_averaged_run": 1, "all": 1}
    assert planned_jobs(workdir, project) == logging

    def mode(config):
        config["wandb_mode"] = "disabled"

    assert planned_jobs(workdir, mode) == {"log_seed_run": 4, "log_averaged_run": 2, "all": 1}
    record = json.loads((workdir / "results/runs/IEMO_only/seed-1/metrics.wandb.json").read_text())
    assert record == {
        "mode": "offline",
        "project": "xcorpus",
        "group": "IEMO_only",
        "name": "IEMO_only_seed1",
        "logged": True,
    }


def test_cache_a_new_experiment_extracts_no_features(tiny_run):
    workdir, first = tiny_run
    assert first.returncode == 0

    def change(config):
        config["experiments"].append(experiment("MSPI_only", "MSPI", seeds=[1]))

    jobs = planned_jobs(workdir, change)
    assert "extract_features" not in jobs and "index_corpus" not in jobs
    assert "compare_experiments" not in jobs  # it compares two other experiments
    assert (jobs["build_manifest"], jobs["train"], jobs["aggregate_experiment"]) == (1, 1, 1)


def test_cache_a_new_corpus_root_reindexes_only_that_corpus(tiny_run):
    workdir, first = tiny_run
    assert first.returncode == 0

    (workdir / "elsewhere" / "MSPP").mkdir(parents=True, exist_ok=True)

    def change(config):
        config["corpora"]["MSPP"]["root"] = "elsewhere/MSPP"
        config["corpora"]["MSPP"]["demo"] = False

    jobs = planned_jobs(workdir, change)
    assert jobs["index_corpus"] == 1 and "demo_corpus" not in jobs
    assert jobs["extract_features"] == 2  # MSPP's two shards, no other corpus's


def test_targeted_reruns_run_only_their_jobs(tiny_run):
    """The README's commands for rerunning one seed, one table, one corpus's features, a stage."""
    workdir, first = tiny_run
    assert first.returncode == 0
    seed = "results/runs/IEMO_only/seed-1/metrics.json"
    assert dry_run_jobs(workdir, "--forcerun", seed, "--", seed) == {"train": 1}
    table = "results/tables/IEMO_only.csv"
    jobs = dry_run_jobs(workdir, "--forcerun", "aggregate_experiment", "--", table)
    assert jobs == {"aggregate_experiment": 1}
    shards = [f"results/features/egemaps/MSPP/shard-{i}-of-2.parquet" for i in range(2)]
    assert dry_run_jobs(workdir, "--forcerun", *shards, "--", *shards) == {"extract_features": 2}
    stage = dry_run_jobs(workdir, "--forcerun", "build_manifest")
    assert (stage["build_manifest"], stage["train"]) == (2, 4)
    assert "extract_features" not in stage and "index_corpus" not in stage


def test_tiny_workflow_rerun_does_nothing(tiny_run):
    workdir, first = tiny_run
    assert first.returncode == 0
    again = snakemake(workdir)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


def refusal(workdir: Path, *experiments: dict) -> str:
    """The configuration error a dry run of `experiments` stops with: the first line after
    Snakemake's note of the profile it applies."""
    write_config(workdir, utterances=48, experiments=list(experiments))
    run = snakemake(workdir, "-n")
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if not line.startswith("Using workflow")]
    return lines[0].removeprefix("Configuration error: ")


def test_config_errors_stop_before_any_job(tmp_path):
    write_config(
        tmp_path,
        utterances=48,
        experiments=[experiment("multi_loso", ["IEMO", "MSPI"], evaluation_mode="loso")],
    )
    run = snakemake(tmp_path, "-n")
    assert run.returncode != 0
    assert "LOSO evaluation not supported with multiple training datasets" in run.stderr
    write_config(tmp_path, utterances=48, experiments=[experiment("text_only", "SAMSEMO")])
    run = snakemake(tmp_path, "-n")
    assert run.returncode != 0
    assert "text_only: difficulty-based curriculum (difficulty_method euclidean) needs V/A/D" in (
        run.stderr
    )
    write_config(tmp_path, utterances=48, experiments=[experiment("bad", "IEMO", modality="x")])
    run = snakemake(tmp_path, "-n")
    assert run.returncode != 0
    assert "'x' is not one of ['audio', 'text', 'both']" in run.stdout + run.stderr
    refusals = {
        "experiment bad: learning_rate: -0.1 must be > 0": {"learning_rate": -0.1},
        "experiment bad: learning_rate: 0 must be > 0": {"learning_rate": 0},
        "experiment bad: seeds: 0: -1 is less than the minimum of 0": {"seeds": [-1]},
    }
    for message, change in refusals.items():
        assert refusal(tmp_path, experiment("bad", "IEMO", **change)) == message
    write_config(tmp_path, utterances=48, experiments=[experiment("ok", "IEMO")])
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["corpora"]["MSPP"] = {"root": "/no/such/MSPP"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run = snakemake(tmp_path, "-n")
    assert run.returncode != 0
    assert "Configuration error: corpus MSPP: root /no/such/MSPP is not a directory" in run.stderr
    assert not (tmp_path / "results").exists()


def test_default_demo_shows_a_realistic_cross_corpus_picture(tmp_path):
    """The default config on the default demo: what a user sees on first run.

    In-corpus (held-out test speaker) UAR well above chance but not trivial, a cross-corpus drop,
    every train->test pair above chance, and pooling IEMO+MSPI+MSPP beats IEMO alone on the
    test corpora both experiments share (the seed's headline claim).
    """
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {r["experiment"]: r for r in pq_csv(tmp_path / "results" / "cross_corpus_uar.csv")}
    assert set(rows) == {"IEMO_only", "IEMO+MSPI", "IEMO+MSPI+MSPP"}
    assert all(r["n_seeds"] == 3 for r in rows.values())
    validation = [r["validation_uar_mean"] for r in rows.values()]
    in_corpus = [
        r[f"{c} in-corpus_uar_mean"]
        for r in rows.values()
        for c in CORPORA
        if r.get(f"{c} in-corpus_uar_mean") is not None
    ]
    assert len(in_corpus) == 1 + 2 + 3  # one in-corpus test per training corpus
    cross = [
        r[f"{c}_uar_mean"]
        for r in rows.values()
        for c in CORPORA
        if r.get(f"{c}_uar_mean") is not None
    ]
    assert 0.60 <= sum(in_corpus) / len(in_corpus) <= 0.95
    # The in-corpus tests are not the selection maximum: IEMO's differs from every validation.
    iemo = [r["IEMO in-corpus_uar_mean"] for r in rows.values()]
    assert not set(iemo) & set(validation)
    table = (tmp_path / "results" / "cross_corpus_uar.md").read_text()
    assert "| Validation (selection) |" in table and "IEMO in-corpus (n=" in table
    assert sum(cross) / len(cross) < sum(in_corpus) / len(in_corpus)
    assert min(cross) > 0.25
    shared = ("CMUMOSEI", "SAMSEMO")
    pooled = sum(rows["IEMO+MSPI+MSPP"][f"{c}_uar_mean"] for c in shared) / 2
    alone = sum(rows["IEMO_only"][f"{c}_uar_mean"] for c in shared) / 2
    assert pooled > alone


def pq_csv(path: Path) -> list[dict]:
    return pacsv.read_csv(path).to_pylist()


def test_seed_example_file_runs_with_text_and_cross_attention(tmp_path):
    """configs/multi_dataset_training.yaml unchanged, over a small demo: modality both."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["demo"]["utterances"] = 40
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    seed_file = str(REPO / "configs" / "multi_dataset_training.yaml")
    run = snakemake(tmp_path, "--configfile", seed_file)
    assert run.returncode == 0, run.stderr[-3000:]
    output = run.stdout + run.stderr
    assert "cross_attention over one token per modality" in output
    assert "🚀 Training: MSPI+MSPP -> ['IEMO', 'CMUMOSEI', 'SAMSEMO']" in output
    results = tmp_path / "results"
    assert (results / "features/minilm/MSPI/shard-0-of-1.parquet").exists()
    metrics = json.loads((results / "runs/IEMO+MSPI_CrossAttn/seed-1829/metrics.json").read_text())
    assert sorted(metrics["test"]) == ["CMUMOSEI", "MSPP", "SAMSEMO"]


def test_emotion2vec_and_token_sequences_feed_cross_attention(tmp_path):
    pytest.importorskip("funasr")
    from xcorpus import testing

    model = testing.write_random_model(
        tmp_path / "e2v_tiny", testing.random_model_config(32, 2, 2, 1, 16)
    )
    corpora = {c: {"root": f"results/demo/{c}", "demo": True} for c in ("IEMO", "MSPP")}
    e2v = {"backend": "emotion2vec", "model": str(model), "layer": [0, 1], "shards": 2}
    write_config(
        tmp_path,
        utterances=24,
        experiments=[
            experiment(
                "e2v", "IEMO", audio_features="e2v", num_epochs=3, curriculum_epochs=2, seeds=[1]
            )
            | {"modality": "both", "fusion_type": "cross_attention", "text_features": "tokens"}
        ],
        corpora=corpora,
        features={
            "e2v": e2v | {"granularity": "frames", "max_frames": 6},
            "tokens": {"backend": "minilm", "granularity": "frames", "max_frames": 5},
        },
    )
    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    shards = [tmp_path / f"results/features/e2v/MSPP/shard-{i}-of-2.parquet" for i in range(2)]
    table = pq.read_table(shards[0])
    metadata = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert metadata["backend"] == "emotion2vec" and metadata["model"] == str(model)
    assert (metadata["layer"], metadata["granularity"], metadata["dim"]) == (
        "[0, 1]",
        "frames",
        "32",
    )
    assert all(1 <= len(frames) <= 6 for frames in table.column("frames").to_pylist())
    index_ids = set(pq.read_table(tmp_path / "results/corpora/MSPP.parquet")["utt_id"].to_pylist())
    extracted = {u for s in shards for u in pq.read_table(s)["utt_id"].to_pylist()}
    assert extracted == index_ids  # every utterance once, over the two shards
    log = (tmp_path / "results/logs/features/e2v/MSPP/shard-0-of-2.log").read_text()
    assert "utt/s" in log and "audio-s/s" in log
    metrics = json.loads((tmp_path / "results/runs/e2v/seed-1/metrics.json").read_text())
    assert sorted(metrics["test"]) == ["MSPP"]
    # Both feature sets stored sequences, so cross-attention attends over them.
    train_log = (tmp_path / "results/logs/runs/e2v/seed-1.log").read_text()
    assert "cross_attention over sequences" in train_log
    assert "sequences: audio: 6-6 frames (mean 6.0); text: 5-5 tokens" in train_log


TWO_CORPORA = {c: {"root": f"results/demo/{c}", "demo": True} for c in ("IEMO", "MSPP")}
FAST = {"num_epochs": 3, "seeds": [1], "use_curriculum_learning": False}


@pytest.fixture(scope="module")
def loso_run(tmp_path_factory) -> Path:
    """IEMO trained with both evaluation modes; MSPP with a centroid difficulty curriculum."""
    workdir = tmp_path_factory.mktemp("loso")
    write_config(
        workdir,
        utterances=40,
        experiments=[
            experiment("iemo_both", "IEMO", evaluation_mode="both") | FAST,
            experiment("mspp", "MSPP", difficulty_method="centroid")
            | FAST
            | {"use_curriculum_learning": True, "curriculum_epochs": 2},
        ],
        corpora=TWO_CORPORA,
    )
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


def test_loso_folds_and_in_corpus_tests(loso_run):
    results = loso_run / "results"
    index = pq.read_table(results / "corpora/IEMO.parquet").to_pandas().set_index("utt_id")
    folds, validated = [], set()
    for session in range(1, 6):
        fold_dir = results / f"runs/iemo_both/seed-1/fold-{session}"
        predictions = pq.read_table(fold_dir / "predictions.parquet").to_pandas()
        heldout = predictions[predictions["role"] == "heldout"]["utt_id"]
        assert set(heldout) == set(index.index[index["session"] == session])
        val = predictions[predictions["role"] == "val"]["utt_id"]
        assert len(val) and not set(index.loc[val, "session"]) & {session}
        validated |= set(val)
        folds.append(json.loads((fold_dir / "metrics.json").read_text()))
    loso = json.loads((results / "runs/iemo_both/seed-1/loso.json").read_text())
    expected = sum(f["in_corpus"]["IEMO"]["uar"] for f in folds) / 5
    assert loso["folds"] == [1, 2, 3, 4, 5]
    assert loso["in_corpus"]["IEMO"]["uar"] == pytest.approx(expected)
    # n counts distinct utterances: the folds' validation speakers overlap.
    assert loso["n"]["validation"] == len(validated) < sum(f["n"]["validation"] for f in folds)
    assert loso["n"]["in_corpus"]["IEMO"] == len(index)
    # MSP-PODCAST's official Test1 is its in-corpus test, never trained or validated on.
    mspp = pq.read_table(results / "corpora/MSPP.parquet").to_pandas()
    predictions = pq.read_table(results / "runs/mspp/seed-1/predictions.parquet").to_pandas()
    heldout = set(predictions.loc[predictions["role"] == "heldout", "utt_id"])
    assert heldout == set(mspp.loc[mspp["split"] == "test1", "utt_id"]) != set()
    summary = (results / "cross_corpus_uar.md").read_text()
    assert "IEMO LOSO" in summary and "MSPP in-corpus" in summary and "IEMO in-corpus" in summary
    assert "- X LOSO: leave-one-session-out, the mean over X's sessions" in summary


def test_cache_a_new_seed_of_a_loso_experiment_runs_only_that_seed(loso_run):
    def change(config):
        config["experiments"][0]["seeds"] = [1, 2]

    jobs = planned_jobs(loso_run, change)
    assert (jobs["train_fold"], jobs["loso_mean"], jobs["train"]) == (5, 1, 1)


def test_cache_expected_vad_rescores_only_euclidean_difficulty(loso_run):
    """iemo_both's report plots its (euclidean) difficulty; mspp trains on centroid scores."""
    config = yaml.safe_load((loso_run / "config.yaml").read_text())
    config["expected_vad"] = {
        "neutral": [3.0, 3.0, 3.0],
        "happy": [4.5, 4.0, 3.5],
        "sad": [1.5, 2.0, 2.5],
        "angry": [2.0, 4.5, 3.5],
    }
    changed = loso_run / "changed.yaml"
    changed.write_text(yaml.safe_dump(config, sort_keys=False))
    run = snakemake(loso_run, "-n", "--configfile", str(changed))
    assert run.returncode == 0, run.stderr[-3000:]
    planned = run.stdout + run.stderr
    assert "output: results/difficulty/euclidean/IEMO.parquet" in planned
    assert "results/difficulty/centroid" not in planned and "rule train" not in planned


def test_loso_only_folds_need_only_the_training_corpus_features(tmp_path):
    loso = experiment("iemo_loso", "IEMO", evaluation_mode="loso") | FAST
    write_config(tmp_path, utterances=40, experiments=[loso], corpora=TWO_CORPORA)
    jobs = dry_run_jobs(tmp_path)
    assert (jobs["extract_features"], jobs["train_fold"], jobs["index_corpus"]) == (2, 5, 2)


def test_each_feature_normalisation_is_recorded_and_marked(tmp_path):
    methods = ["train", "corpus", "speaker", "none"]
    quick = {"num_epochs": 3, "seeds": [1], "use_curriculum_learning": False}
    experiments = [
        experiment(m, "IEMO", feature_normalisation=m, min_speaker_utterances=2, **quick)
        for m in methods
    ]
    write_config(tmp_path, utterances=48, experiments=experiments)
    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results"
    records = {
        m: json.loads((results / f"runs/{m}/seed-1/metrics.json").read_text())[
            "feature_normalisation"
        ]
        for m in methods
    }
    assert {m: (r["method"], r["transductive"]) for m, r in records.items()} == {
        "train": ("train", False),
        "corpus": ("corpus", True),
        "speaker": ("speaker", True),
        "none": ("none", False),
    }
    assert records["corpus"]["reason"] == (
        "test corpora MSPI, MSPP, CMUMOSEI, SAMSEMO are standardised with the statistics of "
        "their own unlabelled features"
    )
    assert records["speaker"]["speakers"]["own"] > 0
    log = (results / "logs/runs/speaker/seed-1.log").read_text()
    assert "feature normalisation: speaker; " in log and "; TRANSDUCTIVE: test and" in log
    table = (results / "cross_corpus_uar.md").read_text().splitlines()
    names = [line.split(" | ")[0].removeprefix("| ") for line in table[2:6]]
    assert names == ["train", "corpus ‡", "speaker ‡", "none"]
    assert [line for line in table if line.startswith("- ‡")] == [
        f"- ‡ {m}: transductive, {records[m]['reason']}; not comparable with inductive results."
        for m in ("corpus", "speaker")
    ]


def test_a_test_list_restricts_a_test_corpus_to_its_utterances(tmp_path):
    corpora = {c: {"root": f"results/demo/{c}", "demo": True} for c in ("MSPP", "IEMO")}
    write_config(tmp_path, utterances=40, experiments=[experiment("mspp", "MSPP") | FAST])
    config = yaml.safe_load((tmp_path / "config.yaml").read_text()) | {"corpora": corpora}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    built = snakemake(tmp_path, "results/corpora/IEMO.parquet")
    assert built.returncode == 0, built.stderr[-3000:]
    index = pq.read_table(tmp_path / "results/corpora/IEMO.parquet").to_pylist()
    chosen = index[::3]
    lines = [
        json.dumps({"wav_filename": f"{r['label']}/{r['utt_id']}.wav", "label": r["label"],
                    "speaker": r["speaker"]})
        for r in chosen
    ]  # fmt: skip
    (tmp_path / "iemo_list.jsonl").write_text("\n".join(lines) + "\n")
    corpora["IEMO"]["test_list"] = "iemo_list.jsonl"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results"
    predictions = pq.read_table(results / "runs/mspp/seed-1/predictions.parquet").to_pylist()
    tested = sorted(p["utt_id"] for p in predictions if p["corpus"] == "IEMO")
    assert tested == sorted(r["utt_id"] for r in chosen)
    metrics = json.loads((results / "runs/mspp/seed-1/metrics.json").read_text())
    assert metrics["n"]["test"] == {"IEMO": len(chosen)}
    log = (results / "logs/manifests/mspp.log").read_text()
    assert f"IEMO: tested on the {len(chosen)} utterance(s) of test list iemo_list.jsonl" in log

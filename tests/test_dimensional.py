"""Dimensional emotion: the V/A/D head's loss, selection on validation CCC, its metrics on the
common 1-5 scale, and no metric (never 0) where a test corpus is unrated."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest
import torch
from conftest import schema_settings
from scipy import stats
from test_comparisons import comparison_rows
from test_config import checked
from test_loop import Everything
from test_train import make_world, run

from xcorpus.config import ConfigError, compared_on
from xcorpus.dimensional_comparisons import compare_ccc
from xcorpus.metrics import DIMENSIONS, classification_metrics, dimensional_metrics
from xcorpus.render import ccc_markdown, markdown_ccc_comparisons
from xcorpus.tables import INDEX_SCHEMA, write_parquet
from xcorpus.train.checkpoint import Progress
from xcorpus.train.data import NO_CLASS, Split
from xcorpus.train.loop import (
    TaskLoss,
    class_weights,
    predict_proba,
    record_epoch,
    validation_uar,
)
from xcorpus.train.models import EmotionClassifier, ModelConfig
from xcorpus.train.run import PREDICTIONS_SCHEMA, evaluate

SCALES = {"IEMO": (1.0, 5.0), "MSPI": (1.0, 5.0), "MSPP": (1.0, 7.0)}


def rate(world: dict, unrated: set[str] = frozenset()) -> dict:
    """Give each corpus V/A/D on its own scale that follows the class (so it can be learnt),
    every `unrated` corpus none; returns utt_id -> true V/A/D on the common 1-5 scale."""
    common = {}
    rng = np.random.default_rng(3)
    for path in world["indexes"]:
        rows = pq.read_table(path).to_pylist()
        for i, row in enumerate(rows):
            low, high = SCALES[row["corpus"]]
            if row["corpus"] in unrated:
                continue
            level = np.array([i % 4, (i % 4) * 0.5, 3 - i % 4]) / 3 + rng.uniform(0, 0.2, 3)
            native = low + level / 1.2 * (high - low)
            row["valence"], row["arousal"], row["dominance"] = native.tolist()
            common[row["utt_id"]] = 1 + (native - low) * 4 / (high - low)
        write_parquet(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), path)
    return common


@pytest.fixture(scope="module")
def rated_world(tmp_path_factory) -> tuple[dict, dict]:
    world = make_world(tmp_path_factory.mktemp("rated"))
    return world, rate(world)


@pytest.fixture(scope="module")
def mspp_unrated(tmp_path_factory) -> dict:
    world = make_world(tmp_path_factory.mktemp("unrated"))
    rate(world, unrated={"MSPP"})
    return world


def small_split(n: int = 12, unrated: int = 2) -> Split:
    g = torch.Generator().manual_seed(0)
    vad = 1 + 4 * torch.rand(n, 3, generator=g)
    vad[:unrated] = float("nan")
    return Split(
        np.array([f"u{i}" for i in range(n)], dtype=object),
        np.array(["IEMO"] * n, dtype=object),
        {"audio": torch.randn(n, 5, generator=g)},
        torch.arange(n) % 4,
        vad=vad,
    )


def model(task: str) -> EmotionClassifier:
    torch.manual_seed(0)
    stats = {"audio": (torch.zeros(5), torch.ones(5))}
    return EmotionClassifier(ModelConfig({"audio": 5}, 8, "concat", 1, 0.0, task=task), stats)


@pytest.mark.parametrize("weight", [0.5, 2.0])
def test_multitask_loss_is_class_loss_plus_weight_times_one_minus_ccc(weight):
    split, net = small_split(), model("multitask")
    rows = torch.arange(len(split))
    experiment = schema_settings(task="multitask", dimensional_weight=weight)
    loss = TaskLoss(experiment, split)(net, split, rows)
    logits, vad = net.outputs(split.inputs(rows))
    class_loss = torch.nn.functional.cross_entropy(logits, split.y).item()
    # The V/A/D term reads the rated rows only (the first two are unrated).
    ccc = dimensional_metrics(split.vad[2:].numpy(), vad[2:].detach().numpy())
    expected = class_loss + weight * np.mean([1 - ccc[f"ccc_{d}"] for d in DIMENSIONS])
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_dimensional_mse_loss_reads_the_rated_rows_alone():
    split, net = small_split(), model("dimensional")
    rows = torch.arange(len(split))
    experiment = schema_settings(task="dimensional", dimensional_loss="mse")
    loss = TaskLoss(experiment, split)(net, split, rows)
    _, vad = net.outputs(split.inputs(rows))
    assert loss.item() == pytest.approx(((vad[2:] - split.vad[2:]) ** 2).mean().item(), rel=1e-6)
    with pytest.raises(TypeError, match="no class head"):
        net(split.inputs(rows))


def test_selection_on_validation_ccc_ignores_uar_and_undefined_ccc():
    progress, net = Progress(), model("multitask")
    rows = [(0.9, 0.10), (0.2, 0.40), (0.95, None), (0.3, 0.35)]  # (val_uar, val_ccc_mean)
    for epoch, (uar, ccc) in enumerate(rows):
        row = {"epoch": epoch, "val_uar": uar, "val_ccc_mean": ccc, "samples_seen": 0}
        record_epoch(progress, row, net, min_delta=0.0, metric="ccc")
    assert (progress.best_epoch, progress.best_score) == (1, 0.40)
    assert progress.epochs_without_improvement == 2


def test_multitask_reports_ccc_on_the_common_scale(rated_world, tmp_path):
    world, truth = rated_world
    metrics = run(world, tmp_path, task="multitask", num_epochs=12)
    assert metrics["task"] == "multitask" and metrics["selection_metric"] == "uar"
    for split in (metrics["validation"], metrics["test"]["MSPP"]):
        assert {"uar", "ccc_valence", "pearson_arousal", "rmse_dominance", "ccc_mean"} <= set(split)
    assert metrics["test"]["MSPP"]["n_rated"] == 80 and metrics["unrated"] == {}
    assert metrics["validation"]["ccc_mean"] > 0.5 and metrics["test"]["MSPP"]["ccc_mean"] > 0.3
    predictions = pq.read_table(tmp_path / "predictions.parquet").to_pandas()
    test = predictions[predictions["role"] == "test"]
    # MSPP rates on 1-7: its true values are reported rescaled to 1-5, and its metrics match.
    true = test[list(DIMENSIONS)].to_numpy()
    np.testing.assert_allclose(true, np.stack([truth[u] for u in test["utt_id"]]), rtol=1e-6)
    again = dimensional_metrics(true, test[[f"pred_{d}" for d in DIMENSIONS]].to_numpy())
    assert again["ccc_mean"] == pytest.approx(metrics["test"]["MSPP"]["ccc_mean"], rel=1e-6)


def test_dimensional_selects_on_validation_ccc_and_has_no_class_output(rated_world, tmp_path):
    world, _ = rated_world
    metrics = run(world, tmp_path, task="dimensional", num_epochs=6)
    assert metrics["selection_metric"] == "ccc"
    assert "uar" not in metrics["validation"] and "confusion" not in metrics["test"]["MSPP"]
    history = pa.csv.read_csv(tmp_path / "history.csv").to_pylist()
    assert "val_uar" not in history[0]
    ccc = [row["val_ccc_mean"] for row in history]
    assert metrics["best_epoch"] == int(np.argmax(ccc))
    assert metrics["validation"]["ccc_mean"] == pytest.approx(max(ccc))
    predictions = pq.read_table(tmp_path / "predictions.parquet")
    assert predictions.column("pred").null_count == len(predictions)


def test_an_unrated_test_corpus_gets_no_dimensional_metric_and_says_why(mspp_unrated, tmp_path):
    metrics = run(mspp_unrated, tmp_path, task="multitask", num_epochs=2)
    assert "uar" in metrics["test"]["MSPP"]
    assert not any(k.startswith(("ccc", "pearson", "rmse")) for k in metrics["test"]["MSPP"])
    assert metrics["unrated"] == {"MSPP": "no utterance of MSPP carries all of V/A/D"}
    assert json.loads((tmp_path / "metrics.json").read_text())["unrated"] == metrics["unrated"]
    test = pq.read_table(tmp_path / "predictions.parquet").to_pandas().query("role == 'test'")
    assert test["valence"].isna().all() and test["pred_valence"].notna().all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"task": "multitask", "train_dataset": ["IEMO", "CMUMOSEI"]},
            "task multitask trains on V/A/D ratings, which CMUMOSEI does not have",
        ),
        ({"selection_metric": "ccc"}, "selection_metric ccc is not a score of task categorical"),
        (
            {"task": "dimensional", "selection_metric": "uar"},
            "selection_metric uar is not a score of task dimensional",
        ),
    ],
)
def test_dimensional_configuration_mistakes_are_refused(default_config, change, message):
    default_config["experiments"][0] |= change | {"use_curriculum_learning": False}
    with pytest.raises(ConfigError, match=message):
        checked(default_config)


def test_selection_metric_defaults_by_task(default_config):
    tasks = ("categorical", "dimensional", "multitask")
    for experiment, task in zip(default_config["experiments"], tasks, strict=True):
        experiment["task"] = task
    assert [e["selection_metric"] for e in checked(default_config)] == ["uar", "ccc", "uar"]


def write_vad_predictions(path: Path, true: np.ndarray, pred: np.ndarray) -> Path:
    n = len(true)
    rows = [
        {"utt_id": f"u{i:03d}", "corpus": "MSPP", "role": "test", "label": "happy"}
        | {d: float(true[i, j]) for j, d in enumerate(DIMENSIONS)}
        | {f"pred_{d}": float(pred[i, j]) for j, d in enumerate(DIMENSIONS)}
        for i in range(n)
    ]
    rows.append({"utt_id": "v0", "corpus": "IEMO", "role": "val", "label": "sad"})  # never compared
    rows.append({"utt_id": "x", "corpus": "MSPP", "role": "test", "label": "sad"})  # unrated
    rows[-1] |= {f"pred_{d}": 3.0 for d in DIMENSIONS}
    rows[-2] |= {f"pred_{d}": 3.0 for d in DIMENSIONS}
    write_parquet(pa.Table.from_pylist(rows, schema=PREDICTIONS_SCHEMA), path, PREDICTIONS_SCHEMA)
    return path


def test_ccc_comparison_pairs_seeds_and_bootstraps_the_rated_utterances(tmp_path):
    rng = np.random.default_rng(1)
    true = rng.uniform(1, 5, (40, 3))
    runs = {"a": {}, "b": {}}
    preds = {}
    for name, noise in (("a", 1.0), ("b", 0.5)):
        for seed in (1, 2, 3):
            preds[name, seed] = true + rng.normal(0, noise, true.shape)
            path = tmp_path / f"{name}{seed}.parquet"
            runs[name][seed] = write_vad_predictions(path, true, preds[name, seed])
    (row,) = compare_ccc(runs["a"], runs["b"], name="c", a="a", b="b", replicates=150)
    assert (row["split"], row["n_rated"], row["n_seeds"]) == ("MSPP", 40, 3)
    per_seed = {
        k: [dimensional_metrics(true, preds[k, s])["ccc_mean"] for s in (1, 2, 3)] for k in "ab"
    }
    assert row["ccc_a"] == pytest.approx(np.mean(per_seed["a"]))
    expected_t = stats.ttest_rel(per_seed["b"], per_seed["a"])
    assert row["t"] == pytest.approx(expected_t.statistic) and row["p"] == pytest.approx(
        expected_t.pvalue
    )
    # The bootstrap, one replicate at a time with the same draws, through the metric itself.
    draws = np.random.default_rng(0)
    diffs = []
    for block in (100, 50):
        drawn = draws.integers(0, 40, size=(40, block))
        for r in range(block):
            rows = drawn[:, r]
            ccc = {
                k: np.mean(
                    [
                        dimensional_metrics(true[rows], preds[k, s][rows])["ccc_mean"]
                        for s in (1, 2, 3)
                    ]
                )
                for k in "ab"
            }
            diffs.append(ccc["b"] - ccc["a"])
    low, high = np.percentile(diffs, [2.5, 97.5])
    assert (row["boot_ci95_low"], row["boot_ci95_high"]) == (
        pytest.approx(low),
        pytest.approx(high),
    )
    assert row["boot_share_le0"] == pytest.approx(np.mean(np.asarray(diffs) <= 0))


def test_ccc_comparisons_markdown_text():
    rows = comparison_rows("ccc", "n_rated")
    head = (
        "| Comparison | A | B | Split | n rated | Seeds | CCC A | CCC B | Δ (B - A) | t | p "
        "| Bootstrap 95% CI | Share Δ ≤ 0 |\n"
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        "| cl | none | cur | MSPP | 50 | 3 | 0.500 | 0.600 | +0.100 ± 0.050 | 3.46 | 0.0742 "
        "| [-0.012, +0.046] | 0.234 |\n"
    )
    ccc_note = "\n- CCC: mean over V/A/D of Lin's CCC on the split's rated utterances.\n"
    assert markdown_ccc_comparisons(rows[:1]) == head + ccc_note
    assert markdown_ccc_comparisons(rows) == (
        head
        + "| cl | none | cur | IEMO in-corpus | 20 | 3 | 0.550 | 0.500 | -0.050 ± 0.000 | — | — "
        "| [-0.250, -0.001] | 1.000 |\n"
        "| add | x | y | MSPP | 50 | 1 | 0.400 | 0.450 | +0.050 | — | — | [+0.000, +0.100] "
        "| 0.000 |\n"
        + ccc_note
        + "- No t-test: add: fewer than 2 common seeds; cl: the difference is the same for every "
        "seed.\n"
    )


def test_a_comparison_without_a_shared_head_is_refused(default_config):
    default_config["experiments"][1] |= {"task": "dimensional", "use_curriculum_learning": False}
    default_config["comparisons"] = [{"name": "x", "a": "IEMO_only", "b": "IEMO+MSPI"}]
    with pytest.raises(ConfigError, match="share no head: UAR needs two class heads"):
        checked(default_config)


def test_a_multitask_run_stopped_and_resumed_ends_as_an_uninterrupted_one(tmp_path, monkeypatch):
    from xcorpus.train import loop

    train, val = small_split(64, unrated=5), small_split(24, unrated=3)
    experiment = schema_settings(
        name="mt", task="multitask", selection_metric="ccc", num_epochs=6, batch_size=16
    )

    def fit(checkpoint=None):
        net = model("multitask")
        return loop.fit(net, train, val, Everything(len(train)), experiment, rng(), checkpoint)

    def rng():
        return np.random.default_rng(4)

    whole = fit()
    checkpoint = tmp_path / "state.pt"
    real_finished = loop.finished
    monkeypatch.setattr(loop, "finished", lambda p, e: p.epoch >= 3 or real_finished(p, e))
    fit(checkpoint)  # "killed" after three epochs, its state on disk
    monkeypatch.setattr(loop, "finished", real_finished)
    resumed = fit(checkpoint)
    assert resumed.history == whole.history and "val_ccc_mean" in whole.history[0]
    assert (resumed.best_epoch, resumed.best_score) == (whole.best_epoch, whole.best_score)
    for key, value in whole.best_state.items():
        assert torch.equal(resumed.best_state[key], value), key


def test_loso_mean_averages_ccc_over_folds_and_keeps_the_task(tmp_path):
    from xcorpus.aggregate import loso_mean

    folds, predictions = [], []
    for fold, ccc in ((1, 0.4), (2, 0.6)):
        split = {f"ccc_{d}": ccc for d in (*DIMENSIONS, "mean")} | {"n_rated": 1}
        split["pearson_valence"] = None if fold == 2 else 0.5  # undefined in one fold
        metrics = {"experiment": "L", "train": "IEMO", "seed": 1, "fold": fold}
        metrics |= {"task": "dimensional", "selection_metric": "ccc", "validation": split}
        metrics["in_corpus"] = {"IEMO": split}
        folds.append(tmp_path / f"fold-{fold}.json")
        folds[-1].write_text(json.dumps(metrics))
        rows = [{"utt_id": f"u{fold}", "corpus": "IEMO", "role": r} for r in ("val", "heldout")]
        predictions.append(tmp_path / f"fold-{fold}.parquet")
        pq.write_table(pa.Table.from_pylist(rows), predictions[-1])
    summary = loso_mean(folds, predictions, tmp_path / "loso.json")
    assert summary["task"] == "dimensional"
    assert summary["in_corpus"]["IEMO"]["n_rated"] == 2
    assert summary["in_corpus"]["IEMO"]["ccc_arousal"] == pytest.approx(0.5)
    assert summary["in_corpus"]["IEMO"]["pearson_valence"] is None  # not the one defined fold
    assert "uar" not in summary["validation"] and "confusion" not in summary["validation"]


def test_ccc_summary_prints_dashes_with_reasons_never_zero():
    from test_aggregate import fake_metrics

    from xcorpus.aggregate import Run
    from xcorpus.dimensional_summary import ccc_table

    def seed(s: int, valence: float | None) -> dict:
        m = fake_metrics(s, 0.5, {"MSPP": 0.4, "CMUMOSEI": 0.3}) | {"task": "multitask"}
        rated = {f"ccc_{d}": 0.5 for d in DIMENSIONS} | {"n_rated": 20}
        m["validation"] |= rated | {"ccc_valence": 0.2 * s, "ccc_mean": 0.1 * s}
        m["test"]["MSPP"] |= rated | {"ccc_valence": valence, "ccc_mean": None}
        return m | {"unrated": {"CMUMOSEI": "CMUMOSEI has no V/A/D ratings"}}

    categorical = Run("C", "IEMO", {1: fake_metrics(1, 0.5, {"MSPP": 0.4})})
    table = ccc_table([Run("A", "IEMO+MSPI", {1: seed(1, 0.3), 2: seed(2, None)}), categorical])
    assert table.column("experiment").to_pylist() == ["A"] * 3  # C has no V/A/D head
    assert ccc_markdown(table) == (
        "| Experiment | Train | Seeds | Split | n rated | CCC valence | CCC arousal "
        "| CCC dominance | CCC mean |\n"
        "|---|---|---|---|---:|---:|---:|---:|---:|\n"
        "| A | IEMO+MSPI | 2 | Validation (selection) | 20 | 0.300 ± 0.141 | 0.500 ± 0.000 | "
        "0.500 ± 0.000 | 0.150 ± 0.071 |\n"
        "| A | IEMO+MSPI | 2 | MSPP | 20 | — | 0.500 ± 0.000 | 0.500 ± 0.000 | — |\n"
        "| A | IEMO+MSPI | 2 | CMUMOSEI | — | — | — | — | — |\n"
        "\n"
        "- CCC: Lin's concordance correlation coefficient of predicted and rated V/A/D on the "
        "common 1-5 scale, over the split's rated utterances (n rated), mean ± sample std over "
        "seeds.\n"
        "- Validation (selection): the training corpora's validation speakers, on which the "
        "epoch was selected (selection_metric); optimistic, not a test.\n"
        "- — (no dimensional metric): CMUMOSEI has no V/A/D ratings.\n"
        "- — in a rated split: CCC undefined for some seed (prediction and truth one and the "
        "same constant), so no mean over seeds.\n"
    )


# dimensional_all_rated: rows without a class (NO_CLASS) train the V/A/D head only


def unlabelled_split(n: int = 12, unlabelled: int = 4) -> Split:
    """small_split with its last `unlabelled` rows outside the four classes (all rated)."""
    split = small_split(n, unrated=2)
    y = split.y.clone()
    y[-unlabelled:] = NO_CLASS
    return Split(split.utt_id, split.corpus, split.x, y, vad=split.vad)


@pytest.mark.parametrize("loss", ["cross_entropy", "focal"])
def test_the_class_loss_skips_rows_without_a_class(loss):
    split, net = unlabelled_split(), model("multitask")
    rows = torch.arange(len(split))
    common = {"task": "multitask", "loss": loss, "class_weights": True}
    experiment = schema_settings(dimensional_all_rated=True, **common)
    masked = TaskLoss(experiment, split)(net, split, rows)
    labelled = split.take(np.arange(8))  # the same rows with a class, weights from them alone
    class_only = TaskLoss(schema_settings(**common), labelled)
    logits, vad = net.outputs(split.inputs(rows))
    expected = class_only.categorical(logits[:8], split.y[:8]) + class_only.dimensional(
        vad, split.vad
    )
    assert masked.item() == pytest.approx(expected.item(), rel=1e-6)
    no_class = split.take(np.arange(8, 12))  # a batch of rows without a class: V/A/D alone
    got = TaskLoss(experiment, split)(net, no_class, torch.arange(4))
    _, vad = net.outputs(no_class.inputs(torch.arange(4)))
    assert got.item() == pytest.approx(class_only.dimensional(vad, no_class.vad).item(), rel=1e-6)


def test_class_weights_and_validation_uar_count_the_rows_with_a_class():
    split, net = unlabelled_split(), model("multitask")
    assert torch.equal(class_weights(split.y), class_weights(split.y[:8]))
    pred = predict_proba(net, split).argmax(axis=1)
    expected = classification_metrics(split.y[:8].numpy(), pred[:8])["uar"]
    assert validation_uar(net, split) == expected


def test_evaluate_scores_uar_on_the_classes_and_ccc_on_every_rated_row():
    split, net = unlabelled_split(), model("multitask")
    metrics, predictions = evaluate(net, split, "test", "multitask")
    pred = predict_proba(net, split).argmax(axis=1)
    assert metrics["uar"] == classification_metrics(split.y[:8].numpy(), pred[:8])["uar"]
    assert np.sum(metrics["confusion"]) == 8 and metrics["n_rated"] == 10
    assert predictions.column("label").to_pylist()[8:] == [None] * 4
    assert predictions.column("pred").null_count == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, "dimensional_all_rated adds utterances outside the four classes, which only a V/A/D"),
        (
            {"task": "multitask", "use_curriculum_learning": True},
            "which curriculum_type difficulty cannot order",
        ),
    ],
)
def test_all_rated_mistakes_are_refused(default_config, change, message):
    default_config["experiments"][0] |= {
        "dimensional_all_rated": True,
        "use_curriculum_learning": False,
        "curriculum_type": "difficulty",
    } | change
    with pytest.raises(ConfigError, match=message):
        checked(default_config)


def test_ccc_is_compared_only_between_experiments_scored_on_the_same_rows(default_config):
    for exp in default_config["experiments"][:2]:
        exp |= {"task": "multitask", "use_curriculum_learning": False}
    default_config["experiments"][1]["dimensional_all_rated"] = True
    a, b = checked(default_config)[:2]
    assert compared_on(a, b) == ["uar"]
    b["dimensional_all_rated"] = False
    assert compared_on(a, b) == ["uar", "ccc"]

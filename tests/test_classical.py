"""The classical classifiers: selection on validation only, outputs as the MLP's, model.pt."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import torch
from test_aggregate import fake_metrics
from test_config import checked
from test_tracking import EXPERIMENT, offline_runs, seed_metrics
from test_train import experiment, make_world, run, settings, with_vad_and_sessions

from xcorpus.aggregate import Run, cross_corpus_table, loso_mean
from xcorpus.config import ConfigError
from xcorpus.grids import DEFAULT_GRIDS, check_grid
from xcorpus.labels import CLASSES
from xcorpus.render import latex_table, markdown_table
from xcorpus.tables import MANIFEST_SCHEMA, write_parquet
from xcorpus.tracking import log_seed_run
from xcorpus.train import loop
from xcorpus.train.classical import fit_classical, load_model
from xcorpus.train.data import load_data
from xcorpus.train.run import Inputs, train_fold

CLASSICAL = [("logistic", "rbf"), ("svm", "linear"), ("svm", "rbf"), ("xgboost", "rbf")]
PROBS = [f"prob_{c}" for c in CLASSES]


def classical(name: str, kernel: str = "rbf", **overrides) -> dict:
    return {"classifier": name, "svm_kernel": kernel, "use_curriculum_learning": False} | overrides


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    return make_world(tmp_path_factory.mktemp("world"))


def relabelled(world: dict, root: Path, corpus: str, rows, labels) -> dict:
    """A copy of `world` whose index of `corpus` gives `rows` (utt_ids) other labels."""
    copy = dict(world)
    copy["indexes"] = []
    for path in world["indexes"]:
        table = pq.read_table(path)
        if path.stem == corpus:
            records = table.to_pylist()
            new = dict(zip(rows, labels, strict=True))
            for r in records:
                r["label"] = r["raw_label"] = new.get(r["utt_id"], r["label"])
            table = pa.Table.from_pylist(records, schema=table.schema)
        copy["indexes"].append(root / path.name)
        write_parquet(table, copy["indexes"][-1])
    return copy


def read_predictions(path: Path):
    return pq.read_table(path / "predictions.parquet").to_pandas()


@pytest.mark.parametrize(("name", "kernel"), CLASSICAL)
def test_outputs_match_the_mlps_and_model_pt_round_trips(world, tmp_path, name, kernel):
    metrics = run(world, tmp_path, **classical(name, kernel))
    assert metrics["validation"]["uar"] > 0.9 and metrics["test"]["MSPP"]["uar"] > 0.8
    assert metrics["best_epoch"] is None
    record = metrics["classifier"]
    key = f"svm {kernel}" if name == "svm" else name
    assert record["name"] == key and record["deterministic"] is True
    assert record["grid"] == DEFAULT_GRIDS[key]
    assert metrics["n"]["validation"] == 40 and metrics["n"]["test"] == {"MSPP": 80}
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics

    predictions = read_predictions(tmp_path)
    assert len(predictions) == 40 + 80
    probs = predictions[PROBS].to_numpy()
    assert probs.shape == (120, 4) and (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (predictions["pred"] == [CLASSES[i] for i in probs.argmax(axis=1)]).all()
    test_rows = predictions[predictions["role"] == "test"]
    assert (test_rows["label"] == test_rows["pred"]).mean() == metrics["test"]["MSPP"]["accuracy"]

    history = pacsv.read_csv(tmp_path / "history.csv").to_pylist()
    n_points = int(np.prod([len(v) for v in DEFAULT_GRIDS[key].values()]))
    assert [r["grid_point"] for r in history] == list(range(n_points))
    assert [r["grid_point"] for r in history if r["selected"]] == [record["grid_point"]]
    assert max(r["val_uar"] for r in history) == record["validation_uar"]
    assert record["validation_uar"] == metrics["validation"]["uar"]

    model = load_model(tmp_path / "model.pt")
    assert model.record["hyperparameters"] == record["hyperparameters"]
    data = load_data(
        settings(), world["manifest_path"], world["indexes"], {"audio": world["audio"],
        "text": world["text"]}, None,
    )  # fmt: skip
    np.testing.assert_allclose(loop.predict_proba(model, data.test["MSPP"]), probs[40:], 1e-12)


@pytest.mark.parametrize(("name", "kernel"), CLASSICAL)
def test_test_labels_never_shape_the_choice_or_the_predictions(world, tmp_path, name, kernel):
    ids = [f"MSPP_{i:04d}" for i in range(80)]
    shuffled = relabelled(world, tmp_path / "w", "MSPP", ids, [CLASSES[i % 3] for i in range(80)])
    a = run(world, tmp_path / "a", **classical(name, kernel))
    b = run(shuffled, tmp_path / "b", **classical(name, kernel))
    assert a["classifier"] == b["classifier"]
    assert a["validation"] == b["validation"] and a["test"] != b["test"]
    columns = ["utt_id", "pred", *PROBS]
    assert read_predictions(tmp_path / "a")[columns].equals(
        read_predictions(tmp_path / "b")[columns]
    )
    for name_ in ("history.csv", "model.pt"):
        assert (tmp_path / "a" / name_).read_bytes() == (tmp_path / "b" / name_).read_bytes()


def test_validation_labels_decide_the_choice(world):
    """Validation labels set to what the grid point not chosen predicts make it the choice."""
    grid = [1e-3, 1.0]
    exp = settings(**classical("logistic", classifier_grid={"C": grid}))
    features = {"audio": world["audio"], "text": world["text"]}
    data = noisy(load_data(exp, world["manifest_path"], world["indexes"], features, None))
    honest = fit_classical(exp, data)
    other = grid[1 - honest.record["grid_point"]]
    alone = fit_classical(replace(exp, classifier_grid={"C": [other]}), data)
    guessed = torch.from_numpy(loop.predict_proba(alone.model, data.val).argmax(axis=1))
    assert (guessed != data.val.y).any()  # the two points disagree somewhere
    misled = fit_classical(exp, replace(data, val=replace(data.val, y=guessed)))
    assert misled.record["hyperparameters"] == {"C": other}
    assert misled.record["validation_uar"] == 1.0


def noisy(data):
    """`data` with its training and validation features drowned in noise, so that grid
    points differ in what they predict."""
    generator = torch.Generator().manual_seed(0)

    def drown(split):
        x = {m: t + 4 * torch.randn(t.shape, generator=generator) for m, t in split.x.items()}
        return replace(split, x=x)

    return replace(data, train=drown(data.train), val=drown(data.val))


def test_seeds_give_identical_results(world, tmp_path):
    a = run(world, tmp_path / "a", seed=1, **classical("xgboost"))
    b = run(world, tmp_path / "b", seed=2, **classical("xgboost"))
    assert {k: v for k, v in a.items() if k != "seed"} == {
        k: v for k, v in b.items() if k != "seed"
    }
    for name in ("predictions.parquet", "history.csv", "model.pt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_normalisation_applies_as_for_the_mlp(world, tmp_path):
    a = run(world, tmp_path / "a", **classical("logistic", feature_normalisation="corpus"))
    assert a["feature_normalisation"]["transductive"] is True
    record = load_model(tmp_path / "a" / "model.pt").record["standardisation"]
    for mean, std in record.values():  # inputs arrive standardised: the model's own is identity
        assert (mean == 0).all() and (std == 1).all()
    run(world, tmp_path / "b", **classical("logistic"))
    mean, _ = load_model(tmp_path / "b" / "model.pt").record["standardisation"]["audio"]
    assert np.abs(mean).max() > 0.1  # under train: the training split's statistics


def test_a_grid_override_replaces_only_the_parameters_it_names():
    exp = classical("svm", "rbf", classifier_grid={"C": [2.0, 5]})
    assert check_grid(exp) == {"C": [2.0, 5], "gamma": ["scale", 0.001, 0.01, 0.1]}
    exp = classical("xgboost", classifier_grid={"max_depth": [2]})
    assert check_grid(exp)["max_depth"] == [2]


@pytest.mark.parametrize(
    ("name", "kernel", "grid", "message"),
    [
        ("svm", "linear", {"gamma": [0.1]},
         "'gamma' is not a parameter of svm linear; its parameters: C"),
        ("logistic", "rbf", {"depth": [3]}, "'depth' is not a parameter of logistic; its "
         "parameters: C"),
        ("xgboost", "rbf", {"max_depth": [2.5]}, "max_depth: 2.5 is not a positive integer"),
        ("svm", "rbf", {"gamma": ["auto"]}, "gamma: 'auto' is not a positive number or \"scale\""),
        ("logistic", "rbf", {"C": [0]}, "C: 0 is not a positive number"),
    ],
)  # fmt: skip
def test_bad_grids_are_refused_before_any_job(default_config, name, kernel, grid, message):
    refused(default_config, classical(name, kernel, classifier_grid=grid),
            f"classifier {name}: classifier_grid: {message}")  # fmt: skip


def refused(config: dict, change: dict, message: str) -> None:
    """The default config with `change` in its first experiment stops with `message`."""
    config["experiments"][0] = config["experiments"][0] | change
    with pytest.raises(ConfigError) as error:
        checked(config)
    assert str(error.value) == f"experiment IEMO_only: {message}"


def test_a_curriculum_with_a_classical_classifier_is_refused(default_config):
    refused(
        default_config,
        {"classifier": "logistic"},
        "classifier logistic fits the whole training set at once, so it cannot follow a "
        "curriculum (use_curriculum_learning is true, curriculum_type difficulty; true is the "
        "default and the default template's); set use_curriculum_learning: false in this "
        "experiment, or use classifier: mlp",
    )


def test_sequences_with_a_classical_classifier_are_refused(default_config):
    default_config["features"] = {
        "egemaps": {"backend": "egemaps", "granularity": "frames"},
        "minilm": {"backend": "minilm", "granularity": "frames"},
    }
    default_config["corpora"] = {c: default_config["corpora"][c] for c in ("IEMO", "MSPI")}
    sequences = {"modality": "both", "fusion_type": "cross_attention"}
    refused(
        default_config,
        classical("svm") | sequences,
        "classifier svm takes utterance vectors, and fusion_type cross_attention would feed it "
        "the frame/token sequences of egemaps and minilm; set fusion_type: concat (the feature "
        "sets' utterance vectors, concatenated), or use classifier: mlp",
    )


def test_a_fusion_layer_with_a_classical_classifier_is_refused(default_config):
    default_config["corpora"] = {c: default_config["corpora"][c] for c in ("IEMO", "MSPI")}
    refused(
        default_config,
        classical("xgboost", modality="both", fusion_type="gated"),
        "classifier xgboost concatenates audio and text vectors; fusion_type gated is a layer "
        "of the MLP: set fusion_type: concat, or use classifier: mlp",
    )


def test_domain_adaptation_with_a_classical_classifier_is_refused(default_config):
    refused(
        default_config,
        classical("logistic", domain_adaptation="dann", dann_unlabelled_test=True),
        "classifier logistic has no shared representation for a domain classifier to read, so "
        "it cannot be trained with domain_adaptation dann; set domain_adaptation: none, or use "
        "classifier: mlp",
    )


def test_a_dimensional_task_with_a_classical_classifier_is_refused(default_config):
    refused(
        default_config,
        classical("svm", task="multitask"),
        "classifier svm predicts the four classes only, not task multitask's V/A/D; set task: "
        "categorical, or use classifier: mlp",
    )


def test_a_grid_for_the_mlp_is_refused(default_config):
    refused(
        default_config,
        {"classifier_grid": {"C": [1.0]}},
        "classifier_grid applies to the classical classifiers (logistic, svm, xgboost), not to "
        "classifier mlp; remove it or set classifier",
    )


def test_a_classical_experiment_passes_the_checks(default_config):
    default_config["experiments"][0] |= classical("svm", "linear", classifier_grid={"C": [1]})
    first = checked(default_config)[0]
    assert (first["classifier"], first["svm_kernel"], first["classifier_grid"]) == (
        "svm", "linear", {"C": [1]},
    )  # fmt: skip


def test_tables_say_a_deterministic_classifier_has_no_spread():
    record = {"name": "logistic", "deterministic": True, "hyperparameters": {"C": 1.0}}
    same = {s: fake_metrics(s, 0.5, {"MSPP": 0.4}) | {"classifier": record} for s in (1, 2)}
    mlp = {s: fake_metrics(s, 0.5 + s / 10, {"MSPP": 0.4}, "B") for s in (1, 2)}
    table = cross_corpus_table([Run("A", "IEMO+MSPI", same), Run("B", "IEMO+MSPI", mlp)])
    assert table.column("deterministic").to_pylist() == ["logistic", None]
    note = (
        "A: classifier logistic is deterministic; every seed gives the same model and scores, "
        "so its ± 0.000 is no estimate of seed-to-seed variation."
    )
    markdown = markdown_table(table)
    assert "| A | IEMO+MSPI | 2 | 0.500 ± 0.000 (n=20) |" in markdown
    assert [line for line in markdown.splitlines() if "deterministic" in line] == [f"- {note}"]
    assert note.replace("±", r"$\pm$") in latex_table(table)


def test_weights_and_biases_records_the_classifier_and_its_grid(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    chosen = {"C": 0.1, "gamma": 0.01}
    record = {"name": "svm rbf", "hyperparameters": chosen, "deterministic": True}
    metrics = seed_metrics(42, 0.6) | {"best_epoch": None, "classifier": record}
    history = [
        {"grid_point": i, "C": c, "val_uar": u, "selected": i == 1}
        for i, (c, u) in enumerate([(0.01, 0.4), (0.1, 0.6), (1.0, 0.5)])
    ]
    exp = EXPERIMENT | {"classifier": "svm", "svm_kernel": "rbf"}
    assert log_seed_run(exp, metrics, history, "offline", tmp_path)["logged"]
    (run,) = offline_runs(tmp_path).values()
    assert (run.config["classifier"], run.config["svm_kernel"]) == ("svm", "rbf")
    assert (run.config["classifier_chosen"], run.config["deterministic"]) == (chosen, True)
    steps = [(h["_step"], h["val_uar"]) for h in run.history if "val_uar" in h]
    assert steps == [(0, 0.4), (1, 0.6), (2, 0.5)]


def test_a_leave_one_session_out_fold_and_its_mean_keep_the_record(tmp_path):
    world = make_world(tmp_path / "w")
    with_vad_and_sessions(world)
    session = {r["utt_id"]: r["session"] for r in pq.read_table(world["indexes"][0]).to_pylist()}
    manifest = pq.read_table(world["manifest_path"]).to_pylist()
    rows = [r | {"fold": session.get(r["utt_id"])} for r in manifest if r["corpus"] != "MSPI"]
    write_parquet(pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA), world["manifest_path"])
    exp = experiment(
        train_dataset=["IEMO"], modality="audio", evaluation_mode="loso", **classical("logistic")
    )
    inputs = Inputs(world["manifest_path"], world["indexes"], world["audio"][:2], [], [])
    folds = [tmp_path / f"fold-{f}" for f in (1, 2)]
    for fold, out in zip((1, 2), folds, strict=True):
        metrics = train_fold(exp, 1, fold, 0.5, inputs, out, tmp_path / "resume")
        assert metrics["fold"] == fold and metrics["classifier"]["name"] == "logistic"
        assert metrics["n"]["in_corpus"] == {"IEMO": 48}  # the held-out session's 2 speakers
    mean = loso_mean(
        [f / "metrics.json" for f in folds], [f / "predictions.parquet" for f in folds],
        tmp_path / "loso.json",
    )  # fmt: skip
    assert mean["classifier"]["deterministic"] is True


def test_an_svm_needs_two_training_rows_per_class_for_its_probabilities(world):
    exp = settings(**classical("svm", "linear", classifier_grid={"C": [1.0]}))
    features = {"audio": world["audio"], "text": world["text"]}
    data = load_data(exp, world["manifest_path"], world["indexes"], features, None)
    y = data.train.y.numpy()
    keep = np.flatnonzero((y != 3) | (np.cumsum(y == 3) == 1))  # one angry utterance left
    few = replace(data, train=data.train.take(keep))
    with pytest.raises(ValueError, match="at least 2 training utterances of each class; angry"):
        fit_classical(exp, few)
    two = np.flatnonzero((y != 3) | (np.cumsum(y == 3) <= 2))
    fitted = fit_classical(exp, replace(data, train=data.train.take(two)))
    assert fitted.model.record["classes"] == [0, 1, 2, 3]


@pytest.mark.parametrize("name", ["logistic", "xgboost"])
def test_a_class_absent_from_training_gets_probability_zero(world, name):
    exp = settings(**classical(name, classifier_grid={}))
    features = {"audio": world["audio"], "text": world["text"]}
    data = load_data(exp, world["manifest_path"], world["indexes"], features, None)
    three = np.flatnonzero(data.train.y.numpy() != 3)
    fitted = fit_classical(exp, replace(data, train=data.train.take(three)))
    probs = loop.predict_proba(fitted.model, data.val)
    assert probs.shape == (len(data.val), 4) and (probs[:, 3] == 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)

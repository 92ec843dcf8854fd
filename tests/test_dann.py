"""Domain-adversarial training: the reversal's sign, its schedule, which rows enter the domain
loss, test labels never read, the saved model, and resume after a kill."""

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import torch
from conftest import schema_settings
from test_train import make_world, run, settings

from xcorpus.labels import CLASSES
from xcorpus.tables import INDEX_SCHEMA, write_parquet
from xcorpus.train import loop
from xcorpus.train.dann import DomainAdversarial, domains, reversal_weight, reverse_gradient
from xcorpus.train.data import Data, Split, load_data
from xcorpus.train.loop import fit, set_determinism
from xcorpus.train.models import EmotionClassifier, ModelConfig, load_model
from xcorpus.train.sequences import Sequences
from xcorpus.train.settings import Settings

DIM = 6


def split(corpus: list[str], seed: int, y=None) -> Split:
    rng = np.random.default_rng(seed)
    n = len(corpus)
    return Split(
        np.array([f"{c}_{seed}_{i}" for i, c in enumerate(corpus)], dtype=object),
        np.array(corpus, dtype=object),
        {"audio": torch.from_numpy(rng.normal(size=(n, DIM)).astype(np.float32))},
        torch.as_tensor(np.arange(n) % 4 if y is None else y),
    )


def tiny_data() -> Data:
    """Training rows of A and B interleaved, validation and in-corpus tests of both, and test
    corpora C (5 rows) and D (3 rows)."""
    return Data(
        train=split(["A", "B", "A", "A", "B", "B", "A"], 0),
        val=split(["A", "B"], 1),
        test={"C": split(["C"] * 5, 2), "D": split(["D"] * 3, 3)},
        heldout={"A": split(["A"] * 2, 4), "B": split(["B"] * 2, 5)},
        difficulty=None,
    )


def test_domains_are_the_training_rows_corpora_without_unlabelled_test():
    corpora = domains(tiny_data(), ["A", "B"], unlabelled_test=False)
    assert corpora.names == ["A", "B"]
    assert corpora.train.tolist() == [0, 1, 0, 0, 1, 1, 0]
    assert corpora.unlabelled_x is None and corpora.unlabelled is None


def test_unlabelled_test_adds_each_test_corpus_features_only():
    data = tiny_data()
    corpora = domains(data, ["B", "A"], unlabelled_test=True)  # train_dataset order
    assert corpora.names == ["B", "A", "C", "D"]
    assert corpora.train.tolist() == [1, 0, 1, 1, 0, 0, 1]
    assert corpora.unlabelled.tolist() == [2] * 5 + [3] * 3
    # Exactly the test corpora's rows, in order; validation and in-corpus tests never enter.
    expected = torch.cat([data.test["C"].x["audio"], data.test["D"].x["audio"]])
    assert torch.equal(corpora.unlabelled_x["audio"], expected)


def test_unlabelled_sequences_are_concatenated_row_for_row():
    a = Sequences.packed(torch.arange(6.0).reshape(3, 2).half(), [1, 2])
    b = Sequences.packed(torch.arange(6.0, 10.0).reshape(2, 2).half(), [2])
    data = tiny_data()
    test = {
        c: Split(s.utt_id[:n], s.corpus[:n], {"audio": seq}, s.y[:n])
        for (c, s), seq, n in zip(data.test.items(), (a, b), (2, 1), strict=True)
    }
    data = Data(data.train, data.val, test, {}, None)
    joined = domains(data, ["A", "B"], True).unlabelled_x["audio"]
    assert joined.lengths.tolist() == [1, 2, 2]
    batch = joined.batch(torch.tensor([2, 0]))
    assert batch.frames[0].tolist() == [[6.0, 7.0], [8.0, 9.0]]
    assert batch.frames[1, 0].tolist() == [0.0, 1.0] and batch.padding[1].tolist() == [False, True]


@pytest.mark.parametrize(
    ("weight", "warmup", "values"),
    [
        (0.5, 4, [0.0, 0.125, 0.25, 0.375, 0.5, 0.5, 0.5]),
        (2.0, 1, [0.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]),
        (0.3, 0, [0.3] * 7),
    ],
)
def test_reversal_weight_ramps_linearly_to_dann_weight(weight, warmup, values):
    assert [reversal_weight(e, weight, warmup) for e in range(7)] == pytest.approx(values)


def classifier(seed: int = 0) -> EmotionClassifier:
    torch.manual_seed(seed)
    stats = {"audio": (torch.zeros(DIM), torch.ones(DIM))}
    config = ModelConfig({"audio": DIM}, hidden_dim=8, fusion="concat", num_heads=1, dropout=0.0)
    return EmotionClassifier(config, stats)


def adversarial(data: Data, unlabelled: bool, **keys) -> DomainAdversarial:
    exp = schema_settings(domain_adaptation="dann", dann_unlabelled_test=unlabelled, **keys)
    return DomainAdversarial(classifier(), domains(data, ["A", "B"], unlabelled), exp, seed=1)


def domain_gradients(model: DomainAdversarial, weight: float) -> dict[str, torch.Tensor]:
    """Gradients of the domain loss of all training rows, through a reversal of `weight`."""
    model.zero_grad()
    train = tiny_data().train
    embedded = model.classifier.embed(train.inputs(torch.arange(len(train))))
    logits = model.domain_head(reverse_gradient(embedded, weight))
    torch.nn.functional.cross_entropy(logits, model.domains.train).backward()
    return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


def test_the_encoder_gets_the_negative_domain_gradient_scaled_by_lambda():
    model = adversarial(tiny_data(), False)
    plain = domain_gradients(model, -1.0)  # -(-1) = 1: the gradient without reversal
    reversed_ = domain_gradients(model, 0.7)
    encoder = [k for k in plain if k.startswith("classifier.encoders.")]
    assert encoder
    for k in encoder:
        torch.testing.assert_close(reversed_[k], -0.7 * plain[k])
        assert plain[k].abs().sum() > 0
    for k in (k for k in plain if k.startswith("domain_head.")):
        torch.testing.assert_close(reversed_[k], plain[k])  # the head learns the plain task
    assert not any(k.startswith("classifier.head.") for k in plain)  # class head: no domain grad


def test_a_step_adds_the_domain_loss_of_training_and_unlabelled_rows():
    data = tiny_data()
    model = adversarial(data, True, dann_warmup_epochs=0, dann_weight=0.5)
    model.start_epoch(0, n_rows=4, batch_size=4)
    rows = torch.tensor([0, 1, 2, 3])
    loss_fn = loop.TaskLoss(schema_settings(), data.train)
    total, class_loss = model.step_loss(loss_fn, data.train, rows)
    extra = model.unlabelled_order[:4]
    x = torch.cat([data.train.x["audio"][rows], model.domains.unlabelled_x["audio"][extra]])
    labels = torch.cat([model.domains.train[rows], model.domains.unlabelled[extra]])
    logits = model.domain_head(model.classifier.embed({"audio": x}))
    expected = torch.nn.functional.cross_entropy(logits, labels)
    torch.testing.assert_close(total - class_loss, expected)
    torch.testing.assert_close(class_loss, loss_fn(model.classifier, data.train, rows))


def test_unlabelled_rows_of_an_epoch_cover_the_test_rows_and_repeat_with_its_seed():
    model = adversarial(tiny_data(), True)
    model.start_epoch(3, n_rows=20, batch_size=4)
    first = model.unlabelled_order.tolist()
    assert sorted(first[:8]) == list(range(8)) and sorted(first[8:16]) == list(range(8))
    model.start_epoch(3, n_rows=20, batch_size=4)
    assert model.unlabelled_order.tolist() == first
    model.start_epoch(4, n_rows=20, batch_size=4)
    assert model.unlabelled_order.tolist() != first


def dann_experiment(**keys) -> Settings:
    fast = {"learning_rate": 1e-2, "batch_size": 3, "num_epochs": 6, "lr_scheduler": "step"}
    dann = {"domain_adaptation": "dann", "dann_unlabelled_test": True, "dann_warmup_epochs": 2}
    return schema_settings(**dann | {"dropout": 0.3} | fast | keys)


class Everything:
    needs_confidence = False

    def __init__(self, n):
        self.n = n

    def fraction(self, epoch):
        return 1.0

    def indices(self, epoch, confidence):
        return np.arange(self.n)


def fit_dann(exp: Settings, checkpoint=None):
    """A seeded domain-adversarial fit, built as train_seed builds it."""
    set_determinism(5)
    data = tiny_data()
    base = classifier(5)
    model = DomainAdversarial(base, domains(data, ["A", "B"], True), exp, seed=5)
    rng = np.random.default_rng(5)
    return fit(model, data.train, data.val, Everything(len(data.train)), exp, rng, checkpoint)


def test_a_resumed_run_ends_as_an_uninterrupted_one(tmp_path):
    whole = fit_dann(dann_experiment())
    assert [round(r["dann_lambda"], 6) for r in whole.history] == [0, 0.5, 1, 1, 1, 1]
    path = tmp_path / "resume.pt"
    fit_dann(dann_experiment(num_epochs=3), path)  # killed after epoch 2
    resumed = fit_dann(dann_experiment(), path)
    assert resumed.history == whole.history
    assert resumed.best_epoch == whole.best_epoch
    assert set(whole.best_state) == set(resumed.best_state)
    assert any(k.startswith("domain_head.") for k in whole.best_state)
    assert all(torch.equal(whole.best_state[k], resumed.best_state[k]) for k in whole.best_state)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("world"))


def relabelled(world: dict, root) -> dict:
    """`world` with the test corpus MSPP's labels rotated by one class."""
    world = dict(world, indexes=list(world["indexes"]))
    i = next(i for i, p in enumerate(world["indexes"]) if p.stem == "MSPP")
    table = pq.read_table(world["indexes"][i]).to_pylist()
    for row in table:
        row["label"] = row["raw_label"] = CLASSES[(CLASSES.index(row["label"]) + 1) % 4]
    world["indexes"][i] = root / "MSPP.parquet"
    write_parquet(pa.Table.from_pylist(table, schema=INDEX_SCHEMA), world["indexes"][i])
    return world


DANN = {"domain_adaptation": "dann", "dann_unlabelled_test": True, "dann_warmup_epochs": 2}


def test_test_labels_never_shape_dann_training_and_model_pt_evaluates_identically(world, tmp_path):
    a = run(world, tmp_path / "a", **DANN)
    b = run(relabelled(world, tmp_path), tmp_path / "b", **DANN)
    for name in ("history.csv", "model.pt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert a["validation"] == b["validation"]
    assert a["domain_adaptation"] == {
        "method": "dann",
        "weight": 1.0,
        "warmup_epochs": 2,
        "unlabelled_test": True,
        "domains": {"IEMO": 72, "MSPI": 48, "MSPP": 80},
        "transductive": True,
        "reason": "the domain loss reads the unlabelled features of test corpora MSPP",
    }
    # model.pt is the classifier alone, and evaluates as the trained model did.
    checkpoint = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    assert not any("domain" in k for k in checkpoint["state_dict"])
    model = load_model(tmp_path / "a" / "model.pt")
    data = load_data(
        settings(**DANN), world["manifest_path"], world["indexes"], features(world), None
    )
    saved = pq.read_table(tmp_path / "a" / "predictions.parquet").to_pandas()
    saved = saved[saved["role"] == "test"][[f"prob_{c}" for c in CLASSES]].to_numpy()
    np.testing.assert_allclose(loop.predict_proba(model, data.test["MSPP"]), saved, rtol=1e-5)


def features(world: dict) -> dict:
    return {m: world[m] for m in ("audio", "text")}


def test_without_unlabelled_test_it_is_inductive(world, tmp_path):
    metrics = run(world, tmp_path, domain_adaptation="dann", dann_warmup_epochs=2)
    record = metrics["domain_adaptation"]
    assert record["domains"] == {"IEMO": 72, "MSPI": 48}
    assert (record["transductive"], record["reason"]) == (False, None)
    history = pacsv.read_csv(tmp_path / "history.csv").to_pydict()
    assert history["dann_lambda"] == [0, 0.5] + [1.0] * 6
    assert all(loss > 0 for loss in history["domain_loss"])
    # The reversed gradient changes what the encoder learns.
    run(world, tmp_path / "none")
    trained = torch.load(tmp_path / "model.pt", weights_only=True)["state_dict"]
    plain = torch.load(tmp_path / "none" / "model.pt", weights_only=True)["state_dict"]
    assert set(trained) == set(plain)
    assert not torch.equal(
        trained["encoders.audio.project.0.weight"], plain["encoders.audio.project.0.weight"]
    )


def test_none_records_no_domain_adaptation(world, tmp_path):
    metrics = run(world, tmp_path, num_epochs=2)
    assert metrics["domain_adaptation"] == {"method": "none", "transductive": False, "reason": None}
    assert "domain_loss" not in (tmp_path / "history.csv").read_text()

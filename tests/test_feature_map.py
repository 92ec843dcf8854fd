"""The feature map's inputs: which experiments' splits, which rows, which normalisation."""

import numpy as np
import pytest
import torch
from conftest import schema_experiment
from test_train import make_world

from xcorpus import feature_map
from xcorpus.feature_map import PanelSpec, as_model_sees, embed, panel, sample
from xcorpus.feature_map_plan import EXPERIMENT_KEYS, mapped_feature_sets, panel_plan
from xcorpus.plots import feature_map as draw
from xcorpus.train.data import load_data
from xcorpus.train.normalise import normalise, statistics
from xcorpus.train.settings import DataSettings


def test_sample_takes_at_most_per_corpus_rows_of_each_corpus_whatever_the_order():
    corpus = np.array(["B"] * 7 + ["A"] * 3 + ["C"] * 5, dtype=object)
    utt_id = np.array([f"{c}{i:02d}" for i, c in enumerate(corpus)], dtype=object)
    rows = sample(corpus, utt_id, per_corpus=4, seed=0)
    picked = list(zip(corpus[rows], utt_id[rows], strict=True))
    assert [c for c, _ in picked] == ["A"] * 3 + ["B"] * 4 + ["C"] * 4  # A has only 3
    assert len(set(picked)) == len(picked)
    shuffled = np.random.default_rng(1).permutation(len(corpus))
    again = sample(corpus[shuffled], utt_id[shuffled], per_corpus=4, seed=0)
    assert list(zip(corpus[shuffled][again], utt_id[shuffled][again], strict=True)) == picked
    other = sample(corpus, utt_id, per_corpus=4, seed=1)
    assert list(utt_id[other]) != list(utt_id[rows])


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    return make_world(tmp_path_factory.mktemp("world"), test_shift=3.0)


def experiment(**keys) -> dict:
    small = {
        "name": "IEMO+MSPI",
        "train_dataset": ["IEMO", "MSPI"],
        "test_datasets": ["MSPP"],
        "audio_features": "egemaps",
    }
    return schema_experiment(**small | keys)


def audio_data(world: dict):
    exp = DataSettings.of(experiment())
    return load_data(exp, world["manifest_path"], world["indexes"], {"audio": world["audio"]}, None)


@pytest.mark.parametrize("method", ["train", "corpus", "speaker", "none"])
def test_each_normalisation_is_the_one_training_applies(world, method):
    data = audio_data(world)
    seen = as_model_sees(data, "audio", method, min_speaker_utterances=2)
    expected, _ = normalise(data, method, 2)
    if method == "train":  # the model standardises with the training split's statistics
        mean, std = statistics(data.train.x["audio"])
        expected_test = (data.test["MSPP"].x["audio"] - mean) / std
    else:
        expected_test = expected.test["MSPP"].x["audio"]
    torch.testing.assert_close(seen.test["MSPP"].x["audio"], expected_test)
    if method == "none":
        assert torch.equal(seen.val.x["audio"], data.val.x["audio"])
    if method == "corpus":  # the shifted test corpus is centred on its own statistics
        assert seen.test["MSPP"].x["audio"].mean(0).abs().max() < 1e-5


def spec(world: dict, method: str) -> PanelSpec:
    column = {"title": method, "method": method, "modality": "audio", "experiment": experiment()}
    paths = {"manifest": world["manifest_path"], "indexes": world["indexes"]}
    return PanelSpec.of(column | paths | {"shards": world["audio"]})


def test_a_panel_samples_every_role_of_every_corpus_up_to_its_bound(world, tmp_path):
    raw = panel(spec(world, "none"), per_corpus=50)
    # IEMO 96 and MSPI 64 (training and validation rows), MSPP 80 (test): 50 of each.
    assert [(c, int((raw.corpus == c).sum())) for c in ("IEMO", "MSPI", "MSPP")] == [
        ("IEMO", 50),
        ("MSPI", 50),
        ("MSPP", 50),
    ]
    assert raw.points.shape == (150, 2) and raw.embedding == "t-SNE"
    normalised = panel(spec(world, "corpus"), per_corpus=50)
    assert list(normalised.corpus) == list(raw.corpus)  # the same utterances in every column
    assert list(normalised.label) == list(raw.label)
    draw([raw, normalised], "egemaps", tmp_path / "map.png")
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pca_beyond_the_t_sne_bound_and_t_sne_is_seeded(monkeypatch):
    x = np.random.default_rng(0).normal(size=(40, 5))
    points, method = embed(x, seed=3)
    assert method == "t-SNE" and np.array_equal(points, embed(x, seed=3)[0])
    monkeypatch.setattr(feature_map, "TSNE_MAX", 39)
    points, method = embed(x, seed=3)
    assert method == "PCA" and points.shape == (40, 2)


def test_the_plan_has_the_raw_features_then_each_normalisation_used():
    experiments = [
        experiment(name="loso", evaluation_mode="loso", feature_normalisation="corpus"),
        experiment(name="a"),
        experiment(name="b", feature_normalisation="speaker"),
        experiment(name="c", feature_normalisation="none"),
        experiment(name="d", feature_normalisation="speaker"),
        experiment(name="e", modality="text", feature_normalisation="corpus"),
    ]
    plan = panel_plan(experiments, "egemaps")
    assert [(c["title"], c["method"], c["experiment"]["name"]) for c in plan] == [
        ("as extracted", "none", "a"),
        ("train (as in a)", "train", "a"),
        ("speaker (as in b)", "speaker", "b"),
    ]
    assert set(plan[0]["experiment"]) == {*EXPERIMENT_KEYS, "task", "difficulty_method"}
    assert plan[0]["experiment"]["task"] == "categorical"
    # A panel's keys are what load_data reads: no other key of the experiment reruns the map.
    loaded = DataSettings.of(plan[0]["experiment"])
    assert (loaded.train_dataset, loaded.difficulty_method) == (("IEMO", "MSPI"), None)
    assert [c["method"] for c in panel_plan(experiments, "minilm")] == ["none", "corpus"]
    assert mapped_feature_sets(experiments) == ["egemaps", "minilm"]
    with pytest.raises(ValueError, match="no cross-corpus experiment reads feature set x"):
        panel_plan(experiments, "x")

"""Training settings: read once from the checked experiment, frozen, derived as config derives."""

import dataclasses

import pytest
from conftest import schema_experiment, schema_settings
from test_config import checked

from xcorpus import config
from xcorpus.config import mark_schema_defaults
from xcorpus.train.settings import Settings


def test_the_default_config_experiments_give_their_settings(default_config):
    given = [set(exp) for exp in default_config["experiments"]]
    experiments = checked(default_config)
    mark_schema_defaults(experiments, given)
    for exp in experiments:
        settings = Settings.of(exp)
        assert settings.train_dataset == tuple(exp["train_dataset"])
        assert settings.test_datasets == tuple(exp["test_datasets"])
        assert settings.curriculum_defaults == tuple(exp["curriculum_defaults"])
        assert settings.num_epochs == exp["num_epochs"]
        assert settings.modalities == config.modalities(exp)
        assert settings.uses_difficulty == config.uses_difficulty(exp)
        assert settings.uses_curriculum == config.uses_curriculum(exp)


def test_settings_are_frozen():
    settings = schema_settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.num_epochs = 3  # type: ignore[misc]


def test_a_missing_key_is_refused_by_name():
    experiment = schema_experiment(name="x", train_dataset=["IEMO"], test_datasets=["MSPI"])
    with pytest.raises(ValueError, match="experiment x: no 'curriculum_defaults'"):
        Settings.of(experiment)
    del experiment["dropout"]
    with pytest.raises(ValueError, match="experiment x: no 'dropout'"):
        Settings.of(experiment | {"curriculum_defaults": []})


@pytest.mark.parametrize(
    ("task", "chosen", "metric", "class_head", "vad_head"),
    [
        ("categorical", None, "uar", True, False),
        ("dimensional", None, "ccc", False, True),
        ("multitask", None, "uar", True, True),
        ("multitask", "ccc", "ccc", True, True),
    ],
)
def test_the_heads_and_selection_metric_follow_the_task(task, chosen, metric, class_head, vad_head):
    settings = schema_settings(task=task, selection_metric=chosen)
    assert settings.selection_metric == metric
    assert (settings.has_class_head, settings.has_dimensional_head) == (class_head, vad_head)


def test_curriculum_and_grid_are_derived_as_the_config_checks_derive_them():
    off = schema_settings(use_curriculum_learning=False, curriculum_type="difficulty")
    assert (off.uses_curriculum, off.uses_difficulty) == (False, False)
    ranked = schema_settings(curriculum_type="inverse_difficulty")
    assert (ranked.uses_curriculum, ranked.uses_difficulty) == (True, True)
    svm = schema_settings(classifier="svm", svm_kernel="linear", classifier_grid={"C": [2.0]})
    assert (svm.grid_key, svm.grid) == ("svm linear", {"C": [2.0]})

import copy

import pytest
import yaml
from conftest import REPO, SCHEMA
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from xcorpus.config import ConfigError, expand_experiments, with_builtin_feature_sets


def checked(config: dict) -> list[dict]:
    """What common.smk does before any job: schema, built-in feature sets, expansion."""
    validate(config, str(SCHEMA))
    config["features"] = with_builtin_feature_sets(config["features"])
    return expand_experiments(config)


def test_default_config_expands_to_the_three_experiments(default_config):
    experiments = checked(default_config)
    assert [(e["name"], e["train"], e["test_datasets"]) for e in experiments] == [
        ("IEMO_only", "IEMO", ["MSPI", "MSPP", "CMUMOSEI", "SAMSEMO"]),
        ("IEMO+MSPI", "IEMO+MSPI", ["MSPP", "CMUMOSEI", "SAMSEMO"]),
        ("IEMO+MSPI+MSPP", "IEMO+MSPI+MSPP", ["CMUMOSEI", "SAMSEMO"]),
    ]
    assert all(e["seeds"] == [42, 87739, 1829] for e in experiments)
    assert all(e["modality"] == "audio" and e["learning_rate"] == 0.001 for e in experiments)


def test_seed_example_file_works_unchanged(default_config):
    seed_file = yaml.safe_load((REPO / "configs" / "multi_dataset_training.yaml").read_text())
    config = {**default_config, **seed_file}
    experiments = checked(config)
    first = experiments[0]
    # YAML 1.1 reads 1e-5 as text; it must still arrive as the number.
    assert first["learning_rate"] == 1e-5
    assert (first["fusion_type"], first["fusion_hidden_dim"], first["num_attention_heads"]) == (
        "cross_attention",
        1024,
        16,
    )
    assert [e["test_datasets"] for e in experiments] == [
        ["MSPP", "CMUMOSEI", "SAMSEMO"],
        ["CMUMOSEI", "SAMSEMO"],
        ["IEMO", "CMUMOSEI", "SAMSEMO"],
    ]


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("modality", "video", "modality"),
        ("num_epochs", 0, "num_epochs"),
        ("learning_rate", "fast", "learning_rate"),
        ("unknown_key", 1, "unknown_key"),
    ],
)
def test_schema_rejects_and_names_the_key(default_config, key, value, named):
    config = copy.deepcopy(default_config)
    config["experiments"][0][key] = value
    with pytest.raises(WorkflowError) as error:
        validate(config, str(SCHEMA))
    assert named in str(error.value)


@pytest.mark.parametrize("name", ["IEMO_only\n", "../IEMO_only", "a b", "x$(touch X)"])
def test_experiment_names_that_are_no_safe_path_are_refused(default_config, name):
    """A trailing newline too: Python's `$` matches before it, so the pattern must not use `$`
    alone."""
    config = copy.deepcopy(default_config)
    config["experiments"][0]["name"] = name
    with pytest.raises(WorkflowError) as error:
        validate(config, str(SCHEMA))
    assert f"On instance['experiments'][0]['name']:\n    {name!r}" in str(error.value)


@pytest.mark.parametrize("name", ["../../escape_feat", "x$(touch${IFS}X)", "egemaps\n", ".e"])
def test_feature_set_names_that_are_no_safe_path_are_refused(default_config, name):
    """Feature-set names become results/features/{name}/ and reach the shell."""
    config = copy.deepcopy(default_config)
    config["features"][name] = {"backend": "egemaps"}
    with pytest.raises(WorkflowError) as error:
        validate(config, str(SCHEMA))
    message = str(error.value)
    assert "schema['properties']['features']['propertyNames']" in message
    assert f"On instance['features']:\n    {name!r}" in message


def test_schema_rejects_unknown_corpus(default_config):
    config = copy.deepcopy(default_config)
    config["corpora"]["RAVDESS"] = {"root": "x"}
    with pytest.raises(WorkflowError, match="RAVDESS"):
        validate(config, str(SCHEMA))


def test_loso_with_several_training_corpora_is_refused(default_config):
    config = copy.deepcopy(default_config)
    config["experiments"][1]["evaluation_mode"] = "loso"
    with pytest.raises(
        ConfigError, match="LOSO evaluation not supported with multiple training datasets"
    ):
        checked(config)


@pytest.mark.parametrize("corpus", ["CMUMOSEI", "SAMSEMO"])
def test_difficulty_curriculum_on_corpus_without_vad_is_refused(default_config, corpus):
    config = copy.deepcopy(default_config)
    config["experiments"][0]["train_dataset"] = ["IEMO", corpus]
    with pytest.raises(ConfigError, match=f"IEMO_only: difficulty-based curriculum .* {corpus}"):
        checked(config)
    config["experiments"][0]["use_curriculum_learning"] = False
    assert checked(config)[0]["train"] == f"IEMO+{corpus}"


def test_difficulty_methods_need_what_they_read(default_config):
    config = copy.deepcopy(default_config)
    exp = config["experiments"][0]
    exp |= {"train_dataset": ["IEMO", "SAMSEMO"], "difficulty_method": "agreement"}
    assert checked(copy.deepcopy(config))[0]["train"] == "IEMO+SAMSEMO"  # both have raters
    exp |= {"train_dataset": ["IEMO", "CMUMOSEI"], "curriculum_type": "inverse_difficulty"}
    with pytest.raises(ConfigError, match="needs annotator agreement, which CMUMOSEI"):
        checked(config)
    exp |= {"curriculum_type": "random"}  # no difficulty needed
    assert checked(config)[0]["train"] == "IEMO+CMUMOSEI"


def test_loso_needs_a_corpus_with_sessions(default_config):
    config = copy.deepcopy(default_config)
    config["experiments"][0] |= {"train_dataset": "MSPP", "evaluation_mode": "loso"}
    with pytest.raises(
        ConfigError, match=r"MSPP does not have; corpora with sessions: IEMO \(5\), MSPI \(6\)"
    ):
        checked(config)


def test_text_modality_needs_transcripts(default_config):
    config = copy.deepcopy(default_config)
    del config["corpora"]["MSPI"]["transcripts"]
    config["experiments"][0]["modality"] = "both"
    with pytest.raises(ConfigError, match="MSPI is distributed without them"):
        checked(config)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["experiments"][0].update(train_dataset="MSPX"), "names MSPX"),
        (lambda c: c["experiments"][0].update(audio_features="wavlm"), "'wavlm'"),
        (lambda c: c["experiments"][0].update(audio_features="minilm"), "extracts text"),
        (lambda c: c["experiments"][1].update(name="IEMO_only"), "repeated: IEMO_only"),
        (
            lambda c: c["experiments"][0].update(
                train_dataset=["IEMO", "MSPI", "MSPP", "CMUMOSEI", "SAMSEMO"],
                use_curriculum_learning=False,
            ),
            "no corpus is left to test on",
        ),
    ],
)
def test_references_are_checked(default_config, change, message):
    config = copy.deepcopy(default_config)
    change(config)
    with pytest.raises(ConfigError, match=message):
        checked(config)


def test_builtin_feature_sets_stay_available(default_config, tmp_path):
    config = copy.deepcopy(default_config)
    config["features"] = {"e2v": {"backend": "hf_audio", "model": str(tmp_path)}}
    checked(config)  # experiments still default to the built-in egemaps
    assert set(config["features"]) == {"egemaps", "minilm", "e2v"}
    assert config["features"]["e2v"]["granularity"] == "utterance"


@pytest.mark.parametrize(
    ("feature_set", "message"),
    [
        (
            {"backend": "egemaps", "layer": 3},
            r"egemaps takes no option\(s\) layer \(its options: none\)",
        ),
        ({"backend": "minilm", "pooling": "cls"}, r"minilm takes no option\(s\) pooling"),
        ({"backend": "hf_audio"}, "hf_audio needs `model:`"),
        ({"backend": "hf_text", "model": "/no/such/model"}, "/no/such/model is not a directory"),
        ({"backend": "emotion2vec", "model": "./e2v_base"}, "e2v_base is not a directory"),
    ],
)
def test_feature_sets_are_checked(default_config, feature_set, message):
    config = copy.deepcopy(default_config)
    config["features"]["bad"] = feature_set
    with pytest.raises(ConfigError, match=f"feature set bad: .*{message}"):
        checked(config)


def test_emotion2vec_hub_id_is_left_to_the_job(default_config):
    config = copy.deepcopy(default_config)
    config["features"]["e2v"] = {"backend": "emotion2vec", "model": "iic/emotion2vec_plus_base"}
    checked(config)

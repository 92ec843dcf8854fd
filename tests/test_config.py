import copy

import pytest
import yaml
from conftest import REPO, SCHEMA
from jsonschema import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from xcorpus.config import (
    ConfigError,
    check_dann_keys,
    expand_experiments,
    mark_schema_defaults,
    schema_error,
    with_builtin_feature_sets,
)


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


def test_all_corpora_file_is_a_leave_one_corpus_out_grid():
    config = yaml.safe_load((REPO / "configs" / "all_corpora.yaml").read_text())
    experiments = checked(config)
    assert len(config["corpora"]) == 12
    trainable = [c for c in config["corpora"] if c != "TESS"]
    assert [(e["name"], e["test_datasets"]) for e in experiments] == [
        (f"LeaveOut_{c}", [t for t in config["corpora"] if t in (c, "TESS")]) for c in trainable
    ]
    assert [e["train_dataset"] for e in experiments] == [
        [t for t in trainable if t != c] for c in trainable
    ]


def test_emobox_file_gives_the_twelve_pairs_of_emobox_table_5(tmp_path):
    config = yaml.safe_load((REPO / "configs" / "emobox_cross_corpus.yaml").read_text())
    for corpus in config["corpora"].values():
        corpus["root"] = str(tmp_path)
    config["features"]["emotion2vec"]["model"] = str(tmp_path)
    experiments = checked(config)
    pairs = {(e["train"], test) for e in experiments for test in e["test_datasets"]}
    four = ("IEMO", "MELD", "RAVDESS", "SAVEE")
    assert pairs == {(a, b) for a in four for b in four if a != b}
    assert all(c["test_list"] == "emobox" for c in config["corpora"].values())
    assert config["corpora"]["MELD"]["splits"] == "speaker"


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
    config["corpora"]["NOT_A_CORPUS"] = {"root": "x"}
    with pytest.raises(WorkflowError, match="NOT_A_CORPUS"):
        validate(config, str(SCHEMA))


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"num_epochs": 4}, True),  # the default curriculum_epochs is 10
        ({"num_epochs": 10}, True),  # epoch 10 would be the first on the whole set
        ({"num_epochs": 11}, False),
        ({"num_epochs": 4, "curriculum_type": "none"}, False),
        ({"num_epochs": 4, "use_curriculum_learning": False}, False),
    ],
)
def test_a_curriculum_that_never_reaches_the_whole_training_set_is_refused(
    default_config, changes, refused
):
    default_config["experiments"][0] |= changes
    if not refused:
        checked(default_config)
        return
    with pytest.raises(ConfigError) as error:
        checked(default_config)
    epochs = changes["num_epochs"]
    assert str(error.value) == (
        f"experiment IEMO_only: curriculum_epochs (10) >= num_epochs ({epochs}), so the "
        f"curriculum never reaches the whole training set (it would first train on all of it at "
        f"epoch 10, after the last one, {epochs - 1}); set num_epochs above curriculum_epochs, "
        "lower curriculum_epochs, or set use_curriculum_learning: false"
    )


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


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("learning_rate", -0.1, "learning_rate: -0.1 must be > 0"),
        ("learning_rate", 0, "learning_rate: 0 must be > 0"),
        ("learning_rate", "-1e-1", "learning_rate: -1e-1 must be > 0"),
        ("learning_rate", float("nan"), "learning_rate: nan must be > 0"),
        ("weight_decay", -1e-4, "weight_decay: -0.0001 must be >= 0"),
    ],
)
def test_rates_that_cannot_train_are_refused(default_config, key, value, message):
    config = copy.deepcopy(default_config)
    config["experiments"][1][key] = value
    with pytest.raises(ConfigError) as error:
        checked(config)
    assert str(error.value) == f"experiment IEMO+MSPI: {message}"


def test_a_corpus_root_that_is_no_directory_is_refused(default_config, tmp_path):
    config = copy.deepcopy(default_config)
    config["corpora"]["MSPP"] = {"root": str(tmp_path / "MSPP"), "demo": False}
    with pytest.raises(ConfigError) as error:
        checked(config)
    assert str(error.value) == f"corpus MSPP: root {tmp_path / 'MSPP'} is not a directory"
    (tmp_path / "MSPP").mkdir()
    assert checked(config)[0]["test_datasets"][1] == "MSPP"


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            lambda c: c["experiments"][1].update(seeds=[-1]),
            "experiment IEMO+MSPI: seeds: 0: -1 is less than the minimum of 0",
        ),
        (
            lambda c: c["experiments"][0].update(modality="video"),
            "experiment IEMO_only: modality: 'video' is not one of ['audio', 'text', 'both']",
        ),
        (
            lambda c: c["corpora"]["IEMO"].update(demo="yes"),
            "corpora.IEMO.demo: 'yes' is not of type 'boolean'",
        ),
    ],
)
def test_schema_errors_read_in_one_line(default_config, change, line):
    config = copy.deepcopy(default_config)
    change(config)
    with pytest.raises(WorkflowError) as error:
        validate(config, str(SCHEMA))
    assert isinstance(error.value.__context__, ValidationError)
    assert schema_error(config, error.value.__context__) == line


def test_curriculum_keys_left_to_the_schema_are_recorded(default_config):
    given = [set(exp) for exp in default_config["experiments"]]
    validate(default_config, str(SCHEMA))
    mark_schema_defaults(default_config["experiments"], given)
    # config.yaml's template sets the curriculum's type, pacing and epochs, not these two.
    first = default_config["experiments"][0]
    assert first["curriculum_defaults"] == ["curriculum_start", "difficulty_method"]


def test_an_unprintable_experiment_name_is_shown_quoted_on_one_line(default_config):
    default_config["experiments"][0]["name"] = "IEMO_only\n"
    with pytest.raises(WorkflowError) as error:
        validate(default_config, str(SCHEMA))
    message = schema_error(default_config, error.value.__context__)
    assert message.startswith("experiment 'IEMO_only\\n': name: 'IEMO_only\\n' does not match")
    assert "\n" not in message


def _text_experiment(config: dict, tmp_path, corpus: str, **entry) -> dict:
    """config with `corpus` (a real root) added as a test corpus of a text-only experiment."""
    config = copy.deepcopy(config)
    config["corpora"][corpus] = {"root": str(tmp_path), **entry}
    config["experiments"] = [config["experiments"][0] | {"modality": "text"}]
    return config


@pytest.mark.parametrize(
    ("corpus", "languages"), [("EMODB", "DE"), ("ESD", "EN/ZH"), ("SAMSEMO", "EN/DE/ES/PL/KO")]
)
def test_an_english_text_encoder_is_refused_on_other_languages(
    default_config, tmp_path, corpus, languages
):
    config = _text_experiment(default_config, tmp_path, corpus)
    foreign = languages.replace("EN/", "")
    with pytest.raises(ConfigError) as error:
        checked(config)
    assert str(error.value) == (
        f"experiment IEMO_only: text_features 'minilm' (backend minilm) reads EN text only, and "
        f"{corpus} ({foreign}) is in another language; define a feature set with backend hf_text "
        "and a local multilingual model (e.g. paraphrase-multilingual-MiniLM-L12-v2) as "
        "text_features, or use modality audio"
    )
    # The way out: a multilingual hf_text model, or audio.
    (tmp_path / "model").mkdir()
    config["features"]["multi"] = {"backend": "hf_text", "model": str(tmp_path / "model")}
    config["experiments"][0]["text_features"] = "multi"
    assert checked(copy.deepcopy(config))[0]["test_datasets"][-1] == corpus
    config["experiments"][0]["modality"] = "audio"
    assert checked(config)[0]["modality"] == "audio"


def test_english_corpora_and_the_english_samsemo_demo_pass_the_language_check(
    default_config, tmp_path
):
    config = _text_experiment(default_config, tmp_path, "MELD")
    assert "SAMSEMO" in checked(config)[0]["test_datasets"]  # config.yaml's SAMSEMO is a demo


def test_training_on_splits_that_share_speakers_needs_speaker_splits(default_config, tmp_path):
    config = copy.deepcopy(default_config)
    config["corpora"]["MELD"] = {"root": str(tmp_path)}
    config["experiments"] = [config["experiments"][0] | {"train_dataset": "MELD"}]
    config["experiments"][0]["use_curriculum_learning"] = False
    with pytest.raises(ConfigError) as error:
        checked(copy.deepcopy(config))
    assert str(error.value) == (
        "experiment IEMO_only: train_dataset MELD has official splits that share speakers, so "
        "its in-corpus test would not be speaker-independent; set corpora.MELD.splits: speaker "
        "to regroup them by speaker"
    )
    config["corpora"]["MELD"]["splits"] = "speaker"
    assert checked(config)[0]["train"] == "MELD"


DANN_REFUSALS = {
    "one_domain": (
        ({"domain_adaptation": "dann"}, 0),
        "experiment IEMO_only: domain_adaptation dann with one training corpus (IEMO) has one "
        "domain to tell apart; train on several corpora or set dann_unlabelled_test: true "
        "(transductive)",
    ),
    "loso": (
        ({"domain_adaptation": "dann", "evaluation_mode": "both"}, 0),
        "experiment IEMO_only: domain_adaptation dann needs evaluation_mode cross_corpus; a "
        "leave-one-session-out fold has one training corpus and no test corpus, so one domain",
    ),
    "warmup": (
        ({"domain_adaptation": "dann", "dann_warmup_epochs": 40}, 1),
        "experiment IEMO+MSPI: dann_warmup_epochs (40) >= num_epochs (30), so the reversal "
        "never reaches dann_weight (its last epoch, 29, has 72% of it)",
    ),
    "keys_without_dann": (
        ({"dann_weight": 0.3, "dann_unlabelled_test": True}, 1),
        "experiment IEMO+MSPI: dann_weight, dann_unlabelled_test set, but domain_adaptation is "
        "none; set domain_adaptation: dann or remove them",
    ),
}


@pytest.mark.parametrize("case", DANN_REFUSALS)
def test_dann_without_two_domains_or_with_stray_keys_is_refused(default_config, case):
    (changes, i), message = DANN_REFUSALS[case]
    default_config["experiments"][i] |= changes
    given = [set(exp) for exp in default_config["experiments"]]
    with pytest.raises(ConfigError) as error:
        validate(default_config, str(SCHEMA))
        check_dann_keys(default_config["experiments"], given)
        checked(default_config)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("changes", "i"),
    [
        ({"domain_adaptation": "dann", "dann_unlabelled_test": True}, 0),  # 1 corpus + tests
        ({"domain_adaptation": "dann", "dann_weight": 0, "dann_warmup_epochs": 0}, 1),
        ({"domain_adaptation": "none"}, 1),
    ],
)
def test_dann_with_two_domains_is_accepted(default_config, changes, i):
    default_config["experiments"][i] |= changes
    given = [set(exp) for exp in default_config["experiments"]]
    validate(default_config, str(SCHEMA))
    check_dann_keys(default_config["experiments"], given)
    assert checked(default_config)[i]["domain_adaptation"] == changes["domain_adaptation"]


def test_a_negative_dann_weight_is_refused_by_the_schema(default_config):
    default_config["experiments"][1] |= {"domain_adaptation": "dann", "dann_weight": -0.5}
    with pytest.raises(WorkflowError) as error:
        validate(default_config, str(SCHEMA))
    assert schema_error(default_config, error.value.__context__) == (
        "experiment IEMO+MSPI: dann_weight: -0.5 is less than the minimum of 0"
    )

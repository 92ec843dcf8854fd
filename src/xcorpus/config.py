"""Experiment expansion and the checks that must fail before any job starts.

The JSON schema (workflow/schemas/config.schema.yaml) checks types and fills defaults; this
module checks what a schema cannot: names that refer to other sections, protocol rules of the
seed (LOSO with several training corpora, difficulty curriculum on corpora without V/A/D) and
modalities a corpus cannot provide.
"""

from xcorpus.corpora import CORPORA
from xcorpus.features import BACKENDS

FLOAT_KEYS = ("learning_rate", "weight_decay")


class ConfigError(ValueError):
    """A configuration mistake, reported with the experiment and key it concerns."""


def train_name(corpora: list[str]) -> str:
    """The seed's name of a concatenated training set: corpora joined with '+' in given order."""
    return "+".join(corpora)


def expand_experiments(config: dict) -> list[dict]:
    """Validated experiments with `train_dataset` as a list and `train`/`test_datasets` added.

    `config` must already have passed the schema (defaults filled).
    """
    experiments = [_expand(exp, config) for exp in config["experiments"]]
    names = [exp["name"] for exp in experiments]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"experiment names must be unique; repeated: {', '.join(duplicates)}")
    return experiments


def _expand(raw: dict, config: dict) -> dict:
    exp = dict(raw)
    name = exp["name"]
    train = exp["train_dataset"]
    train = [train] if isinstance(train, str) else list(train)
    exp["train_dataset"] = train
    for key in FLOAT_KEYS:
        exp[key] = float(exp[key])
    configured = list(config["corpora"])
    for corpus in train:
        if corpus not in configured:
            raise ConfigError(
                f"experiment {name}: train_dataset names {corpus}, which is not in `corpora:` "
                f"(configured: {', '.join(configured)})"
            )
    if exp["evaluation_mode"] == "loso":
        if len(train) > 1:
            raise ConfigError(
                f"experiment {name}: LOSO evaluation not supported with multiple training "
                "datasets; use evaluation_mode: cross_corpus"
            )
        raise ConfigError(f"experiment {name}: evaluation_mode loso is not implemented yet")
    if uses_difficulty(exp):
        no_vad = [c for c in train if CORPORA[c].vad_scale is None]
        if no_vad:
            raise ConfigError(
                f"experiment {name}: difficulty-based curriculum needs V/A/D ratings, which "
                f"{', '.join(no_vad)} does not have; train on corpora with V/A/D "
                f"({', '.join(c for c in CORPORA if CORPORA[c].vad_scale)}) or set "
                "use_curriculum_learning: false"
            )
    exp["train"] = train_name(train)
    exp["test_datasets"] = [c for c in configured if c not in train]
    if not exp["test_datasets"]:
        raise ConfigError(
            f"experiment {name}: every configured corpus is in train_dataset, so no corpus is "
            "left to test on"
        )
    _check_features(exp, config)
    return exp


def _check_features(exp: dict, config: dict) -> None:
    """The named feature sets exist, have the right modality, and every corpus can provide it."""
    name = exp["name"]
    for modality in modalities(exp):
        key = f"{modality}_features"
        feature_set = exp[key]
        if feature_set not in config["features"]:
            raise ConfigError(
                f"experiment {name}: {key} names {feature_set!r}, which is not in `features:` "
                f"(defined: {', '.join(config['features'])})"
            )
        backend = config["features"][feature_set]["backend"]
        extracted = BACKENDS[backend][0]
        if extracted != modality:
            raise ConfigError(
                f"experiment {name}: {key} names {feature_set!r}, whose backend {backend} "
                f"extracts {extracted} features"
            )
    if "text" in modalities(exp):
        corpora = exp["train_dataset"] + exp["test_datasets"]
        missing = [c for c in corpora if not has_transcripts(c, config)]
        if missing:
            raise ConfigError(
                f"experiment {name}: modality {exp['modality']} needs transcripts, and "
                f"{', '.join(missing)} is distributed without them; give corpora.<name>."
                "transcripts (e.g. ASR output) or use modality audio"
            )


def uses_difficulty(exp: dict) -> bool:
    """Whether the experiment orders training by V/A/D difficulty (and so needs the scores)."""
    return exp["use_curriculum_learning"] and exp["curriculum_type"] == "difficulty"


def modalities(exp: dict) -> list[str]:
    """The feature modalities an experiment reads: ['audio'], ['text'] or both."""
    return {"audio": ["audio"], "text": ["text"], "both": ["audio", "text"]}[exp["modality"]]


def has_transcripts(corpus: str, config: dict) -> bool:
    """Whether the corpus's release carries transcripts or the config supplies a file of them."""
    return CORPORA[corpus].has_transcripts or bool(config["corpora"][corpus].get("transcripts"))

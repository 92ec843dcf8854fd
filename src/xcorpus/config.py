"""Experiment expansion and the checks that must fail before any job starts.

The JSON schema (workflow/schemas/config.schema.yaml) checks types and fills defaults; this
module checks what a schema cannot: names that refer to other sections, protocol rules of the
seed (LOSO with several training corpora, difficulty curriculum on corpora without V/A/D),
modalities a corpus cannot provide (transcripts, or transcripts in a language the text encoder
does not read) and training on official splits known to share speakers.
"""

import math
from collections.abc import Sequence
from pathlib import Path

from jsonschema import ValidationError

from xcorpus.corpora import CORPORA
from xcorpus.corpora.test_lists import list_path
from xcorpus.features import BACKENDS, NEEDS_MODEL, TEXT_LANGUAGES, check_options
from xcorpus.grids import check_grid

# Feature sets every config has unless it redefines them.
BUILTIN_FEATURE_SETS = {
    "egemaps": {"backend": "egemaps", "shards": 1, "granularity": "utterance"},
    "minilm": {"backend": "minilm", "shards": 1, "granularity": "utterance"},
}
# Keys of a feature set that are not options of its backend's load().
FEATURE_SET_KEYS = frozenset({"backend", "shards", "granularity", "sequence_rate", "max_frames"})

# Keys the schema lets through as text too (YAML 1.1 reads 1e-5 as a string), so their range is
# checked here: key -> (bound, whether the bound itself is allowed). A learning rate of 0 trains
# nothing, a negative one climbs the loss.
FLOAT_KEYS = {"learning_rate": (0.0, False), "weight_decay": (0.0, True)}


class ConfigError(ValueError):
    """A configuration mistake, reported with the experiment and key it concerns."""


def train_name(corpora: Sequence[str]) -> str:
    """The seed's name of a concatenated training set: corpora joined with '+' in given order."""
    return "+".join(corpora)


def expand_experiments(config: dict) -> list[dict]:
    """Validated experiments with `train_dataset` as a list and `train`/`test_datasets` added.

    `config` must already have passed the schema (defaults filled).
    """
    check_corpus_roots(config["corpora"])
    check_test_lists(config["corpora"])
    for name, feature_set in config["features"].items():
        check_feature_set(name, feature_set)
    experiments = [_expand(exp, config) for exp in config["experiments"]]
    names = [exp["name"] for exp in experiments]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"experiment names must be unique; repeated: {', '.join(duplicates)}")
    _check_comparisons(config.get("comparisons", []), {e["name"]: e for e in experiments})
    return experiments


def _check_comparisons(comparisons: list[dict], experiments: dict[str, dict]) -> None:
    """Each side names an experiment with seed-level predictions, and they share seeds."""
    for comparison in comparisons:
        where = f"comparison {comparison['name']}"
        for side in ("a", "b"):
            name = comparison[side]
            if name not in experiments:
                raise ConfigError(f"{where}: {side} names {name!r}, which is not an experiment")
            if experiments[name]["evaluation_mode"] == "loso":
                raise ConfigError(
                    f"{where}: {name} is leave-one-session-out only; comparisons use seed-level "
                    "test predictions (evaluation_mode cross_corpus or both)"
                )
        a, b = experiments[comparison["a"]], experiments[comparison["b"]]
        if not set(a["seeds"]) & set(b["seeds"]):
            raise ConfigError(f"{where}: {a['name']} and {b['name']} share no seed")
        if not compared_on(a, b):
            raise ConfigError(
                f"{where}: {a['name']} (task {a['task']}) and {b['name']} (task {b['task']}) "
                "share no head: UAR needs two class heads, CCC two V/A/D heads scored on the "
                "same utterances (both or neither dimensional_all_rated)"
            )


def compared_on(a: dict, b: dict) -> list[str]:
    """The metrics two experiments are compared on: uar where both have a class head, ccc
    where both have a V/A/D head scored on the same utterances (both or neither
    dimensional_all_rated: a paired test needs them)."""
    metrics = ["uar"] if has_class_head(a) and has_class_head(b) else []
    same_rated = a["dimensional_all_rated"] == b["dimensional_all_rated"]
    dimensional = has_dimensional_head(a) and has_dimensional_head(b) and same_rated
    return metrics + (["ccc"] if dimensional else [])


def _expand(raw: dict, config: dict) -> dict:
    exp = dict(raw)
    name = exp["name"]
    train = exp["train_dataset"]
    train = [train] if isinstance(train, str) else list(train)
    exp["train_dataset"] = train
    for key, bound in FLOAT_KEYS.items():
        exp[key] = _number(name, key, exp[key], *bound)
    configured = list(config["corpora"])
    for corpus in train:
        if corpus not in configured:
            raise ConfigError(
                f"experiment {name}: train_dataset names {corpus}, which is not in `corpora:` "
                f"(configured: {', '.join(configured)})"
            )
    if exp["evaluation_mode"] in ("loso", "both"):
        _check_loso(exp, train)
    if uses_difficulty(exp):
        _check_difficulty(exp, train)
    if uses_curriculum(exp):
        _check_curriculum_ends(exp)
    _check_official_splits(exp, train, config)
    _check_task(exp, train)
    exp["train"] = train_name(train)
    exp["test_datasets"] = [c for c in configured if c not in train]
    if not exp["test_datasets"]:
        raise ConfigError(
            f"experiment {name}: every configured corpus is in train_dataset, so no corpus is "
            "left to test on"
        )
    if exp["domain_adaptation"] == "dann":
        _check_dann(exp)
    _check_features(exp, config)
    _check_classifier(exp, config)
    return exp


def _number(experiment: str, key: str, value: float | str, bound: float, inclusive: bool) -> float:
    """`value` as a float, refused unless it is finite and above `bound` (or equal, if
    `inclusive`)."""
    number = float(value)
    if not math.isfinite(number) or number < bound or (number == bound and not inclusive):
        relation = ">=" if inclusive else ">"
        raise ConfigError(f"experiment {experiment}: {key}: {value} must be {relation} {bound:g}")
    return number


def check_corpus_roots(corpora: dict) -> None:
    """Every corpus read from disk has its root directory (demo corpora are generated)."""
    for name, corpus in corpora.items():
        if not corpus.get("demo") and not Path(corpus["root"]).expanduser().is_dir():
            raise ConfigError(f"corpus {name}: root {corpus['root']} is not a directory")


def check_test_lists(corpora: dict) -> None:
    """A corpus's `test_list` is EmoBox's (which exists for some corpora only) or a file."""
    for name, corpus in corpora.items():
        if corpus.get("test_list"):
            try:
                path = list_path(name, corpus["test_list"])
            except ValueError as error:
                raise ConfigError(str(error)) from None
            if not path.is_file():
                raise ConfigError(f"corpus {name}: test_list {path} is not a file")


def schema_error(config: dict, error: ValidationError) -> str:
    """One line for a schema violation: the experiment (by name) or key path, then the problem.

    Snakemake's own message prints the whole schema and instance after it.
    """
    path = list(error.absolute_path)
    where = ".".join(map(str, path))
    if len(path) >= 2 and path[0] == "experiments" and isinstance(path[1], int):
        experiment = config["experiments"][path[1]]
        name = experiment.get("name", f"#{path[1] + 1}") if isinstance(experiment, dict) else None
        # A name that is itself the problem (a newline, say) is shown quoted, on one line.
        shown = name if isinstance(name, str) and name.isprintable() else repr(name)
        where = f"experiment {shown}" + "".join(f": {key}" for key in path[2:])
    return f"{where}: {error.message}" if where else error.message


def _check_loso(exp: dict, train: list[str]) -> None:
    """LOSO folds are the sessions of one training corpus."""
    name = exp["name"]
    if len(train) > 1:
        raise ConfigError(
            f"experiment {name}: LOSO evaluation not supported with multiple training "
            "datasets; use evaluation_mode: cross_corpus"
        )
    if CORPORA[train[0]].sessions is None:
        with_sessions = [f"{c} ({len(s.sessions)})" for c, s in CORPORA.items() if s.sessions]
        raise ConfigError(
            f"experiment {name}: LOSO needs recording sessions, which {train[0]} does not "
            f"have; corpora with sessions: {', '.join(with_sessions)}"
        )


def _check_official_splits(exp: dict, train: list[str], config: dict) -> None:
    """A training corpus whose official splits share speakers (MELD, SAMSEMO) is regrouped by
    speaker: its official test split would otherwise meet its speakers in training. Found here,
    before any job, rather than when the manifest is built (manifest.check_speaker_disjoint)."""
    for corpus in train:
        if CORPORA[corpus].splits_share_speakers and (
            config["corpora"][corpus].get("splits", "official") == "official"
        ):
            raise ConfigError(
                f"experiment {exp['name']}: train_dataset {corpus} has official splits that "
                "share speakers, so its in-corpus test would not be speaker-independent; set "
                f"corpora.{corpus}.splits: speaker to regroup them by speaker"
            )


def can_score(corpus: str, method: str) -> bool:
    """Whether `corpus` has what difficulty_method `method` reads: annotator agreement, or
    V/A/D ratings."""
    spec = CORPORA[corpus]
    return spec.has_agreement if method == "agreement" else spec.vad_scale is not None


def _check_difficulty(exp: dict, train: list[str]) -> None:
    """The difficulty method needs what every training corpus must provide."""
    name, method = exp["name"], exp["difficulty_method"]
    lacking = [c for c in train if not can_score(c, method)]
    if lacking:
        what = "annotator agreement" if method == "agreement" else "V/A/D ratings"
        have = [c for c in CORPORA if can_score(c, method)]
        raise ConfigError(
            f"experiment {name}: difficulty-based curriculum (difficulty_method {method}) needs "
            f"{what}, which {', '.join(lacking)} does not have; train on corpora with them "
            f"({', '.join(have)}) or set use_curriculum_learning: false"
        )


TASKS = ("categorical", "dimensional", "multitask")


def has_class_head(exp: dict) -> bool:
    """Whether the experiment predicts the four classes (categorical, multitask)."""
    return exp["task"] != "dimensional"


def has_dimensional_head(exp: dict) -> bool:
    """Whether the experiment predicts V/A/D (dimensional, multitask)."""
    return exp["task"] != "categorical"


def selection_metric(exp: dict) -> str:
    """The validation score that selects the epoch: as configured, else uar with a class head
    and ccc for task dimensional."""
    chosen = exp["selection_metric"]
    return chosen if chosen is not None else ("uar" if has_class_head(exp) else "ccc")


def _check_task(exp: dict, train: list[str]) -> None:
    """Fill selection_metric's task-dependent default; refuse a V/A/D head trained on a corpus
    without ratings, and selecting on a score the task does not produce. Curricula that rank
    by the class head's confidence need a class head."""
    name, task = exp["name"], exp["task"]
    exp["selection_metric"] = selection_metric(exp)
    if has_dimensional_head(exp):
        lacking = [c for c in train if CORPORA[c].vad_scale is None]
        if lacking:
            rated = [c for c, spec in CORPORA.items() if spec.vad_scale is not None]
            raise ConfigError(
                f"experiment {name}: task {task} trains on V/A/D ratings, which "
                f"{', '.join(lacking)} does not have; train on rated corpora "
                f"({', '.join(rated)}) or use task: categorical"
            )
    needs = {"uar": has_class_head(exp), "ccc": has_dimensional_head(exp)}
    if not needs[exp["selection_metric"]]:
        raise ConfigError(
            f"experiment {name}: selection_metric {exp['selection_metric']} is not a score of "
            f"task {task} (it predicts {'V/A/D only' if task == 'dimensional' else 'classes only'})"
        )
    if exp["dimensional_all_rated"]:
        _check_all_rated(exp)
    if (
        task == "dimensional"
        and uses_curriculum(exp)
        and exp["curriculum_type"] == "model_confidence"
    ):
        raise ConfigError(
            f"experiment {name}: curriculum_type model_confidence ranks utterances by the "
            "class head's confidence, and task dimensional has no class head"
        )


def _check_all_rated(exp: dict) -> None:
    """dimensional_all_rated adds utterances without a class (the rated tables): only a V/A/D
    head learns from them, and no curriculum can order them (difficulty and confidence are
    measured against a class)."""
    name = exp["name"]
    if not has_dimensional_head(exp):
        raise ConfigError(
            f"experiment {name}: dimensional_all_rated adds utterances outside the four classes, "
            "which only a V/A/D head learns from; set task dimensional or multitask"
        )
    if uses_curriculum(exp):
        raise ConfigError(
            f"experiment {name}: dimensional_all_rated adds utterances outside the four classes, "
            f"which curriculum_type {exp['curriculum_type']} cannot order (difficulty and "
            "confidence are measured against a class); set use_curriculum_learning: false"
        )


def _check_curriculum_ends(exp: dict) -> None:
    """A curriculum must reach the whole training set before the last epoch; otherwise the
    hardest utterances are never trained on and nothing in the results would say so."""
    epochs, total = exp["curriculum_epochs"], exp["num_epochs"]
    if epochs >= total:
        raise ConfigError(
            f"experiment {exp['name']}: curriculum_epochs ({epochs}) >= num_epochs ({total}), "
            f"so the curriculum never reaches the whole training set (it would first train on "
            f"all of it at epoch {epochs}, after the last one, {total - 1}); set num_epochs above "
            "curriculum_epochs, lower curriculum_epochs, or set use_curriculum_learning: false"
        )


def _check_dann(exp: dict) -> None:
    """Domain-adversarial training needs two domains or more, in a cross-corpus run, and a
    warm-up that ends before the last epoch (else the final weight is never reached)."""
    name = exp["name"]
    if exp["evaluation_mode"] != "cross_corpus":
        raise ConfigError(
            f"experiment {name}: domain_adaptation dann needs evaluation_mode cross_corpus; a "
            "leave-one-session-out fold has one training corpus and no test corpus, so one domain"
        )
    if len(exp["train_dataset"]) < 2 and not exp["dann_unlabelled_test"]:
        raise ConfigError(
            f"experiment {name}: domain_adaptation dann with one training corpus "
            f"({exp['train_dataset'][0]}) has one domain to tell apart; train on several "
            "corpora or set dann_unlabelled_test: true (transductive)"
        )
    warmup, total = exp["dann_warmup_epochs"], exp["num_epochs"]
    if warmup >= total:
        raise ConfigError(
            f"experiment {name}: dann_warmup_epochs ({warmup}) >= num_epochs ({total}), so the "
            f"reversal never reaches dann_weight (its last epoch, {total - 1}, has "
            f"{(total - 1) / warmup:.0%} of it)"
        )


DANN_KEYS = ("dann_weight", "dann_warmup_epochs", "dann_unlabelled_test")


def check_dann_keys(experiments: list[dict], given: list[set[str]]) -> None:
    """Refuse dann_* keys written in an experiment whose domain_adaptation is none: the
    researcher may believe domain-adversarial training is on, and nothing would say it is not."""
    for exp, keys in zip(experiments, given, strict=True):
        written = [k for k in DANN_KEYS if k in keys]
        if written and exp["domain_adaptation"] == "none":
            raise ConfigError(
                f"experiment {exp['name']}: {', '.join(written)} set, but domain_adaptation is "
                "none; set domain_adaptation: dann or remove them"
            )


CURRICULUM_KEYS = (
    "use_curriculum_learning",
    "curriculum_type",
    "curriculum_pacing",
    "curriculum_start",
    "curriculum_epochs",
    "difficulty_method",
)


def mark_schema_defaults(experiments: list[dict], given: list[set[str]]) -> None:
    """Record in each experiment (`curriculum_defaults`) the curriculum keys the schema filled
    in, i.e. those absent from the experiment as written (`given`), so the training log can say
    which curriculum settings the researcher never chose. Other keys are left out: recording
    them would rerun training when, say, a W&B key is first written out."""
    for exp, keys in zip(experiments, given, strict=True):
        exp["curriculum_defaults"] = [k for k in CURRICULUM_KEYS if k not in keys]


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
        extracted = BACKENDS[backend]
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
        _check_languages(exp, config, corpora)


def corpus_languages(corpus: str, config: dict) -> tuple[str, ...]:
    """The languages of a configured corpus's transcripts: its CorpusSpec's, or those of its
    generated demo copy."""
    spec = CORPORA[corpus]
    if config["corpora"][corpus].get("demo") and spec.demo_languages is not None:
        return spec.demo_languages
    return spec.languages


def _check_languages(exp: dict, config: dict, corpora: list[str]) -> None:
    """The text encoder reads the language of every corpus it encodes: an English model given
    German or Mandarin transcripts gives vectors, but meaningless ones."""
    feature_set = exp["text_features"]
    backend = config["features"][feature_set]["backend"]
    readable = TEXT_LANGUAGES[backend]
    if readable is None:
        return
    other = {c: [x for x in corpus_languages(c, config) if x not in readable] for c in corpora}
    named = [f"{c} ({'/'.join(langs)})" for c, langs in other.items() if langs]
    if named:
        raise ConfigError(
            f"experiment {exp['name']}: text_features {feature_set!r} (backend {backend}) reads "
            f"{'/'.join(readable)} text only, and {', '.join(named)} is in another language; "
            "define a feature set with backend hf_text and a local multilingual model (e.g. "
            "paraphrase-multilingual-MiniLM-L12-v2) as text_features, or use modality audio"
        )


def _check_classifier(exp: dict, config: dict) -> None:
    """A classical classifier fits utterance vectors once: no curriculum, no sequences, no
    fusion layer, no V/A/D or domain-adversarial head, and a grid of its own parameters; the
    MLP takes no grid."""
    name, classifier = exp["name"], exp["classifier"]
    if classifier == "mlp":
        if exp["classifier_grid"]:
            raise ConfigError(
                f"experiment {name}: classifier_grid applies to the classical classifiers "
                "(logistic, svm, xgboost), not to classifier mlp; remove it or set classifier"
            )
        return
    where = f"experiment {name}: classifier {classifier}"
    if uses_curriculum(exp):
        raise ConfigError(
            f"{where} fits the whole training set at once, so it cannot follow a curriculum "
            f"(use_curriculum_learning is true, curriculum_type {exp['curriculum_type']}; true "
            "is the default and the default template's); set use_curriculum_learning: false "
            "in this experiment, or use classifier: mlp"
        )
    if exp["modality"] == "both" and exp["fusion_type"] != "concat":
        sets = [config["features"][exp[f"{m}_features"]] for m in modalities(exp)]
        if exp["fusion_type"] == "cross_attention" and all(
            s.get("granularity") == "frames" for s in sets
        ):
            raise ConfigError(
                f"{where} takes utterance vectors, and fusion_type cross_attention would feed "
                f"it the frame/token sequences of {exp['audio_features']} and "
                f"{exp['text_features']}; set fusion_type: concat (the feature sets' utterance "
                "vectors, concatenated), or use classifier: mlp"
            )
        raise ConfigError(
            f"{where} concatenates audio and text vectors; fusion_type {exp['fusion_type']} is "
            "a layer of the MLP: set fusion_type: concat, or use classifier: mlp"
        )
    if exp["task"] != "categorical":
        raise ConfigError(
            f"{where} predicts the four classes only, not task {exp['task']}'s V/A/D; set "
            "task: categorical, or use classifier: mlp"
        )
    if exp["domain_adaptation"] != "none":
        raise ConfigError(
            f"{where} has no shared representation for a domain classifier to read, so it "
            f"cannot be trained with domain_adaptation {exp['domain_adaptation']}; set "
            "domain_adaptation: none, or use classifier: mlp"
        )
    try:
        check_grid(exp)
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None


def with_builtin_feature_sets(feature_sets: dict) -> dict:
    """The configured feature sets plus the built-in ones they do not redefine."""
    return {**BUILTIN_FEATURE_SETS, **feature_sets}


def feature_options(feature_set: dict) -> dict:
    """The options a feature set passes to its backend's load()."""
    return {k: v for k, v in feature_set.items() if k not in FEATURE_SET_KEYS}


def check_feature_set(name: str, feature_set: dict) -> None:
    """Options the backend takes, and a model it can load: a local directory that exists (or,
    for emotion2vec, a ModelScope hub id, whose download is tried by the job)."""
    backend = feature_set["backend"]
    options = feature_options(feature_set)
    try:
        check_options(backend, options)
    except ValueError as error:
        raise ConfigError(f"feature set {name}: {error}") from None
    if backend not in NEEDS_MODEL:
        return
    model = options.get("model")
    if not model:
        raise ConfigError(f"feature set {name}: backend {backend} needs `model:` (a local path)")
    if backend == "emotion2vec":
        from xcorpus.features.emotion2vec_hub import is_hub_id

        if is_hub_id(model):
            return
    if not Path(model).expanduser().is_dir():
        raise ConfigError(
            f"feature set {name}: model {model} is not a directory; download the model and "
            "point `model:` at its local directory"
        )


DIFFICULTY_CURRICULA = ("difficulty", "inverse_difficulty")


def uses_curriculum(exp: dict) -> bool:
    """Whether epochs train on a growing share of the training set."""
    return exp["use_curriculum_learning"] and exp["curriculum_type"] != "none"


def uses_difficulty(exp: dict) -> bool:
    """Whether the experiment orders training by difficulty (and so needs the scores)."""
    return exp["use_curriculum_learning"] and exp["curriculum_type"] in DIFFICULTY_CURRICULA


def modalities(exp: dict) -> list[str]:
    """The feature modalities an experiment reads: ['audio'], ['text'] or both."""
    return {"audio": ["audio"], "text": ["text"], "both": ["audio", "text"]}[exp["modality"]]


def has_transcripts(corpus: str, config: dict) -> bool:
    """Whether the corpus's release carries transcripts or the config supplies a file of them."""
    return CORPORA[corpus].has_transcripts or bool(config["corpora"][corpus].get("transcripts"))

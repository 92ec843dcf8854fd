import json
import os
import re
import shlex
import sys

from snakemake.utils import validate

from xcorpus.config import (
    ConfigError,
    can_score,
    expand_experiments,
    feature_options,
    modalities,
    uses_difficulty,
    with_builtin_feature_sets,
)
from xcorpus.corpora import CORPORA
from xcorpus.corpora.sources import fingerprint
from xcorpus.difficulty import METHODS

validate(config, "../schemas/config.schema.yaml")
config["features"] = with_builtin_feature_sets(config["features"])
try:
    EXPERIMENTS = {exp["name"]: exp for exp in expand_experiments(config)}
except ConfigError as error:
    sys.exit(f"Configuration error: {error}")


wildcard_constraints:
    corpus="|".join(CORPORA),
    experiment="|".join(map(re.escape, EXPERIMENTS)),
    features="|".join(map(re.escape, config["features"])),
    seed=r"\d+",
    method="|".join(METHODS),
    shard=r"\d+",
    n_shards=r"\d+",
    fold=r"\d+",


def demo_root(wildcards):
    """The generated corpus directory for demo corpora; real corpora have no input file.

    demo_corpus is a checkpoint so that corpus_sources is taken once the corpus exists.
    """
    if config["corpora"][wildcards.corpus]["demo"]:
        return checkpoints.demo_corpus.get(corpus=wildcards.corpus).output[0]
    return []


def corpus_root(wildcards):
    return config["corpora"][wildcards.corpus]["root"]


def corpus_sources(wildcards):
    """The fingerprint of the files the corpus's loader reads (xcorpus.corpora.sources): as a
    params value it reindexes the corpus when a label or transcript file is edited, added or
    removed, or an audio file added, removed or renamed."""
    corpus = config["corpora"][wildcards.corpus]
    return fingerprint(wildcards.corpus, corpus["root"], corpus["transcripts"])


def transcripts_option(wildcards):
    """Shell-quoted, like every flag built here: config strings never reach the shell raw."""
    path = config["corpora"][wildcards.corpus]["transcripts"]
    return shlex.join(["--transcripts", path]) if path else ""


def splits_option(wildcards):
    return shlex.join(["--splits", config["corpora"][wildcards.corpus]["splits"]])


def feature_backend(wildcards):
    return config["features"][wildcards.features]["backend"]


def extract_options(wildcards):
    """`xcorpus extract` flags of a feature set: granularity, sequence shape, backend options."""
    feature_set = config["features"][wildcards.features]
    flags = ["--granularity", feature_set["granularity"]]
    if feature_set["granularity"] == "frames":
        flags += ["--max-frames", str(feature_set["max_frames"])]
        if feature_set.get("sequence_rate"):
            flags += ["--sequence-rate", str(feature_set["sequence_rate"])]
    for key, value in feature_options(feature_set).items():
        flags += ["--option", f"{key}={json.dumps(value)}"]
    return shlex.join(flags)


def feature_shards(feature_set, corpora):
    """All shard files of one feature set for the given corpora."""
    n = config["features"][feature_set]["shards"]
    return [
        f"results/features/{feature_set}/{corpus}/shard-{i}-of-{n}.parquet"
        for corpus in corpora
        for i in range(n)
    ]


def experiment_corpora(experiment):
    exp = EXPERIMENTS[experiment]
    return exp["train_dataset"] + exp["test_datasets"]


def manifest_inputs(wildcards):
    exp = EXPERIMENTS[wildcards.experiment]
    corpora = experiment_corpora(wildcards.experiment)
    train = exp["train_dataset"] if uses_difficulty(exp) else []
    return {
        "indexes": [f"results/corpora/{c}.parquet" for c in corpora],
        "difficulty": [
            f"results/difficulty/{exp['difficulty_method']}/{c}.parquet" for c in train
        ],
    }


def manifest_params(wildcards):
    """Only the keys the manifest depends on, so other hyperparameters do not rerun it."""
    exp = EXPERIMENTS[wildcards.experiment]
    keys = (
        "train_dataset",
        "test_datasets",
        "modality",
        "use_curriculum_learning",
        "curriculum_type",
        "difficulty_method",
        "evaluation_mode",
    )
    return {key: exp[key] for key in keys}


def train_inputs(wildcards):
    """A leave-one-session-out fold reads the training corpus's features only."""
    exp = EXPERIMENTS[wildcards.experiment]
    folds = hasattr(wildcards, "fold")
    corpora = (
        exp["train_dataset"] if folds else experiment_corpora(wildcards.experiment)
    )
    mods = modalities(exp)
    inputs = manifest_inputs(wildcards)
    return {
        "manifest": f"results/manifests/{wildcards.experiment}.parquet",
        "indexes": inputs["indexes"],
        "difficulty": inputs["difficulty"],
        "audio": (
            feature_shards(exp["audio_features"], corpora) if "audio" in mods else []
        ),
        "text": feature_shards(exp["text_features"], corpora) if "text" in mods else [],
    }


def difficulty_params(wildcards):
    """expected_vad for the euclidean method only: the others never read it, and editing it
    must not rerun them."""
    return config["expected_vad"] if wildcards.method == "euclidean" else None


def experiment_params(wildcards):
    return EXPERIMENTS[wildcards.experiment]


def training_params(wildcards):
    """The experiment as one training job sees it: without the seed list, so adding a seed
    trains only that seed."""
    return {k: v for k, v in EXPERIMENTS[wildcards.experiment].items() if k != "seeds"}


def experiments_pattern(*modes):
    """A wildcard pattern matching the experiments whose evaluation_mode is one of `modes`."""
    names = [n for n, exp in EXPERIMENTS.items() if exp["evaluation_mode"] in modes]
    return "|".join(map(re.escape, names)) or "(?!)"


def fold_dirs(experiment, seed):
    """One seed's leave-one-session-out run directories: one per session of its corpus."""
    (corpus,) = EXPERIMENTS[experiment]["train_dataset"]
    return [
        f"results/runs/{experiment}/seed-{seed}/fold-{fold}"
        for fold in CORPORA[corpus].sessions
    ]


def loso_fold_metrics(wildcards):
    return [
        f"{d}/metrics.json" for d in fold_dirs(wildcards.experiment, wildcards.seed)
    ]


def seed_results(experiment):
    """Per seed, the cross-corpus metrics and/or the leave-one-session-out mean."""
    exp = EXPERIMENTS[experiment]
    names = {"cross_corpus": ["metrics"], "loso": ["loso"], "both": ["metrics", "loso"]}
    return [
        f"results/runs/{experiment}/seed-{seed}/{name}.json"
        for seed in exp["seeds"]
        for name in names[exp["evaluation_mode"]]
    ]


def available(paths):
    """With `aggregate_available: true`, only the results that exist: tables are then built
    from the seeds that finished and name the missing ones, instead of waiting for them.
    """
    if config["aggregate_available"]:
        return [p for p in paths if os.path.exists(p)]
    return paths


def seed_metrics(wildcards):
    return available(seed_results(wildcards.experiment))


def all_metrics(wildcards):
    return available([path for name in EXPERIMENTS for path in seed_results(name)])


def comparison_runs(wildcards):
    """Per experiment compared, seed -> its predictions file: the comparison's inputs, and its
    params (so that it reruns for those experiments' seeds only)."""
    names = {name for c in config["comparisons"] for name in (c["a"], c["b"])}
    return {
        name: {
            seed: f"results/runs/{name}/seed-{seed}/predictions.parquet"
            for seed in EXPERIMENTS[name]["seeds"]
        }
        for name in sorted(names)
    }


def comparison_predictions(wildcards):
    """Seed-level predictions of both experiments of every comparison."""
    runs = comparison_runs(wildcards).values()
    return [path for seeds in runs for path in seeds.values()]


def final_outputs():
    """The default target: tables, figures, and comparisons when the config asks for any."""
    outputs = [
        "results/cross_corpus_uar.csv",
        "results/cross_corpus_uar.md",
        "results/cross_corpus_uar.tex",
        "results/plots/cross_corpus_uar.png",
    ]
    outputs += expand("results/tables/{experiment}.csv", experiment=EXPERIMENTS)
    plots = ("confusion", "learning_curves", "accuracy_by_difficulty")
    outputs += expand(
        "results/plots/{experiment}/{plot}.png", experiment=EXPERIMENTS, plot=plots
    )
    if config["comparisons"]:
        outputs += ["results/comparisons.csv", "results/comparisons.md"]
    return outputs


def run_dirs(experiment):
    """Directories of an experiment's trained models: one per seed, or per seed and LOSO fold."""
    exp = EXPERIMENTS[experiment]
    if exp["evaluation_mode"] != "loso":
        return [f"results/runs/{experiment}/seed-{seed}" for seed in exp["seeds"]]
    return [d for seed in exp["seeds"] for d in fold_dirs(experiment, seed)]


def difficulty_scored(exp):
    """Training corpora that can have the experiment's difficulty_method scores."""
    return [c for c in exp["train_dataset"] if can_score(c, exp["difficulty_method"])]


def plot_inputs(wildcards):
    exp = EXPERIMENTS[wildcards.experiment]
    dirs = run_dirs(wildcards.experiment)
    method = exp["difficulty_method"]
    return {
        "metrics": seed_results(wildcards.experiment),
        "histories": [f"{d}/history.csv" for d in dirs],
        "predictions": [f"{d}/predictions.parquet" for d in dirs],
        "difficulty": [
            f"results/difficulty/{method}/{c}.parquet" for c in difficulty_scored(exp)
        ],
    }


def print_summary_table(path):
    """Echo the cross-corpus table at the end of a run, as the last thing users see."""
    if os.path.exists(path):
        print(open(path, encoding="utf-8").read())

import json
import os
import re
import shlex
import sys

from snakemake.utils import validate

from xcorpus.config import (
    ConfigError,
    expand_experiments,
    feature_options,
    modalities,
    uses_difficulty,
    with_builtin_feature_sets,
)
from xcorpus.corpora import CORPORA

validate(config, "../schemas/config.schema.yaml")
config["features"] = with_builtin_feature_sets(config["features"])
try:
    EXPERIMENTS = {exp["name"]: exp for exp in expand_experiments(config)}
except ConfigError as error:
    sys.exit(f"Configuration error: {error}")


wildcard_constraints:
    corpus="|".join(CORPORA),
    experiment="|".join(map(re.escape, EXPERIMENTS)),
    seed=r"\d+",
    shard=r"\d+",
    n_shards=r"\d+",


def demo_root(wildcards):
    """The generated corpus directory for demo corpora; real corpora have no input file."""
    if config["corpora"][wildcards.corpus]["demo"]:
        return f"results/demo/{wildcards.corpus}"
    return []


def corpus_root(wildcards):
    return config["corpora"][wildcards.corpus]["root"]


def transcripts_option(wildcards):
    path = config["corpora"][wildcards.corpus]["transcripts"]
    return f"--transcripts {path}" if path else ""


def splits_option(wildcards):
    return f"--splits {config['corpora'][wildcards.corpus]['splits']}"


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


def vad_scale(wildcards):
    return list(CORPORA[wildcards.corpus].vad_scale)


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
        "difficulty": [f"results/difficulty/{c}.parquet" for c in train],
    }


def manifest_params(wildcards):
    """Only the keys the manifest depends on, so other hyperparameters do not rerun it."""
    exp = EXPERIMENTS[wildcards.experiment]
    keys = ("train_dataset", "test_datasets", "modality", "use_curriculum_learning")
    return {key: exp[key] for key in keys} | {"curriculum_type": exp["curriculum_type"]}


def train_inputs(wildcards):
    exp = EXPERIMENTS[wildcards.experiment]
    corpora = experiment_corpora(wildcards.experiment)
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


def experiment_params(wildcards):
    return EXPERIMENTS[wildcards.experiment]


def seed_metrics(wildcards):
    seeds = EXPERIMENTS[wildcards.experiment]["seeds"]
    return expand(
        "results/runs/{experiment}/seed-{seed}/metrics.json",
        experiment=wildcards.experiment,
        seed=seeds,
    )


def all_metrics(wildcards):
    return [
        f"results/runs/{name}/seed-{seed}/metrics.json"
        for name, exp in EXPERIMENTS.items()
        for seed in exp["seeds"]
    ]


def print_summary_table(path):
    """Echo the cross-corpus table at the end of a run, as the last thing users see."""
    if os.path.exists(path):
        print(open(path, encoding="utf-8").read())

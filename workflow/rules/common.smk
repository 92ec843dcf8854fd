import json
import os
import re
import shlex
import sys

import pyarrow.parquet as pq

from jsonschema import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from xcorpus.config import (
    ConfigError,
    can_score,
    check_dann_keys,
    compared_on,
    expand_experiments,
    feature_options,
    has_dimensional_head,
    mark_schema_defaults,
    modalities,
    schema_error,
    uses_difficulty,
    with_builtin_feature_sets,
)
from xcorpus.corpora import CORPORA
from xcorpus.corpora.sources import fingerprint
from xcorpus.corpora.test_lists import list_path
from xcorpus.difficulty import METHODS
from xcorpus.feature_map_plan import mapped_feature_sets, panel_plan
from xcorpus.leakage import report_corpora
from xcorpus.runner import select
from xcorpus.sweeps import expand_sweeps, with_origin
from xcorpus import resources as job_resources


def check_schema(origins):
    """Validate the config and fill its defaults; exit with one line naming the problem (and
    the sweep that generated the experiment it concerns)."""
    try:
        validate(config, "../schemas/config.schema.yaml")
    except WorkflowError as error:
        if not isinstance(error.__context__, ValidationError):
            raise
        message = schema_error(config, error.__context__)
        sys.exit(f"Configuration error: {with_origin(message, origins)}")


GIVEN_KEYS = [set(exp) for exp in config.get("experiments", [])]
check_schema({})
try:
    config["experiments"], GIVEN_KEYS, SWEPT = expand_sweeps(
        config["experiments"], GIVEN_KEYS, list(config["corpora"])
    )
except ConfigError as error:
    sys.exit(f"Configuration error: {error}")
if SWEPT:
    check_schema(SWEPT)  # the generated experiments, as hand-written ones are
mark_schema_defaults(config["experiments"], GIVEN_KEYS)
config["features"] = with_builtin_feature_sets(config["features"])
try:
    check_dann_keys(config["experiments"], GIVEN_KEYS)
    EXPERIMENTS = {exp["name"]: exp for exp in expand_experiments(config)}
    # The experiments the default target and the summary tables cover (`xcorpus run`).
    RUN = select(list(EXPERIMENTS), config["run_experiments"])
except ConfigError as error:
    sys.exit(f"Configuration error: {with_origin(str(error), SWEPT)}")


wildcard_constraints:
    corpus="|".join(CORPORA),
    # A corpus's index, or its rated table (`{corpus}.rated`, dimensional_all_rated).
    table=rf"(?:{'|'.join(CORPORA)})(?:\.rated)?",
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


def index_rows(table):
    """Utterances in a corpus's index (or rated table), None before it is built: Snakemake
    evaluates a job's resources again right before submitting it, when the index exists."""
    path = f"results/corpora/{table}.parquet"
    return pq.read_metadata(path).num_rows if os.path.exists(path) else None


def extract_rows(wildcards):
    return job_resources.shard_rows(index_rows(wildcards.table), int(wildcards.n_shards))


def extract_gpus(wildcards):
    return job_resources.extract_gpus(config["features"][wildcards.features])


def extract_mem_mb(wildcards, attempt):
    feature_set = config["features"][wildcards.features]
    return job_resources.extract_mem_mb(feature_set, extract_rows(wildcards), attempt)


def extract_runtime(wildcards, attempt):
    feature_set = config["features"][wildcards.features]
    return job_resources.extract_runtime(feature_set, extract_rows(wildcards), attempt)


def train_mem_mb(wildcards, input, attempt):
    """From the vectors of the feature files the job reads (0 MB before they exist)."""
    paths = [p for p in [*input.audio, *input.text] if os.path.exists(p)]
    feature_mb, frames = job_resources.held_features(paths)
    return job_resources.train_mem_mb(feature_mb, frames, attempt)


def train_runtime(wildcards, attempt):
    return job_resources.train_runtime(attempt)


def feature_shards(feature_set, tables):
    """All shard files of one feature set for the given corpora (or rated tables)."""
    n = config["features"][feature_set]["shards"]
    return [
        f"results/features/{feature_set}/{table}/shard-{i}-of-{n}.parquet"
        for table in tables
        for i in range(n)
    ]


def experiment_corpora(experiment):
    exp = EXPERIMENTS[experiment]
    return exp["train_dataset"] + exp["test_datasets"]


def rated_tables(exp, corpora):
    """The rated tables an experiment reads beside the indexes of `corpora`: under
    dimensional_all_rated, those of the corpora rated on V/A/D."""
    if not exp["dimensional_all_rated"]:
        return []
    return [f"{c}.rated" for c in corpora if CORPORA[c].vad_scale is not None]


def experiment_tables(exp, corpora):
    """The index and rated tables whose utterances an experiment's jobs read."""
    return [*corpora, *rated_tables(exp, corpora)]


def manifest_indexes(wildcards):
    return [f"results/corpora/{c}.parquet" for c in experiment_corpora(wildcards.experiment)]


def manifest_rated(wildcards):
    exp = EXPERIMENTS[wildcards.experiment]
    tables = rated_tables(exp, experiment_corpora(wildcards.experiment))
    return [f"results/corpora/{t}.parquet" for t in tables]


def manifest_test_lists(wildcards):
    """Test corpus -> the list file it is restricted to (corpora.<name>.test_list)."""
    exp = EXPERIMENTS[wildcards.experiment]
    lists = {c: config["corpora"][c].get("test_list") for c in exp["test_datasets"]}
    return {c: str(list_path(c, given)) for c, given in lists.items() if given}


def manifest_list_files(wildcards):
    return list(manifest_test_lists(wildcards).values())


def manifest_params(wildcards):
    """Only the keys the manifest depends on, so other hyperparameters do not rerun it."""
    exp = EXPERIMENTS[wildcards.experiment]
    keys = (
        "train_dataset",
        "test_datasets",
        "modality",
        "evaluation_mode",
        "dimensional_all_rated",
    )
    return {key: exp[key] for key in keys}


def training_difficulty(wildcards):
    """The difficulty files a difficulty curriculum reads: euclidean and agreement scores per
    training corpus. Centroid difficulty is computed by the training job from its own training
    rows (their statistics must not see validation or test labels), so it reads none."""
    exp = EXPERIMENTS[wildcards.experiment]
    method = exp["difficulty_method"]
    if not uses_difficulty(exp) or method == "centroid":
        return []
    return [f"results/difficulty/{method}/{c}.parquet" for c in exp["train_dataset"]]


def leakage_inputs(wildcards):
    """The manifest, and the index and audio hashes of each corpus the report reads."""
    exp = EXPERIMENTS[wildcards.experiment]
    tables = experiment_tables(exp, report_corpora(exp))
    return {
        "manifest": f"results/manifests/{wildcards.experiment}.parquet",
        "indexes": [f"results/corpora/{t}.parquet" for t in tables],
        "hashes": [f"results/audio_hashes/{t}.parquet" for t in tables],
    }


def leakage_params(wildcards):
    """Only the keys the leakage report reads, so other hyperparameters do not rerun it."""
    exp = EXPERIMENTS[wildcards.experiment]
    keys = ("train_dataset", "test_datasets", "modality", "evaluation_mode")
    return {key: exp[key] for key in keys}


def leakage_features(wildcards):
    """Per modality the experiment reads, its feature set's name, backend and model."""
    exp = EXPERIMENTS[wildcards.experiment]
    features = {}
    for modality in modalities(exp):
        name = exp[f"{modality}_features"]
        feature_set = config["features"][name]
        features[modality] = {
            "name": name,
            "backend": feature_set["backend"],
            "model": feature_set.get("model"),
        }
    return features


def train_inputs(wildcards):
    """A leave-one-session-out fold reads the training corpus's features only."""
    exp = EXPERIMENTS[wildcards.experiment]
    folds = hasattr(wildcards, "fold")
    corpora = exp["train_dataset"] if folds else experiment_corpora(wildcards.experiment)
    tables = experiment_tables(exp, corpora)
    everything = experiment_tables(exp, experiment_corpora(wildcards.experiment))
    mods = modalities(exp)
    return {
        "manifest": f"results/manifests/{wildcards.experiment}.parquet",
        "indexes": [f"results/corpora/{t}.parquet" for t in everything],
        "difficulty": training_difficulty(wildcards),
        "audio": (feature_shards(exp["audio_features"], tables) if "audio" in mods else []),
        "text": feature_shards(exp["text_features"], tables) if "text" in mods else [],
    }


def difficulty_params(wildcards):
    """expected_vad for the euclidean method only: the others never read it, and editing it
    must not rerun them."""
    return config["expected_vad"] if wildcards.method == "euclidean" else None


def wandb_params(wildcards):
    """The whole experiment, as its W&B runs record it."""
    return EXPERIMENTS[wildcards.experiment]


def without_wandb(exp):
    """`exp` without its W&B keys (wandb_*), for every job but the logging ones
    (workflow/rules/tracking.smk): W&B settings then rerun only those."""
    return {k: v for k, v in exp.items() if not k.startswith("wandb_")}


def experiment_params(wildcards):
    return without_wandb(EXPERIMENTS[wildcards.experiment])


def seed_params(wildcards):
    """The experiment without its seed list, so adding a seed reruns only that seed's jobs."""
    return {k: v for k, v in wandb_params(wildcards).items() if k != "seeds"}


def training_params(wildcards):
    """The experiment as one training job sees it: without the seed list and the W&B keys."""
    return {k: v for k, v in experiment_params(wildcards).items() if k != "seeds"}


def experiments_pattern(*modes):
    """A wildcard pattern matching the experiments whose evaluation_mode is one of `modes`."""
    names = [n for n, exp in EXPERIMENTS.items() if exp["evaluation_mode"] in modes]
    return "|".join(map(re.escape, names)) or "(?!)"


def fold_dirs(experiment, seed):
    """One seed's leave-one-session-out run directories: one per session of its corpus."""
    (corpus,) = EXPERIMENTS[experiment]["train_dataset"]
    return [
        f"results/runs/{experiment}/seed-{seed}/fold-{fold}" for fold in CORPORA[corpus].sessions
    ]


def loso_fold_results(wildcards):
    """Each fold's metrics, and its predictions (for the distinct utterances scored)."""
    dirs = fold_dirs(wildcards.experiment, wildcards.seed)
    return {
        "metrics": [f"{d}/metrics.json" for d in dirs],
        "predictions": [f"{d}/predictions.parquet" for d in dirs],
    }


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
    return available([path for name in RUN for path in seed_results(name)])


def summary_experiments():
    """The experiments of the cross-corpus summary, without their W&B keys."""
    return {name: without_wandb(EXPERIMENTS[name]) for name in RUN}


def dimensional_metrics(wildcards):
    """Seed results of the experiments with a V/A/D head (the dimensional summary's input)."""
    names = [n for n, exp in EXPERIMENTS.items() if has_dimensional_head(exp)]
    return available([path for name in names for path in seed_results(name)])


def comparisons_on(metric):
    """The configured comparisons made on `metric` (uar or ccc: both sides have that head)."""
    return [
        c
        for c in config["comparisons"]
        if metric in compared_on(EXPERIMENTS[c["a"]], EXPERIMENTS[c["b"]])
    ]


def comparison_runs(wildcards, metric="uar"):
    """Per experiment compared on `metric`, seed -> its predictions file: the comparison's
    inputs, and its params (so that it reruns for those experiments' seeds only)."""
    names = {name for c in comparisons_on(metric) for name in (c["a"], c["b"])}
    return {
        name: {
            seed: f"results/runs/{name}/seed-{seed}/predictions.parquet"
            for seed in EXPERIMENTS[name]["seeds"]
        }
        for name in sorted(names)
    }


def comparison_predictions(wildcards, metric="uar"):
    """Seed-level predictions of both experiments of every comparison on `metric`."""
    runs = comparison_runs(wildcards, metric).values()
    return [path for seeds in runs for path in seeds.values()]


def ccc_comparison_runs(wildcards):
    return comparison_runs(wildcards, "ccc")


def ccc_comparison_predictions(wildcards):
    return comparison_predictions(wildcards, "ccc")


def wandb_records(experiment):
    """The W&B logging jobs' records of an experiment: one per trained model (seed or LOSO
    fold) and LOSO mean (with `aggregate_available`, of those that exist), and one for its
    AVERAGED run."""
    exp = EXPERIMENTS[experiment]
    results = []
    for seed in exp["seeds"]:
        if exp["evaluation_mode"] != "loso":
            results.append(f"results/runs/{experiment}/seed-{seed}/metrics.json")
        if exp["evaluation_mode"] != "cross_corpus":
            results += [f"{d}/metrics.json" for d in fold_dirs(experiment, seed)]
            results.append(f"results/runs/{experiment}/seed-{seed}/loso.json")
    results = available(results) + [f"results/tables/{experiment}.json"]
    return [result.removesuffix(".json") + ".wandb.json" for result in results]


def logged_run(wildcards):
    """What a seed's W&B run shows: its results file and, for a trained model, its history."""
    result = f"results/runs/{wildcards.experiment}/seed-{wildcards.seed}/{wildcards.result}"
    if wildcards.result == "loso":
        return {"results": f"{result}.json", "history": []}
    return {
        "results": f"{result}.json",
        "history": f"{os.path.dirname(result)}/history.csv",
    }


def final_outputs():
    """The default target, of the experiments run (RUN, all unless `run_experiments` names
    some): tables, leakage reports, figures (feature maps included), W&B records, and
    comparisons when the config asks for any and runs all their experiments."""
    outputs = [
        "results/cross_corpus_uar.csv",
        "results/cross_corpus_uar.md",
        "results/cross_corpus_uar.tex",
        "results/plots/cross_corpus_uar.png",
    ]
    outputs += expand("results/tables/{experiment}.csv", experiment=RUN)
    outputs += expand("results/leakage/{experiment}.csv", experiment=RUN)
    plots = ("confusion", "learning_curves", "accuracy_by_difficulty")
    run = [EXPERIMENTS[name] for name in RUN]
    outputs += expand("results/plots/{experiment}/{plot}.png", experiment=RUN, plot=plots)
    outputs += expand("results/plots/feature_map/{features}.png", features=mapped_feature_sets(run))
    dimensional = [exp["name"] for exp in run if has_dimensional_head(exp)]
    if dimensional:
        outputs += ["results/cross_corpus_ccc.csv", "results/cross_corpus_ccc.md"]
        outputs += expand(
            "results/plots/{experiment}/{plot}.png",
            experiment=dimensional,
            plot=("vad_scatter", "ccc_curves"),
        )
    outputs += [path for name in RUN for path in wandb_records(name)]
    for metric, stem in (("uar", "comparisons"), ("ccc", "comparisons_ccc")):
        chosen = comparisons_on(metric)
        if chosen and all({c["a"], c["b"]} <= set(RUN) for c in chosen):
            outputs += [f"results/{stem}.csv", f"results/{stem}.md"]
    return outputs


def feature_map_panels(wildcards):
    """The map's columns (xcorpus.feature_map_plan.panel_plan), each with the files it reads."""
    plan = panel_plan([EXPERIMENTS[name] for name in RUN], wildcards.features)
    for column in plan:
        exp = column["experiment"]
        tables = experiment_tables(exp, exp["train_dataset"] + exp["test_datasets"])
        column["manifest"] = f"results/manifests/{exp['name']}.parquet"
        column["indexes"] = [f"results/corpora/{t}.parquet" for t in tables]
        column["shards"] = feature_shards(wildcards.features, tables)
    return plan


def feature_map_inputs(wildcards):
    columns = feature_map_panels(wildcards)
    files = [p for c in columns for p in [c["manifest"], *c["indexes"], *c["shards"]]]
    return list(dict.fromkeys(files))


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
        "difficulty": [f"results/difficulty/{method}/{c}.parquet" for c in difficulty_scored(exp)],
    }


def print_summary_table(path):
    """Echo the cross-corpus table at the end of a run, as the last thing users see."""
    if os.path.exists(path):
        print(open(path, encoding="utf-8").read())

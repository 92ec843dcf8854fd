"""Which feature maps the report draws and what each column reads, planned when the
workflow loads: kept apart from xcorpus.feature_map, whose torch and scikit-learn imports
would otherwise slow every Snakemake start, dry runs and no-op reruns included (BENCHMARKS.md,
"Planning a large grid").
"""

from xcorpus.config import modalities

# What a panel's load_data and normalise read of its experiment (so other keys never rerun it).
EXPERIMENT_KEYS = (
    "name",
    "train_dataset",
    "test_datasets",
    "fusion_type",
    "min_speaker_utterances",
    "dimensional_all_rated",  # its manifest holds rated rows, which the map leaves out
)


def mapped_feature_sets(experiments: list[dict]) -> list[str]:
    """Feature sets a cross-corpus experiment reads, in first-use order: those with a map."""
    sets = [name for exp in experiments for _, name in _inputs(exp)]
    return list(dict.fromkeys(sets))


def panel_plan(experiments: list[dict], feature_set: str) -> list[dict]:
    """The map's columns: the features as extracted (read through the first experiment using
    the set), then each feature_normalisation the experiments using it apply (`none` aside,
    which is the first column), each through the first experiment applying it. Each column:
    title, method, modality and the experiment's keys load_data and normalise read."""
    users = [(exp, m) for exp in experiments for m, name in _inputs(exp) if name == feature_set]
    if not users:
        raise ValueError(f"no cross-corpus experiment reads feature set {feature_set}")
    first, modality = users[0]
    plan = [_column("as extracted", "none", first, modality)]
    for exp, modality in users:
        method = exp["feature_normalisation"]
        if method != "none" and method not in [c["method"] for c in plan]:
            plan.append(_column(f"{method} (as in {exp['name']})", method, exp, modality))
    return plan


def _inputs(exp: dict) -> list[tuple[str, str]]:
    """(modality, feature set) pairs a cross-corpus experiment reads; none for LOSO only."""
    if exp["evaluation_mode"] == "loso":
        return []
    return [(m, exp[f"{m}_features"]) for m in modalities(exp)]


def _column(title: str, method: str, exp: dict, modality: str) -> dict:
    # Read as a categorical task: a map of the features keeps every labelled utterance, also
    # those a dimensional experiment would leave out of training for want of V/A/D. The map
    # loads no difficulty scores, so it has no difficulty_method.
    keys = {k: exp[k] for k in EXPERIMENT_KEYS} | {"task": "categorical", "difficulty_method": None}
    return {"title": title, "method": method, "modality": modality, "experiment": keys}

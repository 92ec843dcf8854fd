"""Weights & Biases logging of finished results: one run per seed, one averaged run per experiment.

W&B mirrors the local results and is never their store: callers write metrics.json, history.csv
and the tables first, and any W&B failure (no network, no login, a crash in init, log or
finish) is reported in one line on stderr and swallowed.

Layout (project = experiment["wandb_project"], group = experiment name):

- seed run `{name}_seed{seed}` (job_type "train"; a LOSO fold adds `_fold{fold}`, a LOSO mean
  `_loso`): config = the experiment plus `seed` (and `fold`; a classical classifier adds
  `classifier_chosen`, its hyperparameters, and `deterministic`); history per epoch with step
  = epoch (a classical classifier: per grid point, step = grid_point); summary
  `validation_{m}`, `{train}to{test}_{m}` per test corpus and
  `{train}to{corpus}_in_corpus_{m}` per in-corpus test (`_loso_` instead of `_in_corpus_` for
  leave-one-session-out results), m in uar, accuracy, f1 (macro-F1) with a class head and
  ccc/pearson/rmse_{valence,arousal,dominance,mean} with a V/A/D head on a rated split (keys
  of an undefined or absent metric are left out); a confusion table per split with a class
  head under `confusion/{split key}`, rows the true class, columns the predicted one, in
  labels.CLASSES order.
- averaged run `AVERAGED_{train}` (job_type "aggregate"): summary `{split key}_{m}_mean` and
  `_std` from the experiment table's mean/std rows; an undefined std (one seed) is left out
  rather than logged as 0 or NaN; the whole table under `experiment_table`.

Run ids are `{hash of project, group, name}-{hash of what is logged}`: an identical rerun reuses
its id, changed results get a new one (so `wandb sync` never appends a second history to an
uploaded run). Before logging, local run directories of earlier versions of the same run are
deleted (only within `directory`), so reruns replace rather than pile up.

Modes: "offline" (run files under `directory/wandb/`), "online" (short timeouts, so no network
fails fast), "disabled" (no run, nothing written).

Each call returns what it logged (mode, project, group, name, whether it succeeded), which the
workflow keeps as the logging job's output: W&B settings then rerun that job, never training.
"""

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, cast

import wandb

from xcorpus.aggregate import TRANSDUCTIVE_RECORDS, transductive_reasons
from xcorpus.config import train_name
from xcorpus.labels import CLASSES
from xcorpus.metrics import DIMENSIONAL_KEYS

MODES = ("offline", "online", "disabled")
METRICS = {"uar": "uar", "accuracy": "accuracy", "f1": "macro_f1"}  # W&B name -> metrics key
# With a V/A/D head also `ccc_valence`, ..., `rmse_mean` under their own names; a split or task
# without them (unrated test corpus, no class head) has no key at all, never a 0.
METRICS |= {key: key for key in DIMENSIONAL_KEYS}
VALIDATION = "validation"
INIT_TIMEOUT_S = 15.0
FINISH_TIMEOUT_S = 60.0
_SIDE_DIRS = {"WANDB_CACHE_DIR": ".cache", "WANDB_DATA_DIR": ".data"}  # under `directory`


def log_seed_run(
    experiment: dict, metrics: dict, history: list[dict], mode: str, directory: Path
) -> dict:
    """One seed's run: its config, training history, final metrics and confusion matrices."""
    config = experiment | {"seed": metrics["seed"]}
    if "fold" in metrics:
        config["fold"] = metrics["fold"]
    if any(key in metrics for key in TRANSDUCTIVE_RECORDS):
        reasons = transductive_reasons(metrics)
        config["transductive"] = bool(reasons)
        config["transductive_reason"] = "; ".join(reasons) or None
    if metrics.get("classifier"):
        config["classifier_chosen"] = metrics["classifier"]["hyperparameters"]
        config["deterministic"] = metrics["classifier"]["deterministic"]
    step = "grid_point" if history and "grid_point" in history[0] else "epoch"

    def write(run: wandb.Run) -> None:
        for row in history:
            run.log({k: v for k, v in row.items() if k != step}, step=int(row[step]))
        splits = _seed_splits(metrics)
        run.summary.update(
            {
                f"{key}_{m}": values[k]
                for key, values in splits.items()
                for m, k in METRICS.items()
                if values.get(k) is not None
            }
        )
        confusions = {k: v for k, v in splits.items() if "confusion" in v}
        if confusions:
            run.log({f"confusion/{key}": _confusion_table(v) for key, v in confusions.items()})

    name = _seed_run_name(experiment, metrics)
    content = {"config": config, "metrics": metrics, "history": history}
    return _log_run(mode, directory, _init(experiment, name, "train", config), content, write)


def log_averaged_run(experiment: dict, table_rows: list[dict], mode: str, directory: Path) -> dict:
    """The experiment's mean and std over seeds per split, plus its whole per-seed table."""
    train = train_name(experiment["train_dataset"])

    def write(run: wandb.Run) -> None:
        run.summary.update(_averaged_summary(train, table_rows))
        columns = list(table_rows[0]) if table_rows else []
        data = [[row[c] for c in columns] for row in table_rows]
        run.log({"experiment_table": wandb.Table(columns=columns, data=data)})

    init = _init(experiment, f"AVERAGED_{train}", "aggregate", experiment)
    content = {"config": experiment, "rows": table_rows}
    return _log_run(mode, directory, init, content, write)


def _init(experiment: dict, name: str, job_type: str, config: dict) -> dict:
    """wandb.init's arguments naming the run."""
    return {
        "project": experiment["wandb_project"],
        "group": experiment["name"],
        "name": name,
        "job_type": job_type,
        "config": config,
    }


def _seed_run_name(experiment: dict, metrics: dict) -> str:
    """`{name}_seed{seed}`, told apart from the same seed's LOSO fold and LOSO mean runs."""
    name = f"{experiment['name']}_seed{metrics['seed']}"
    if "fold" in metrics:
        return f"{name}_fold{metrics['fold']}"
    return f"{name}_loso" if "folds" in metrics else name


def _seed_splits(metrics: dict) -> dict[str, dict]:
    """Split key -> that split's metrics: validation, then test corpora, then in-corpus tests."""
    loso = "fold" in metrics or "folds" in metrics
    splits = {VALIDATION: metrics["validation"]}
    splits |= {f"{metrics['train']}to{c}": m for c, m in metrics["test"].items()}
    in_corpus = metrics.get("in_corpus", {})
    splits |= {_in_corpus_key(metrics["train"], c, loso): m for c, m in in_corpus.items()}
    return splits


def _in_corpus_key(train: str, corpus: str, loso: bool) -> str:
    return f"{train}to{corpus}_{'loso' if loso else 'in_corpus'}"


def _split_key(train: str, split: str) -> str:
    """The key of an experiment-table split: `validation`, `{train}to{corpus}`, or the
    in-corpus forms of `X in-corpus` and `X LOSO` (aggregate's split names)."""
    if split == VALIDATION:
        return split
    if split.endswith(" LOSO"):
        return _in_corpus_key(train, split.removesuffix(" LOSO"), loso=True)
    if split.endswith(" in-corpus"):
        return _in_corpus_key(train, split.removesuffix(" in-corpus"), loso=False)
    return f"{train}to{split}"


def _averaged_summary(train: str, table_rows: list[dict]) -> dict[str, float]:
    """`{split key}_{metric}_{mean,std}` from the mean and std rows; a None std is left out."""
    summary = {}
    for row in table_rows:
        if row["seed"] not in ("mean", "std"):
            continue
        key = _split_key(train, row["split"])
        for m, k in METRICS.items():
            if row.get(k) is not None:
                summary[f"{key}_{m}_{row['seed']}"] = row[k]
    return summary


def _confusion_table(split_metrics: dict) -> wandb.Table:
    """Rows the true class, columns the predicted class."""
    columns: list[str | int] = ["true", *CLASSES]
    data = [[c, *counts] for c, counts in zip(CLASSES, split_metrics["confusion"], strict=True)]
    return wandb.Table(columns=columns, data=data)


def _log_run(
    mode: str, directory: Path, init: dict, content: dict, write: Callable[[wandb.Run], None]
) -> dict:
    """Start the run, let `write` fill it, finish it; report any failure instead of raising.
    The run id hashes project, group and name, then `content` (see the module docstring).
    Returns the run's mode, project, group and name, and whether it was logged."""
    if mode not in MODES:
        raise ValueError(f"W&B mode must be one of {', '.join(MODES)}, got {mode!r}")
    record = {"mode": mode, **{k: init[k] for k in ("project", "group", "name")}, "logged": False}
    if mode == "disabled":
        return record
    directory = Path(directory).resolve()
    stable = _digest([init["project"], init["group"], init["name"]])
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _remove_earlier_versions(directory, stable)
        with _environment(directory):
            try:
                run = wandb.init(
                    **init,
                    id=f"{stable}-{_digest(content)}",
                    mode=cast(Literal["offline", "online", "disabled"], mode),  # one of MODES
                    dir=directory,
                    settings=_settings(),
                )
                with run:
                    write(run)
            finally:
                wandb.teardown()
    except Exception as error:
        message = f"{type(error).__name__}: {error}".replace("\n", " ")
        print(f"W&B logging failed: {message}; local results are unaffected", file=sys.stderr)
        return record
    return record | {"logged": True}


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _remove_earlier_versions(directory: Path, stable: str) -> None:
    """Delete local run directories (offline or online) of this run's earlier versions."""
    for path in (directory / "wandb").glob(f"*run-*-{stable}-*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)


def _settings() -> wandb.Settings:
    """Quiet runs without system metrics, code or git capture (the results are already final
    when logged), and short timeouts so that online mode without a network fails fast."""
    return wandb.Settings(
        silent=True,
        console="off",
        disable_code=True,
        disable_git=True,
        save_code=False,
        x_disable_stats=True,
        x_save_requirements=False,
        init_timeout=INIT_TIMEOUT_S,
        login_timeout=INIT_TIMEOUT_S,
        finish_timeout=FINISH_TIMEOUT_S,
        finish_timeout_raises=True,
    )


@contextmanager
def _environment(directory: Path) -> Iterator[None]:
    """Point W&B's side files (service logs, table staging) into `directory` and silence its
    login message, for this call only.

    The W&B service process inherits the environment when it starts, which is why _log_run
    tears it down after every run.
    """
    wanted = {"WANDB_DIR": str(directory), "WANDB_SILENT": "true"}
    wanted |= {var: str(directory / sub) for var, sub in _SIDE_DIRS.items()}
    saved = {var: os.environ.get(var) for var in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value

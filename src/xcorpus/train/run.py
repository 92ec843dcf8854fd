"""Train one model for one seed of one cross-corpus experiment, and write what it produced.

Protocol: fit on the training role of the training corpora, select the epoch on validation UAR
or mean CCC (selection_metric; held-out speakers of those corpora), then evaluate that epoch's
weights once on validation, on every test corpus and on the in-corpus tests (each training
corpus's test speakers or official test split; in leave-one-session-out, the held-out session).
Test data are never looked at before that final evaluation. The validation figure is the
selection maximum, which is why it is labelled "validation (selection)" and never reported as
an in-corpus result.

With a V/A/D head (task dimensional or multitask) each split's metrics also hold CCC, Pearson r
and RMSE per dimension and their mean, over its rated utterances (`n_rated`), on the common 1-5
scale. A test corpus without ratings gets none of them, and metrics.json `unrated` says why: no
number stands in for a missing rating.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import torch

from xcorpus.config import train_name
from xcorpus.corpora import CORPORA
from xcorpus.labels import CLASSES
from xcorpus.metrics import (
    DIMENSIONS,
    classification_metrics,
    dimensional_metrics,
    utterance_digest,
)
from xcorpus.tables import write_csv, write_parquet, write_text
from xcorpus.train.curriculum import describe, make_curriculum
from xcorpus.train.dann import adversarial
from xcorpus.train.dann import describe as describe_adaptation
from xcorpus.train.dann import record as adaptation_record
from xcorpus.train.data import NO_CLASS, Data, Split, announce, load_data
from xcorpus.train.loop import fit, predict_proba, predict_vad, set_determinism
from xcorpus.train.models import EmotionClassifier, ModelConfig, save_checkpoint
from xcorpus.train.normalise import describe as describe_normalisation
from xcorpus.train.normalise import model_statistics, normalise
from xcorpus.train.sequences import Sequences
from xcorpus.train.settings import Settings

if TYPE_CHECKING:  # imported where used: an MLP run need not load scikit-learn and XGBoost
    from xcorpus.train.classical import ClassicalModel

PREDICTIONS_SCHEMA = pa.schema(
    [
        pa.field("utt_id", pa.string(), nullable=False),
        pa.field("corpus", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),  # val | test | heldout
        # Null for a rated utterance outside the four classes (dimensional_all_rated).
        pa.field("label", pa.string()),
        # Class prediction; null under task dimensional (no class head).
        pa.field("pred", pa.string()),
        *(pa.field(f"prob_{c}", pa.float64()) for c in CLASSES),
        # True V/A/D on the common 1-5 scale (null where unrated or the task has no V/A/D
        # head), and the prediction (null without a V/A/D head).
        *(pa.field(d, pa.float64()) for d in DIMENSIONS),
        *(pa.field(f"pred_{d}", pa.float64()) for d in DIMENSIONS),
    ]
)


def build_model(settings: Settings, train: Split) -> EmotionClassifier:
    """The classifier; under feature_normalisation `train` it standardises each modality with
    the training split's statistics, under the others its inputs come normalised (or not)."""
    sequences = {m: x for m, x in train.x.items() if isinstance(x, Sequences)}
    if sequences:
        print("sequences: " + "; ".join(s.describe(m) for m, s in sequences.items()))
    stats = model_statistics(settings.feature_normalisation, train)
    dims = {m: x.dim if isinstance(x, Sequences) else x.shape[1] for m, x in train.x.items()}
    config = ModelConfig.from_settings(settings, dims, sequences=bool(sequences))
    return EmotionClassifier(config, stats)


def evaluate(
    model: "EmotionClassifier | ClassicalModel", split: Split, role: str, task: str = "categorical"
) -> tuple[dict, pa.Table]:
    """Metrics and the per-utterance predictions table of one split: the class metrics with a
    class head, the dimensional ones (and n_rated) with a V/A/D head where the split has rated
    utterances."""
    y, n = split.y.cpu().numpy(), len(split)
    labelled = split.labelled.cpu().numpy()
    columns = {
        "utt_id": split.utt_id.tolist(),
        "corpus": split.corpus.tolist(),
        "role": [role] * n,
        "label": [CLASSES[i] if i != NO_CLASS else None for i in y],
    }
    metrics: dict = {}
    if task != "dimensional":
        probs = predict_proba(model, split)
        pred = probs.argmax(axis=1)
        metrics |= classification_metrics(y[labelled], pred[labelled])
        columns["pred"] = [CLASSES[i] for i in pred]
        columns |= {f"prob_{c}": probs[:, i] for i, c in enumerate(CLASSES)}
    if task != "categorical":
        if not isinstance(model, EmotionClassifier):  # config: classical ones are categorical
            raise TypeError(f"a {type(model).__name__} has no V/A/D head (task {task})")
        true, vad = split.vad_targets.cpu().numpy().astype(np.float64), predict_vad(model, split)
        rated = split.rated.cpu().numpy()
        if rated.any():
            metrics |= dimensional_metrics(true[rated], vad[rated]) | {"n_rated": int(rated.sum())}
        columns |= {d: _nullable(true[:, i]) for i, d in enumerate(DIMENSIONS)}
        columns |= {f"pred_{d}": vad[:, i] for i, d in enumerate(DIMENSIONS)}
    missing = {f.name: pa.nulls(n, f.type) for f in PREDICTIONS_SCHEMA if f.name not in columns}
    return metrics, pa.table(columns | missing, schema=PREDICTIONS_SCHEMA).select(
        PREDICTIONS_SCHEMA.names
    )


def _nullable(values: np.ndarray) -> pa.Array:
    """Floats with NaN (no rating) as null."""
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def unrated_reasons(settings: Settings, data: Data) -> dict[str, str]:
    """Why each test split without a rated utterance has no dimensional metric."""
    if settings.task == "categorical":
        return {}
    splits = {**data.test, **{f"{c} in-corpus": s for c, s in data.heldout.items()}}
    return {
        name: (
            f"{name} has no V/A/D ratings"
            if CORPORA[name.removesuffix(" in-corpus")].vad_scale is None
            else f"no utterance of {name} carries all of V/A/D"
        )
        for name, split in splits.items()
        if not split.rated.any()
    }


@dataclass(frozen=True)
class Inputs:
    """The files one training job reads, and the scratch directory its frame sequences are
    memory-mapped from (None: held in memory)."""

    manifest: Path
    indexes: list[Path]
    audio_features: list[Path]
    text_features: list[Path]
    difficulty: list[Path]
    frames_dir: Path | None = None


def train_seed(
    experiment: dict, seed: int, inputs: Inputs, out_dir: Path, checkpoint_dir: Path
) -> dict:
    """Train the cross-corpus model of one seed of `experiment` (as expand_experiments
    returns it); write out_dir/{metrics.json, predictions.parquet, history.csv, model.pt};
    return metrics."""
    settings = Settings.of(experiment)
    if settings.evaluation_mode == "loso":
        raise ValueError(
            f"experiment {settings.name}: train_seed runs cross_corpus evaluation, "
            "which evaluation_mode loso does not include"
        )
    data = _load(settings, seed, inputs)
    announce(_train_counts(settings, data), settings.test_datasets)
    return _run(
        settings,
        seed,
        data,
        Path(out_dir),
        _resume_path(checkpoint_dir, experiment, seed, inputs),
    )


def train_fold(
    experiment: dict,
    seed: int,
    fold: int,
    share: float,
    inputs: Inputs,
    out_dir: Path,
    checkpoint_dir: Path,
) -> dict:
    """Train leave-one-session-out fold `fold` (its session held out) of one seed; writes the
    same files as train_seed, with the held-out session under `in_corpus`."""
    settings = Settings.of(experiment)
    data = _load(settings, seed, inputs, fold, share)
    (corpus,) = settings.train_dataset
    counts = _train_counts(settings, data)
    print(
        f"🚀 LOSO fold {fold}: {corpus} without session {fold} ({counts[corpus]} samples) "
        f"-> session {fold}"
    )
    resume = _resume_path(checkpoint_dir, experiment, seed, inputs, fold)
    return _run(settings, seed, data, Path(out_dir), resume, {"fold": fold})


def _load(settings: Settings, seed: int, inputs: Inputs, fold=None, share=None) -> Data:
    set_determinism(seed)
    given = {"audio": inputs.audio_features, "text": inputs.text_features}
    features = {m: given[m] for m in settings.modalities}
    scores = inputs.difficulty if settings.uses_difficulty else None
    return load_data(
        settings, inputs.manifest, inputs.indexes, features, scores, fold, share, inputs.frames_dir
    )


def _train_counts(settings: Settings, data: Data) -> dict[str, int]:
    return {c: int((data.train.corpus == c).sum()) for c in settings.train_dataset}


def _resume_path(
    checkpoint_dir: Path, experiment: dict, seed: int, inputs: Inputs, fold: int | None = None
) -> Path:
    """Where the job's resume state lives, outside its declared outputs. The name hashes the
    experiment (its whole dict, not only the keys Settings holds), seed, fold and input files
    (path, size, mtime), so a changed configuration or new features never resume from a stale
    state, and runs never share one."""
    files: dict[str, list[int]] = {}
    identity = {"experiment": experiment, "seed": seed, "fold": fold, "files": files}
    for path in [
        inputs.manifest,
        *inputs.indexes,
        *inputs.audio_features,
        *inputs.text_features,
        *inputs.difficulty,
    ]:
        stat = Path(path).stat()
        files[str(path)] = [stat.st_size, stat.st_mtime_ns]
    digest = hashlib.blake2b(
        json.dumps(identity, sort_keys=True, default=str).encode(), digest_size=8
    )
    return Path(checkpoint_dir) / f"{digest.hexdigest()}.pt"


def _run(
    settings: Settings,
    seed: int,
    data: Data,
    out_dir: Path,
    resume: Path,
    extra: dict | None = None,
) -> dict:
    """Fit, select the best epoch (a classical classifier: its hyperparameters,
    xcorpus.train.classical) on the validation selection metric (UAR, or CCC for a V/A/D
    task), evaluate it once on validation, the test corpora and the in-corpus tests, write the
    outputs (metrics with `extra` keys), then drop the resume state."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data, normalisation = normalise(
        data, settings.feature_normalisation, settings.min_speaker_utterances
    )
    print(describe_normalisation(normalisation))
    warn_missing_classes(data.train.y.cpu().numpy())
    model: EmotionClassifier | ClassicalModel
    if settings.classifier == "mlp":
        model, history, selection = _fit_mlp(settings, seed, data, resume, device)
    else:  # imported here: an MLP run need not load scikit-learn and XGBoost
        from xcorpus.train.classical import fit_classical

        fitted = fit_classical(settings, data)
        model, history = fitted.model, fitted.history
        selection = {
            "domain_adaptation": adaptation_record(settings, None),
            "best_epoch": None,
            "classifier": fitted.record,
        }
    val = data.val.to(device)

    task = settings.task
    val_metrics, val_predictions = evaluate(model, val, "val", task)
    tests = {c: evaluate(model, split.to(device), "test", task) for c, split in data.test.items()}
    heldout = {c: evaluate(model, s.to(device), "heldout", task) for c, s in data.heldout.items()}
    metrics = {
        "experiment": settings.name,
        "train": train_name(settings.train_dataset),
        "seed": seed,
        **(extra or {}),
        "feature_normalisation": normalisation,
        "task": task,
        "selection_metric": settings.selection_metric,
        **selection,
        "validation": val_metrics,
        "test": {c: m for c, (m, _) in tests.items()},
        "in_corpus": {c: m for c, (m, _) in heldout.items()},
        "unrated": unrated_reasons(settings, data),
        "n": {
            "train": len(data.train),
            "train_unscored": data.unscored,
            "train_unrated": data.unrated,
            "validation": int(_scored(val, task).sum()),
            "test": {c: int(_scored(s, task).sum()) for c, s in data.test.items()},
            "in_corpus": {c: int(_scored(s, task).sum()) for c, s in data.heldout.items()},
        },
        "utterances": {
            "validation": _digest(val, task),
            "test": {c: _digest(split, task) for c, split in data.test.items()},
            "in_corpus": {c: _digest(split, task) for c, split in data.heldout.items()},
        },
    }
    if settings.dimensional_all_rated:
        metrics["n"]["train_unlabelled"] = int((~data.train.labelled).sum())
    predictions = [
        val_predictions,
        *(p for _, p in tests.values()),
        *(p for _, p in heldout.values()),
    ]
    write_parquet(
        pa.concat_tables(predictions), out_dir / "predictions.parquet", PREDICTIONS_SCHEMA
    )
    write_csv(pa.Table.from_pylist(history), out_dir / "history.csv")
    if isinstance(model, EmotionClassifier):
        save_checkpoint(model, out_dir / "model.pt")
    else:
        model.save(out_dir / "model.pt")
    write_text(json.dumps(metrics, indent=2) + "\n", out_dir / "metrics.json")
    resume.unlink(missing_ok=True)
    return metrics


def _fit_mlp(
    settings: Settings, seed: int, data: Data, resume: Path, device: torch.device
) -> tuple[EmotionClassifier, list[dict], dict]:
    """The MLP with its best epoch's weights, its history, and its selection record."""
    model = build_model(settings, data.train).to(device)
    train, val = data.train.to(device), data.val.to(device)
    rng = np.random.default_rng(seed)
    if data.unrated:
        print(
            f"task dimensional: {data.unrated} training utterance(s) without all of V/A/D left "
            f"out of training ({len(data.train)} train on)"
        )
    print(describe(settings))
    if settings.uses_difficulty:
        print(
            f"difficulty curriculum: {data.unscored} training utterance(s) without a "
            f"{settings.difficulty_method} difficulty left out of training "
            f"({len(data.train)} train on); validation and test sets are unaffected"
        )
    labels = data.train.y.cpu().numpy()
    curriculum = make_curriculum(settings, data.train.corpus, labels, data.difficulty, seed)
    trained, adaptation = adversarial(settings, seed, model, data, device)
    print(describe_adaptation(adaptation))
    resume.parent.mkdir(parents=True, exist_ok=True)
    result = fit(trained, train, val, curriculum, settings, rng, resume)
    trained.load_state_dict(result.best_state)
    return model, result.history, {"domain_adaptation": adaptation, "best_epoch": result.best_epoch}


def _scored(split: Split, task: str) -> np.ndarray:
    """The rows `n` and the digest count: those UAR is over where there is a class head (not
    the rated ones outside the four classes), every row under task dimensional."""
    return split.labelled.cpu().numpy() if task != "dimensional" else np.ones(len(split), bool)


def _digest(split: Split, task: str) -> str:
    rows = _scored(split, task)
    return utterance_digest(zip(split.corpus[rows], split.utt_id[rows], strict=True))


def warn_missing_classes(labels: np.ndarray) -> None:
    """A training set without some class still trains (that class is never predicted well, and
    where a test set has it its recall, 0 or near it, enters UAR); say so in the log rather
    than stop."""
    missing = [c for i, c in enumerate(CLASSES) if not (labels == i).any()]
    if missing:
        print(f"warning: the training set has no {', '.join(missing)} utterances")

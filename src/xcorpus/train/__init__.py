"""Train one model for one seed of one cross-corpus experiment, and write what it produced.

Protocol: fit on the training role of the training corpora, select the epoch on validation UAR
(held-out speakers of those corpora), then evaluate that epoch's weights once on validation and
on every test corpus. Test corpora are never looked at before that final evaluation.
"""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from xcorpus.config import modalities, train_name, uses_difficulty
from xcorpus.labels import CLASSES
from xcorpus.metrics import classification_metrics
from xcorpus.tables import write_csv, write_parquet, write_text
from xcorpus.train.curriculum import Curriculum
from xcorpus.train.data import Data, Split, announce, load_data
from xcorpus.train.loop import fit, predict_proba, set_determinism
from xcorpus.train.models import EmotionClassifier, ModelConfig, save_checkpoint, standardisation

PREDICTIONS_SCHEMA = pa.schema(
    [
        pa.field("utt_id", pa.string(), nullable=False),
        pa.field("corpus", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),  # val | test
        pa.field("label", pa.string(), nullable=False),
        pa.field("pred", pa.string(), nullable=False),
        *(pa.field(f"prob_{c}", pa.float64(), nullable=False) for c in CLASSES),
    ]
)


def make_curriculum(experiment: dict, data: Data) -> Curriculum:
    """Difficulty curriculum ranked per training corpus, or every sample every epoch."""
    if not uses_difficulty(experiment):
        return Curriculum.everything(len(data.train))
    if experiment["curriculum_pacing"] != "linear":
        raise ValueError(f"curriculum_pacing {experiment['curriculum_pacing']!r} is not linear")
    return Curriculum.by_difficulty(
        data.difficulty,
        data.train.corpus,
        experiment["curriculum_start"],
        experiment["curriculum_epochs"],
    )


def build_model(experiment: dict, train: Split) -> EmotionClassifier:
    """The classifier, standardising each modality with the training split's statistics."""
    stats = {m: standardisation(x) for m, x in train.x.items()}
    dims = {m: x.shape[1] for m, x in train.x.items()}
    return EmotionClassifier(ModelConfig.from_experiment(experiment, dims), stats)


def evaluate(model: EmotionClassifier, split: Split, role: str) -> tuple[dict, pa.Table]:
    """Metrics and the per-utterance predictions table of one split."""
    probs = predict_proba(model, split)
    y, pred = split.y.cpu().numpy(), probs.argmax(axis=1)
    columns = {
        "utt_id": split.utt_id.tolist(),
        "corpus": split.corpus.tolist(),
        "role": [role] * len(split),
        "label": [CLASSES[i] for i in y],
        "pred": [CLASSES[i] for i in pred],
        **{f"prob_{c}": probs[:, i] for i, c in enumerate(CLASSES)},
    }
    return classification_metrics(y, pred), pa.table(columns, schema=PREDICTIONS_SCHEMA)


def train_seed(
    experiment: dict,
    seed: int,
    manifest: Path,
    indexes: list[Path],
    audio_features: list[Path],
    text_features: list[Path],
    difficulty: list[Path],
    out_dir: Path,
) -> dict:
    """Train one model for one seed; write out_dir/{metrics.json, predictions.parquet,
    history.csv, model.pt}; return metrics."""
    set_determinism(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    given = {"audio": audio_features, "text": text_features}
    features = {m: given[m] for m in modalities(experiment)}
    scores = difficulty if uses_difficulty(experiment) else None
    data = load_data(experiment, manifest, indexes, features, scores)
    counts = {c: int((data.train.corpus == c).sum()) for c in experiment["train_dataset"]}
    announce(counts, experiment["test_datasets"])

    model = build_model(experiment, data.train).to(device)
    train, val = data.train.to(device), data.val.to(device)
    rng = np.random.default_rng(seed)
    result = fit(model, train, val, make_curriculum(experiment, data), experiment, rng)
    model.load_state_dict(result.best_state)

    val_metrics, val_predictions = evaluate(model, val, "val")
    tests = {c: evaluate(model, split.to(device), "test") for c, split in data.test.items()}
    metrics = {
        "experiment": experiment["name"],
        "train": train_name(experiment["train_dataset"]),
        "seed": seed,
        "best_epoch": result.best_epoch,
        "validation": val_metrics,
        "test": {c: m for c, (m, _) in tests.items()},
        "n": {
            "train": len(train),
            "validation": len(val),
            "test": {c: len(split) for c, split in data.test.items()},
        },
    }
    out_dir = Path(out_dir)
    predictions = pa.concat_tables([val_predictions, *(p for _, p in tests.values())])
    write_parquet(predictions, out_dir / "predictions.parquet", PREDICTIONS_SCHEMA)
    write_csv(pa.Table.from_pylist(result.history), out_dir / "history.csv")
    save_checkpoint(model, out_dir / "model.pt")
    write_text(json.dumps(metrics, indent=2) + "\n", out_dir / "metrics.json")
    return metrics

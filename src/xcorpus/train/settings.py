"""An experiment's training settings as typed, frozen attributes, read once from its dict.

The training job gets the experiment as xcorpus.config.expand_experiments returns it (every
schema default filled); Settings.of takes from it the keys training reads, so a missing key is
refused before any data is loaded rather than as a KeyError deep in an epoch. What is derived
from several keys (has_class_head, uses_difficulty, modalities, the classical grid) is
xcorpus.config's and xcorpus.grids' one implementation, asked about these settings.
"""

from dataclasses import dataclass, fields
from typing import Any, Self

from xcorpus import config
from xcorpus.grids import check_grid, grid_key

# Keys held as tuples: a frozen setting is not a list someone can append to.
TUPLE_KEYS = ("train_dataset", "test_datasets", "curriculum_defaults")


@dataclass(frozen=True)
class DataSettings:
    """What load_data reads: the corpora and the rows to keep. A feature map
    (xcorpus.feature_map) loads an experiment's splits with these alone, so that its other
    hyperparameters do not rerun the map."""

    name: str
    train_dataset: tuple[str, ...]
    test_datasets: tuple[str, ...]
    task: str
    fusion_type: str
    dimensional_all_rated: bool
    difficulty_method: str | None  # None: no difficulty is loaded (a feature map)

    @classmethod
    def of(cls, experiment: dict) -> Self:
        """The settings of a checked experiment; ValueError naming the first key it lacks."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            if field.name not in experiment:
                raise ValueError(
                    f"experiment {experiment.get('name', '(unnamed)')}: no {field.name!r} "
                    "(training reads the experiment as expand_experiments returns it, with "
                    "every schema default filled)"
                )
            value = experiment[field.name]
            values[field.name] = tuple(value) if field.name in TUPLE_KEYS else value
        if "selection_metric" in values:
            values["selection_metric"] = config.selection_metric(experiment)
        return cls(**values)

    @property
    def _view(self) -> dict[str, Any]:
        """The settings as the experiment dict xcorpus.config's functions read (a copy, so
        nothing can change them through it)."""
        return dict(vars(self))

    @property
    def has_class_head(self) -> bool:
        return config.has_class_head(self._view)

    @property
    def has_dimensional_head(self) -> bool:
        return config.has_dimensional_head(self._view)


@dataclass(frozen=True)
class Settings(DataSettings):
    """Every key the training job reads (xcorpus.train)."""

    evaluation_mode: str
    modality: str
    feature_normalisation: str
    min_speaker_utterances: int
    classifier: str
    svm_kernel: str
    classifier_grid: dict[str, list]
    selection_metric: str  # resolved: as configured, else by task (config.selection_metric)
    num_epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    loss: str
    label_smoothing: float
    focal_gamma: float
    class_weights: bool
    dimensional_loss: str
    dimensional_weight: float
    lr_scheduler: str
    lr_gamma: float
    lr_step_size: int
    lr_patience: int
    use_early_stopping: bool
    early_stopping_patience: int
    early_stopping_min_delta: float
    use_curriculum_learning: bool
    curriculum_type: str
    curriculum_start: float
    curriculum_epochs: int
    curriculum_pacing: str
    curriculum_defaults: tuple[str, ...]  # the curriculum keys the schema filled in
    domain_adaptation: str
    dann_weight: float
    dann_warmup_epochs: int
    dann_unlabelled_test: bool
    fusion_hidden_dim: int
    num_attention_heads: int
    dropout: float

    @property
    def uses_curriculum(self) -> bool:
        return config.uses_curriculum(self._view)

    @property
    def uses_difficulty(self) -> bool:
        return config.uses_difficulty(self._view)

    @property
    def modalities(self) -> list[str]:
        return config.modalities(self._view)

    @property
    def grid_key(self) -> str:
        return grid_key(self._view)

    @property
    def grid(self) -> dict[str, list]:
        return check_grid(self._view)

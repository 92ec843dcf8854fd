"""eGeMAPSv02 functionals (opensmile, 88-d): the standard acoustic baseline for SER.

Needs no model weights, so it is the offline default audio feature set.
"""

from collections.abc import Callable

import numpy as np
import opensmile

from xcorpus.audio import SAMPLE_RATE

MODEL_ID = "opensmile/eGeMAPSv02/Functionals"


def model_id(model: str | None) -> str:
    """The feature set's id; eGeMAPS has no model to choose."""
    if model is not None:
        raise ValueError(f"backend egemaps takes no model, got {model!r}")
    return MODEL_ID


def versions() -> dict[str, str]:
    """Packages whose version can change the features."""
    return {"opensmile": opensmile.__version__}


def load(model: str | None) -> Callable[[np.ndarray], np.ndarray]:
    """A function from a 16 kHz float32 signal in [-1, 1] to its 88 functionals."""
    model_id(model)
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )

    def embed(signal: np.ndarray) -> np.ndarray:
        # float32 on purpose: opensmile crashes on int16 input.
        return smile.process_signal(signal, SAMPLE_RATE).to_numpy(np.float32)[0]

    return embed

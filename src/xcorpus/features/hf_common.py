"""What the Hugging Face backends (hf_audio, hf_text) share: offline loading and its checks.

Models are only ever read from local directories: a hub id is refused rather than downloaded, so
a job never stalls on the network and the features always name the exact files they came from.
"""

import os
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

from xcorpus.features.encoder import ModelNotFoundError, weights_hash

# Only used for SpecAugment-style masking in training, absent from many released checkpoints.
TRAINING_ONLY_KEYS = ("masked_spec_embed",)


def offline() -> None:
    """Keep the hub libraries offline and quiet; call before importing transformers."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # job logs keep to the one progress line per shard


def versions() -> dict[str, str]:
    """Packages whose version can change the features."""
    return {name: version(name) for name in ("transformers", "torch")}


def model_dir(model: str, example: str) -> Path:
    """The absolute local directory of `model`, or an error saying what it needs and how to get it.

    A hub id is not a local path, so it gets the same advice (with that id): download it once,
    then point at the directory.
    """
    path = Path(model).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        if not weight_files(path):
            raise ModelNotFoundError(f"model directory {path} has config.json but no weights")
        return path.resolve()
    problem = "lacks config.json" if path.is_dir() else "is not a local directory"
    if re.fullmatch(r"[\w.-]+/[\w.-]+", model) and not model.startswith("."):
        example = model  # looks like a hub id
    raise ModelNotFoundError(
        f"model {model!r} {problem}. A model is a local directory with config.json, the weights "
        f"(model.safetensors or pytorch_model.bin) and the preprocessor/tokenizer files; models "
        f"are never downloaded here. Get one with e.g. `hf download {example} --local-dir DIR` "
        f"and set `model:` to DIR."
    )


def weight_files(path: Path) -> list[Path]:
    """The weight files under `path` (submodules' too), sorted: what `weights_hash` covers."""
    found = [p for p in path.rglob("*") if p.suffix in (".safetensors", ".bin") and p.is_file()]
    return sorted(found, key=lambda p: p.relative_to(path).as_posix())


def identity(path: Path) -> dict[str, str]:
    """Metadata naming the model: its directory and the hash of its weights."""
    return {"model": str(path), "weights": weights_hash(weight_files(path))}


def load_checked(path: Path) -> Any:
    """`AutoModel` from `path` in eval mode; any weight that did not load is an error.

    transformers only warns about missing keys (they are randomly initialised), which would give
    features of a partly random model. Unexpected keys are fine (heads, quantizer of pretraining).
    """
    from transformers import AutoModel

    model, info = AutoModel.from_pretrained(
        path, local_files_only=True, output_loading_info=True, ignore_mismatched_sizes=True
    )
    missing = sorted(k for k in info["missing_keys"] if not k.endswith(TRAINING_ONLY_KEYS))
    mismatched = sorted(str(k) for k in info["mismatched_keys"])
    if missing or mismatched or info["error_msgs"]:
        raise ValueError(
            f"weights in {path} do not fit {type(model).__name__}: missing {missing}, "
            f"shape mismatch {mismatched}, errors {info['error_msgs']}"
        )
    return model.eval()


def layer_indices(layer: str | int | list[int], n_hidden: int) -> list[int] | None:
    """`hidden_states` indices for `layer` (None for "last", i.e. `last_hidden_state`).

    There are n_hidden + 1 hidden states: 0 is the input to the first transformer layer; negative
    indices count from the end as in Python. A list asks for the mean of those layers.
    """
    if layer == "last":
        return None
    chosen = layer if isinstance(layer, list) else [layer]
    ints = [i for i in chosen if isinstance(i, int) and not isinstance(i, bool)]
    if not chosen or len(ints) < len(chosen):
        raise ValueError(f"layer must be 'last', an int or a non-empty list of ints, got {layer!r}")
    if bad := [i for i in ints if not -(n_hidden + 1) <= i <= n_hidden]:
        raise ValueError(f"layer(s) {bad} out of range: the model has hidden states 0..{n_hidden}")
    return [i % (n_hidden + 1) for i in ints]


def pick_layer(output: Any, indices: list[int] | None) -> Any:
    """The chosen layer's (batch, time, dim) tensor, or the mean of the chosen layers."""
    import torch

    if indices is None:
        return output.last_hidden_state
    return torch.stack([output.hidden_states[i] for i in indices]).float().mean(0)

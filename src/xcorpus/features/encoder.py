"""What every feature backend's `load(**options)` returns, and helpers the backends share.

An encoder maps a list of items (16 kHz mono float32 signals for audio backends, transcripts for
text backends) to one `Embedding` per item, in order. The extraction stage hands it chunks of a
shard; batching inside a chunk is the encoder's business, but its output must not depend on how
items are grouped (a shard's features never depend on the shard count or the chunk size).
"""

import hashlib
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

DTYPES = ("float32", "bfloat16", "float16")


class ModelNotFoundError(ValueError):
    """A model not loadable offline; the message says what was expected and how to get it."""


class ItemError(ValueError):
    """An input an encoder refuses or cannot encode; `index` is its position in the call's list,
    so that the extraction stage names the utterance."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class Embedding:
    """One utterance's features: its vector and, where the encoder has one, its sequence."""

    vector: np.ndarray  # (dim,) float32
    frames: np.ndarray | None  # (T, dim) float32 frames or tokens, valid positions only


class Encoder(Protocol):
    """A loaded feature model."""

    dim: int
    # Frames per second of `Embedding.frames` for audio encoders; None for text or functionals.
    frame_rate: float | None
    # How the features were made (model path or hub id, weights hash, layer, dtype, ...): stored
    # in every shard's parquet metadata so shards made differently are never merged.
    metadata: dict[str, str]

    def __call__(self, items: list) -> list[Embedding]: ...


def weights_hash(paths: list[Path]) -> str:
    """blake2b (16 bytes, hex) over the bytes of `paths` in the given order: a model's identity."""
    digest = hashlib.blake2b(digest_size=16)
    for path in paths:
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def resolve_device(device: str) -> str:
    """`auto` is CUDA when present, else CPU; `cuda` without a GPU is an error, not a fallback."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for, but torch sees no CUDA GPU")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    return device


def autocast(dtype: str, device: str) -> AbstractContextManager:
    """The context to run a model in: float32 as is, else autocast (fp16 only on CUDA).

    Called once before loading a model too, so that a bad dtype is refused before anything loads.
    """
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if dtype == "float16" and device == "cpu":
        raise ValueError("dtype float16 needs CUDA; use bfloat16 or float32 on CPU")
    if dtype == "float32":
        return nullcontext()
    return torch.autocast(device_type=device, dtype=getattr(torch, dtype))


def checked_signal(index: int, signal: np.ndarray) -> np.ndarray:
    """A 1-D float32 signal with finite samples, or an ItemError naming the item."""
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1:
        raise ItemError(
            index, f"item {index}: expected a mono 1-D signal, got shape {signal.shape}"
        )
    if not np.isfinite(signal).all():
        raise ItemError(index, f"item {index}: signal has NaN or inf samples")
    return signal

"""Sentence and token embeddings of transcripts from a local text encoder directory.

Two kinds of directory:
- sentence-transformers (has `modules.json`): `vector` is exactly what `SentenceTransformer.encode`
  gives (its own pooling, dense and normalisation modules), `frames` its token embeddings. The
  pooling is the directory's own: `pooling` must name it (e.g. "mean" for all-MiniLM-L6-v2) so the
  config says what is computed; `layer` must be "last". `frames` is None when dense modules make
  the sentence vector's size differ from the tokens'.
- plain transformers (BERT, RoBERTa, ...): `pooling="cls"` is the first token of the chosen layer,
  `"mean"` the mean over the text's tokens; `layer` as in hf_common.layer_indices (0 = embedding
  output, "last" = last_hidden_state, a list = mean of layers).
In both, `frames` are the text's tokens (special tokens included, padding excluded).

Texts longer than `max_tokens` tokens (capped by the tokenizer's or sentence-transformers' own
limit) are truncated; each call prints how many were, and `truncated` counts them all.
Padded batches equal one-at-a-time output (attention masks; checked to cosine >= 0.9999).
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import numpy as np

from xcorpus.features import hf_common
from xcorpus.features.encoder import Embedding, autocast, resolve_device

MODALITY = "text"
EXAMPLE = "sentence-transformers/all-mpnet-base-v2"
POOLINGS = ("cls", "mean")


def versions() -> dict[str, str]:
    """Packages whose version can change the features: sentence-transformers directories are
    pooled and normalised by sentence-transformers itself."""
    return hf_common.versions() | {"sentence-transformers": version("sentence-transformers")}


def load(
    model: str,
    pooling: str = "mean",
    layer: str | int | list[int] = "last",
    device: str = "auto",
    dtype: str = "float32",
    batch_size: int = 64,
    max_tokens: int = 256,
) -> "SentenceEncoder | TokenEncoder":
    """The text encoder in local directory `model`."""
    path = hf_common.model_dir(model, EXAMPLE)
    if batch_size < 1 or max_tokens < 2:
        raise ValueError(f"need batch_size >= 1, max_tokens >= 2; got {batch_size}, {max_tokens}")
    device = resolve_device(device)
    autocast(dtype, device)  # refuse a bad dtype before loading anything
    hf_common.offline()
    kind: type[SentenceEncoder | TokenEncoder] = SentenceEncoder
    if not (path / "modules.json").is_file():
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        kind = TokenEncoder
    return kind(path, pooling, layer, device, dtype, batch_size, max_tokens)


class _TextEncoder:
    """What both kinds share: settings, metadata and the truncation count."""

    frame_rate = None

    def __init__(self, path: Path, device: str, dtype: str, batch_size: int) -> None:
        self.device, self.dtype, self.batch_size = device, dtype, batch_size
        self.metadata = hf_common.identity(path) | {"dtype": dtype, "device": device}
        self.truncated = 0  # texts cut to max_tokens so far

    def _count_truncated(self, tokenizer: Any, texts: list[str], max_tokens: int) -> None:
        """Count and report the texts that do not fit in `max_tokens` tokens."""
        lengths = [len(ids) for ids in tokenizer(texts, truncation=False)["input_ids"]]
        if cut := sum(n > max_tokens for n in lengths):
            self.truncated += cut
            print(f"{cut} of {len(texts)} texts truncated to {max_tokens} tokens", file=sys.stderr)


class SentenceEncoder(_TextEncoder):
    """A sentence-transformers directory, run through its own pipeline."""

    def __init__(
        self,
        path: Path,
        pooling: str,
        layer: str | int | list[int],
        device: str,
        dtype: str,
        batch_size: int,
        max_tokens: int,
    ) -> None:
        if layer != "last":
            raise ValueError("a sentence-transformers model gives its last layer only: layer last")
        for module in json.loads((path / "modules.json").read_text()):
            if module["type"].endswith(".Transformer"):
                hf_common.load_checked(path / module["path"])  # transformers only warns
        from sentence_transformers import SentenceTransformer

        super().__init__(path, device, dtype, batch_size)
        self.model = SentenceTransformer(str(path), device=device, local_files_only=True)
        own = [str(m.pooling_mode) for m in self.model if type(m).__name__ == "Pooling"]
        if own != [pooling]:
            raise ValueError(f"{path} pools with {own or 'no pooling module'}, not {pooling!r}")
        self.max_tokens = min(max_tokens, self.model.max_seq_length or max_tokens)
        self.model.max_seq_length = self.max_tokens
        self.dim = self.model.get_embedding_dimension()
        self.metadata |= {
            "architecture": type(self.model[0].auto_model).__name__,
            "kind": "sentence-transformers",
            "pooling": pooling,
            "layer": "last",
            "max_tokens": str(self.max_tokens),
        }

    def __call__(self, texts: list[str]) -> list[Embedding]:
        self._count_truncated(self.model.tokenizer, texts, self.max_tokens)
        with autocast(self.dtype, self.device):
            outputs = self.model.encode(
                texts,
                batch_size=self.batch_size,
                output_value=None,  # every output: sentence and token embeddings in one pass
                convert_to_numpy=False,
                show_progress_bar=False,
            )
        # With output_value=None, encode gives one dict of outputs per text (its stubs say str).
        return [self._embedding(out) for out in cast(list[dict[str, Any]], outputs)]

    def _embedding(self, out: dict[str, Any]) -> Embedding:
        tokens = out["token_embeddings"][out["attention_mask"].bool()].float().cpu().numpy()
        return Embedding(
            vector=out["sentence_embedding"].float().cpu().numpy(),
            frames=tokens if tokens.shape[1] == self.dim else None,
        )


class TokenEncoder(_TextEncoder):
    """A plain transformers encoder with our pooling over the chosen layer."""

    def __init__(
        self,
        path: Path,
        pooling: str,
        layer: str | int | list[int],
        device: str,
        dtype: str,
        batch_size: int,
        max_tokens: int,
    ) -> None:
        from transformers import AutoTokenizer

        super().__init__(path, device, dtype, batch_size)
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.network = hf_common.load_checked(path).to(device)
        self.layers = hf_common.layer_indices(layer, self.network.config.num_hidden_layers)
        self.pooling = pooling
        self.max_tokens = min(max_tokens, self.tokenizer.model_max_length)
        self.dim = self.network.config.hidden_size
        self.metadata |= {
            "architecture": type(self.network).__name__,
            "kind": "transformers",
            "pooling": pooling,
            "layer": str(layer if self.layers is None else self.layers),
            "max_tokens": str(self.max_tokens),
        }

    def __call__(self, texts: list[str]) -> list[Embedding]:
        self._count_truncated(self.tokenizer, texts, self.max_tokens)
        # Longest first in batches of similar length: less padding, same output.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: dict[int, Embedding] = {}
        for start in range(0, len(order), self.batch_size):
            group = order[start : start + self.batch_size]
            out |= zip(group, self._run([texts[i] for i in group]), strict=True)
        return [out[i] for i in range(len(texts))]

    def _run(self, batch: list[str]) -> list[Embedding]:
        import torch

        inputs = self.tokenizer(
            batch, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode(), autocast(self.dtype, self.device):
            output = self.network(**inputs, output_hidden_states=self.layers is not None)
        hidden = hf_common.pick_layer(output, self.layers).float().cpu().numpy()
        valid = inputs["attention_mask"].bool().cpu().numpy()  # padding may be on either side
        return [self._embedding(h[m]) for h, m in zip(hidden, valid, strict=True)]

    def _embedding(self, tokens: np.ndarray) -> Embedding:
        vector = tokens[0] if self.pooling == "cls" else tokens.mean(0)
        return Embedding(vector=vector, frames=tokens)

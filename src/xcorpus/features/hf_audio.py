"""Frame and utterance embeddings from transformers speech encoders (WavLM, HuBERT, wav2vec2,
data2vec-audio), read from a local model directory.

Layers: `layer="last"` is the model's `last_hidden_state` (for `do_stable_layer_norm` models that
is after the encoder's final LayerNorm, so it differs from `hidden_states[-1]`); an int `i` is
`hidden_states[i]`, where 0 is the transformer's input (CNN features, projection and positional
convolution) and i >= 1 the output of transformer layer i; a list is the mean of those layers.

Batching never changes the features (checked against one-at-a-time output, cosine >= 0.9999 per
frame). Items are sorted by length and padded with an attention mask, which is exact where the
CNN normalises per frame (`feat_extract_norm="layer"`, large checkpoints and data2vec-audio). For
`"group"` models (base wav2vec2/HuBERT) GroupNorm over time would see the padding (padded items
drift to cosine 0.82 on a tiny model, 0.96-0.99 on base ones), so only items of identical length
share a batch. data2vec-audio's stacked positional convolutions also see padded frames (cosine
0.76 unfixed): the padded frames are zeroed before each of them, as a lone item's zero padding.
"""

import math
from pathlib import Path
from typing import Any

import numpy as np

from xcorpus.audio import SAMPLE_RATE
from xcorpus.features import hf_common
from xcorpus.features.encoder import (
    Embedding,
    ItemError,
    ModelNotFoundError,
    autocast,
    checked_signal,
    resolve_device,
)

MODALITY = "audio"
EXAMPLE = "microsoft/wavlm-base-plus"

versions = hf_common.versions


def load(
    model: str,
    layer: str | int | list[int] = "last",
    device: str = "auto",
    dtype: str = "float32",
    batch_seconds: float = 60.0,
) -> "AudioEncoder":
    """The encoder in directory `model`; a batch holds at most `batch_seconds` of padded audio."""
    path = hf_common.model_dir(model, EXAMPLE)
    if not (path / "preprocessor_config.json").is_file():
        raise ModelNotFoundError(
            f"model directory {path} has no preprocessor_config.json (the feature extractor); "
            f"download the whole repository, e.g. `hf download {EXAMPLE} --local-dir DIR`"
        )
    if batch_seconds <= 0:
        raise ValueError(f"batch_seconds must be positive, got {batch_seconds}")
    device = resolve_device(device)
    autocast(dtype, device)  # refuse a bad dtype before loading anything
    hf_common.offline()
    from transformers import AutoFeatureExtractor

    extractor = AutoFeatureExtractor.from_pretrained(path, local_files_only=True)
    if extractor.sampling_rate != SAMPLE_RATE:
        raise ValueError(f"{path} expects {extractor.sampling_rate} Hz audio, not {SAMPLE_RATE}")
    network = hf_common.load_checked(path).to(device)
    if getattr(network.config, "add_adapter", False):
        raise ValueError(f"{path}: models with an adapter after the encoder are not supported")
    return AudioEncoder(path, network, extractor, layer, device, dtype, batch_seconds)


class AudioEncoder:
    """A loaded speech encoder: signals in, one `Embedding` per signal out, in input order."""

    def __init__(
        self,
        path: Path,
        network: Any,
        extractor: Any,
        layer: str | int | list[int],
        device: str,
        dtype: str,
        batch_seconds: float,
    ) -> None:
        config = network.config
        self.network, self.extractor, self.device, self.dtype = network, extractor, device, dtype
        self.layers = hf_common.layer_indices(layer, config.num_hidden_layers)
        self.max_samples = batch_seconds * SAMPLE_RATE
        # data2vec-audio has no GroupNorm option: its CNN always normalises per frame.
        self.norm = getattr(config, "feat_extract_norm", "layer")
        self.dim = config.hidden_size
        self.frame_rate = SAMPLE_RATE / math.prod(config.conv_stride)
        self.metadata = hf_common.identity(path) | {
            "architecture": type(network).__name__,
            "layer": str(layer if self.layers is None else self.layers),
            "dtype": dtype,
            "device": device,
            "feat_extract_norm": self.norm,
            "do_normalize": str(extractor.do_normalize),
        }
        self._valid_frames: Any = None  # of the batch being run, for the padding hooks
        for conv in getattr(getattr(network.encoder, "pos_conv_embed", None), "layers", []):
            conv.register_forward_pre_hook(self._zero_padding)

    def __call__(self, signals: list[np.ndarray]) -> list[Embedding]:
        signals = [checked_signal(i, s) for i, s in enumerate(signals)]
        lengths = [len(s) for s in signals]
        self._check_frames(lengths)
        out: dict[int, Embedding] = {}
        for group in self._groups(lengths):
            out |= zip(group, self._run([signals[i] for i in group]), strict=True)
        return [out[i] for i in range(len(signals))]

    def _check_frames(self, lengths: list[int]) -> None:
        """Refuse a signal too short for one frame (by the model's own conv formula)."""
        import torch

        counts = self.network._get_feat_extract_output_lengths(torch.tensor(lengths)).tolist()
        for i, (n, count) in enumerate(zip(lengths, counts, strict=True)):
            if count < 1:
                raise ItemError(
                    i, f"item {i}: {n} samples give no frame of {self.metadata['model']}"
                )

    def _groups(self, lengths: list[int]) -> list[list[int]]:
        """Indices by increasing length, cut so batch size x longest <= batch_seconds; GroupNorm
        models only batch items of identical length (padding would change their features)."""
        groups: list[list[int]] = []
        for i in sorted(range(len(lengths)), key=lengths.__getitem__):
            group = groups[-1] if groups else []
            full = (len(group) + 1) * lengths[i] > self.max_samples
            if not group or full or (self.norm == "group" and lengths[group[0]] != lengths[i]):
                groups.append([i])
            else:
                group.append(i)
        return groups

    def _run(self, batch: list[np.ndarray]) -> list[Embedding]:
        """One padded forward pass; per item its valid frames and their mean."""
        import torch

        inputs = self.extractor(
            batch,
            sampling_rate=SAMPLE_RATE,
            padding=True,  # do_normalize then normalises each item over its own samples
            return_attention_mask=True,
            return_tensors="pt",
        )
        mask = inputs["attention_mask"]
        self._valid_frames = self.network._get_feat_extract_output_lengths(mask.sum(-1))
        with torch.inference_mode(), autocast(self.dtype, self.device):
            output = self.network(
                inputs["input_values"].to(self.device),
                attention_mask=mask.to(self.device) if self.norm == "layer" else None,
                output_hidden_states=self.layers is not None,
            )
        hidden = hf_common.pick_layer(output, self.layers).float().cpu().numpy()
        return [
            Embedding(vector=h[:n].mean(0), frames=h[:n])
            for h, n in zip(hidden, self._valid_frames.tolist(), strict=True)
        ]

    def _zero_padding(self, _module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Zero the padded frames of a (batch, dim, time) input, as a lone item's conv sees them."""
        import torch

        (hidden,) = args
        positions = torch.arange(hidden.shape[-1], device=hidden.device)
        valid = positions[None, :] < self._valid_frames.to(hidden.device)[:, None]
        return (hidden * valid[:, None, :].to(hidden.dtype),)

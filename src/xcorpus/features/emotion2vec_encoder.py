"""The emotion2vec encoder: padded batches through the model's own modules, made exact.

FunASR's `generate` runs each waveform alone through the model. Here each waveform is normalised
alone before zero padding, padded frames are zeroed before every positional-conv layer,
attention gets a key padding mask, the 10 extra tokens are dropped and only each item's valid
frames are kept and averaged; the output equals one-at-a-time `generate` output (cosine
≥ 0.9999 per utterance and per frame, with equal frame counts, tested on a tiny random model;
base-size figures in BENCHMARKS.md, "emotion2vec: our encoder against FunASR `generate`").
CUDA runs padded batches of at most `batch_seconds` of padded audio; CPU runs one item at a
time, the faster exact path there (see `Emotion2vecEncoder.max_items`).

Layers: None is what `generate` returns (the output of the final block, after the final norm if
the config has one); otherwise 0-based block indices counting the prenet blocks first
(`modality_encoders.AUDIO.context_encoder.blocks`, then `blocks`: 0..11 for the base models),
whose outputs are averaged. FunASR's `layer_results` are not block outputs (they hold the FFN
output before the residual and norm), so blocks are read with hooks.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xcorpus.audio import SAMPLE_RATE
from xcorpus.features import encoder
from xcorpus.features.encoder import Embedding, ItemError

FRAME_RATE = 50.0
# The ALiBi cache keeps the largest bias ever built (batch x heads x frames^2 floats); drop it
# when it grows past this many elements (512 MiB in float32).
ALIBI_CACHE_MAX = 1 << 27


def frame_count(samples: int, spec: Sequence[tuple[int, int, int]]) -> int:
    """Frames the conv feature extractor gives for `samples` (FunASR's formula, no padding)."""
    length = samples
    for _, kernel, stride in spec:
        length = (length - kernel) // stride + 1
    return max(length, 0)


def parse_layer(layer: str | int | list[int], n_blocks: int) -> list[int] | None:
    """Block indices to average, or None for the model's final output."""
    if layer == "last":
        return None
    indices = [layer] if isinstance(layer, int) else layer
    if (
        not isinstance(indices, list)
        or not indices
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in indices)
    ):
        raise ValueError(f"layer must be 'last', an int or a list of ints, got {layer!r}")
    bad = [i for i in indices if not 0 <= i < n_blocks]
    if bad:
        raise ValueError(f"layer {bad} out of range: this model has blocks 0..{n_blocks - 1}")
    return indices


def batches(lengths: Sequence[int], max_samples: float, max_items: int | None) -> list[list[int]]:
    """Longest-first groups whose padded size (items x longest) stays within `max_samples`.

    An item longer than the budget runs alone.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    groups: list[list[int]] = []
    for i in order:
        group = groups[-1] if groups else None
        if (
            group
            and (len(group) + 1) * lengths[group[0]] <= max_samples
            and (max_items is None or len(group) < max_items)
        ):
            group.append(i)
        else:
            groups.append([i])
    return groups


def padding_is_exact(model) -> bool:
    """Whether padded batches give one-at-a-time output for this model.

    Not with the group-norm conv extractor (`extractor_mode: default`): its norm spans time,
    padding included. The released emotion2vec models use `layer_norm`.
    """
    return model.modality_encoders["AUDIO"].modality_cfg.extractor_mode == "layer_norm"


@dataclass
class Emotion2vecEncoder:
    """A loaded emotion2vec model: `__call__` maps 16 kHz signals to embeddings, in order."""

    model: Any  # funasr's Emotion2vec (funasr is untyped), on `device`, in eval mode
    device: str
    dtype: str
    layers: list[int] | None
    batch_seconds: float
    dim: int
    metadata: dict[str, str]
    frame_rate: float = FRAME_RATE
    # Items per padded batch; None: only `batch_seconds` bounds a batch. CPU runs one at a time,
    # the fastest exact path measured there (BENCHMARKS.md, "emotion2vec: our encoder against
    # FunASR `generate`"). Tests set None to run padded batches on CPU.
    max_items: int | None = None

    def __call__(self, signals: list[np.ndarray]) -> list[Embedding]:
        waves = [self.validate(i, x) for i, x in enumerate(signals)]
        out: dict[int, np.ndarray] = {}  # frames by item; every item is in exactly one group
        groups = batches([len(w) for w in waves], self.batch_seconds * SAMPLE_RATE, self.max_items)
        for group in groups:
            out |= zip(group, self.forward([waves[i] for i in group]), strict=True)
        bad = [i for i in range(len(waves)) if not np.isfinite(out[i]).all()]
        if bad:
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise ItemError(bad[0], f"emotion2vec gave NaN or inf features for item {bad[0]}{more}")
        return [Embedding(vector=out[i].mean(axis=0), frames=out[i]) for i in range(len(waves))]

    def validate(self, index: int, signal: np.ndarray) -> np.ndarray:
        """The signal as float32, or an ItemError if it is not a finite 1-D signal of at least one
        frame."""
        wave = encoder.checked_signal(index, signal)
        if frame_count(len(wave), self.spec) == 0:
            raise ItemError(
                index,
                f"item {index} is too short for emotion2vec: {len(wave)} samples "
                f"({len(wave) / SAMPLE_RATE:.4f} s) give no frame",
            )
        return wave

    @property
    def spec(self) -> list[tuple[int, int, int]]:
        return self.model.modality_encoders["AUDIO"].feature_enc_layers

    def forward(self, waves: list[np.ndarray]) -> list[np.ndarray]:
        """Valid frames (T_i, dim) float32 of one padded batch, in the order given."""
        import torch

        audio = self.model.modality_encoders["AUDIO"]
        lengths = [frame_count(len(w), self.spec) for w in waves]
        source, padding = self.pad(waves)
        captured: dict[int, torch.Tensor] = {}
        frame_mask = torch.arange(max(lengths), device=self.device) < torch.tensor(
            lengths, device=self.device
        ).unsqueeze(1)
        hooks = [
            conv.register_forward_pre_hook(lambda _, args: (args[0] * frame_mask.unsqueeze(1),))
            for conv in audio.relative_positional_encoder.modules()
            if isinstance(conv, torch.nn.Conv1d)
        ]
        blocks = [*audio.context_encoder.blocks, *self.model.blocks]
        for index in self.layers or []:
            hooks.append(
                blocks[index].register_forward_hook(
                    lambda _, __, output, index=index: captured.__setitem__(index, output[0])
                )
            )
        try:
            with torch.inference_mode(), encoder.autocast(self.dtype, self.device):
                x = self.model.extract_features(source, padding_mask=padding)["x"]
        finally:
            for hook in hooks:
                hook.remove()
            if sum(b.numel() for b in self.model.alibi_biases.values()) > ALIBI_CACHE_MAX:
                self.model.alibi_biases.clear()
        if self.layers is not None:
            extra = audio.modality_cfg.num_extra_tokens
            x = torch.stack([captured[i][:, extra:] for i in self.layers]).float().mean(0)
        x = x.float().cpu().numpy()
        return [x[b, :n] for b, n in enumerate(lengths)]

    def pad(self, waves: list[np.ndarray]):
        """(B, N) waveforms, each normalised alone if the config says so, and the padding mask."""
        import torch
        import torch.nn.functional as F

        longest = max(len(w) for w in waves)
        source = torch.zeros(len(waves), longest, device=self.device)
        padding = torch.ones(len(waves), longest, dtype=torch.bool, device=self.device)
        for b, wave in enumerate(waves):
            x = torch.from_numpy(wave).to(self.device)
            if self.model.cfg.get("normalize"):
                x = F.layer_norm(x, x.shape)
            source[b, : len(wave)] = x
            padding[b, : len(wave)] = False
        return source, padding

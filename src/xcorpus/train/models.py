"""The classifier: standardise each modality, project it, fuse, and classify into 4 classes.

Standardisation statistics are buffers of the model, so a saved model evaluates any corpus with
the statistics of the data it was trained on. Under a feature_normalisation other than `train`
they are the identity, the inputs coming normalised (xcorpus.train.normalise) or not at all.

A model built with `sequences` takes each modality as a SequenceBatch of padded frames (audio)
or tokens (text) and cross-attends over them; that is only meaningful for cross_attention over
two modalities, so concat, gated and single-modality models always take utterance vectors.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from xcorpus.difficulty import COMMON_SCALE, VAD_COLUMNS
from xcorpus.labels import CLASSES
from xcorpus.tables import atomic
from xcorpus.train.sequences import SequenceBatch, Sequences
from xcorpus.train.settings import Settings

FUSIONS = ("concat", "gated", "cross_attention")


@dataclass(frozen=True)
class ModelConfig:
    input_dims: dict[str, int]  # modality -> feature dimension, in fusion order
    hidden_dim: int
    fusion: str
    num_heads: int
    dropout: float
    sequences: bool = False  # inputs are SequenceBatches (cross_attention over two modalities)
    task: str = "categorical"  # categorical | dimensional | multitask: which heads exist

    @classmethod
    def from_settings(
        cls, settings: Settings, input_dims: dict[str, int], sequences: bool = False
    ) -> "ModelConfig":
        return cls(
            input_dims=input_dims,
            hidden_dim=settings.fusion_hidden_dim,
            fusion=settings.fusion_type,
            num_heads=settings.num_attention_heads,
            dropout=settings.dropout,
            sequences=sequences,
            task=settings.task,
        )


def standardisation(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and std of the training matrix; constant features get std 1."""
    x64 = x.double()
    mean, std = x64.mean(dim=0), x64.std(dim=0, correction=0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return mean.float(), std.float()


def sequence_standardisation(
    sequences: Sequences, chunk: int = 16384
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and std over every frame of the training sequences (so a long utterance
    weighs as many frames as it has); constant features get std 1.

    This streams over the frames (no padding) `chunk` frames at a time in row order (float32
    statistics per chunk, merged in float64 with Chan et al.'s pairwise update), never making a
    dense copy of them all. The statistics are of the stored frames: sequences already
    standardised by feature normalisation are refused.
    """
    if sequences.scale is not None:
        raise ValueError("the sequences are already standardised")
    index = sequences.frame_index()
    if not len(index):
        raise ValueError("no frames to standardise with")
    mean = torch.zeros(sequences.dim, dtype=torch.float64, device=index.device)
    squares, seen = torch.zeros_like(mean), 0
    for positions in index.split(chunk):
        part = sequences.values[positions]
        var_part, mean_part = torch.var_mean(part.float(), dim=0, correction=0)
        k, delta = len(part), mean_part.double() - mean
        mean += delta * k / (seen + k)
        squares += var_part.double() * k + delta**2 * seen * k / (seen + k)
        seen += k
    std = (squares / seen).sqrt()
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return mean.float(), std.float()


class ModalityEncoder(nn.Module):
    """Standardise with training statistics, then project to the shared hidden size."""

    mean: torch.Tensor  # buffers, registered in __init__
    std: torch.Tensor

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, hidden_dim: int, dropout: float):
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())
        self.project = nn.Sequential(
            nn.Linear(len(mean), hidden_dim), nn.GELU(), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project((x - self.mean) / self.std)


class ConcatFusion(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cat([a, b], dim=-1)


class GatedFusion(nn.Module):
    """A learned per-unit sigmoid gate decides how much of each modality to keep."""

    def __init__(self, hidden_dim: int):
        super().__init__()
        self.gate = nn.Linear(2 * hidden_dim, hidden_dim)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.gate(torch.cat([a, b], dim=-1)))
        return g * a + (1 - g) * b


class _CrossAttention(nn.Module):
    """Each modality attends to the other, with residual + LayerNorm: what both
    cross-attention fusions share (they differ in what they take, vectors or sequences)."""

    announcement: str

    def __init__(self, hidden_dim: int, num_heads: int, dropout: float):
        super().__init__()
        if hidden_dim % num_heads:
            raise ValueError(
                f"fusion_hidden_dim {hidden_dim} must be divisible by num_attention_heads "
                f"{num_heads}"
            )
        self.a_to_b = nn.MultiheadAttention(hidden_dim, num_heads, dropout, batch_first=True)
        self.b_to_a = nn.MultiheadAttention(hidden_dim, num_heads, dropout, batch_first=True)
        self.norm_a = nn.LayerNorm(hidden_dim)
        self.norm_b = nn.LayerNorm(hidden_dim)
        print(self.announcement)

    def attend(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        pad_a: torch.Tensor | None = None,
        pad_b: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, length, hidden) a and b after attending to each other's unpadded positions."""
        a_att, _ = self.a_to_b(a, b, b, key_padding_mask=pad_b, need_weights=False)
        b_att, _ = self.b_to_a(b, a, a, key_padding_mask=pad_a, need_weights=False)
        return self.norm_a(a + a_att), self.norm_b(b + b_att)


class CrossAttentionFusion(_CrossAttention):
    """Each modality attends to the other, with residual + LayerNorm, then both are concatenated.

    With utterance-level features each modality is one token, so the attention weights are all 1
    and this reduces to a learned value/output projection of the other modality; it is kept for
    parity with the seed's configurations.
    """

    announcement = (
        "cross_attention over one token per modality: utterance-level features carry no sequence"
    )

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = self.attend(a.unsqueeze(1), b.unsqueeze(1))
        return torch.cat([a, b], dim=-1).squeeze(1)


class SequenceCrossAttentionFusion(_CrossAttention):
    """Cross-attention between the two modalities' sequences (audio frames <-> text tokens),
    each side then mean-pooled over its own unpadded positions, and the two concatenated.

    Padding is masked everywhere it could enter (keys, pooling), so padding a batch to a longer
    length leaves every item's output unchanged.
    """

    announcement = (
        "cross_attention over sequences: audio frames attend to text tokens and text tokens "
        "to audio frames, with key padding masks"
    )

    def forward(self, a: SequenceBatch, b: SequenceBatch) -> torch.Tensor:
        a_out, b_out = self.attend(a.frames, b.frames, a.padding, b.padding)
        return torch.cat([masked_mean(a_out, a.padding), masked_mean(b_out, b.padding)], dim=-1)


def masked_mean(x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
    """Mean of (batch, length, hidden) x over the positions where `padding` is False."""
    valid = (~padding).unsqueeze(-1)
    total = x.masked_fill(~valid, 0.0).sum(dim=1)
    return total / valid.sum(dim=1).clamp(min=1)


def build_fusion(config: ModelConfig) -> tuple[nn.Module | None, int]:
    """The fusion module (None for one modality) and the width of what it outputs."""
    h = config.hidden_dim
    if len(config.input_dims) == 1:
        return None, h
    if config.fusion == "concat":
        return ConcatFusion(), 2 * h
    if config.fusion == "gated":
        return GatedFusion(h), h
    if config.fusion == "cross_attention":
        kind = SequenceCrossAttentionFusion if config.sequences else CrossAttentionFusion
        return kind(h, config.num_heads, config.dropout), 2 * h
    raise ValueError(f"unknown fusion_type {config.fusion!r}; known: {', '.join(FUSIONS)}")


class EmotionClassifier(nn.Module):
    """Input: modality -> (batch, dim) utterance vectors, or with `config.sequences` modality ->
    SequenceBatch; `stats` are the matching training statistics (`standardisation` of the
    vectors, `sequence_standardisation` of the sequences)."""

    def __init__(self, config: ModelConfig, stats: dict[str, tuple[torch.Tensor, torch.Tensor]]):
        super().__init__()
        if config.sequences and (config.fusion != "cross_attention" or len(config.input_dims) != 2):
            raise ValueError(
                "sequences are used only by cross_attention over two modalities; fusion "
                f"{config.fusion} over {', '.join(config.input_dims)} takes utterance vectors"
            )
        self.config = config
        h = config.hidden_dim
        self.encoders = nn.ModuleDict(
            {m: ModalityEncoder(*stats[m], h, config.dropout) for m in config.input_dims}
        )
        self.fusion, width = build_fusion(config)
        if config.task != "dimensional":
            self.head = _head(width, h, config.dropout, len(CLASSES))
        if config.task != "categorical":
            self.vad_head = _head(width, h, config.dropout, len(VAD_COLUMNS))

    def forward(self, x: dict[str, torch.Tensor | SequenceBatch]) -> torch.Tensor:
        """Class logits (n x 4)."""
        if self.config.task == "dimensional":
            raise TypeError("a task dimensional model has no class head; call outputs()")
        return self.head(self.embed(x))

    def outputs(
        self, x: dict[str, torch.Tensor | SequenceBatch]
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(class logits or None, V/A/D or None) from one pass through the shared encoder.

        V/A/D is predicted on the common 1-5 scale, as an offset from its midpoint 3, so an
        untrained head starts in the middle of the scale rather than at 0, outside it.
        """
        return self.heads(self.embed(x))

    def heads(self, shared: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(class logits or None, V/A/D or None) of the shared representation `embed` gives."""
        logits = self.head(shared) if self.config.task != "dimensional" else None
        vad = self.vad_head(shared) + VAD_MIDPOINT if self.config.task != "categorical" else None
        return logits, vad

    def embed(self, x: dict[str, torch.Tensor | SequenceBatch]) -> torch.Tensor:
        """The shared representation the class head reads (other heads may read it too)."""
        if self.config.sequences:
            assert self.fusion is not None  # __init__: sequences go to a two-modality fusion
            return self.fusion(*[self._encode_sequence(m, x[m]) for m in self.encoders])
        hidden = [encoder(x[m]) for m, encoder in self.encoders.items()]
        return hidden[0] if self.fusion is None else self.fusion(*hidden)

    def _encode_sequence(self, modality: str, batch: torch.Tensor | SequenceBatch) -> SequenceBatch:
        """Project every frame; padded positions are zeroed so whatever they held stays out."""
        if not isinstance(batch, SequenceBatch):
            raise TypeError(f"this model takes {modality} as a SequenceBatch (Sequences.batch)")
        hidden = self.encoders[modality](batch.frames)
        return SequenceBatch(hidden.masked_fill(batch.padding.unsqueeze(-1), 0.0), batch.padding)


VAD_MIDPOINT = sum(COMMON_SCALE) / 2


def _head(width: int, hidden: int, dropout: float, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, outputs)
    )


def save_checkpoint(model: EmotionClassifier, path: Path) -> None:
    """Weights, standardisation and config as plain tensors/dicts (torch.load weights_only)."""
    checkpoint = {
        "state_dict": model.state_dict(),
        "standardisation": {
            m: {"mean": enc.mean, "std": enc.std} for m, enc in model.encoders.items()
        },
        "config": asdict(model.config),
        "classes": list(CLASSES),
    }
    with atomic(path) as tmp:
        torch.save(checkpoint, tmp)


def load_model(path: Path, device: torch.device | str = "cpu") -> EmotionClassifier:
    """A model saved by save_checkpoint, in eval mode."""
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    stats = {m: (s["mean"], s["std"]) for m, s in checkpoint["standardisation"].items()}
    model = EmotionClassifier(ModelConfig(**checkpoint["config"]), stats)
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()

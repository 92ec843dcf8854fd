"""The classifier: standardise each modality, project it, fuse, and classify into 4 classes.

Standardisation statistics are buffers of the model, so a saved model evaluates any corpus with
the statistics of the data it was trained on (a test corpus's own statistics would leak it).
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from xcorpus.labels import CLASSES
from xcorpus.tables import atomic

FUSIONS = ("concat", "gated", "cross_attention")


@dataclass(frozen=True)
class ModelConfig:
    input_dims: dict[str, int]  # modality -> feature dimension, in fusion order
    hidden_dim: int
    fusion: str
    num_heads: int
    dropout: float

    @classmethod
    def from_experiment(cls, experiment: dict, input_dims: dict[str, int]) -> "ModelConfig":
        return cls(
            input_dims=input_dims,
            hidden_dim=experiment["fusion_hidden_dim"],
            fusion=experiment["fusion_type"],
            num_heads=experiment["num_attention_heads"],
            dropout=experiment["dropout"],
        )


def standardisation(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and std of the training matrix; constant features get std 1."""
    x64 = x.double()
    mean, std = x64.mean(dim=0), x64.std(dim=0, correction=0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return mean.float(), std.float()


class ModalityEncoder(nn.Module):
    """Standardise with training statistics, then project to the shared hidden size."""

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


class CrossAttentionFusion(nn.Module):
    """Each modality attends to the other, with residual + LayerNorm, then both are concatenated.

    With utterance-level features each modality is one token, so the attention weights are all 1
    and this reduces to a learned value/output projection of the other modality; it is kept for
    parity with the seed's configurations.
    """

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
        print(
            "cross_attention over one token per modality: "
            "utterance-level features carry no sequence"
        )

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = a.unsqueeze(1), b.unsqueeze(1)
        a_att, _ = self.a_to_b(a, b, b, need_weights=False)
        b_att, _ = self.b_to_a(b, a, a, need_weights=False)
        fused = [self.norm_a(a + a_att), self.norm_b(b + b_att)]
        return torch.cat(fused, dim=-1).squeeze(1)


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
        return CrossAttentionFusion(h, config.num_heads, config.dropout), 2 * h
    raise ValueError(f"unknown fusion_type {config.fusion!r}; known: {', '.join(FUSIONS)}")


class EmotionClassifier(nn.Module):
    def __init__(self, config: ModelConfig, stats: dict[str, tuple[torch.Tensor, torch.Tensor]]):
        super().__init__()
        self.config = config
        h = config.hidden_dim
        self.encoders = nn.ModuleDict(
            {m: ModalityEncoder(*stats[m], h, config.dropout) for m in config.input_dims}
        )
        self.fusion, width = build_fusion(config)
        self.head = nn.Sequential(
            nn.Linear(width, h), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(h, len(CLASSES))
        )

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = [encoder(x[m]) for m, encoder in self.encoders.items()]
        fused = hidden[0] if self.fusion is None else self.fusion(*hidden)
        return self.head(fused)


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

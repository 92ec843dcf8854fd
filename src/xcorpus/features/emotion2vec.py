"""emotion2vec utterance and frame embeddings through FunASR, with exact padded batching.

FunASR's `generate` runs each waveform alone through the model. This backend builds the model
with FunASR (so its config handling and weights are FunASR's) and runs padded batches through the
model's own modules, made exact: each waveform is normalised alone before zero padding, padded
frames are zeroed before every positional-conv layer, attention gets a key padding mask, the 10
extra tokens are dropped and only each item's valid frames are kept and averaged. On random
tiny and base-size models, batched output matches one-at-a-time `generate` output to
1 - cos < 1e-12 per utterance and per frame (cosine in float64), with equal frame counts.
CUDA runs padded batches of at most `batch_seconds` of padded audio; CPU runs one item at a
time, which measured faster there (see `Emotion2vecEncoder.max_items`).

`model` is a local directory or a ModelScope hub id. It is a hub id when it is exactly
`owner/name` (one `/`, not starting with `.`, `/` or `~`) and no such local path exists;
anything else is a local path. A local directory holds either `config.yaml` + `model.pt`
(+ optional `tokens.txt`) or the ModelScope layout (`configuration.json` whose
`file_path_metas` name the `config` and `init_param` files). A hub id is downloaded into the
ModelScope cache when the hub answers within a few seconds; otherwise loading fails at once.

`layer` is "last" (what `generate` returns: the output of the final block, after the final
norm if the config has one), a 0-based block index counting the prenet blocks first
(`modality_encoders.AUDIO.context_encoder.blocks`, then `blocks`: 0..11 for the base models),
or a list of such indices whose outputs are averaged. FunASR's `layer_results` are not block
outputs (they hold the FFN output before the residual and norm), so blocks are read with hooks.

Weights are checked: FunASR silently skips checkpoint tensors of the wrong shape and only warns
about missing ones. Every parameter and buffer of the built model must be in the checkpoint with
its shape, except the pretraining decoder and the classification head (`proj`), which the
features never use (plus checkpoints ship without the decoder). Checkpoint keys the model lacks
are an error (a config that does not fit the checkpoint, e.g. fewer blocks) unless they belong to
the decoder, the head or an EMA teacher.

dtype: float32, or bfloat16/float16 autocast on CUDA; bfloat16 autocast on CPU. Measured on CPU
(random weights, 12 clips of 0.4-8 s, layer "last" and 0), worst cosine of bfloat16 to float32
per utterance / per frame: tiny model 0.99996 / 0.9975, base size 0.99998 / 0.99984. bfloat16
is not exact: keep float32 for features that must reproduce.
"""

import contextlib
import io
import json
import logging
import os
import random
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from xcorpus.audio import SAMPLE_RATE
from xcorpus.features import encoder
from xcorpus.features.encoder import Embedding, ItemError, ModelNotFoundError

MODALITY = "audio"
FRAME_RATE = 50.0
HUB_TIMEOUT_S = 3.0
# Keys the features never read: the pretraining decoder, the classification head, an EMA
# teacher. They may be missing from, or extra in, a checkpoint.
UNUSED_KEYS = ("modality_encoders.AUDIO.decoder.", "proj.", "_ema", "ema.")
# The ALiBi cache keeps the largest bias ever built (batch x heads x frames^2 floats); drop it
# when it grows past this many elements (512 MiB in float32).
ALIBI_CACHE_MAX = 1 << 27
GET_MODEL = (
    "Get it with `modelscope download --model iic/emotion2vec_plus_base --local_dir DIR`, or "
    "`git clone https://www.modelscope.cn/iic/emotion2vec_plus_base.git DIR`, or from Hugging "
    "Face `git clone https://huggingface.co/emotion2vec/emotion2vec_plus_base DIR` "
    "(emotion2vec_base and emotion2vec_plus_large likewise), then point `model:` at DIR."
)
EXPECTED_FILES = (
    "config.yaml and model.pt (optional tokens.txt), or a ModelScope configuration.json whose "
    "file_path_metas name its config and init_param files"
)


def versions() -> dict[str, str]:
    """Packages whose version can change the features."""
    return {name: version(name) for name in ("funasr", "torch")}


def is_hub_id(model: str) -> bool:
    """`owner/name` that is not a local path (see the module docstring)."""
    return (
        model.count("/") == 1
        and not model.startswith((".", "/", "~"))
        and "\\" not in model
        and not Path(model).exists()
    )


def hub_reachable(timeout: float = HUB_TIMEOUT_S) -> bool:
    """Whether the ModelScope hub (`MODELSCOPE_DOMAIN` or its default) accepts a connection."""
    domain = os.environ.get("MODELSCOPE_DOMAIN", "www.modelscope.cn")
    url = urlsplit(domain if "://" in domain else f"https://{domain}")
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def checkpoint_path(model_dir: Path) -> Path:
    """The weights file of a local model directory, or ModelNotFoundError saying what is missing."""
    if not model_dir.is_dir():
        raise ModelNotFoundError(
            f"emotion2vec model directory {model_dir} does not exist; expected a directory with "
            f"{EXPECTED_FILES}. {GET_MODEL}"
        )
    if (model_dir / "configuration.json").is_file():
        metas = json.loads((model_dir / "configuration.json").read_text()).get("file_path_metas")
        metas = metas if isinstance(metas, dict) else {}
        files = [model_dir / str(metas.get(k, "")) for k in ("config", "init_param")]
        if all(metas.get(k) for k in ("config", "init_param")) and all(f.is_file() for f in files):
            return files[1]
    elif (model_dir / "config.yaml").is_file() and (model_dir / "model.pt").is_file():
        return model_dir / "model.pt"
    raise ModelNotFoundError(
        f"emotion2vec model directory {model_dir} is incomplete: expected {EXPECTED_FILES}, "
        f"found {sorted(p.name for p in model_dir.iterdir())}. {GET_MODEL}"
    )


def download(hub_id: str) -> Path:
    """A hub model's local directory (downloaded into the ModelScope cache if needed)."""
    if not hub_reachable():
        raise ModelNotFoundError(
            f"emotion2vec model {hub_id!r} looks like a hub id, but the ModelScope hub is not "
            f"reachable (no network?) and no local directory of that name exists. {GET_MODEL}"
        )
    from modelscope.hub.snapshot_download import snapshot_download

    try:
        with quiet():
            return Path(snapshot_download(hub_id))
    except Exception as error:  # the hub's errors vary by version; all mean "not available"
        raise ModelNotFoundError(
            f"emotion2vec model {hub_id!r} could not be downloaded ({error}). {GET_MODEL}"
        ) from error


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep FunASR's prints, info logs and global side effects out of the caller's process.

    FunASR prints to stdout, calls `logging.basicConfig` (a NullHandler on the root logger makes
    that a no-op) and reseeds every random generator (their states are restored).
    """
    import torch

    root = logging.getLogger()
    handler = logging.NullHandler()
    disabled = root.manager.disable
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    root.addHandler(handler)
    logging.disable(max(disabled, logging.WARNING))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(disabled)
        root.removeHandler(handler)
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


def state_dict(path: Path) -> dict:
    """The checkpoint's tensors, unwrapped the way FunASR unwraps them."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model_state_dict", "model"):
        state = state.get(key, state)
    return {k.removeprefix("module."): v for k, v in state.items()}


def check_weights(model, path: Path) -> None:
    """ValueError unless every encoder tensor of `model` came from the checkpoint at `path`."""
    wanted = {k: v.shape for k, v in model.state_dict().items() if not k.startswith(UNUSED_KEYS)}
    found = state_dict(path)
    problems = [
        f"{k} missing" if k not in found else f"{k} {tuple(found[k].shape)} != {tuple(shape)}"
        for k, shape in wanted.items()
        if k not in found or found[k].shape != shape
    ]
    problems += [f"{k} unexpected" for k in found if k not in wanted and not unused(k)]
    if problems:
        raise ValueError(
            f"emotion2vec checkpoint {path} does not fit its config ({len(problems)} tensors): "
            + "; ".join(problems[:5])
        )


def unused(key: str) -> bool:
    """Whether a checkpoint key belongs to a part the features never read."""
    return key.startswith(UNUSED_KEYS) or ".decoder." in key


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
    # the fastest exact path there. Base size, 2 threads (AMD EPYC), 60 random clips of 1-8 s:
    # 7.0 audio-s/s one at a time vs 5.4-6.2 in padded batches of <= 60 s. Tests set None to run
    # padded batches on CPU.
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


def padding_is_exact(model) -> bool:
    """Whether padded batches give one-at-a-time output for this model.

    Not with the group-norm conv extractor (`extractor_mode: default`): its norm spans time,
    padding included. The released emotion2vec models use `layer_norm`.
    """
    return model.modality_encoders["AUDIO"].modality_cfg.extractor_mode == "layer_norm"


def funasr_model(model_dir: Path, device: str):
    """FunASR's AutoModel for a local directory: offline, quiet, on `device`.

    Its `generate` is the reference this backend's padded batches are tested and measured against.
    """
    import torch

    with quiet():
        try:
            from funasr import AutoModel
        except ImportError as error:
            raise ImportError(
                "the emotion2vec backend needs FunASR: pip install 'xcorpus[emotion2vec]'"
            ) from error

        return AutoModel(
            model=str(model_dir),
            device=device,
            disable_update=True,
            disable_pbar=True,
            log_level="ERROR",
            ncpu=torch.get_num_threads(),
        )


def build(model_dir: Path, device: str):
    """FunASR's Emotion2vec for a local directory, on `device`, in eval mode."""
    auto = funasr_model(model_dir, device)
    from funasr.models.emotion2vec.model import Emotion2vec

    if not isinstance(auto.model, Emotion2vec):
        raise ValueError(f"{model_dir} holds a {type(auto.model).__name__}, not an Emotion2vec")
    return auto.model

"""Frame (audio) or token (text) sequences of a feature set: one store of frames, row views over
it, padded per batch.

Padding every utterance to the longest would cost n x T_max x dim (20k x 200 x 768 float16 is
6 GB), so the frames stay as they are stored: one float16 (total_frames, dim) store, utterance i
being the span values[starts[i]:starts[i] + lengths[i]]. A split, a corpus or a speaker group is
a view over the same store (its rows' spans), so selecting rows copies no frames. A batch
gathers its rows with one index op into (b, T, dim) float32 padded to the batch's own longest
sequence, with a key padding mask, so padded memory is bounded by batch size x T_max.

The store is filled by streaming the feature shards a record batch at a time, keeping only the
frames of the experiment's utterances. It is held in memory, or, given a directory, written
there as a raw file and memory-mapped: a training job then holds no frames in its own memory,
the kernel pages them in per batch and drops them under pressure (MSP-PODCAST's 250k utterances
of frames are ~23 GB; BENCHMARKS.md, "Training at MSP-PODCAST scale").

Feature normalisation by corpus or speaker never rewrites the store: a view carries each group's
statistics and applies them to every batch, rounding to float16 as a stored normalised frame
would be, so a batch is bit-identical to one from a normalised copy of the frames.
"""

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow.parquet as pq
import torch

from xcorpus.features.shards import iter_column

UNITS = {"audio": "frame", "text": "token"}  # what one sequence step is, for log lines
COPY_FRAMES = 1 << 18  # frames moved to another device per copy (~400 MB at 768-d)


class SequenceBatch(NamedTuple):
    """Padded sequences of a batch; unpacks as (frames, padding)."""

    frames: torch.Tensor  # (b, T, dim) float32, zero at padded positions
    padding: torch.Tensor  # (b, T) bool, True = padding (nn.MultiheadAttention's convention)


@dataclass(frozen=True)
class Standardisation:
    """Per-group statistics applied to a view's batches: row i is standardised with
    mean[group[i]] and std[group[i]]."""

    mean: torch.Tensor  # (groups, dim) float32
    std: torch.Tensor  # (groups, dim) float32
    group: torch.Tensor  # (n,) int64

    def take(self, rows: torch.Tensor) -> "Standardisation":
        return replace(self, group=self.group[rows])

    def to(self, device: torch.device | str) -> "Standardisation":
        return Standardisation(self.mean.to(device), self.std.to(device), self.group.to(device))

    def apply(self, frames: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """(b, T, dim) float32 frames of `rows` standardised, through float16 as stored."""
        group = self.group[rows]
        mean, std = self.mean[group][:, None], self.std[group][:, None]
        return ((frames - mean) / std).half().float()


@dataclass(frozen=True)
class Sequences:
    """Variable-length sequences of n utterances, row-aligned with a Split: spans of a store."""

    values: torch.Tensor  # (total_frames, dim) float16 store, possibly shared with other views
    starts: torch.Tensor  # (n,) int64; utterance i is values[starts[i]:starts[i] + lengths[i]]
    lengths: torch.Tensor  # (n,) int64 number of frames of each utterance
    scale: Standardisation | None = None  # feature normalisation applied to batches

    @classmethod
    def packed(cls, values: torch.Tensor, lengths: Sequence[int] | torch.Tensor) -> "Sequences":
        """Utterances stored back to back in `values`, of `lengths` frames each."""
        lengths = torch.as_tensor(lengths, dtype=torch.int64, device=values.device)
        return cls(values, _exclusive_cumsum(lengths), lengths)

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def dim(self) -> int:
        return self.values.shape[1]

    def take(self, rows: np.ndarray | torch.Tensor) -> "Sequences":
        """A view of rows `rows`, over the same store (no frame is copied)."""
        rows = torch.as_tensor(rows, dtype=torch.int64, device=self.starts.device)
        scale = None if self.scale is None else self.scale.take(rows)
        return Sequences(self.values, self.starts[rows], self.lengths[rows], scale)

    def standardised(self, scale: Standardisation) -> "Sequences":
        return replace(self, scale=scale)

    def frame_index(self) -> torch.Tensor:
        """Positions in `values` of every frame of the view, in row order."""
        total = int(self.lengths.sum())
        packed = _exclusive_cumsum(self.lengths)
        shift = torch.repeat_interleave(self.starts - packed, self.lengths, output_size=total)
        return torch.arange(total, device=self.starts.device) + shift

    def to(self, device: torch.device | str) -> "Sequences":
        """The view on `device`: itself where its store already is, else compacted there."""
        return self if torch.device(device) == self.values.device else self.compact(device)

    def compact(self, device: torch.device | str) -> "Sequences":
        """The view's own frames packed into a new store on `device`, copied in pieces so a
        memory-mapped store is never read whole into memory."""
        index = self.frame_index()
        values = torch.empty((len(index), self.dim), dtype=self.values.dtype, device=device)
        for at in range(0, len(index), COPY_FRAMES):
            values[at : at + COPY_FRAMES] = self.values[index[at : at + COPY_FRAMES]].to(device)
        lengths = self.lengths.to(device)
        scale = None if self.scale is None else self.scale.to(device)
        return Sequences(values, _exclusive_cumsum(lengths), lengths, scale)

    def batch(self, rows: torch.Tensor) -> SequenceBatch:
        """Rows `rows` padded to their longest sequence, as float32, with the padding mask."""
        starts, lengths = self.starts[rows], self.lengths[rows]
        steps = torch.arange(int(lengths.max()) if len(rows) else 0, device=starts.device)
        padding = steps >= lengths[:, None]
        index = torch.where(padding, starts[:, None], starts[:, None] + steps)
        frames = self.values[index].float()
        if self.scale is not None:
            frames = self.scale.apply(frames, rows)
        return SequenceBatch(frames.masked_fill(padding[..., None], 0.0), padding)

    def describe(self, modality: str) -> str:
        """E.g. `audio: 1-200 frames (mean 87.3)`, for the console."""
        lengths = self.lengths.double()
        unit = UNITS.get(modality, "step")
        return (
            f"{modality}: {int(lengths.min())}-{int(lengths.max())} {unit}s "
            f"(mean {lengths.mean():.1f})"
        )


def concat(parts: list[Sequences]) -> Sequences:
    """The rows of `parts` one after another; views of one store stay views of it."""
    values = parts[0].values
    if all(p.values is values for p in parts):
        starts = torch.cat([p.starts for p in parts])
    else:
        shifts = np.cumsum([0] + [len(p.values) for p in parts[:-1]])
        starts = torch.cat([p.starts + int(s) for p, s in zip(parts, shifts, strict=True)])
        values = torch.cat([p.values for p in parts])
    lengths = torch.cat([p.lengths for p in parts])
    scales = [p.scale for p in parts]
    if all(s is None for s in scales):
        return Sequences(values, starts, lengths)
    if any(s is None for s in scales):
        raise ValueError("cannot join standardised sequences with unstandardised ones")
    kept = [s for s in scales if s is not None]
    shifts = np.cumsum([0] + [len(s.mean) for s in kept[:-1]])
    scale = Standardisation(
        torch.cat([s.mean for s in kept]),
        torch.cat([s.std for s in kept]),
        torch.cat([s.group + int(g) for s, g in zip(kept, shifts, strict=True)]),
    )
    return Sequences(values, starts, lengths, scale)


def read_sequences(
    paths: list[Path], positions: np.ndarray, directory: Path | None = None
) -> Sequences:
    """The `frames` of feature rows `positions` (numbered over the shards of `paths`, in that
    order), one utterance per position, streamed a record batch at a time into a store held in
    memory, or memory-mapped from a file in `directory`.

    Raises ValueError when the shards hold no `frames` (features extracted with granularity
    `utterance`) or a position is not a feature row.
    """
    schema = pq.read_schema(paths[0])
    if "frames" not in schema.names:
        raise ValueError("the feature set has no frames: extract it with granularity frames")
    dim = schema.field("frames").type.value_type.list_size
    rows = sum(pq.read_metadata(p).num_rows for p in paths)
    if len(positions) and (int(np.min(positions)) < 0 or int(np.max(positions)) >= rows):
        raise ValueError("row position outside the feature set: an utterance missing from it?")
    wanted = np.zeros(rows, dtype=bool)
    wanted[positions] = True
    starts, lengths = np.zeros(rows, np.int64), np.zeros(rows, np.int64)
    store, row = _Store(dim, directory), 0
    for path in paths:
        for column in iter_column(path, "frames"):
            mine = np.flatnonzero(wanted[row : row + len(column)]) + row
            first, row = row, row + len(column)
            if not len(mine):
                continue
            offsets = column.offsets.to_numpy().astype(np.int64)
            frames = column.flatten().flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)
            counts = np.diff(offsets)[mine - first]
            begins = offsets[mine - first] - offsets[0]
            starts[mine], lengths[mine] = store.size + _packed(counts), counts
            spans = np.repeat(begins - _packed(counts), counts)
            store.append(frames[np.arange(len(spans)) + spans])
    return Sequences(
        store.finish(),
        torch.from_numpy(starts[positions]),
        torch.from_numpy(lengths[positions]),
    )


class _Store:
    """Float16 frames appended in blocks: in memory, or to a raw file mapped when finished."""

    def __init__(self, dim: int, directory: Path | None) -> None:
        self.dim, self.size = dim, 0
        self.blocks: list[np.ndarray] = []
        self.file = None
        if directory is not None:  # closed by finish; the directory's owner removes the file
            self.file = tempfile.NamedTemporaryFile(  # noqa: SIM115
                dir=directory, suffix=".f16", delete=False
            )

    def append(self, frames: np.ndarray) -> None:
        block = np.ascontiguousarray(frames, dtype=np.float16)
        if self.file is None:
            self.blocks.append(block)
        else:
            self.file.write(block.tobytes())
        self.size += len(block)

    def finish(self) -> torch.Tensor:
        if self.file is not None:
            self.file.close()
        if not self.size:
            return torch.empty((0, self.dim), dtype=torch.float16)
        if self.file is None:
            return torch.from_numpy(np.concatenate(self.blocks))
        mapped = np.memmap(self.file.name, np.float16, "r+", shape=(self.size, self.dim))
        return torch.from_numpy(mapped)


def _exclusive_cumsum(lengths: torch.Tensor) -> torch.Tensor:
    return torch.cumsum(lengths, dim=0) - lengths


def _packed(counts: np.ndarray) -> np.ndarray:
    """Where each of `counts`' spans starts when they are packed back to back."""
    return np.cumsum(counts) - counts

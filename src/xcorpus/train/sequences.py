"""Frame (audio) or token (text) sequences of a feature set, kept flat and padded per batch.

Padding every utterance to the longest would cost n x T_max x dim (20k x 200 x 768 float16 is
6 GB), so the frames stay as they are stored: one flat float16 (total_frames, dim) matrix plus
int64 offsets, utterance i being values[offsets[i]:offsets[i + 1]]. That holds exactly the
frames there are (half the bytes of float32, no padding). A batch gathers its rows with one
index op into (b, T, dim) float32 padded to the batch's own longest sequence, with a key padding
mask, so padded memory is bounded by batch size x T_max, never by the corpus.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import torch

UNITS = {"audio": "frame", "text": "token"}  # what one sequence step is, for log lines


class SequenceBatch(NamedTuple):
    """Padded sequences of a batch; unpacks as (frames, padding)."""

    frames: torch.Tensor  # (b, T, dim) float32, zero at padded positions
    padding: torch.Tensor  # (b, T) bool, True = padding (nn.MultiheadAttention's convention)


@dataclass(frozen=True)
class Sequences:
    """Variable-length sequences of n utterances, row-aligned with a Split."""

    values: torch.Tensor  # (total_frames, dim) float16, every utterance's frames back to back
    offsets: torch.Tensor  # (n + 1,) int64; utterance i is values[offsets[i]:offsets[i + 1]]

    @classmethod
    def from_table(cls, table: pa.Table, positions: np.ndarray) -> "Sequences":
        """The `frames` of rows `positions` of a feature table, in that order.

        Only the selected frames are copied out of the table. Raises ValueError when the table
        has no `frames` column (features extracted with granularity `utterance`).
        """
        if "frames" not in table.column_names:
            raise ValueError("the feature set has no frames: extract it with granularity frames")
        if len(positions) and int(np.min(positions)) < 0:
            raise ValueError("negative row position: an utterance missing from the feature set?")
        column = table.column("frames").combine_chunks()
        rows_of = column.values  # one fixed_size_list per frame; offsets index into it
        dim = rows_of.type.list_size
        flat = rows_of.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)
        offsets = torch.from_numpy(column.offsets.to_numpy().astype(np.int64))
        index, new_offsets = _gather_index(offsets, torch.as_tensor(positions, dtype=torch.int64))
        sequences = cls(torch.from_numpy(flat[index.numpy()]), new_offsets)
        if len(sequences) and int(sequences.lengths.min()) < 1:
            raise ValueError("the feature set has an utterance with an empty frame sequence")
        return sequences

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def dim(self) -> int:
        return self.values.shape[1]

    @property
    def lengths(self) -> torch.Tensor:
        """(n,) int64 number of frames of each utterance."""
        return self.offsets[1:] - self.offsets[:-1]

    def take(self, rows: np.ndarray | torch.Tensor) -> "Sequences":
        """Rows `rows`, compacted into their own flat matrix (as Split.take copies its rows), so
        moving a split to the device moves only its own frames."""
        rows = torch.as_tensor(rows, dtype=torch.int64, device=self.offsets.device)
        index, offsets = _gather_index(self.offsets, rows)
        return Sequences(self.values[index], offsets)

    def frame_index(self, rows: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Flat positions in `values` of the frames of `rows`, in row order."""
        rows = torch.as_tensor(rows, dtype=torch.int64, device=self.offsets.device)
        return _gather_index(self.offsets, rows)[0]

    def to(self, device: torch.device | str) -> "Sequences":
        return Sequences(self.values.to(device), self.offsets.to(device))

    def batch(self, rows: torch.Tensor) -> SequenceBatch:
        """Rows `rows` padded to their longest sequence, as float32, with the padding mask."""
        starts = self.offsets[rows]
        lengths = self.offsets[rows + 1] - starts
        steps = torch.arange(int(lengths.max()) if len(rows) else 0, device=starts.device)
        padding = steps >= lengths[:, None]
        index = torch.where(padding, starts[:, None], starts[:, None] + steps)
        frames = self.values[index].float().masked_fill(padding[..., None], 0.0)
        return SequenceBatch(frames, padding)

    def describe(self, modality: str) -> str:
        """E.g. `audio: 1-200 frames (mean 87.3)`, for the console."""
        lengths = self.lengths.double()
        unit = UNITS.get(modality, "step")
        return (
            f"{modality}: {int(lengths.min())}-{int(lengths.max())} {unit}s "
            f"(mean {lengths.mean():.1f})"
        )


def _gather_index(offsets: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat positions of the frames of `rows` (in row order) and the offsets of that selection,
    computed without a Python loop over rows."""
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    new_offsets = torch.zeros(len(rows) + 1, dtype=torch.int64, device=offsets.device)
    torch.cumsum(lengths, dim=0, out=new_offsets[1:])
    total = int(new_offsets[-1])
    shift = torch.repeat_interleave(starts - new_offsets[:-1], lengths, output_size=total)
    return torch.arange(total, device=offsets.device) + shift, new_offsets

"""Paired comparisons of two experiments with a V/A/D head on mean CCC (over valence, arousal
and dominance), the dimensional counterpart of xcorpus.comparisons' UAR tests.

The same two views of the difference b - a per shared test split (never validation), over the
rated utterances both were tested on:

- Paired t-test over the common seeds of each seed's mean CCC (xcorpus.comparisons.paired_t).
- Paired bootstrap over utterances: replicate r draws the split's N rated utterances N times
  with replacement, one draw for a, b and every seed; D_r is the mean over seeds of
  CCC_b - CCC_a on the draw. Reported: the 2.5th and 97.5th percentiles of D and the share of
  replicates with D_r <= 0. The generator starts from the same fixed seed for every split.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xcorpus.comparisons import BOOTSTRAP_SEED, REPLICATES, differences, write_comparisons
from xcorpus.metrics import DIMENSIONS, concordance, dimensional_metrics
from xcorpus.render import markdown_ccc_comparisons

PRED = [f"pred_{d}" for d in DIMENSIONS]
# Replicates drawn at once (N x block x 3 floats per seed and side).
BLOCK = 100

CCC_COMPARISON_SCHEMA = pa.schema(
    [
        pa.field("comparison", pa.string(), nullable=False),
        pa.field("a", pa.string(), nullable=False),
        pa.field("b", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("n_rated", pa.int64(), nullable=False),
        pa.field("n_seeds", pa.int64(), nullable=False),
        pa.field("seeds", pa.string(), nullable=False),
        pa.field("unpaired_seeds", pa.string()),
        pa.field("ccc_a", pa.float64(), nullable=False),  # mean CCC, mean over common seeds
        pa.field("ccc_b", pa.float64(), nullable=False),
        pa.field("diff_mean", pa.float64(), nullable=False),
        pa.field("diff_std", pa.float64()),
        pa.field("t", pa.float64()),
        pa.field("p", pa.float64()),
        pa.field("t_note", pa.string()),
        pa.field("boot_ci95_low", pa.float64(), nullable=False),
        pa.field("boot_ci95_high", pa.float64(), nullable=False),
        pa.field("boot_share_le0", pa.float64(), nullable=False),
        pa.field("replicates", pa.int64(), nullable=False),
    ]
)


def read_rated_splits(path: Path) -> dict[str, pd.DataFrame]:
    """A run's rated test splits: split -> true and predicted V/A/D by sorted utt_id."""
    columns = ["utt_id", "corpus", "role", *DIMENSIONS, *PRED]
    frame = pq.read_table(path, columns=columns).to_pandas()
    frame = frame[(frame["role"] != "val") & frame[list(DIMENSIONS)].notna().all(axis=1)]
    if frame[PRED].isna().any().any():
        raise ValueError(f"{path}: no V/A/D predictions (the run has no V/A/D head)")
    split = frame["corpus"].where(frame["role"] == "test", frame["corpus"] + " in-corpus")
    return {
        name: rows.set_index("utt_id").sort_index()[[*DIMENSIONS, *PRED]]
        for name, rows in frame.assign(split=split).groupby("split", sort=False)
    }


def mean_ccc(frame: pd.DataFrame) -> float:
    true, pred = frame[list(DIMENSIONS)].to_numpy(), frame[PRED].to_numpy()
    value = dimensional_metrics(true, pred)["ccc_mean"]
    if value is None:
        raise ValueError("CCC undefined (prediction and truth one constant): nothing to compare")
    return value


def bootstrap_ccc_difference(
    true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    replicates: int = REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> np.ndarray:
    """D_r for each replicate; true (N, 3), pred_a and pred_b (seeds, N, 3)."""
    rng = np.random.default_rng(seed)
    n, result = len(true), []
    for start in range(0, replicates, BLOCK):
        drawn = rng.integers(0, n, size=(n, min(BLOCK, replicates - start)))  # (N, R)
        result.append((_drawn_ccc(true, pred_b, drawn) - _drawn_ccc(true, pred_a, drawn)).mean(0))
    return np.concatenate(result)


def _drawn_ccc(true: np.ndarray, pred: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """(seeds, R) mean CCC over V/A/D of each seed's predictions on each draw; indexing with
    the (N, R) draw gives (N, R, 3), and concordance reduces axis 0, the drawn utterances."""
    t = true[drawn]
    return np.stack([concordance(t, p[drawn]).mean(axis=1) for p in pred])


def compare_ccc(
    a_runs: dict[int, Path],
    b_runs: dict[int, Path],
    *,
    name: str,
    a: str,
    b: str,
    replicates: int = REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> list[dict]:
    """One row (CCC_COMPARISON_SCHEMA) per rated test split a and b share."""
    common = sorted(set(a_runs) & set(b_runs))
    if not common:
        raise ValueError(f"comparison {name}: {a} and {b} have no seed in common")
    runs_a = [read_rated_splits(a_runs[s]) for s in common]
    runs_b = [read_rated_splits(b_runs[s]) for s in common]
    shared = [s for s in runs_a[0] if all(s in r for r in runs_a + runs_b)]
    rows = []
    for split in shared:
        frames = [r[split] for r in runs_a + runs_b]
        reference = frames[0]
        for frame in frames[1:]:
            if not frame.index.equals(reference.index) or not frame[list(DIMENSIONS)].equals(
                reference[list(DIMENSIONS)]
            ):
                raise ValueError(
                    f"comparison {name}: split {split}: {a} and {b} were not tested on the same "
                    "rated utterances with the same ratings; they are not comparable on it"
                )
        ccc_a = [mean_ccc(f) for f in frames[: len(common)]]
        ccc_b = [mean_ccc(f) for f in frames[len(common) :]]
        true = reference[list(DIMENSIONS)].to_numpy()
        stacked = np.stack([f[PRED].to_numpy() for f in frames])
        diffs = bootstrap_ccc_difference(
            true, stacked[: len(common)], stacked[len(common) :], replicates, seed
        )
        unpaired = sorted(set(a_runs) ^ set(b_runs))
        rows.append(
            {"comparison": name, "a": a, "b": b, "split": split, "n_rated": len(reference)}
            | {"ccc_a": float(np.mean(ccc_a)), "ccc_b": float(np.mean(ccc_b))}
            | differences(ccc_a, ccc_b, diffs, common, unpaired)
        )
    return rows


def write_ccc_comparisons(rows: list[dict], csv_path: Path, md_path: Path) -> str:
    return write_comparisons(
        rows, csv_path, md_path, CCC_COMPARISON_SCHEMA, markdown_ccc_comparisons
    )

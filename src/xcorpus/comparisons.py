"""Paired comparisons of two experiments (b against a) run on the same seeds.

Only splits with identical utterances in both are compared: the test corpora and in-corpus
tests they share. Validation is never compared, since each training set has its own validation
utterances. Two views of the UAR difference b - a per split:

- Paired t-test over the common seeds: seed-to-seed (training) variation, not test-sample
  variation. Undefined, with the reason given, below 2 seeds or when the difference is the same
  for every seed.
- Paired bootstrap over utterances: test-sample variation. Replicate r draws the split's N
  utterances N times with replacement; the one draw is applied to a and b and to every common
  seed (they were all tested on the same utterances). Per seed, d_rs = UAR_b - UAR_a on the
  drawn utterances (UAR over the classes present in the draw, as in `xcorpus.metrics`); the
  replicate's statistic is D_r = mean_s d_rs. Reported: the 2.5th and 97.5th percentiles of D
  (numpy's linear interpolation) and the share of replicates with D_r <= 0, a one-sided
  p-value-like figure for "b is better than a". Each split's generator starts from the same
  fixed seed, so reruns give identical numbers, whatever other splits are compared.

UAR depends on an utterance only through its label and whether each model was right, so the
bootstrap draws counts of the distinct (label, right-or-wrong per run) patterns from the
multinomial distribution those N draws with replacement follow, rather than N indices.
"""

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

from xcorpus.labels import CLASS_INDEX, CLASSES
from xcorpus.metrics import classification_metrics
from xcorpus.render import markdown_comparisons
from xcorpus.tables import write_csv, write_text

REPLICATES = 2000
BOOTSTRAP_SEED = 0
# Bound on replicates x patterns held in memory at once.
CHUNK = 1 << 22

COMPARISON_SCHEMA = pa.schema(
    [
        pa.field("comparison", pa.string(), nullable=False),
        pa.field("a", pa.string(), nullable=False),
        pa.field("b", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),  # a test corpus or "<corpus> in-corpus"
        pa.field("n_utterances", pa.int64(), nullable=False),
        pa.field("n_seeds", pa.int64(), nullable=False),  # common seeds compared
        pa.field("seeds", pa.string(), nullable=False),  # "1;2;3"
        pa.field("unpaired_seeds", pa.string()),  # seeds of only one of a, b: not compared
        pa.field("uar_a", pa.float64(), nullable=False),  # mean over the common seeds
        pa.field("uar_b", pa.float64(), nullable=False),
        pa.field("diff_mean", pa.float64(), nullable=False),  # mean over seeds of b - a
        pa.field("diff_std", pa.float64()),  # sample std (ddof=1) over seeds
        pa.field("t", pa.float64()),
        pa.field("p", pa.float64()),  # two-sided
        pa.field("t_note", pa.string()),  # why t and p are null
        pa.field("boot_ci95_low", pa.float64(), nullable=False),
        pa.field("boot_ci95_high", pa.float64(), nullable=False),
        pa.field("boot_share_le0", pa.float64(), nullable=False),
        pa.field("replicates", pa.int64(), nullable=False),
    ]
)


def paired_t(a: Sequence[float], b: Sequence[float]) -> dict:
    """Paired t-test of b - a: mean and sample std of the differences, t, two-sided p, and a
    note saying why t and p are null when the test is undefined."""
    diff = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    result = {"diff_mean": float(diff.mean()), "diff_std": None, "t": None, "p": None}
    if len(diff) < 2:
        return result | {"t_note": "fewer than 2 common seeds"}
    std = float(diff.std(ddof=1))
    result["diff_std"] = std
    if std == 0:
        return result | {"t_note": "the difference is the same for every seed"}
    t = result["diff_mean"] / (std / np.sqrt(len(diff)))
    p = 2 * stats.t.sf(abs(t), len(diff) - 1)
    return result | {"t": float(t), "p": float(p), "t_note": None}


def bootstrap_uar_difference(
    y: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    replicates: int = REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> np.ndarray:
    """D_r, the mean over seeds of UAR(b) - UAR(a) on utterances resampled with replacement,
    for each of `replicates` replicates.

    y: (N,) class indices; pred_a, pred_b: (seeds, N) predicted class indices, utterances in
    the same order as y.
    """
    patterns, counts = np.unique(
        np.column_stack([y, y[:, None] == pred_a.T, y[:, None] == pred_b.T]),
        axis=0,
        return_counts=True,
    )
    seeds = len(pred_a)
    of_class = patterns[:, 0, None] == np.arange(len(CLASSES))  # (U, classes)
    hits_a = patterns[:, 1 : 1 + seeds, None] * of_class[:, None, :]  # (U, seeds, classes)
    hits_b = patterns[:, 1 + seeds :, None] * of_class[:, None, :]
    rng = np.random.default_rng(seed)
    block = max(1, CHUNK // len(patterns))
    result = []
    for start in range(0, replicates, block):
        drawn = rng.multinomial(len(y), counts / len(y), size=min(block, replicates - start))
        totals = drawn @ of_class  # (R, classes)
        uar_a = _uar(np.einsum("ru,usc->rsc", drawn, hits_a), totals)
        uar_b = _uar(np.einsum("ru,usc->rsc", drawn, hits_b), totals)
        result.append((uar_b - uar_a).mean(axis=1))
    return np.concatenate(result)


def _uar(hits: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """(R, seeds) UAR from hits (R, seeds, classes) and class totals (R, classes), averaging
    over the classes present in each replicate."""
    present = totals > 0
    recall = np.divide(hits, totals[:, None, :], out=np.zeros(hits.shape), where=present[:, None])
    return recall.sum(axis=2) / present.sum(axis=1)[:, None]


def read_splits(path: Path) -> dict[str, pd.DataFrame]:
    """A run's test splits from its predictions.parquet: split -> (label, pred) class indices
    indexed by utt_id in sorted order. Validation, and rated utterances outside the four
    classes (dimensional_all_rated), are left out: UAR is over the four classes."""
    table = pq.read_table(path, columns=["utt_id", "corpus", "role", "label", "pred"])
    frame = table.to_pandas()
    frame = frame[(frame["role"] != "val") & frame["label"].notna()]
    # Named as in xcorpus.aggregate: a test corpus, or "<corpus> in-corpus" (its own test).
    frame = frame.assign(
        split=frame["corpus"].where(frame["role"] == "test", frame["corpus"] + " in-corpus")
    )
    splits = {}
    for split, rows in frame.groupby("split", sort=False):
        if rows["utt_id"].duplicated().any():
            raise ValueError(f"{path}: utterances repeated in split {split}")
        rows = rows.set_index("utt_id").sort_index()
        splits[split] = rows[["label", "pred"]].apply(lambda c: c.map(CLASS_INDEX))
    return splits


def compare(
    a_runs: dict[int, Path],
    b_runs: dict[int, Path],
    *,
    name: str = "comparison",
    a: str = "a",
    b: str = "b",
    replicates: int = REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> list[dict]:
    """One row (COMPARISON_SCHEMA) per split b and a share: the paired t-test and the paired
    bootstrap of the UAR difference b - a over their common seeds.

    a_runs, b_runs: seed -> predictions.parquet of a cross-corpus run. Raises ValueError when
    they have no common seed or no shared split, or when a shared split's utterances (or their
    labels) differ between runs.
    """
    common = sorted(set(a_runs) & set(b_runs))
    if not common:
        raise ValueError(f"comparison {name}: {a} and {b} have no seed in common")
    unpaired = sorted(set(a_runs) ^ set(b_runs))
    runs_a = {s: read_splits(a_runs[s]) for s in common}
    runs_b = {s: read_splits(b_runs[s]) for s in common}
    shared = [s for s in _splits(runs_a, name, a) if s in _splits(runs_b, name, b)]
    if not shared:
        raise ValueError(f"comparison {name}: {a} and {b} share no test split")
    rows = []
    for split in shared:
        frames = [runs_a[s][split] for s in common] + [runs_b[s][split] for s in common]
        _check_same_utterances(frames, f"comparison {name}: split {split}", a, b, len(common))
        y = frames[0]["label"].to_numpy()
        pred_a = np.stack([f["pred"].to_numpy() for f in frames[: len(common)]])
        pred_b = np.stack([f["pred"].to_numpy() for f in frames[len(common) :]])
        uar_a = [classification_metrics(y, p)["uar"] for p in pred_a]
        uar_b = [classification_metrics(y, p)["uar"] for p in pred_b]
        diffs = bootstrap_uar_difference(y, pred_a, pred_b, replicates, seed)
        rows.append(
            {"comparison": name, "a": a, "b": b, "split": split, "n_utterances": len(y)}
            | {"uar_a": float(np.mean(uar_a)), "uar_b": float(np.mean(uar_b))}
            | differences(uar_a, uar_b, diffs, common, unpaired)
        )
    return rows


def differences(
    a: Sequence[float], b: Sequence[float], diffs: np.ndarray, common: list, unpaired: list
) -> dict:
    """The columns every comparison row has: the seeds, the paired t-test of the per-seed
    scores `a`, `b`, and the bootstrap replicates' interval and share <= 0."""
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {
        "n_seeds": len(common),
        "seeds": ";".join(map(str, common)),
        "unpaired_seeds": ";".join(map(str, unpaired)) or None,
        **paired_t(a, b),
        "boot_ci95_low": float(low),
        "boot_ci95_high": float(high),
        "boot_share_le0": float((diffs <= 0).mean()),
        "replicates": len(diffs),
    }


def _splits(runs: dict[int, dict[str, pd.DataFrame]], name: str, experiment: str) -> list[str]:
    """The test splits every seed of one experiment has; its seeds must agree."""
    first = next(iter(runs.values()))
    for seed, splits in runs.items():
        if set(splits) != set(first):
            raise ValueError(
                f"comparison {name}: seed {seed} of {experiment} has splits {sorted(splits)}, "
                f"not {sorted(first)}"
            )
    return list(first)


def _check_same_utterances(
    frames: list[pd.DataFrame], where: str, a: str, b: str, seeds: int
) -> None:
    """Refuse a split whose runs were tested on different utterances or labels."""
    reference = frames[0]
    for i, frame in enumerate(frames):
        run = f"{a if i < seeds else b} (run {i % seeds + 1} of {seeds})"
        if not frame.index.equals(reference.index):
            only = reference.index.symmetric_difference(frame.index)
            raise ValueError(
                f"{where}: {run} was tested on other utterances than {a}'s first run "
                f"({len(only)} in only one, e.g. {', '.join(only[:3])}); {a} and {b} are not "
                "comparable on it"
            )
        if not frame["label"].equals(reference["label"]):
            raise ValueError(f"{where}: {run} labels utterances unlike {a}'s first run")


def write_comparisons(
    rows: list[dict],
    csv_path: Path,
    md_path: Path,
    schema: pa.Schema = COMPARISON_SCHEMA,
    markdown: Callable[[list[dict]], str] = markdown_comparisons,
) -> str:
    """The comparisons as CSV (`schema`) and Markdown (`markdown`: UAR's by default, CCC's in
    dimensional_comparisons); returns the Markdown."""
    write_csv(pa.Table.from_pylist(rows, schema=schema), csv_path)
    text = markdown(rows)
    write_text(text, md_path)
    return text

import itertools

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from scipy import stats

from xcorpus.comparisons import (
    bootstrap_uar_difference,
    compare,
    paired_t,
    write_comparisons,
)
from xcorpus.labels import CLASSES
from xcorpus.metrics import classification_metrics
from xcorpus.render import markdown_comparisons
from xcorpus.tables import write_parquet
from xcorpus.train.run import PREDICTIONS_SCHEMA


def write_predictions(path, splits: dict[tuple[str, str], tuple[list, np.ndarray, np.ndarray]]):
    """predictions.parquet from (corpus, role) -> (utt_ids, labels, preds) class indices."""
    rows = []
    for (corpus, role), (ids, labels, preds) in splits.items():
        for utt, label, pred in zip(ids, labels, preds, strict=True):
            probs = {f"prob_{c}": float(i == pred) for i, c in enumerate(CLASSES)}
            rows.append(
                {
                    "utt_id": utt,
                    "corpus": corpus,
                    "role": role,
                    "label": CLASSES[label],
                    "pred": CLASSES[pred],
                }
                | probs
            )
    write_parquet(pa.Table.from_pylist(rows, schema=PREDICTIONS_SCHEMA), path, PREDICTIONS_SCHEMA)
    return path


N = 200
IDS = [f"u{i:03d}" for i in range(N)]
LABELS = np.arange(N) % 4


def noisy(accuracy: float, seed: int) -> np.ndarray:
    """Predictions right on about `accuracy` of LABELS, else a random other class."""
    rng = np.random.default_rng(seed)
    wrong = rng.random(N) > accuracy
    return np.where(wrong, (LABELS + rng.integers(1, 4, N)) % 4, LABELS)


def preds(name: str, seed: int, accuracy: float) -> np.ndarray:
    """The MSPP predictions of seed `seed` of run `name`, different per run and seed."""
    return noisy(accuracy, sum(map(ord, name)) * 100 + seed)


def runs(tmp_path, name: str, accuracies: dict[int, float], extra=None) -> dict:
    """seed -> predictions.parquet with a validation split (never compared) and an MSPP test."""
    paths = {}
    for seed, accuracy in accuracies.items():
        splits = {
            ("IEMO", "val"): ([f"{name}{i}" for i in range(8)], LABELS[:8], LABELS[:8]),
            ("MSPP", "test"): (IDS, LABELS, preds(name, seed, accuracy)),
        } | (extra or {})
        paths[seed] = write_predictions(tmp_path / name / f"seed-{seed}.parquet", splits)
    return paths


def test_paired_t_matches_scipy():
    a = [0.50, 0.55, 0.60, 0.52]
    b = [0.56, 0.60, 0.61, 0.60]
    result = paired_t(a, b)
    expected = stats.ttest_rel(b, a)
    assert result["t"] == pytest.approx(expected.statistic, rel=1e-12)
    assert result["p"] == pytest.approx(expected.pvalue, rel=1e-12)
    assert result["diff_mean"] == pytest.approx(0.05)
    assert result["diff_std"] == pytest.approx(np.std(np.subtract(b, a), ddof=1))
    assert result["t_note"] is None


def test_paired_t_undefined_cases():
    one = paired_t([0.5], [0.6])
    assert (one["t"], one["p"], one["diff_std"]) == (None, None, None)
    assert one["t_note"] == "fewer than 2 common seeds"
    assert one["diff_mean"] == pytest.approx(0.1)
    constant = paired_t([0.5, 0.6], [0.5, 0.6])
    assert (constant["t"], constant["p"], constant["diff_std"]) == (None, None, 0.0)
    assert constant["t_note"] == "the difference is the same for every seed"


def test_compare_t_test_on_constructed_runs(tmp_path):
    a_acc, b_acc = {1: 0.5, 2: 0.55, 3: 0.6, 4: 0.4}, {1: 0.6, 2: 0.58, 3: 0.7, 5: 0.9}
    a, b = runs(tmp_path, "a", a_acc), runs(tmp_path, "b", b_acc)
    (row,) = compare(a, b, name="cl", a="none", b="curriculum", replicates=200)
    assert (row["split"], row["n_utterances"], row["seeds"]) == ("MSPP", N, "1;2;3")
    assert row["unpaired_seeds"] == "4;5"
    uar = {
        run: [classification_metrics(LABELS, preds(run, s, acc[s]))["uar"] for s in (1, 2, 3)]
        for run, acc in (("a", a_acc), ("b", b_acc))
    }
    expected = stats.ttest_rel(uar["b"], uar["a"])
    assert row["t"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["p"] == pytest.approx(expected.pvalue, rel=1e-12)
    assert row["uar_a"] == pytest.approx(np.mean(uar["a"]))
    assert row["diff_mean"] == pytest.approx(np.mean(uar["b"]) - np.mean(uar["a"]))


def test_bootstrap_clearly_better_b_is_above_zero(tmp_path):
    a = runs(tmp_path, "a", {1: 0.4, 2: 0.45})
    b = runs(tmp_path, "b", {1: 0.9, 2: 0.85})
    (row,) = compare(a, b)
    assert 0 < row["boot_ci95_low"] < row["diff_mean"] < row["boot_ci95_high"]
    assert row["boot_share_le0"] == 0.0
    assert row["replicates"] == 2000


def test_bootstrap_of_identical_runs_is_exactly_zero(tmp_path):
    a = runs(tmp_path, "a", {1: 0.5, 2: 0.6})
    (row,) = compare(a, a)
    assert (row["diff_mean"], row["boot_ci95_low"], row["boot_ci95_high"]) == (0.0, 0.0, 0.0)
    assert row["boot_share_le0"] == 1.0
    assert row["t"] is None and row["t_note"] == "the difference is the same for every seed"


def test_bootstrap_matches_resampling_indices():
    """The pattern-count shortcut has the distribution of resampling utterance indices."""
    pred_a = np.stack([noisy(0.5, 1), noisy(0.6, 2)])
    pred_b = np.stack([noisy(0.7, 3), noisy(0.6, 4)])
    fast = bootstrap_uar_difference(LABELS, pred_a, pred_b, replicates=2000)
    rng = np.random.default_rng(1)
    slow = []
    for _ in range(2000):
        i = rng.integers(0, N, N)
        slow.append(
            np.mean(
                [
                    classification_metrics(LABELS[i], pb[i])["uar"]
                    - classification_metrics(LABELS[i], pa[i])["uar"]
                    for pa, pb in zip(pred_a, pred_b, strict=True)
                ]
            )
        )
    assert fast.mean() == pytest.approx(np.mean(slow), abs=0.005)
    assert fast.std() == pytest.approx(np.std(slow), rel=0.1)


def test_bootstrap_uar_skips_classes_absent_from_a_draw():
    y, pred_a, pred_b = np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([0, 0, 1])
    diffs = bootstrap_uar_difference(y, pred_a[None], pred_b[None], 500)
    possible = {
        round(
            classification_metrics(y[i], pred_b[i])["uar"]
            - classification_metrics(y[i], pred_a[i])["uar"],
            12,
        )
        for i in map(list, itertools.product(range(3), repeat=3))
    }
    assert set(np.round(diffs, 12)) == possible  # 500 draws hit all 27 index triples' values


def test_only_shared_test_splits_are_compared(tmp_path):
    heldout = {("MSPI", "heldout"): (IDS[:20], LABELS[:20], LABELS[:20])}
    other = {("CMUMOSEI", "test"): (IDS[:12], LABELS[:12], LABELS[:12])}
    a = runs(tmp_path, "a", {1: 0.5, 2: 0.6}, heldout | other)
    b = runs(tmp_path, "b", {1: 0.7, 2: 0.6}, heldout)
    rows = compare(a, b)
    assert [r["split"] for r in rows] == ["MSPP", "MSPI in-corpus"]  # never IEMO validation


def test_different_utterances_are_refused(tmp_path):
    a = runs(tmp_path, "a", {1: 0.5})
    shifted = {("MSPP", "test"): ([f"v{i}" for i in range(N)], LABELS, LABELS)}
    b = {1: write_predictions(tmp_path / "b.parquet", shifted)}
    with pytest.raises(ValueError, match=r"comparison cl: split MSPP: cur .*other utterances"):
        compare(a, b, name="cl", a="none", b="cur")
    relabelled = {("MSPP", "test"): (IDS, (LABELS + 1) % 4, LABELS)}
    b = {1: write_predictions(tmp_path / "c.parquet", relabelled)}
    with pytest.raises(ValueError, match=r"split MSPP: cur .*labels utterances unlike none"):
        compare(a, b, name="cl", a="none", b="cur")
    with pytest.raises(ValueError, match="cl: none and cur have no seed in common"):
        compare(a, {2: b[1]}, name="cl", a="none", b="cur")


def test_deterministic_and_written(tmp_path):
    a = runs(tmp_path, "a", {1: 0.5, 2: 0.55, 3: 0.6})
    b = runs(tmp_path, "b", {1: 0.6, 2: 0.58, 3: 0.7})
    rows = compare(a, b, name="cl", a="none", b="cur")
    assert compare(a, b, name="cl", a="none", b="cur") == rows
    assert compare(a, b, seed=1)[0]["boot_ci95_low"] != rows[0]["boot_ci95_low"]
    markdown = write_comparisons(rows, tmp_path / "c.csv", tmp_path / "c.md")
    assert (tmp_path / "c.md").read_text() == markdown
    assert markdown.splitlines()[2].startswith("| cl | none | cur | MSPP | 3 |")
    (read,) = pacsv.read_csv(tmp_path / "c.csv").to_pylist()
    assert read["boot_ci95_high"] == pytest.approx(rows[0]["boot_ci95_high"])
    assert read["p"] == pytest.approx(rows[0]["p"])


def comparison_rows(metric: str, size: str) -> list[dict]:
    """Three written comparison rows of `metric` (uar or ccc): t-tested, one with the same
    difference for every seed, one on a single seed."""
    pair = {"comparison": "cl", "a": "none", "b": "cur", "n_seeds": 3, "seeds": "1;2;3"}
    rows = [
        pair
        | {"split": "MSPP", size: 50, "scores": (0.5, 0.6), "diff": (0.1, 0.05)}
        | {"t": 3.4641, "p": 0.074163, "t_note": None, "boot": (-0.0123, 0.0456, 0.2345)},
        pair
        | {"split": "IEMO in-corpus", size: 20, "scores": (0.55, 0.5), "diff": (-0.05, 0.0)}
        | {"t_note": "the difference is the same for every seed", "boot": (-0.25, -0.001, 1.0)},
        {"comparison": "add", "a": "x", "b": "y", "n_seeds": 1, "seeds": "1", "split": "MSPP"}
        | {size: 50, "scores": (0.4, 0.45), "diff": (0.05, None), "boot": (0.0, 0.1, 0.0)}
        | {"t_note": "fewer than 2 common seeds"},
    ]
    return [
        {"t": None, "p": None, "unpaired_seeds": None, "replicates": 2000}
        | {k: v for k, v in row.items() if k not in ("scores", "diff", "boot")}
        | dict(zip((f"{metric}_a", f"{metric}_b"), row["scores"], strict=True))
        | dict(zip(("diff_mean", "diff_std"), row["diff"], strict=True))
        | dict(zip(("boot_ci95_low", "boot_ci95_high", "boot_share_le0"), row["boot"], strict=True))
        for row in rows
    ]


def test_markdown_comparisons_text():
    assert markdown_comparisons(comparison_rows("uar", "n_utterances")) == (
        "| Comparison | A | B | Split | Seeds | UAR A | UAR B | Δ (B - A) | t | p "
        "| Bootstrap 95% CI | Share Δ ≤ 0 |\n"
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        "| cl | none | cur | MSPP | 3 | 0.500 | 0.600 | +0.100 ± 0.050 | 3.46 | 0.0742 "
        "| [-0.012, +0.046] | 0.234 |\n"
        "| cl | none | cur | IEMO in-corpus | 3 | 0.550 | 0.500 | -0.050 ± 0.000 | — | — "
        "| [-0.250, -0.001] | 1.000 |\n"
        "| add | x | y | MSPP | 1 | 0.400 | 0.450 | +0.050 | — | — | [+0.000, +0.100] | 0.000 |\n"
        "\n"
        "No t-test: add: fewer than 2 common seeds; cl: the difference is the same for every "
        "seed.\n"
    )

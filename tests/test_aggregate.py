import json
import math

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import fingerprinted
from scipy import stats

from xcorpus.aggregate import (
    Run,
    cross_corpus_table,
    experiment_table,
    loso_mean,
    read_experiment,
    read_run,
    write_experiment_table,
    write_summary,
)
from xcorpus.metrics import utterance_digest
from xcorpus.render import latex_table, markdown_table


def fake_metrics(seed: int, val: float, tests: dict[str, float], name="A", train="IEMO+MSPI"):
    def split(uar: float) -> dict:
        return {"uar": uar, "accuracy": uar + 0.1, "macro_f1": uar - 0.1, "confusion": []}

    return fingerprinted(
        {
            "experiment": name,
            "train": train,
            "seed": seed,
            "best_epoch": 0,
            "validation": split(val),
            "test": {c: split(u) for c, u in tests.items()},
            "n": {"train": 100, "validation": 20, "test": {c: 50 for c in tests}},
        }
    )


THREE_SEEDS = {
    1: fake_metrics(1, 0.5, {"MSPP": 0.4, "CMUMOSEI": 0.3}),
    2: fake_metrics(2, 0.6, {"MSPP": 0.4, "CMUMOSEI": 0.3}),
    3: fake_metrics(3, 0.7, {"MSPP": 0.7, "CMUMOSEI": 0.3}),
}


def test_experiment_table_mean_and_sample_std():
    rows = experiment_table("A", "IEMO+MSPI", THREE_SEEDS).to_pylist()
    assert [(r["seed"], r["split"]) for r in rows] == [
        *((s, split) for s in "123" for split in ("validation", "MSPP", "CMUMOSEI")),
        *(
            (stat, split)
            for split in ("validation", "MSPP", "CMUMOSEI")
            for stat in ("mean", "std", "ci95_low", "ci95_high")
        ),
    ]
    summary = {(r["seed"], r["split"]): r for r in rows}
    assert summary["mean", "validation"]["uar"] == pytest.approx(0.6)
    assert summary["std", "validation"]["uar"] == pytest.approx(0.1)  # ddof=1; population: 0.0816
    assert summary["mean", "MSPP"]["uar"] == pytest.approx(0.5)
    assert summary["std", "MSPP"]["uar"] == pytest.approx(math.sqrt(0.03))
    assert summary["mean", "MSPP"]["accuracy"] == pytest.approx(0.6)
    assert summary["std", "CMUMOSEI"]["macro_f1"] == pytest.approx(0.0)
    assert summary["mean", "MSPP"]["n"] == 50
    assert summary["std", "MSPP"]["n"] is None
    assert {r["experiment"] for r in rows} == {"A"}
    assert {r["n_seeds"] for r in rows if r["seed"] in "123"} == {1}
    assert {r["n_seeds"] for r in rows if r["seed"] not in "123"} == {3}
    assert {r["missing_seeds"] for r in rows} == {None}


def test_experiment_table_t_confidence_interval():
    rows = experiment_table("A", "IEMO+MSPI", THREE_SEEDS).to_pylist()
    summary = {(r["seed"], r["split"]): r for r in rows}
    low, high = stats.t.interval(0.95, 2, loc=0.5, scale=math.sqrt(0.03) / math.sqrt(3))
    assert summary["ci95_low", "MSPP"]["uar"] == pytest.approx(low)
    assert summary["ci95_high", "MSPP"]["uar"] == pytest.approx(high)
    assert summary["ci95_high", "MSPP"]["uar"] - 0.5 == pytest.approx(
        4.302653 * math.sqrt(0.03 / 3)
    )
    assert summary["ci95_low", "MSPP"]["accuracy"] == pytest.approx(low + 0.1)
    assert summary["ci95_low", "CMUMOSEI"]["macro_f1"] == pytest.approx(0.2)  # no spread
    assert summary["ci95_low", "MSPP"]["n"] is None


def test_one_seed_has_null_std():
    rows = experiment_table("A", "IEMO+MSPI", {1: THREE_SEEDS[1]}).to_pylist()
    spread = [r for r in rows if r["seed"] in ("std", "ci95_low", "ci95_high")]
    assert len(spread) == 9
    assert all(r["uar"] is None and r["accuracy"] is None for r in spread)
    table = cross_corpus_table([Run("A", "IEMO+MSPI", {1: THREE_SEEDS[1]})]).to_pylist()
    assert table[0]["validation_uar_mean"] == 0.5
    assert table[0]["validation_uar_std"] is None
    assert table[0]["validation_uar_ci95_low"] is None


def test_cross_corpus_table_orders_corpora_and_nulls_training_corpora():
    other = {
        7: fake_metrics(7, 0.8, {"IEMO": 0.6, "CMUMOSEI": 0.5}, "B", "MSPI+MSPP"),
        8: fake_metrics(8, 0.6, {"IEMO": 0.4, "CMUMOSEI": 0.5}, "B", "MSPI+MSPP"),
    }
    table = cross_corpus_table([Run("A", "IEMO+MSPI", THREE_SEEDS), Run("B", "MSPI+MSPP", other)])
    assert table.column_names == [
        "experiment",
        "train",
        "n_seeds",
        "missing_seeds",
        "transductive",
        "deterministic",
        "task",
        *(
            name
            for c in ("validation", "MSPP", "CMUMOSEI", "IEMO")
            for name in (
                *(f"{c}_uar_{s}" for s in ("mean", "std", "ci95_low", "ci95_high")),
                f"{c}_n",
                f"{c}_utterances",
            )
        ),
    ]
    a, b = table.to_pylist()
    assert (a["n_seeds"], b["n_seeds"]) == (3, 2)
    assert a["IEMO_uar_mean"] is None and a["IEMO_uar_std"] is None
    assert b["MSPP_uar_mean"] is None
    assert b["IEMO_uar_mean"] == pytest.approx(0.5)
    assert b["IEMO_uar_std"] == pytest.approx(math.sqrt(0.02))
    assert a["MSPP_uar_std"] == pytest.approx(math.sqrt(0.03))
    assert b["IEMO_uar_ci95_high"] == pytest.approx(0.5 + 12.7062 * math.sqrt(0.02 / 2))
    assert b["IEMO_uar_ci95_low"] == pytest.approx(0.5 - 12.7062 * math.sqrt(0.02 / 2))
    assert (a["MSPP_n"], a["MSPP_utterances"], b["IEMO_n"]) == (50, "MSPP-50", 50)


def test_markdown_table():
    other = {7: fake_metrics(7, 0.8, {"IEMO": 0.6}, "B", "MSPI+MSPP")}
    table = cross_corpus_table([Run("A", "IEMO+MSPI", THREE_SEEDS), Run("B", "MSPI+MSPP", other)])
    assert markdown_table(table) == (
        "| Experiment | Train | Seeds | Validation (selection) | MSPP (n=50) | CMUMOSEI (n=50) "
        "| IEMO (n=50) |\n"
        "|---|---|---:|---:|---:|---:|---:|\n"
        "| A | IEMO+MSPI | 3 | 0.600 ± 0.100 (n=20) | 0.500 ± 0.173 | 0.300 ± 0.000 | — |\n"
        "| B | MSPI+MSPP | 1 | 0.800 (n=20) | — | — | 0.600 |\n"
        "\n"
        "- Validation (selection): UAR on the training corpora's validation speakers (pooled), "
        "at the epoch chosen by that same score; a model-selection figure, optimistic, not a "
        "test.\n"
        "- Other columns: the whole test corpus, never seen in training or selection. UAR is "
        "the mean recall over the classes present in the scored set (chance: 1 / their "
        "number).\n"
    )


def test_cells_scored_on_other_utterances_are_marked_and_never_bold():
    """A text model drops test utterances without a transcript: its cell is not comparable."""
    audio = {s: fake_metrics(s, 0.6, {"MSPP": 0.5}, "audio", "IEMO") for s in (1, 2)}
    text = {s: fake_metrics(s, 0.7, {"MSPP": 0.5 + s / 10}, "text", "IEMO") for s in (1, 2)}
    for m in text.values():
        m["n"]["test"]["MSPP"] = 45
        m |= fingerprinted(m, MSPP="MSPP-with-transcripts")
    both = {1: fake_metrics(1, 0.6, {"MSPP": 0.55}, "both", "IEMO")}
    table = cross_corpus_table(
        [Run("audio", "IEMO", audio), Run("text", "IEMO", text), Run("both", "IEMO", both)]
    )
    markdown = markdown_table(table).splitlines()
    assert markdown[0] == "| Experiment | Train | Seeds | Validation (selection) | MSPP |"
    assert markdown[2:5] == [
        "| audio | IEMO | 2 | 0.600 ± 0.000 (n=20) | 0.500 ± 0.000 (n=50) |",
        "| text | IEMO | 2 | 0.700 ± 0.000 (n=20) | 0.650 ± 0.071 (n=45) † |",
        "| both | IEMO | 1 | 0.600 (n=20) | 0.550 (n=50) |",
    ]
    assert markdown[-1].startswith("- †: scored on other utterances than the rest of its column")
    latex = latex_table(table)
    # The best among the cells on the same utterances is 0.550; the higher 0.650 is marked.
    assert r"0.650 $\pm$ 0.071 (n=45)$^\dagger$ \\" in latex
    assert r"\textbf{0.550 (n=50)}" in latex and latex.count(r"\textbf") == 1


def test_nothing_to_aggregate_is_an_error():
    with pytest.raises(ValueError, match="no experiments"):
        cross_corpus_table([])
    with pytest.raises(ValueError, match="no seeds"):
        experiment_table("A", "IEMO", {})
    with pytest.raises(ValueError, match=r"no metrics\.json"):
        read_run([])


def test_seeds_from_different_manifests_are_refused():
    mixed = {1: THREE_SEEDS[1], 2: fake_metrics(2, 0.6, {"MSPP": 0.4})}
    with pytest.raises(ValueError, match="seed 2 has splits"):
        experiment_table("A", "IEMO+MSPI", mixed)
    resized = fake_metrics(2, 0.6, {"MSPP": 0.4, "CMUMOSEI": 0.3})
    resized["n"]["test"]["MSPP"] = 49
    with pytest.raises(ValueError, match=r"seed 2 scored other MSPP utterances \(49\)"):
        experiment_table("A", "IEMO+MSPI", {1: THREE_SEEDS[1], 2: resized})
    swapped = fingerprinted(fake_metrics(2, 0.6, {"MSPP": 0.4, "CMUMOSEI": 0.3}), MSPP="other")
    with pytest.raises(ValueError, match=r"seed 2 scored other MSPP utterances \(50\)"):
        experiment_table("A", "IEMO+MSPI", {1: THREE_SEEDS[1], 2: swapped})


def test_read_run_and_write_tables(tmp_path, capsys):
    paths = []
    for seed, metrics in THREE_SEEDS.items():
        paths.append(tmp_path / "runs" / "A" / f"seed-{seed}" / "metrics.json")
        paths[-1].parent.mkdir(parents=True)
        paths[-1].write_text(json.dumps(metrics))
    run = read_run(paths)
    assert (run.experiment, run.train, list(run.metrics)) == ("A", "IEMO+MSPI", [1, 2, 3])
    with pytest.raises(ValueError, match="seed 1 of A given twice"):
        read_run([paths[0], paths[0]])

    write_experiment_table(run, tmp_path / "tables" / "A.csv")
    markdown = write_summary(
        [run], tmp_path / "cross_corpus_uar.csv", tmp_path / "x.md", tmp_path / "x.tex"
    )
    assert capsys.readouterr().out == markdown
    assert (tmp_path / "x.md").read_text() == markdown
    assert (tmp_path / "x.tex").read_text().startswith(r"\begin{tabular}")
    assert pacsv.read_csv(tmp_path / "tables" / "A.csv").num_rows == 9 + 12
    summary = pacsv.read_csv(tmp_path / "cross_corpus_uar.csv").to_pylist()
    assert summary[0]["MSPP_uar_mean"] == pytest.approx(0.5)


def test_cross_corpus_and_loso_results_of_a_seed_are_joined(tmp_path):
    cross = fake_metrics(1, 0.6, {"MSPP": 0.4}, name="B", train="IEMO")
    loso = fake_metrics(1, 0.55, {}, name="B", train="IEMO")
    loso |= {
        "folds": [1, 2, 3, 4, 5],
        "in_corpus": {"IEMO": {"uar": 0.52, "accuracy": 0.5, "macro_f1": 0.5, "confusion": []}},
    }
    loso["n"] = {"validation": 90, "test": {}, "in_corpus": {"IEMO": 200}}
    loso = fingerprinted(loso)
    paths = []
    for name, m in (("metrics", cross), ("loso", loso)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(m))
    run = read_run(paths)
    rows = {r["split"]: r for r in experiment_table(*run).to_pylist() if r["seed"] == "1"}
    assert list(rows) == ["validation", "MSPP", "IEMO LOSO"]
    assert (rows["validation"]["uar"], rows["IEMO LOSO"]["uar"], rows["IEMO LOSO"]["n"]) == (
        0.6,
        0.52,
        200,
    )
    loso_only = read_run(paths[1:])
    rows = [r["split"] for r in experiment_table(*loso_only).to_pylist() if r["seed"] == "1"]
    assert rows == ["validation", "IEMO LOSO"]
    with pytest.raises(ValueError, match="seed 1 of B given twice"):
        read_run([paths[0], paths[0]])


def test_official_in_corpus_test_is_its_own_split():
    m = fake_metrics(1, 0.6, {"IEMO": 0.4}, name="C", train="MSPP")
    m["in_corpus"] = {"MSPP": {"uar": 0.45, "accuracy": 0.5, "macro_f1": 0.4, "confusion": []}}
    m["n"]["in_corpus"] = {"MSPP": 30}
    m = fingerprinted(m)
    summary = cross_corpus_table([Run("C", "MSPP", {1: m})]).to_pylist()[0]
    assert summary["MSPP in-corpus_uar_mean"] == 0.45 and summary["IEMO_uar_mean"] == 0.4


def test_latex_table_escapes_and_bolds_the_best_test_cell():
    other = {
        7: fake_metrics(7, 0.9, {"MSPP": 0.6, "CMUMOSEI": 0.3}, "B_1", "MSPI+MSPP&X"),
        8: fake_metrics(8, 0.9, {"MSPP": 0.6, "CMUMOSEI": 0.3}, "B_1", "MSPI+MSPP&X"),
    }
    table = cross_corpus_table(
        [Run("A", "IEMO+MSPI", THREE_SEEDS), Run("B_1", "MSPI+MSPP&X", other)]
    )
    assert latex_table(table) == (
        "\\begin{tabular}{llrrrr}\n"
        "\\toprule\n"
        "Experiment & Train & Seeds & Validation (selection) & MSPP (n=50) & CMUMOSEI (n=50) "
        "\\\\\n"
        "\\midrule\n"
        "A & IEMO+MSPI & 3 & 0.600 $\\pm$ 0.100 (n=20) & 0.500 $\\pm$ 0.173"
        " & \\textbf{0.300 $\\pm$ 0.000} \\\\\n"
        "B\\_1 & MSPI+MSPP\\&X & 2 & 0.900 $\\pm$ 0.000 (n=20) & \\textbf{0.600 $\\pm$ 0.000}"
        " & \\textbf{0.300 $\\pm$ 0.000} \\\\\n"
        "\\bottomrule\n"
        "\\end{tabular}\n"
    )


def write_seeds(tmp_path, name: str, seeds: dict[int, dict], kind="metrics") -> list:
    paths = []
    for seed, metrics in seeds.items():
        paths.append(tmp_path / "runs" / name / f"seed-{seed}" / f"{kind}.json")
        paths[-1].parent.mkdir(parents=True, exist_ok=True)
        paths[-1].write_text(json.dumps(metrics))
    return paths


def test_missing_seeds_are_reported_not_averaged_away(tmp_path, capsys):
    experiment = {"name": "A", "seeds": [1, 2, 3, 5], "evaluation_mode": "cross_corpus"}
    stale = {9: fake_metrics(9, 0.1, {"MSPP": 0.1, "CMUMOSEI": 0.1})}  # no longer configured
    paths = write_seeds(tmp_path, "A", {1: THREE_SEEDS[1], 3: THREE_SEEDS[3]} | stale)
    run = read_experiment(experiment, paths)
    assert (list(run.metrics), run.missing) == ([1, 3], (2, 5))
    assert "seed(s) 2, 5; aggregating 2 of 4" in capsys.readouterr().out

    rows = experiment_table(*run).to_pylist()
    mean = next(r for r in rows if (r["seed"], r["split"]) == ("mean", "MSPP"))
    assert (mean["uar"], mean["n_seeds"], mean["missing_seeds"]) == (0.55, 2, "2;5")
    summary = cross_corpus_table([run, Run("B", "IEMO", {1: THREE_SEEDS[1]})])
    assert summary.to_pylist()[0]["n_seeds"] == 2
    assert summary.to_pylist()[0]["missing_seeds"] == "2;5"
    markdown = markdown_table(summary)
    assert "| A | IEMO+MSPI | 2 of 4 | 0.600 ± 0.141 (n=20) |" in markdown
    assert "| B | IEMO | 1 | 0.500 (n=20) |" in markdown
    assert markdown.endswith("Missing seeds (no results, not averaged): A: seed(s) 2, 5.\n")
    assert "& 2 of 4 &" in latex_table(summary)


def test_a_seed_with_part_of_its_results_is_missing(tmp_path):
    experiment = {"name": "B", "seeds": [1, 2], "evaluation_mode": "both"}
    cross = {s: fake_metrics(s, 0.6, {"MSPP": 0.4}, "B", "IEMO") for s in (1, 2)}
    loso = fake_metrics(1, 0.55, {}, "B", "IEMO") | {
        "folds": [1, 2],
        "in_corpus": {"IEMO": {"uar": 0.5, "accuracy": 0.5, "macro_f1": 0.5, "confusion": []}},
    }
    loso["n"] = {"validation": 90, "test": {}, "in_corpus": {"IEMO": 200}}
    loso = fingerprinted(loso)
    paths = write_seeds(tmp_path, "B", cross) + write_seeds(tmp_path, "B", {1: loso}, "loso")
    run = read_experiment(experiment, paths)
    assert (list(run.metrics), run.missing) == ([1], (2,))
    assert "IEMO LOSO" in {r["split"] for r in experiment_table(*run).to_pylist()}


def test_aggregating_no_seed_names_the_experiment(tmp_path):
    experiment = {"name": "A", "seeds": [1, 2], "evaluation_mode": "loso"}
    paths = write_seeds(tmp_path, "A", {1: THREE_SEEDS[1]})  # cross-corpus only
    with pytest.raises(ValueError, match=r"experiment A: none of its seeds \[1, 2\]"):
        read_experiment(experiment, paths)
    with pytest.raises(ValueError, match="experiment A: none"):
        read_experiment(experiment, [])
    with pytest.raises(ValueError, match="results of A given for C"):
        read_experiment(experiment | {"name": "C"}, paths)


def test_loso_mean_counts_distinct_utterances(tmp_path):
    """Folds validate on overlapping speakers: n is the distinct utterances, not the sum."""
    folds, predictions = [], []
    val_sets = {1: ["a", "b", "c"], 2: ["b", "c", "d"]}
    heldout_sets = {1: ["x", "y"], 2: ["z"]}
    for fold in (1, 2):
        m = fake_metrics(1, 0.5 + fold / 10, {}, "L", "IEMO") | {"fold": fold}
        m["in_corpus"] = {"IEMO": m["validation"]}
        folds.append(tmp_path / f"fold-{fold}" / "metrics.json")
        folds[-1].parent.mkdir()
        folds[-1].write_text(json.dumps(m))
        rows = [("val", u) for u in val_sets[fold]] + [("heldout", u) for u in heldout_sets[fold]]
        predictions.append(folds[-1].parent / "predictions.parquet")
        table = {"utt_id": [u for _, u in rows], "corpus": ["IEMO"] * len(rows)}
        pq.write_table(pa.table(table | {"role": [r for r, _ in rows]}), predictions[-1])
    summary = loso_mean(folds, predictions, tmp_path / "loso.json")
    assert summary["n"] == {"validation": 4, "test": {}, "in_corpus": {"IEMO": 3}}
    assert summary["validation"]["uar"] == pytest.approx(0.65)
    assert summary["utterances"]["validation"] == utterance_digest([("IEMO", u) for u in "abcd"])
    assert json.loads((tmp_path / "loso.json").read_text()) == summary


def transductive(metrics: dict, method: str, reason: str | None) -> dict:
    record = {"method": method, "transductive": reason is not None, "reason": reason}
    return metrics | {"feature_normalisation": record}


def test_transductive_experiments_are_marked_with_their_reason():
    reason = "test corpora MSPP are standardised with the statistics of their own features"
    runs = [
        Run("A", "IEMO", {1: transductive(fake_metrics(1, 0.5, {"MSPP": 0.4}), "train", None)}),
        Run("B", "IEMO", {1: transductive(fake_metrics(1, 0.6, {"MSPP": 0.7}), "corpus", reason)}),
    ]
    table = cross_corpus_table(runs)
    assert table.column("transductive").to_pylist() == [None, reason]
    markdown = markdown_table(table).splitlines()
    assert markdown[2].startswith("| A | IEMO | 1 |")
    assert markdown[3].startswith("| B ‡ | IEMO | 1 |")
    assert markdown[-1] == f"- ‡ B: transductive, {reason}; not comparable with inductive results."
    latex = latex_table(table).splitlines()
    # Each kind has its own best: the inductive 0.400 is bold beside the transductive 0.700.
    assert latex[4] == r"A & IEMO & 1 & 0.500 (n=20) & \textbf{0.400} \\"
    assert latex[5] == r"B$^\ddagger$ & IEMO & 1 & 0.600 (n=20) & \textbf{0.700} \\"
    assert latex[-2] == (
        r"\multicolumn{5}{l}{$^\ddagger$ B: transductive, test corpora MSPP are standardised "
        r"with the statistics of their own features; not comparable with inductive results.} \\"
    )


def test_loso_mean_keeps_the_folds_normalisation(tmp_path):
    reason = "test and in-corpus test speakers are standardised with their own statistics"
    folds, predictions = [], []
    for fold in (1, 2):
        metrics = transductive(fake_metrics(1, 0.5, {}), "speaker", reason) | {"fold": fold}
        metrics["in_corpus"] = {"IEMO": metrics["validation"]}
        folds.append(tmp_path / f"fold-{fold}.json")
        folds[-1].write_text(json.dumps(metrics))
        rows = [{"utt_id": f"u{fold}", "corpus": "IEMO", "role": r} for r in ("val", "heldout")]
        predictions.append(tmp_path / f"fold-{fold}.parquet")
        pq.write_table(pa.Table.from_pylist(rows), predictions[-1])
    summary = loso_mean(folds, predictions, tmp_path / "loso.json")
    assert summary["feature_normalisation"] == {
        "method": "speaker",
        "transductive": True,
        "reason": reason,
    }


def test_dann_on_unlabelled_test_features_is_marked_with_both_reasons():
    dann = "the domain loss reads the unlabelled features of test corpora MSPP"
    scaled = "test corpora MSPP are standardised with the statistics of their own features"
    adaptation = {"method": "dann", "transductive": True, "reason": dann}
    inductive = {"method": "dann", "transductive": False, "reason": None}
    runs = [
        Run(
            "A", "IEMO", {1: fake_metrics(1, 0.5, {"MSPP": 0.4}) | {"domain_adaptation": inductive}}
        ),
        Run(
            "B",
            "IEMO",
            {1: fake_metrics(1, 0.5, {"MSPP": 0.4}) | {"domain_adaptation": adaptation}},
        ),
        Run(
            "C",
            "IEMO",
            {
                1: transductive(fake_metrics(1, 0.6, {"MSPP": 0.7}), "corpus", scaled)
                | {"domain_adaptation": adaptation}
            },
        ),
    ]
    table = cross_corpus_table(runs)
    assert table.column("transductive").to_pylist() == [None, dann, f"{scaled}; {dann}"]
    markdown = markdown_table(table).splitlines()
    assert [line.split(" | ")[0] for line in markdown[2:5]] == ["| A", "| B ‡", "| C ‡"]
    assert markdown[-2:] == [
        f"- ‡ B: transductive, {dann}; not comparable with inductive results.",
        f"- ‡ C: transductive, {scaled}; {dann}; not comparable with inductive results.",
    ]

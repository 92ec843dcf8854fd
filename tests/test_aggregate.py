import json
import math

import pyarrow.csv as pacsv
import pytest

from xcorpus.aggregate import (
    cross_corpus_table,
    experiment_table,
    markdown_table,
    read_run,
    write_experiment_table,
    write_summary,
)


def fake_metrics(seed: int, val: float, tests: dict[str, float], name="A", train="IEMO+MSPI"):
    def split(uar: float) -> dict:
        return {"uar": uar, "accuracy": uar + 0.1, "macro_f1": uar - 0.1, "confusion": []}

    return {
        "experiment": name,
        "train": train,
        "seed": seed,
        "best_epoch": 0,
        "validation": split(val),
        "test": {c: split(u) for c, u in tests.items()},
        "n": {"train": 100, "validation": 20, "test": {c: 50 for c in tests}},
    }


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
            for stat in ("mean", "std")
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


def test_one_seed_has_null_std():
    rows = experiment_table("A", "IEMO+MSPI", {1: THREE_SEEDS[1]}).to_pylist()
    std = [r for r in rows if r["seed"] == "std"]
    assert std and all(r["uar"] is None and r["accuracy"] is None for r in std)
    table = cross_corpus_table([("A", "IEMO+MSPI", {1: THREE_SEEDS[1]})]).to_pylist()
    assert table[0]["in_corpus_uar_mean"] == 0.5
    assert table[0]["in_corpus_uar_std"] is None


def test_cross_corpus_table_orders_corpora_and_nulls_training_corpora():
    other = {
        7: fake_metrics(7, 0.8, {"IEMO": 0.6, "CMUMOSEI": 0.5}, "B", "MSPI+MSPP"),
        8: fake_metrics(8, 0.6, {"IEMO": 0.4, "CMUMOSEI": 0.5}, "B", "MSPI+MSPP"),
    }
    table = cross_corpus_table([("A", "IEMO+MSPI", THREE_SEEDS), ("B", "MSPI+MSPP", other)])
    assert table.column_names == [
        "experiment",
        "train",
        "n_seeds",
        *(
            f"{c}_uar_{s}"
            for c in ("in_corpus", "MSPP", "CMUMOSEI", "IEMO")
            for s in ("mean", "std")
        ),
    ]
    a, b = table.to_pylist()
    assert (a["n_seeds"], b["n_seeds"]) == (3, 2)
    assert a["IEMO_uar_mean"] is None and a["IEMO_uar_std"] is None
    assert b["MSPP_uar_mean"] is None
    assert b["IEMO_uar_mean"] == pytest.approx(0.5)
    assert b["IEMO_uar_std"] == pytest.approx(math.sqrt(0.02))
    assert a["MSPP_uar_std"] == pytest.approx(math.sqrt(0.03))


def test_markdown_table():
    other = {7: fake_metrics(7, 0.8, {"IEMO": 0.6}, "B", "MSPI+MSPP")}
    table = cross_corpus_table([("A", "IEMO+MSPI", THREE_SEEDS), ("B", "MSPI+MSPP", other)])
    assert markdown_table(table) == (
        "| Experiment | Train | Seeds | In-corpus (val) | MSPP | CMUMOSEI | IEMO |\n"
        "|---|---|---:|---:|---:|---:|---:|\n"
        "| A | IEMO+MSPI | 3 | 0.600 ± 0.100 | 0.500 ± 0.173 | 0.300 ± 0.000 | — |\n"
        "| B | MSPI+MSPP | 1 | 0.800 | — | — | 0.600 |\n"
    )


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
    with pytest.raises(ValueError, match="seed 2 has 49 MSPP utterances"):
        experiment_table("A", "IEMO+MSPI", {1: THREE_SEEDS[1], 2: resized})


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
    markdown = write_summary([run], tmp_path / "cross_corpus_uar.csv", tmp_path / "x.md")
    assert capsys.readouterr().out == markdown
    assert (tmp_path / "x.md").read_text() == markdown
    assert pacsv.read_csv(tmp_path / "tables" / "A.csv").num_rows == 9 + 6
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
    summary = cross_corpus_table([("C", "MSPP", {1: m})]).to_pylist()[0]
    assert summary["MSPP in-corpus_uar_mean"] == 0.45 and summary["IEMO_uar_mean"] == 0.4

"""The dimensional summary: CCC per V/A/D dimension of every experiment with a V/A/D head, on
each split it was scored on, beside the cross-corpus UAR summary.

One row per experiment and split (validation, test corpora, in-corpus tests, as
xcorpus.aggregate names them), with each dimension's and the mean CCC's mean, sample std and
95 % t interval over seeds. A split without rated utterances (a test corpus that rates no V/A/D)
keeps its row with null cells and the reason in `unrated`; Markdown prints "—" there and the
reason under the table, so an absent rating never reads as a CCC of 0.
"""

from pathlib import Path

import pyarrow as pa

from xcorpus.aggregate import (
    STATISTICS,
    VALIDATION,
    VALIDATION_HEADER,
    Run,
    _cell,
    _seed_list,
    _seeds,
    run_task,
    split_results,
    summarise_defined,
    unrated_reasons,
)
from xcorpus.metrics import DIMENSIONS
from xcorpus.tables import write_csv, write_text

COLUMNS = (*DIMENSIONS, "mean")
CCC_SCHEMA = pa.schema(
    [
        pa.field("experiment", pa.string(), nullable=False),
        pa.field("train", pa.string(), nullable=False),
        pa.field("task", pa.string(), nullable=False),
        pa.field("n_seeds", pa.int64(), nullable=False),
        pa.field("missing_seeds", pa.string()),
        pa.field("split", pa.string(), nullable=False),
        pa.field("n_rated", pa.int64()),  # rated utterances scored; null where none is
        pa.field("unrated", pa.string()),  # why the split has no CCC
        *(pa.field(f"ccc_{d}_{stat}", pa.float64()) for d in COLUMNS for stat in STATISTICS),
    ]
)


def has_vad_head(run: Run) -> bool:
    return run_task(run) != "categorical"


def ccc_table(runs: list[Run]) -> pa.Table:
    """The dimensional summary of the `runs` with a V/A/D head (others are left out)."""
    rows = []
    for run in filter(has_vad_head, runs):
        unrated = unrated_reasons(run.metrics)
        for split, by_seed in split_results(run.experiment, run.metrics).items():
            first = next(iter(by_seed.values())).metrics
            row = {
                "experiment": run.experiment,
                "train": run.train,
                "task": run_task(run),
                "n_seeds": len(run.metrics),
                "missing_seeds": _seed_list(run.missing),
                "split": split,
                "n_rated": first.get("n_rated"),
                "unrated": unrated.get(split),
            }
            for d in COLUMNS:
                values = [r.metrics.get(f"ccc_{d}") for r in by_seed.values()]
                summary = summarise_defined(values)
                row |= {f"ccc_{d}_{stat}": summary[stat] for stat in STATISTICS}
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=CCC_SCHEMA)


def ccc_markdown(table: pa.Table) -> str:
    """The dimensional summary as Markdown: mean ± std CCC per dimension, "—" with a note where
    a split is unrated or a CCC undefined."""
    header = ["Experiment", "Train", "Seeds", "Split", "n rated"]
    header += [f"CCC {d}" for d in COLUMNS]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 4 + ["---:"] * (len(header) - 4)) + "|",
    ]
    rows = table.to_pylist()
    for row in rows:
        split = VALIDATION_HEADER if row["split"] == VALIDATION else row["split"]
        cells = [row["experiment"], row["train"], _seeds(row), split]
        cells.append("—" if row["n_rated"] is None else str(row["n_rated"]))
        cells += [_cell(row[f"ccc_{d}_mean"], row[f"ccc_{d}_std"]) for d in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *(f"- {note}" for note in ccc_notes(rows))]
    return "\n".join(lines) + "\n"


def ccc_notes(rows: list[dict]) -> list[str]:
    """What the columns mean, and why each "—" is there."""
    notes = [
        "CCC: Lin's concordance correlation coefficient of predicted and rated V/A/D on the "
        "common 1-5 scale, over the split's rated utterances (n rated), mean ± sample std "
        "over seeds.",
        f"{VALIDATION_HEADER}: the training corpora's validation speakers, on which the epoch "
        "was selected (selection_metric); optimistic, not a test.",
    ]
    unrated = sorted({row["unrated"] for row in rows if row["unrated"]})
    if unrated:
        notes.append(f"— (no dimensional metric): {'; '.join(unrated)}.")
    undefined = any(
        row["unrated"] is None and row[f"ccc_{d}_mean"] is None for row in rows for d in COLUMNS
    )
    if undefined:
        notes.append(
            "— in a rated split: CCC undefined for some seed (prediction and truth one and the "
            "same constant), so no mean over seeds."
        )
    return notes


def write_ccc_summary(runs: list[Run], csv_path: Path, md_path: Path) -> str:
    """results/cross_corpus_ccc.{csv,md}; returns the Markdown."""
    table = ccc_table(runs)
    write_csv(table, csv_path)
    markdown = ccc_markdown(table)
    write_text(markdown, md_path)
    return markdown

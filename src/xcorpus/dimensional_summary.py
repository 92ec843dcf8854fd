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
    Run,
    _seed_list,
    run_task,
    split_results,
    summarise_defined,
    unrated_reasons,
)
from xcorpus.metrics import DIMENSIONS_AND_MEAN as COLUMNS
from xcorpus.render import ccc_markdown
from xcorpus.tables import write_csv, write_text

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


def write_ccc_summary(runs: list[Run], csv_path: Path, md_path: Path) -> str:
    """results/cross_corpus_ccc.{csv,md}; returns the Markdown."""
    table = ccc_table(runs)
    write_csv(table, csv_path)
    markdown = ccc_markdown(table)
    write_text(markdown, md_path)
    return markdown

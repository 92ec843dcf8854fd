from pathlib import Path

from xcorpus.comparisons import compare, write_comparisons
from xcorpus.runlog import logged


def predictions(experiment, seeds):
    return {s: Path(f"results/runs/{experiment}/seed-{s}/predictions.parquet") for s in seeds}


with logged(snakemake.log[0]):
    experiments = snakemake.params.experiments
    rows = [
        row
        for c in snakemake.params.comparisons
        for row in compare(
            predictions(c["a"], experiments[c["a"]]["seeds"]),
            predictions(c["b"], experiments[c["b"]]["seeds"]),
            name=c["name"],
            a=c["a"],
            b=c["b"],
        )
    ]
    write_comparisons(rows, Path(snakemake.output.csv), Path(snakemake.output.md))

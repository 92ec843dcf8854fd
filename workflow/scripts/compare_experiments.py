from pathlib import Path

from xcorpus.comparisons import compare, write_comparisons
from xcorpus.runlog import logged


def predictions(experiment):
    return {int(s): Path(p) for s, p in snakemake.params.runs[experiment].items()}


with logged(snakemake.log[0]):
    rows = [
        row
        for c in snakemake.params.comparisons
        for row in compare(
            predictions(c["a"]), predictions(c["b"]), name=c["name"], a=c["a"], b=c["b"]
        )
    ]
    write_comparisons(rows, Path(snakemake.output.csv), Path(snakemake.output.md))

from pathlib import Path

from xcorpus.comparisons import compare, write_comparisons
from xcorpus.dimensional_comparisons import compare_ccc, write_ccc_comparisons
from xcorpus.runlog import logged

# metric -> (one comparison's rows, the writer of the tables)
KINDS = {"uar": (compare, write_comparisons), "ccc": (compare_ccc, write_ccc_comparisons)}


def predictions(experiment):
    return {int(s): Path(p) for s, p in snakemake.params.runs[experiment].items()}


with logged(snakemake.log[0]):
    rows_of, write = KINDS[snakemake.params.metric]
    rows = [
        row
        for c in snakemake.params.comparisons
        for row in rows_of(
            predictions(c["a"]), predictions(c["b"]), name=c["name"], a=c["a"], b=c["b"]
        )
    ]
    write(rows, Path(snakemake.output.csv), Path(snakemake.output.md))

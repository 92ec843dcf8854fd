from pathlib import Path

from xcorpus.aggregate import read_run, write_summary
from xcorpus.runlog import logged

with logged(snakemake.log[0], echo=False):  # the table is printed once, at the end of the run
    paths = [Path(p) for p in snakemake.input]
    runs = [
        read_run([p for p in paths if p.parts[-3] == name]) for name in snakemake.params.experiments
    ]
    write_summary(runs, Path(snakemake.output.csv), Path(snakemake.output.md))

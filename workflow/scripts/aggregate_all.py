from pathlib import Path

from xcorpus.aggregate import read_experiment, write_summary
from xcorpus.runlog import logged

with logged(snakemake.log[0], echo=False):  # the table is printed once, at the end of the run
    paths = [Path(p) for p in snakemake.input]
    runs = [
        read_experiment(experiment, [p for p in paths if p.parts[-3] == name])
        for name, experiment in snakemake.params.experiments.items()
    ]
    out = snakemake.output
    write_summary(runs, Path(out.csv), Path(out.md), Path(out.tex))

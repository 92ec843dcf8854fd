from pathlib import Path

from xcorpus.aggregate import read_experiment, write_experiment_table
from xcorpus.runlog import logged

with logged(snakemake.log[0]):
    found = [Path(p) for p in snakemake.input]
    run = read_experiment(snakemake.params.experiment, found)
    write_experiment_table(run, Path(snakemake.output[0]))

from pathlib import Path

from xcorpus.aggregate import read_run, write_experiment_table
from xcorpus.runlog import logged

with logged(snakemake.log[0]):
    write_experiment_table(read_run([Path(p) for p in snakemake.input]), Path(snakemake.output[0]))

from pathlib import Path

from xcorpus.aggregate import read_experiment, write_experiment_table
from xcorpus.runlog import logged
from xcorpus.tracking import log_averaged_run

with logged(snakemake.log[0]):
    found = [Path(p) for p in snakemake.input]
    run = read_experiment(snakemake.params.experiment, found)
    table = write_experiment_table(run, Path(snakemake.output[0]))
    log_averaged_run(
        snakemake.params.experiment,
        table.to_pylist(),
        snakemake.config["wandb_mode"],
        Path("results"),
    )

import json
from pathlib import Path

from xcorpus.aggregate import read_experiment_table
from xcorpus.runlog import logged
from xcorpus.tables import write_text
from xcorpus.tracking import log_averaged_run

with logged(snakemake.log[0]):
    rows = read_experiment_table(Path(snakemake.input[0])).to_pylist()
    experiment, mode = snakemake.params.experiment, snakemake.params.mode
    record = log_averaged_run(experiment, rows, mode, Path("results"))
    write_text(json.dumps(record, indent=2) + "\n", snakemake.output[0])

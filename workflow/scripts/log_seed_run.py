import json
from pathlib import Path

import pandas as pd

from xcorpus.runlog import logged
from xcorpus.tables import write_text
from xcorpus.tracking import log_seed_run

with logged(snakemake.log[0]):
    results = json.loads(Path(snakemake.input.results).read_text(encoding="utf-8"))
    history = snakemake.input.history
    rows = pd.read_csv(history).to_dict("records") if history else []
    experiment, mode = snakemake.params.experiment, snakemake.params.mode
    record = log_seed_run(experiment, results, rows, mode, Path("results"))
    write_text(json.dumps(record, indent=2) + "\n", snakemake.output[0])

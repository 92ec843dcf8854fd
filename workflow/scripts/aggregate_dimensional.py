from pathlib import Path

from xcorpus.aggregate import read_experiment
from xcorpus.dimensional_summary import write_ccc_summary
from xcorpus.runlog import logged

with logged(snakemake.log[0]):
    paths = [Path(p) for p in snakemake.input]
    runs = [
        read_experiment(experiment, [p for p in paths if p.parts[-3] == name])
        for name, experiment in snakemake.params.experiments.items()
    ]
    out = snakemake.output
    print(write_ccc_summary(runs, Path(out.csv), Path(out.md)), end="")

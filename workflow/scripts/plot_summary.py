from pathlib import Path

from xcorpus.plots import uar_heatmap
from xcorpus.runlog import logged

with logged(snakemake.log[0]):
    uar_heatmap(Path(snakemake.input[0]), Path(snakemake.output[0]))

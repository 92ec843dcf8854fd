from pathlib import Path

from xcorpus.plots import ccc_curves, vad_scatter
from xcorpus.runlog import logged

with logged(snakemake.log[0]):
    vad_scatter([Path(p) for p in snakemake.input.predictions], Path(snakemake.output.scatter))
    ccc_curves([Path(p) for p in snakemake.input.histories], Path(snakemake.output.curves))

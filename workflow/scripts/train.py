from pathlib import Path

from xcorpus.runlog import logged
from xcorpus.train import train_seed

with logged(snakemake.log[0]):
    train_seed(
        experiment=snakemake.params.experiment,
        seed=int(snakemake.wildcards.seed),
        manifest=Path(snakemake.input.manifest),
        indexes=[Path(p) for p in snakemake.input.indexes],
        audio_features=[Path(p) for p in snakemake.input.audio],
        text_features=[Path(p) for p in snakemake.input.text],
        difficulty=[Path(p) for p in snakemake.input.difficulty],
        out_dir=Path(snakemake.output.metrics).parent,
    )

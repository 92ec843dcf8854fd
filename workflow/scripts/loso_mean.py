from pathlib import Path

from xcorpus.aggregate import loso_mean
from xcorpus.runlog import logged

with logged(snakemake.log[0]):
    summary = loso_mean(
        [Path(p) for p in snakemake.input.metrics],
        [Path(p) for p in snakemake.input.predictions],
        Path(snakemake.output[0]),
    )
    ((corpus, result),) = summary["in_corpus"].items()
    print(f"{summary['experiment']} seed {summary['seed']}: LOSO {corpus} UAR {result['uar']:.4f}")

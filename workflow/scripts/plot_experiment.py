from pathlib import Path

from xcorpus.plots import accuracy_by_difficulty, confusion_matrices, learning_curves
from xcorpus.runlog import logged


def paths(files):
    return [Path(p) for p in files]


with logged(snakemake.log[0]):
    confusion_matrices(paths(snakemake.input.metrics), Path(snakemake.output.confusion))
    learning_curves(paths(snakemake.input.histories), Path(snakemake.output.curves))
    accuracy_by_difficulty(
        paths(snakemake.input.predictions),
        paths(snakemake.input.difficulty),
        Path(snakemake.output.difficulty),
    )

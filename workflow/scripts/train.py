import tempfile
from pathlib import Path

from xcorpus.resources import use_system_memory_pool
from xcorpus.runlog import logged
from xcorpus.train.run import Inputs, train_fold, train_seed

use_system_memory_pool()  # the memory the rule asks for assumes it
# Frame sequences are memory-mapped from the job's scratch space, removed when it ends.
scratch = tempfile.TemporaryDirectory(dir=snakemake.resources.tmpdir, prefix="xcorpus-frames-")
with logged(snakemake.log[0]), scratch:
    inputs = Inputs(
        manifest=Path(snakemake.input.manifest),
        indexes=[Path(p) for p in snakemake.input.indexes],
        audio_features=[Path(p) for p in snakemake.input.audio],
        text_features=[Path(p) for p in snakemake.input.text],
        difficulty=[Path(p) for p in snakemake.input.difficulty],
        frames_dir=Path(scratch.name),
    )
    common = {
        "experiment": snakemake.params.experiment,
        "seed": int(snakemake.wildcards.seed),
        "inputs": inputs,
        "out_dir": Path(snakemake.output.metrics).parent,
        "checkpoint_dir": Path(snakemake.params.checkpoints),
    }
    if hasattr(snakemake.wildcards, "fold"):
        fold, share = int(snakemake.wildcards.fold), snakemake.params.validation_speakers
        train_fold(fold=fold, share=share, **common)
    else:
        train_seed(**common)

from pathlib import Path

import pyarrow.parquet as pq

from xcorpus.manifest import build_manifest
from xcorpus.runlog import logged
from xcorpus.tables import write_csv, write_parquet


def by_corpus(paths):
    return {Path(p).stem: pq.read_table(p) for p in paths}


with logged(snakemake.log[0]):
    manifest, rejects = build_manifest(
        snakemake.params.experiment,
        by_corpus(snakemake.input.indexes),
        snakemake.params.validation_speakers,
        snakemake.params.test_speakers,
    )
    write_parquet(manifest, snakemake.output.manifest)
    write_csv(rejects, snakemake.output.rejects)
    print(f"{snakemake.wildcards.experiment}: {len(manifest)} utterances, {len(rejects)} rejected")

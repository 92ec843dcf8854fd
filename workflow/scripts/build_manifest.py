from pathlib import Path

import pyarrow.parquet as pq

from xcorpus.corpora.test_lists import read_test_lists
from xcorpus.manifest import build_manifest
from xcorpus.runlog import logged
from xcorpus.tables import read_by_corpus, write_csv, write_parquet

with logged(snakemake.log[0]):
    indexes = read_by_corpus(snakemake.input.indexes)
    manifest, rejects = build_manifest(
        snakemake.params.experiment,
        indexes,
        snakemake.params.validation_speakers,
        snakemake.params.test_speakers,
        read_test_lists(snakemake.params.test_lists, indexes),
        {Path(p).stem.removesuffix(".rated"): pq.read_table(p) for p in snakemake.input.rated},
    )
    write_parquet(manifest, snakemake.output.manifest)
    write_csv(rejects, snakemake.output.rejects)
    print(f"{snakemake.wildcards.experiment}: {len(manifest)} utterances, {len(rejects)} rejected")

from xcorpus.manifest import build_manifest
from xcorpus.runlog import logged
from xcorpus.tables import read_by_corpus, write_csv, write_parquet

with logged(snakemake.log[0]):
    manifest, rejects = build_manifest(
        snakemake.params.experiment,
        read_by_corpus(snakemake.input.indexes),
        snakemake.params.validation_speakers,
        snakemake.params.test_speakers,
    )
    write_parquet(manifest, snakemake.output.manifest)
    write_csv(rejects, snakemake.output.rejects)
    print(f"{snakemake.wildcards.experiment}: {len(manifest)} utterances, {len(rejects)} rejected")

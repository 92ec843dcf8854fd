import pyarrow.parquet as pq

from xcorpus.leakage import leakage_report, warnings
from xcorpus.runlog import logged
from xcorpus.tables import read_by_corpus, with_rated, write_csv

with logged(snakemake.log[0]):
    name = snakemake.wildcards.experiment
    report = leakage_report(
        snakemake.params.experiment,
        pq.read_table(snakemake.input.manifest),
        with_rated(read_by_corpus(snakemake.input.indexes)),
        with_rated(read_by_corpus(snakemake.input.hashes)),
        snakemake.params.features,
        snakemake.params.validation_speakers,
    )
    write_csv(report, snakemake.output[0])
    found = warnings(report, name)
    for line in found:
        print(line)
    print(f"{name}: leakage report, {len(found)} finding(s) -> {snakemake.output[0]}")

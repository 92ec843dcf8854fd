import pyarrow.parquet as pq

from xcorpus.corpora import CORPORA
from xcorpus.difficulty import score
from xcorpus.runlog import logged
from xcorpus.tables import write_csv, write_parquet

with logged(snakemake.log[0]):
    corpus, method = snakemake.wildcards.corpus, snakemake.wildcards.method
    index = pq.read_table(snakemake.input[0])
    difficulty, rejects = score(
        index, method, CORPORA[corpus].vad_scale, snakemake.params.expected_vad
    )
    write_parquet(difficulty, snakemake.output.difficulty)
    write_csv(rejects, snakemake.output.rejects)
    print(
        f"{corpus}: {method} difficulty for {len(difficulty)} utterances, {len(rejects)} rejected"
    )

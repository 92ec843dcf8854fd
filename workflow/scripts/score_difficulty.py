import pyarrow.parquet as pq

from xcorpus.corpora import CORPORA
from xcorpus.difficulty import score_difficulty
from xcorpus.runlog import logged
from xcorpus.tables import write_csv, write_parquet

with logged(snakemake.log[0]):
    corpus = snakemake.wildcards.corpus
    index = pq.read_table(snakemake.input[0])
    difficulty, rejects = score_difficulty(
        index, CORPORA[corpus].vad_scale, snakemake.params.expected_vad
    )
    write_parquet(difficulty, snakemake.output.difficulty)
    write_csv(rejects, snakemake.output.rejects)
    print(f"{corpus}: difficulty for {len(difficulty)} utterances, {len(rejects)} without V/A/D")

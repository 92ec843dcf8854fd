import time

import pyarrow.parquet as pq

from xcorpus.audio import hash_utterances
from xcorpus.runlog import logged
from xcorpus.tables import AUDIO_HASH_SCHEMA, write_parquet

with logged(snakemake.log[0]):
    start = time.perf_counter()
    index = pq.read_table(snakemake.input[0], columns=["utt_id", "audio_path", "start_s", "end_s"])
    hashes = hash_utterances(index)
    write_parquet(hashes, snakemake.output[0], AUDIO_HASH_SCHEMA)
    elapsed = time.perf_counter() - start
    print(f"{snakemake.wildcards.table}: {len(hashes)} audio hashes in {elapsed:.1f} s")

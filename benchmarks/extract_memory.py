"""Peak memory of one feature-extraction shard job at two corpus sizes with the same shard size.

Usage: python benchmarks/extract_memory.py [--small 5000] [--large 50000] [--shard-size 500]
    [--seconds 1.0] [--dir DIR]
Writes an index parquet of N utterances (one short real wav hard-linked under every name) and
runs `xcorpus extract` (eGeMAPS) on shard 0 of N / shard-size shards, each in a fresh process,
reporting the shard's utterances, seconds and peak RSS. A shard job holds one chunk of audio
and its shard's features, so its peak should follow the shard size, not the corpus size.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf

from xcorpus.tables import INDEX_SCHEMA, write_parquet

LINKS_PER_TEMPLATE = 50_000  # ext4 allows 65000 links to one inode


def build_index(root: Path, n: int, seconds: float) -> Path:
    """An index of `n` utterances whose wavs are hard links to a few noise templates."""
    audio = root / "audio"
    audio.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        if i % LINKS_PER_TEMPLATE == 0:
            template = root / f"template{i // LINKS_PER_TEMPLATE}.wav"
            noise = 0.1 * rng.standard_normal(int(16000 * seconds))
            sf.write(template, noise, 16000, subtype="PCM_16")
        path = audio / f"utt{i:07d}.wav"
        os.link(template, path)
        rows.append(
            {
                "utt_id": f"utt{i:07d}",
                "corpus": "SYN",
                "audio_path": str(path),
                "speaker": f"spk{i % 500}",
                "label": "neutral",
                "raw_label": "N",
            }
        )
    index = root / "index.parquet"
    write_parquet(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), index, INDEX_SCHEMA)
    return index


def measure(base: Path, n: int, shard_size: int, seconds: float) -> float:
    """Extract shard 0 of an `n`-utterance index in a fresh process; print and return peak MiB."""
    root = base / f"corpus_{n}"
    index = build_index(root, n, seconds)
    n_shards = max(1, n // shard_size)
    out = root / "shard.parquet"
    start = time.perf_counter()
    command = [sys.executable, "-c", RUN, str(index), str(out), str(n_shards)]
    peak_kib = int(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    elapsed = time.perf_counter() - start
    rows = pq.read_metadata(out).num_rows
    print(
        f"{n:>7} utterances, {n_shards:>4} shards: shard 0 holds {rows} utterances, "
        f"{elapsed:6.1f} s, peak RSS {peak_kib / 1024:7.1f} MiB",
        flush=True,
    )
    return peak_kib / 1024


# Runs in the child: extract shard 0 and print the child's own peak RSS in KiB.
RUN = """
import resource, sys
from pathlib import Path
from xcorpus.features.extraction import extract_to_file
extract_to_file(Path(sys.argv[1]), Path(sys.argv[2]), "egemaps", shard=0, n_shards=int(sys.argv[3]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--shard-size", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of each clip")
    parser.add_argument("--dir", help="where to build the corpora (default: a temporary dir)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, eGeMAPS, 1 thread")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        small = measure(Path(tmp), args.small, args.shard_size, args.seconds)
        large = measure(Path(tmp), args.large, args.shard_size, args.seconds)
    print(f"{args.large / args.small:.0f}x the corpus: {large / small:.2f}x the peak RSS")


if __name__ == "__main__":
    main()

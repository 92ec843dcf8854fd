"""The fingerprint of what a corpus loader reads: the workflow reindexes a corpus when it changes.

It is a params value of `index_corpus`, taken at every DAG build, and covers:

- every label, split and transcript file the loader reads (its CorpusSpec.sources), and the
  `transcripts:` TSV: path, size and mtime, so that editing, adding or removing one reindexes;
- the folders in which the loader looks audio files up by name: path and mtime, which the
  filesystem updates when an entry is added, removed or renamed in the folder.

Audio files themselves are not statted: at MSP-PODCAST scale (~270k wavs, often on NFS) that
would add a stat per file to every Snakemake start (BENCHMARKS.md). So an audio file whose
contents are overwritten in place, under the same name, does not reindex the corpus.
"""

import hashlib
import os
from pathlib import Path

from xcorpus.corpora import CORPORA


def fingerprint(name: str, root: str | Path, transcripts: str | Path | None = None) -> str:
    """A digest of the sources of corpus `name` under `root` (paths as given, so a copied work
    directory with relative demo roots keeps its fingerprints); a fixed text while `root` is no
    directory, which indexing reports."""
    root = Path(root)
    if not root.is_dir():
        return f"no directory {root}"
    sources = CORPORA[name].sources(root)
    files = sorted(map(str, sources.files))
    if transcripts is not None:
        files.append(str(transcripts))
    digest = hashlib.sha256()
    for path in files:
        digest.update(_entry(path, size=True))
    for path in sorted(map(str, sources.dirs)):
        digest.update(_entry(path, size=False))
    return digest.hexdigest()


def _entry(path: str, size: bool) -> bytes:
    """One line of the digest: path, size (of files: a folder's varies by filesystem), mtime."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        line = f"{path}\tmissing\n"
    else:
        line = f"{path}\t{stat.st_size if size else ''}\t{stat.st_mtime_ns}\n"
    return line.encode("utf-8", "surrogateescape")  # any file name the OS gives

"""Corpus loaders, one module per corpus, read the layouts the corpora are distributed in."""

from pathlib import Path

import pyarrow as pa

from xcorpus.corpora import cmumosei, iemocap, mspimprov, msppodcast, samsemo
from xcorpus.corpora.base import CorpusSpec, to_tables

CORPORA: dict[str, CorpusSpec] = {
    spec.name: spec
    for spec in (iemocap.SPEC, mspimprov.SPEC, msppodcast.SPEC, cmumosei.SPEC, samsemo.SPEC)
}


def index_corpus(name: str, root: str | Path) -> tuple[pa.Table, pa.Table]:
    """Read corpus `name` from `root` into its (index, rejects) tables."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{name}: corpus root {root} is not a directory")
    return to_tables(CORPORA[name].load(root), name)

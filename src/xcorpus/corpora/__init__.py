"""Corpus loaders, one module per corpus, read the layouts the corpora are distributed in."""

from xcorpus.corpora import (
    cmumosei,
    cremad,
    emodb,
    esd,
    iemocap,
    meld,
    mspimprov,
    msppodcast,
    ravdess,
    samsemo,
    savee,
    tess,
)
from xcorpus.corpora.base import CorpusSpec

CORPORA: dict[str, CorpusSpec] = {
    spec.name: spec
    for spec in (
        *(iemocap.SPEC, mspimprov.SPEC, msppodcast.SPEC, cmumosei.SPEC, samsemo.SPEC),
        *(cremad.SPEC, ravdess.SPEC, meld.SPEC, savee.SPEC, tess.SPEC, emodb.SPEC, esd.SPEC),
    )
}

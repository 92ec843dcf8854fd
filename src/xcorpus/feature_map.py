"""What the report's feature maps show: a bounded, seeded sample of one feature set's
utterance vectors, as extracted and as each feature normalisation of the config's experiments
hands them to the model, embedded in 2-D.

A panel reads one experiment's splits (load_data: its manifest's utterances, labels and
speakers), normalises them with xcorpus.train.normalise exactly as training does (`train`:
the training split's statistics, which the model applies itself), and pools every role
(training, validation, in-corpus and cross-corpus tests). The map is of utterance vectors
(a frame-level feature set's pooled `embedding`): for an experiment that trains on frame
sequences it shows the same method applied to those vectors. The sample is up to
`feature_map_per_corpus` utterances of each corpus, drawn with a fixed seed from the rows
sorted by (corpus, utt_id), so panels over the same utterances show the same ones. It is
embedded with t-SNE (seeded, on one thread: Barnes-Hut t-SNE is faster on one thread than on
contended cores, and one thread sums its gradients in a fixed order) when it has at most
TSNE_MAX rows, else with PCA, as t-SNE's time grows faster than the sample (BENCHMARKS.md,
"Feature map of the default demo").
"""

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from xcorpus.train.data import Data, Split, load_data
from xcorpus.train.normalise import map_splits, model_statistics, normalise
from xcorpus.train.settings import DataSettings

TSNE_MAX = 2000
SEED = 0


@dataclass(frozen=True)
class PanelSpec:
    """One column of the map: an experiment's splits under a normalisation."""

    title: str
    method: str  # a feature_normalisation; `none` is the features as extracted
    experiment: dict  # DataSettings' keys, and normalise's min_speaker_utterances
    modality: str  # audio | text: which input the feature set is
    manifest: Path
    indexes: list[Path]
    shards: list[Path]

    @classmethod
    def of(cls, column: dict) -> "PanelSpec":
        """A panel_plan column with its files (manifest, indexes, shards) added."""
        paths = {k: [Path(p) for p in column[k]] for k in ("indexes", "shards")}
        return cls(**column | paths | {"manifest": Path(column["manifest"])})


@dataclass(frozen=True)
class Panel:
    title: str
    points: np.ndarray  # (n, 2)
    corpus: np.ndarray
    label: np.ndarray  # class index
    embedding: str  # t-SNE | PCA


def as_model_sees(data: Data, modality: str, method: str, min_speaker_utterances: int) -> Data:
    """`data` normalised as training normalises it, the model's own standardisation included."""
    data, _ = normalise(data, method, min_speaker_utterances)
    mean, std = model_statistics(method, data.train)[modality]

    def standardised(split: Split) -> Split:
        return replace(split, x={modality: (_vectors(split, modality) - mean) / std})

    return map_splits(data, standardised)


def _vectors(split: Split, modality: str) -> torch.Tensor:
    """The split's utterance vectors: a map loads one modality, which is never sequences."""
    return cast(torch.Tensor, split.x[modality])


def pooled(data: Data, modality: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vectors, corpus, utt_id, label) of every role's rows that have a class: the map is
    coloured by class, so dimensional_all_rated's rated rows outside the four are left out."""
    splits = [data.train, data.val, *data.heldout.values(), *data.test.values()]
    splits = [s.take(np.flatnonzero(s.labelled.numpy())) for s in splits]
    return (
        torch.cat([_vectors(s, modality) for s in splits]).numpy(),
        np.concatenate([s.corpus for s in splits]),
        np.concatenate([s.utt_id for s in splits]),
        torch.cat([s.y for s in splits]).numpy(),
    )


def sample(corpus: np.ndarray, utt_id: np.ndarray, per_corpus: int, seed: int) -> np.ndarray:
    """Row positions of up to `per_corpus` rows of each corpus (all of a smaller one), drawn
    from the rows in (corpus, utt_id) order, so the same utterances in any order give the same
    sample; returned in that order."""
    order = np.lexsort((utt_id.astype(str), corpus.astype(str)))
    rng = np.random.default_rng(seed)
    chosen = []
    for name in sorted(set(corpus)):
        members = order[corpus[order] == name]
        keep = np.sort(rng.choice(len(members), min(per_corpus, len(members)), replace=False))
        chosen.append(members[keep])
    return np.concatenate(chosen)


def embed(x: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    """2-D coordinates of the rows of `x`, and the method used."""
    if len(x) > TSNE_MAX:
        return PCA(n_components=2, random_state=seed).fit_transform(x), "PCA"
    perplexity = min(30.0, (len(x) - 1) / 3)
    tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=seed)
    with threadpool_limits(1):
        return tsne.fit_transform(x), "t-SNE"


def panel(spec: PanelSpec, per_corpus: int, seed: int = SEED) -> Panel:
    """Load, normalise, sample and embed one panel."""
    settings = DataSettings.of(spec.experiment)
    data = load_data(settings, spec.manifest, spec.indexes, {spec.modality: spec.shards}, None)
    minimum = spec.experiment["min_speaker_utterances"]
    data = as_model_sees(data, spec.modality, spec.method, minimum)
    x, corpus, utt_id, label = pooled(data, spec.modality)
    rows = sample(corpus, utt_id, per_corpus, seed)
    start = time.perf_counter()
    points, method = embed(x[rows].astype(np.float64), seed)
    print(
        f"{spec.title}: {len(rows)} of {len(x)} utterances (at most {per_corpus} per corpus), "
        f"{method} in {time.perf_counter() - start:.1f} s"
    )
    return Panel(spec.title, points, corpus[rows], label[rows], method)

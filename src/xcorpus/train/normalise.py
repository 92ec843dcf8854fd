"""Feature normalisation of an experiment's splits (`feature_normalisation`), applied after
load_data and before the model.

- train: nothing here; the model standardises every split with the training split's statistics
  (its buffers, so a saved model carries them).
- corpus: every corpus with its own statistics. A training corpus's come from its training rows
  and also standardise its validation and in-corpus test rows; a test corpus's come from its
  own (unlabelled) features.
- speaker: every speaker with the statistics of its own rows within its split (training,
  validation, an in-corpus test or a test corpus), as speaker normalisation is usually done in
  speech emotion recognition; a speaker with fewer than `min_speaker_utterances` utterances
  there is standardised with its corpus's statistics (as under `corpus`).
- none: features enter the model as extracted.

Statistics are means and standard deviations of features only, never of labels. Those taken
from a test corpus's or held-out speakers' own features make the result transductive: the
record says so and why, for the log, metrics.json, the summary tables and W&B. A constant
dimension (std at most 1e-8 within a group) keeps std 1, so it is centred to 0 rather than
divided by 0. Sequences are standardised per dimension over all frames of a group.
"""

from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from xcorpus.train.data import Data, Split
from xcorpus.train.models import sequence_standardisation, standardisation
from xcorpus.train.sequences import Sequences, Standardisation

METHODS = ("train", "corpus", "speaker", "none")

Stats = dict[str, tuple[torch.Tensor, torch.Tensor]]  # modality -> (mean, std)


def statistics(x: torch.Tensor | Sequences) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and std of utterance vectors, or of every frame of sequences."""
    return sequence_standardisation(x) if isinstance(x, Sequences) else standardisation(x)


def model_statistics(method: str, train: Split) -> Stats:
    """What the model's encoders standardise with: the training split's statistics under
    `train`; under the other methods the identity (inputs arrive normalised, or as they are)."""
    if method == "train":
        return {m: statistics(x) for m, x in train.x.items()}
    return {m: _identity(x) for m, x in train.x.items()}


def normalise(data: Data, method: str, min_speaker_utterances: int) -> tuple[Data, dict]:
    """The splits normalised by `method`, and its record for metrics.json: method, whether the
    result is transductive and why, and under `speaker` how many speakers had their own
    statistics."""
    if method not in METHODS:
        raise ValueError(f"unknown feature_normalisation {method!r}; known: {', '.join(METHODS)}")
    record: dict = {"method": method, "transductive": False, "reason": None}
    if method in ("train", "none"):
        return data, record
    corpus_stats = {c: _stats(data.train, _of(data.train, c)) for c in _corpora(data.train)}
    corpus_stats |= {c: _stats(split, np.arange(len(split))) for c, split in data.test.items()}
    if method == "corpus":
        normalised = map_splits(data, lambda split: _by_corpus(split, corpus_stats))
        if data.test:
            record |= _transductive(
                f"test corpora {', '.join(data.test)} are standardised with the statistics of "
                "their own unlabelled features"
            )
        return normalised, record
    counts = {"own": 0, "fallback": 0, "fallback_utterances": 0}
    normalised = map_splits(
        data, lambda split: _by_speaker(split, corpus_stats, min_speaker_utterances, counts)
    )
    record |= {"min_speaker_utterances": min_speaker_utterances, "speakers": counts}
    if data.test or data.heldout:
        record |= _transductive(
            "test and in-corpus test speakers are standardised with the statistics of their own "
            f"unlabelled features (those with fewer than {min_speaker_utterances} utterances "
            "with their corpus's; a test corpus's from its own features)"
        )
    return normalised, record


def describe(record: dict) -> str:
    """The training log's line for a normalisation record."""
    line = f"feature normalisation: {record['method']}"
    if "speakers" in record:
        s = record["speakers"]
        line += (
            f"; {s['own']} speaker(s) with their own statistics, {s['fallback']} with fewer "
            f"than {record['min_speaker_utterances']} utterances ({s['fallback_utterances']} "
            "utterances) with their corpus's"
        )
    if record["transductive"]:
        line += f"; TRANSDUCTIVE: {record['reason']}"
    return line


def _transductive(reason: str) -> dict:
    return {"transductive": True, "reason": reason}


def _identity(x: torch.Tensor | Sequences) -> tuple[torch.Tensor, torch.Tensor]:
    dim = x.dim if isinstance(x, Sequences) else x.shape[1]
    return torch.zeros(dim), torch.ones(dim)


def _corpora(split: Split) -> list[str]:
    return list(dict.fromkeys(split.corpus))


def _of(split: Split, corpus: str) -> np.ndarray:
    return np.flatnonzero(split.corpus == corpus)


def _stats(split: Split, rows: np.ndarray) -> Stats:
    return {m: statistics(x) for m, x in split.take(rows).x.items()}


def map_splits(data: Data, apply) -> Data:
    """`data` with `apply` (Split -> Split) applied to every split."""
    return replace(
        data,
        train=apply(data.train),
        val=apply(data.val),
        test={c: apply(s) for c, s in data.test.items()},
        heldout={c: apply(s) for c, s in data.heldout.items()},
    )


def _by_corpus(split: Split, corpus_stats: dict[str, Stats]) -> Split:
    groups = [(_of(split, c), corpus_stats[c]) for c in _corpora(split)]
    return _standardise(split, groups)


def _by_speaker(
    split: Split, corpus_stats: dict[str, Stats], minimum: int, counts: dict[str, int]
) -> Split:
    """Each speaker of the split with its own rows' statistics; the speakers with fewer than
    `minimum` rows, together, with their corpus's. Adds to `counts`."""
    if split.speaker is None:
        raise ValueError("speaker normalisation needs the speakers of the split's utterances")
    missing = np.array([s is None or s != s or s == "" for s in split.speaker], dtype=bool)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"utterance {split.utt_id[i]} ({split.corpus[i]}) has no speaker in the corpus "
            "index, which feature_normalisation speaker needs"
        )
    speakers = pd.DataFrame({"corpus": split.corpus, "speaker": split.speaker})
    members = speakers.groupby(["corpus", "speaker"], sort=False).indices
    groups: list[tuple[np.ndarray, Stats]] = []
    small: dict[str, list[np.ndarray]] = {}
    for (corpus, _), rows in members.items():
        if len(rows) >= minimum:
            groups.append((rows, _stats(split, rows)))
            counts["own"] += 1
        else:
            small.setdefault(corpus, []).append(rows)
            counts["fallback"] += 1
    for corpus, parts in small.items():
        rows = np.sort(np.concatenate(parts))
        groups.append((rows, corpus_stats[corpus]))
        counts["fallback_utterances"] += len(rows)
    return _standardise(split, groups)


def _standardise(split: Split, groups: list[tuple[np.ndarray, Stats]]) -> Split:
    """`split` with the rows of each group standardised by that group's statistics (the groups
    cover every row once): vectors in a new matrix, sequences by the statistics their batches
    apply (the frames are not rewritten; xcorpus.train.sequences)."""
    x: dict[str, torch.Tensor | Sequences] = {}
    for m, t in split.x.items():
        if isinstance(t, Sequences):
            group = torch.empty(len(t), dtype=torch.int64)
            for g, (rows, _) in enumerate(groups):
                group[rows] = g
            mean = torch.stack([stats[m][0] for _, stats in groups])
            std = torch.stack([stats[m][1] for _, stats in groups])
            x[m] = t.standardised(Standardisation(mean, std, group))
            continue
        values = t.clone()
        for rows, stats in groups:
            mean, std = stats[m]
            index = torch.from_numpy(rows)
            values[index] = ((t[index].float() - mean) / std).to(values.dtype)
        x[m] = values
    return replace(split, x=x)

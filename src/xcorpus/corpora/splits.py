"""Official splits regrouped so that no speaker is in two of them.

Some releases split at utterance level: SAMSEMO's official splits are random over scenes, so a
source video (its speaker proxy) lands in train and test alike, and an in-corpus test on them is
not speaker-independent. Regrouping keeps which utterances have a split and the official split
sizes as targets, and moves whole speakers.
"""

import hashlib
from collections import Counter
from itertools import accumulate

# Splits are filled in this order; any other split name follows, sorted.
ORDER = ("train", "dev", "test", "test1", "test2", "test3")


def _key(corpus: str, speaker: str) -> bytes:
    """A fixed pseudo-random order of speakers that depends on nothing but their names."""
    return hashlib.blake2b(f"{corpus}:{speaker}".encode(), digest_size=8).digest()


def group_by_speaker(rows: list[dict], corpus: str) -> dict[str, str]:
    """Reassign `split` of every row that has one so each speaker is in exactly one split;
    return speaker -> split.

    Speakers, in an order fixed by a hash of their names, fill the splits one after another up
    to each split's official utterance count; rows without a split keep none.
    """
    split_rows = [row for row in rows if row["split"] is not None]
    targets = Counter(row["split"] for row in split_rows)
    names = [s for s in ORDER if s in targets] + sorted(set(targets) - set(ORDER))
    ends = list(accumulate(targets[name] for name in names))  # cumulative official sizes
    sizes = Counter(row["speaker"] for row in split_rows)
    assigned: dict[str, str] = {}
    filled = 0
    for speaker in sorted(sizes, key=lambda s: _key(corpus, s)):
        i = next((k for k, end in enumerate(ends) if filled < end), len(names) - 1)
        assigned[speaker] = names[i]
        filled += sizes[speaker]
    for row in split_rows:
        row["split"] = assigned[row["speaker"]]
    return assigned

"""Fixed test lists: a test corpus restricted to the utterances a published protocol scores.

`corpora.<name>.test_list: emobox` restricts a corpus, where it is a test corpus, to EmoBox's
balanced cross-corpus ("track 2") list shipped in corpora/data/emobox_track2 (IEMO, MELD,
RAVDESS, SAVEE: 240 utterances, 60 per class). A path instead names a list of one's own in the
same JSON-lines format (`wav_filename`, `label`, `speaker` per line). Where the corpus is trained
on, the list changes nothing: it trains, validates and tests in-corpus on its usual roles.

EmoBox's `wav_filename` is mapped to our ids per corpus:
- IEMO `happy/Ses02F_impro03_F019.wav` and RAVDESS `Actor_15/03-01-03-01-01-02-15.wav`: the
  file stem;
- SAVEE `JK/sa09.wav`: `JK_sa09`;
- any other corpus (a list of one's own): the file stem;
- MELD `audio/dia933_utt6.wav` names no split: it is the index row of that dialogue and
  utterance whose label and speaker agree with the list's; `final_videos_testdia12_utt3` is
  test dialogue 12's utterance 3. An item matching rows of two splits cannot be resolved; it is
  left out and named in the manifest log (two items of EmoBox's MELD list are ambiguous between
  train and test, so our MELD track-2 set has 238 utterances).

Every listed utterance must be in the corpus index with the list's label: one missing (not
indexed, or rejected at indexing) or labelled otherwise is an error naming it, since scoring a
subset of the list would not be the protocol the list stands for.
"""

import json
import re
from collections import Counter
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import pyarrow as pa

from xcorpus.corpora.base import TEXT_ENCODING

EMOBOX = "emobox"
EMOBOX_FILES = {
    "IEMO": "IEMOCAP_selected_balenced.jsonl",
    "MELD": "MELD_selected_balenced.jsonl",
    "RAVDESS": "RAVDESS_selected_balenced.jsonl",
    "SAVEE": "SAVEE_selected_balenced.jsonl",
}
KEYS = ("wav_filename", "label", "speaker")
MELD_STEM = re.compile(r"^(?:final_videos_(test))?dia(\d+)_utt(\d+)$")
MELD_ID = re.compile(r"dia(\d+)_utt(\d+)$")


def list_path(corpus: str, test_list: str) -> Path:
    """The list file `test_list` (`emobox` or a path) names for `corpus`."""
    if test_list != EMOBOX:
        return Path(test_list).expanduser()
    if corpus not in EMOBOX_FILES:
        raise ValueError(
            f"corpus {corpus}: EmoBox has no track-2 test list for it (it has one for "
            f"{', '.join(EMOBOX_FILES)}); remove test_list or give a list file's path"
        )
    return Path(str(files("xcorpus.corpora") / "data" / "emobox_track2" / EMOBOX_FILES[corpus]))


def read_list(path: Path) -> list[dict]:
    """The list's entries, each with its line number; a line that is not an object with string
    `wav_filename`, `label` and `speaker` is an error naming the file and line."""
    entries = []
    with open(path, encoding=TEXT_ENCODING) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not a JSON line ({error.msg})") from None
            if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in KEYS):
                raise ValueError(f"{path}:{number}: needs string keys {', '.join(KEYS)}")
            entries.append({**entry, "line": number})
    if not entries:
        raise ValueError(f"{path}: the test list is empty")
    return entries


def _stem(entry: dict) -> str:
    return Path(entry["wav_filename"]).stem


def _savee(entry: dict) -> str:
    path = Path(entry["wav_filename"])
    return f"{path.parent.name}_{path.stem}"


MAPPINGS: dict[str, Callable[[dict], str]] = {
    "IEMO": _stem,
    "RAVDESS": _stem,
    "SAVEE": _savee,
}


def _meld_ids(entries: list[dict], index: pa.Table) -> tuple[list[tuple[dict, str]], list[str]]:
    """(entry, id) of each resolvable MELD entry, and the ambiguous entries described."""
    rows: dict[tuple[int, int], list[dict]] = {}
    for row in index.select(["utt_id", "split", "label", "speaker"]).to_pylist():
        match = MELD_ID.search(row["utt_id"])
        if match:
            rows.setdefault((int(match[1]), int(match[2])), []).append(row)
    resolved, ambiguous = [], []
    for entry in entries:
        match = MELD_STEM.match(_stem(entry))
        if not match:
            resolved.append((entry, _stem(entry)))  # reported as missing below
            continue
        split, key = match[1], (int(match[2]), int(match[3]))
        candidates = [
            r
            for r in rows.get(key, [])
            if (split is None or r["split"] == split)
            and r["label"] == entry["label"]
            and r["speaker"] == entry["speaker"]
        ]
        if len(candidates) > 1:
            splits = ", ".join(sorted(r["split"] for r in candidates))
            ambiguous.append(f"{entry['wav_filename']} ({splits})")
        else:
            named = candidates[0]["utt_id"] if candidates else _stem(entry)
            resolved.append((entry, named))
    return resolved, ambiguous


def listed_ids(corpus: str, path: Path, index: pa.Table) -> tuple[set[str], list[str]]:
    """The ids of `corpus`'s index that the list at `path` names, and the entries left out as
    ambiguous (MELD only). Raises on an entry the index lacks or labels otherwise."""
    entries = read_list(path)
    if corpus == "MELD":
        resolved, ambiguous = _meld_ids(entries, index)
    else:
        mapping = MAPPINGS.get(corpus, _stem)
        resolved, ambiguous = [(e, mapping(e)) for e in entries], []
    ids, labels = index.column("utt_id").to_pylist(), index.column("label").to_pylist()
    labels = dict(zip(ids, labels, strict=True))
    for entry, utt_id in resolved:
        where = f"{path}:{entry['line']}: {entry['wav_filename']}"
        if utt_id not in labels:
            raise ValueError(
                f"{corpus}: test list {where} is utterance {utt_id}, which the {corpus} index "
                "does not have (not in the corpus, or rejected at indexing: see its rejects)"
            )
        if labels[utt_id] != entry["label"]:
            raise ValueError(
                f"{corpus}: test list {where} labels {utt_id} {entry['label']}, the {corpus} "
                f"index {labels[utt_id]}"
            )
    counts = Counter(utt_id for _, utt_id in resolved)
    repeated = sorted(i for i, n in counts.items() if n > 1)
    if repeated:
        raise ValueError(f"{corpus}: test list {path} names {', '.join(repeated)} twice")
    return set(counts), ambiguous


def read_test_lists(test_lists: dict[str, str], indexes: dict[str, pa.Table]) -> dict[str, set]:
    """Per test corpus with a `test_list`, the ids it is tested on; says so in the log."""
    chosen = {}
    for corpus, path in test_lists.items():
        ids, ambiguous = listed_ids(corpus, Path(path), indexes[corpus])
        left_out = f"; left out as ambiguous: {', '.join(ambiguous)}" if ambiguous else ""
        print(f"{corpus}: tested on the {len(ids)} utterance(s) of test list {path}{left_out}")
        chosen[corpus] = ids
    return chosen

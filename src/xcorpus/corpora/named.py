"""Audio files whose names carry their labels (CREMA-D, RAVDESS, SAVEE, TESS), found anywhere
under the root.

These corpora ship no label file: the file name is the label record. Their copies differ in the
folders around the files (Kaggle, Zenodo and Google-Drive zips add, drop or double a top folder),
so the files are found by one recursive walk, and the id comes from the name alone: the same
utterance gets the same id from every re-packaging. The rules (corpora-more.md §0.6, §11):

- AppleDouble `._*` files and names outside the corpus's grammar define no utterance: they are
  ignored (Loaded.ignored: the index footer and the indexing log name them), not rejected.
- A name found twice with byte-identical contents (the Kaggle RAVDESS copy holds every file
  twice) is one utterance, read from the path the walk meets first (a folder's files, then its
  subfolders, each in name order); the copy is ignored the same way.
  Different contents under one id are a rejected duplicate, as for the other corpora.
- Every other matching file is one entry of the accounting (Loaded.entries).
"""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xcorpus.corpora.base import Loaded, Sources, folders
from xcorpus.corpora.files import APPLEDOUBLE, distinct_copies, relative


@dataclass(frozen=True)
class Named:
    """One audio file of the corpus: its id, where it lies, and the fields its name holds."""

    utt_id: str
    path: Path
    source: str  # the path relative to the root, as reject sources give it
    fields: re.Match[str]
    raw_label: str


# A parser takes a file's path and returns (utt_id, name fields, raw label), or a string saying
# why the name is not one of the corpus's files.
Parser = Callable[[Path], tuple[str, re.Match[str], str] | str]


def audio_files(root: Path, suffix: str = ".wav") -> list[Path]:
    """Every file under `root` whose name ends in `suffix` (any case), in walk order: a
    folder's files, then its subfolders, each sorted by name."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found += [Path(folder, f) for f in sorted(files) if f.lower().endswith(suffix)]
    return found


def named_files(root: Path, loaded: Loaded, parse: Parser) -> list[Named]:
    """The corpus's files under `root`, one per id (see the module docstring); duplicates with
    other contents are rejected into `loaded`, ignored files recorded in it."""
    found = []
    for path in audio_files(root):
        if path.name.startswith(APPLEDOUBLE):
            loaded.ignored.append(f"{relative(path, root)} (AppleDouble file)")
            continue
        parsed = parse(path)
        if isinstance(parsed, str):
            loaded.ignored.append(f"{relative(path, root)} ({parsed})")
            continue
        utt_id, fields, raw_label = parsed
        found.append((utt_id, path, raw_label, fields))
    return [
        Named(utt_id, path, source, fields, raw_label)
        for utt_id, path, raw_label, source, fields in distinct_copies(found, root, loaded)
    ]


def walked(root: Path) -> Sources:
    """The sources of a corpus without label files: every folder, since its wavs are found by
    a walk."""
    return Sources(files=[], dirs=folders(root))


def find_file(root: Path, name: str) -> Path | None:
    """The shallowest file called `name` under `root` (first in sorted order among equals), for
    metadata that re-packagings move with their wrapper folder; None when there is none."""
    found = [p for p in root.rglob(name) if p.is_file()]
    return min(found, key=lambda p: (len(p.parts), p.as_posix())) if found else None


def row(named: Named, label: str, speaker: str, gender: str | None, **fields) -> dict:
    """An index row of a file-named corpus: whole file, no V/A/D, no session; `fields` fill
    split, transcript, language and the rater statistics."""
    return {
        "utt_id": named.utt_id,
        "audio_path": str(named.path),
        "start_s": None,
        "end_s": None,
        "speaker": speaker,
        "gender": gender,
        "session": None,
        "split": None,
        "label": label,
        "raw_label": named.raw_label,
        "valence": None,
        "arousal": None,
        "dominance": None,
        "transcript": None,
        "condition": None,
        "language": None,
    } | fields


def four_class(
    loaded: Loaded, named: Named, labels: dict[str, str], names: dict[str, str]
) -> str | None:
    """The 4-class label of the file's raw label, or None after rejecting it with the name of
    its emotion (`names`: raw label -> what the corpus calls it)."""
    code = named.raw_label
    if code in labels:
        return labels[code]
    shown = code if names.get(code, code) == code else f"{code} ({names[code]})"
    loaded.reject(named.utt_id, f"label {shown} not in the 4 classes", code, named.source)
    return None

"""MELD (MELD) as distributed in MELD.Raw.tar.gz, however its inner archives were unpacked.

Found anywhere under the root (a `MELD.Raw/`, `train/` or `test/` level may or may not be
there)::

    train_sent_emo.csv  dev_sent_emo.csv  test_sent_emo.csv     one row per utterance
    train_splits/  dev_splits_complete/  output_repeated_splits_test/   dia{D}_utt{U}.mp4

The CSV header holds Utterance, Speaker, Emotion, Dialogue_ID, Utterance_ID (others, e.g.
`Sr No.`, Season, StartTime, are ignored). Rows are iterated, never clips: a clip no row names
(dev dia49_utt4, test dia108_utt2) and the `final_videos_test*` twins of test clips are ignored
(named in the indexing log).

Decisions:

- utt_id = `<split>_dia<D>_utt<U>` (train/dev/test; Dialogue_ID and Utterance_ID restart at 0
  in every split, so the split is part of the id), e.g. `dev_dia110_utt7`.
- Labels (lower-cased): neutral -> neutral, joy -> happy, sadness -> sad, anger -> angry;
  surprise, fear, disgust are rejected as "label <name> not in the 4 classes".
- speaker = the Speaker column as written (a character name; generic names such as `Man` are one
  speaker across the show; an empty one -> `unknown:<utt_id>`, never merged); spelling variants
  (`Phoebe Sr` / `Phoebe Sr.`) are not merged. gender None (MELD ships none). split = the CSV's
  split. language = EN. transcript = Utterance, stripped. No sessions, V/A/D or rater
  statistics.
- Text: UTF-8, or cp1252 where it does not decode as UTF-8; then the typographic characters the
  2018 CSVs store as C1 control characters are replaced as MELD's own fix (PR #28) does
  (U+0085 -> ..., U+0091-U+0094 -> quotes, U+0096/U+0097 -> dashes, U+00A0 -> space), in
  Utterance and Speaker. CRLF and LF line ends are both read.
- Audio: the row's plain-named clip, decoded by PyAV at indexing (corpora/probe.py): a missing
  clip (dev dia110_utt7) or one that does not decode (train dia125_utt3) is rejected with its
  reason; `channels` is the AAC stream's (2 or 6), before downmixing. A split whose clip folder
  is nowhere under the root has all its rows rejected ("no clip folder ...").
  No duration cap: the 0.064 s clips decode to whole AAC frames (85 ms) and are kept, and so
  are the wrongly cut 4-5 minute test clips (dia38_utt4, dia220_utt0), as released. The
  5.1 channel order (UNCONFIRMED) does not matter here: every channel is averaged.
- The official splits are not speaker-disjoint (the six main characters are in all three), so
  training on MELD needs `corpora.MELD.splits: speaker` (refused before any job otherwise);
  as a test corpus it is used whole and its split does not matter.
- A malformed row (wrong field count, a Dialogue_ID/Utterance_ID that is no integer) is
  rejected with its file and line and reading goes on; a row for an id already read is
  rejected as "duplicate of <source>". Reject sources are `<csv below the root>:<line>`.
- Several CSVs or clip folders of one name: the first in sorted path order is read, the others
  are ignored (indexing log). UNCONFIRMED (assumed): which CSV encoding variant the tarball
  holds, and where its inner archives put the CSVs and folders (found wherever they are).
"""

import os
import re
from pathlib import Path

from xcorpus.corpora.base import CorpusSpec, Loaded, Malformed, Sources, delimited_records
from xcorpus.corpora.files import find_named, relative

SPLITS = ("train", "dev", "test")
CSV_NAMES = {split: f"{split}_sent_emo.csv" for split in SPLITS}
CLIP_FOLDERS = {
    "train": "train_splits",
    "dev": "dev_splits_complete",
    "test": "output_repeated_splits_test",
}
COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")
LABELS: dict[str, str] = {"neutral": "neutral", "joy": "happy", "sadness": "sad", "anger": "angry"}
CLIP_RE = re.compile(r"^(final_videos_test)?dia(\d+)_utt(\d+)\.mp4$")
# MELD's PR #28: the C1 control characters its 2018 CSVs hold in place of typography.
TYPOGRAPHY = str.maketrans(
    {
        "\x85": "\u2026",
        "\x91": "\u2018",
        "\x92": "\u2019",
        "\x93": "\u201c",
        "\x94": "\u201d",
        "\x96": "\u2013",
        "\x97": "\u2014",
        "\xa0": " ",
    }
)
LANGUAGE = "EN"


def _encoding(path: Path) -> str:
    """utf-8-sig when the file decodes as UTF-8, else cp1252."""
    try:
        path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def _int(text: str, column: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise Malformed(f"{column} {text!r}")
    return int(text)


def _first(found: list[Path], root: Path, loaded: Loaded) -> Path | None:
    """The first of several same-named files or folders; the others are logged as ignored."""
    for other in found[1:]:
        read = relative(found[0], root)
        loaded.ignored.append(f"{relative(other, root)} (another copy; read {read})")
    return found[0] if found else None


def _read_split(
    split: str, path: Path, folder: Path | None, root: Path, loaded: Loaded
) -> set[str]:
    """Append the rows of one split's CSV; the clip names it used."""
    shown = relative(path, root)
    used: set[str] = set()
    records = delimited_records(
        path, shown, "MELD", COLUMNS, _encoding(path), ",", loaded, lambda r: None
    )
    for lineno, rec in records:
        source = f"{shown}:{lineno}"
        try:
            dialogue, utterance = (
                _int(rec["Dialogue_ID"], "Dialogue_ID"),
                _int(rec["Utterance_ID"], "Utterance_ID"),
            )
        except Malformed as e:
            loaded.malformed(str(e), source)
            continue
        utt_id = f"{split}_dia{dialogue}_utt{utterance}"
        name = f"dia{dialogue}_utt{utterance}.mp4"
        used.add(name)  # its clip is accounted for by the row, whatever becomes of the row
        code = rec["Emotion"].strip().lower()
        if loaded.duplicate(utt_id, code, source):
            continue
        label = loaded.label(utt_id, code, LABELS, "", source)
        if label is None:
            continue
        if folder is None:
            reason = f"no clip folder {CLIP_FOLDERS[split]} under {root}"
            loaded.reject(utt_id, reason, code, source)
            continue
        loaded.rows.append(
            {
                "utt_id": utt_id,
                "audio_path": str(folder / name),
                "speaker": rec["Speaker"].translate(TYPOGRAPHY).strip() or f"unknown:{utt_id}",
                "gender": None,
                "split": split,
                "label": label,
                "raw_label": code,
                "transcript": rec["Utterance"].translate(TYPOGRAPHY).strip() or None,
                "language": LANGUAGE,
            }
        )
    return used


def load(root: Path) -> Loaded:
    """Read MELD from `root` (any folder holding its CSVs and clip folders, at any depth)."""
    root = Path(root).absolute()
    loaded = Loaded()
    found = find_named(root, (*CSV_NAMES.values(), *CLIP_FOLDERS.values()))
    read = []
    for split in SPLITS:
        path = _first([p for p in found[CSV_NAMES[split]] if p.is_file()], root, loaded)
        folder = _first([p for p in found[CLIP_FOLDERS[split]] if p.is_dir()], root, loaded)
        if path is None:
            continue
        read.append(split)
        used = _read_split(split, path, folder, root, loaded)
        if folder is not None:
            _log_unused(folder, used, root, loaded)
    if not read:
        raise FileNotFoundError(f"MELD: no {', '.join(CSV_NAMES.values())} under {root}")
    loaded.variant = "+".join(read) + " CSVs"
    return loaded


def _log_unused(folder: Path, used: set[str], root: Path, loaded: Loaded) -> None:
    """Log the clips of `folder` no row reads: unannotated extras and final_videos_test twins."""
    with os.scandir(folder) as entries:
        names = sorted(entry.name for entry in entries if entry.name not in used)
    for name in names:
        match = CLIP_RE.match(name)
        if match is None:
            why = "name outside the grammar"
        elif match.group(1):
            why = "final_videos_test twin; the plain-named clip is read"
        else:
            why = "no CSV row names it"
        loaded.ignored.append(f"{relative(folder / name, root)} ({why})")


def sources(root: Path) -> Sources:
    """The three CSVs and the three clip folders, wherever they are under the root."""
    found = find_named(root, (*CSV_NAMES.values(), *CLIP_FOLDERS.values()))
    files = [p for name in CSV_NAMES.values() for p in found[name]]
    dirs = [p for name in CLIP_FOLDERS.values() for p in found[name]]
    return Sources(files=files, dirs=[root, *dirs])


SPEC = CorpusSpec(
    name="MELD",
    load=load,
    sources=sources,
    vad_scale=None,
    has_transcripts=True,
    splits_share_speakers=True,
)

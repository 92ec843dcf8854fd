"""SAMSEMO (SAMSEMO) as distributed.

Layout read under the root::

    samsemo.tsv                              labels + metadata, UTF-16 with BOM, TAB-separated,
                                             32 named columns, one row per scene
    splits/{train,valid,test}_split_<LANG>.txt   official split ids, one per line (optional)
    **/<utterance_id>/audio.wav              scene audio (e.g. EN/<id>/audio.wav from EN.zip)

The TSV is read with the csv module (TAB delimiter, `"` quoting as pandas writes it), so commas
and non-ASCII text in transcripts are safe. The header must hold all 32 documented columns
(extra columns are ignored). A malformed row (a field count that differs from the header, an
empty utterance_id, an annotator emotion outside the documented set) is rejected with its line
and reading goes on.

Decisions:

- Only single-label `aggregated_emotions` in {neutral, happiness, sadness, anger} are kept
  (-> neutral/happy/sad/angry). Empty -> "no majority label" (raw_label None), `a|b` ->
  "multi-label a|b", anything else -> "label <name> not in the 4 classes". Label before audio.
- speaker = the source-video id `utterance_id.rsplit('_', 1)[0]` (no speaker ids are released;
  scenes with several faces stay under their video). gender from `sex`: male -> M,
  female -> F, other/empty -> None. No sessions, no V/A/D.
- split from splits/*_split_<LANG>.txt: train -> train, valid -> dev, test -> test; None for ids
  in no split file (the official splits cover only the single-person subset). An id listed in
  two split files raises ValueError. The splits are random at scene level (videos overlap).
- Audio: one recursive glob for `audio.wav`, keyed by the parent folder name; when two folders
  share a name the first in sorted path order is used.
- transcript = the `transcript` column (original language), stripped; empty -> None.
- language = the `language` column (EN/DE/ES/PL/KO), stripped; empty -> None.
- n_raters = the annotators (1-3) who gave at least one emotion (`emotion_{1,2}_annotator_k`);
  agreement = the share of them who gave the kept label as one of their (up to two) emotions;
  both None when no annotator column is filled. vad_spread and condition stay None (there are
  no V/A/D ratings).
- A row for an id already seen is rejected as "duplicate of <source>". Reject sources are
  `samsemo.tsv:<line>` (the line where the record starts).
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

from xcorpus.corpora.base import (
    TEXT_ENCODING,
    CorpusSpec,
    Loaded,
    Malformed,
    Sources,
    agreement,
    delimited_records,
    folders,
)

LABEL_FILE = "samsemo.tsv"
# The languages of its transcripts (the `language` column): a text encoder must read all five.
LANGUAGES = ("EN", "DE", "ES", "PL", "KO")
COLUMNS = (
    "utterance_id",
    "movie_title",
    "movie_link",
    "source_scene_start",
    "source_scene_stop",
    "language",
    "sex",
    "age",
    "race",
    "covered_face",
    "multiple_faces",
    "emotion_1_annotator_1",
    "emotion_2_annotator_1",
    "emotion_1_annotator_2",
    "emotion_2_annotator_2",
    "emotion_1_annotator_3",
    "emotion_2_annotator_3",
    "aggregated_emotions",
    "annotator_1",
    "annotator_2",
    "annotator_3",
    "transcript",
    "translation_de",
    "translation_en",
    "translation_es",
    "translation_ko",
    "translation_pl",
    "duration",
    "movie_type",
    "license",
    "author",
    "download_date",
)
LABELS: dict[str, str] = {
    "neutral": "neutral",
    "happiness": "happy",
    "sadness": "sad",
    "anger": "angry",
}
GENDERS: dict[str, str] = {"male": "M", "female": "F"}
SPLITS: dict[str, str] = {"train": "train", "valid": "dev", "test": "test"}
SPLIT_FILE_RE = re.compile(r"^(train|valid|test)_split_(\w+)\.txt$")
ANNOTATOR_EMOTIONS = frozenset(
    ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral", "other emotions"]
)


def _records(path: Path, loaded: Loaded) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, record) per well-formed data row of the UTF-16 TSV."""
    yield from delimited_records(
        path, path.name, "SAMSEMO", COLUMNS, "utf-16", "\t", loaded, _utt_id
    )


def _utt_id(record: dict[str, str]) -> str | None:
    return record.get("utterance_id", "").strip() or None


def _annotators(record: dict[str, str]) -> list[set[str]]:
    """Each annotator's emotions, leaving out those who gave none; Malformed on an unknown one."""
    found = []
    for k in (1, 2, 3):
        emotions = {record[f"emotion_{i}_annotator_{k}"].strip().lower() for i in (1, 2)} - {""}
        if unknown := emotions - ANNOTATOR_EMOTIONS:
            raise Malformed(f"annotator {k} emotion {sorted(unknown)[0]!r}")
        if emotions:
            found.append(emotions)
    return found


def _splits(root: Path) -> dict[str, str]:
    """utt_id -> train|dev|test from splits/*_split_<LANG>.txt (empty when there are none)."""
    splits: dict[str, str] = {}
    where: dict[str, str] = {}
    folder = root / "splits"
    if not folder.is_dir():
        return splits
    for path in sorted(folder.iterdir()):
        match = SPLIT_FILE_RE.match(path.name)
        if match is None or not path.is_file():
            continue
        split = SPLITS[match.group(1)]
        for line in path.read_text(encoding=TEXT_ENCODING).splitlines():
            utt_id = line.strip()
            if not utt_id:
                continue
            if utt_id in splits and where[utt_id] != path.name:
                raise ValueError(
                    f"SAMSEMO: {utt_id} is listed in both splits/{where[utt_id]} "
                    f"and splits/{path.name}"
                )
            splits[utt_id] = split
            where[utt_id] = path.name
    return splits


def _audio_files(root: Path) -> dict[str, Path]:
    """scene folder name -> audio.wav for every **/<utt_id>/audio.wav under the root."""
    audio: dict[str, Path] = {}
    for path in sorted(root.rglob("audio.wav")):
        if path.is_file():
            audio.setdefault(path.parent.name, path)
    return audio


def _reject_reason(key: str) -> str | None:
    """Why an aggregated_emotions value (lower-cased) is not kept; None for the 4 classes."""
    if not key:
        return "no majority label"
    if "|" in key:
        return f"multi-label {key}"
    if key not in LABELS:
        return f"label {key} not in the 4 classes"
    return None


def load(root: Path) -> Loaded:
    """Read SAMSEMO from `root` (the directory holding samsemo.tsv)."""
    root = Path(os.path.abspath(root))
    path = root / LABEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"SAMSEMO: no label file {LABEL_FILE} in {root}")
    splits = _splits(root)
    audio = _audio_files(root)
    loaded = Loaded()
    for lineno, rec in _records(path, loaded):
        source = f"{LABEL_FILE}:{lineno}"
        utt_id = _utt_id(rec)
        try:
            if utt_id is None:
                raise Malformed("row (empty utterance_id)")
            annotators = _annotators(rec)
        except Malformed as e:
            loaded.malformed(str(e), source, utt_id)
            continue
        raw_label = rec["aggregated_emotions"].strip() or None
        key = (raw_label or "").lower()
        if loaded.duplicate(utt_id, raw_label, source):
            continue
        reason = _reject_reason(key)
        if reason is not None:
            loaded.reject(utt_id, reason, raw_label, source)
            continue
        if utt_id not in audio:
            loaded.reject(utt_id, f"no audio file at **/{utt_id}/audio.wav", raw_label, source)
            continue
        transcript = rec["transcript"].strip()
        loaded.rows.append(
            {
                "utt_id": utt_id,
                "audio_path": str(audio[utt_id]),
                "start_s": None,
                "end_s": None,
                "speaker": utt_id.rsplit("_", 1)[0],
                "gender": GENDERS.get(rec["sex"].strip().lower()),
                "session": None,
                "split": splits.get(utt_id),
                "label": LABELS[key],
                "raw_label": raw_label,
                "valence": None,
                "arousal": None,
                "dominance": None,
                "transcript": transcript or None,
                "language": rec["language"].strip() or None,
                "n_raters": len(annotators) or None,
                "agreement": agreement(sum(key in a for a in annotators), len(annotators)),
            }
        )
    return loaded


def sources(root: Path) -> Sources:
    """The label TSV and the split files, and every folder: audio is found by a recursive
    glob."""
    return Sources(files=[root / LABEL_FILE, *(root / "splits").glob("*")], dirs=folders(root))


SPEC = CorpusSpec(
    name="SAMSEMO",
    load=load,
    sources=sources,
    vad_scale=None,
    has_transcripts=True,
    languages=LANGUAGES,
    demo_languages=("EN",),
    splits_share_speakers=True,
    has_agreement=True,
)

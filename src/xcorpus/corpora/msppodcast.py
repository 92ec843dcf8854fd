"""MSP-Podcast (MSPP) as distributed.

Layout read under the root (releases 1.6-1.12)::

    {Labels,labels,label}/labels_{consensus,concensus}.{csv,json}   consensus labels
    Audios/<FileName>                                               audio (FileName ends .wav)
    Transcripts/<stem>.txt                                          one line of text

The CSV header holds FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set
(any order, extra columns ignored; a missing one is an error). The JSON variant is an object
keyed by FileName whose values hold the other seven fields.

Decisions:

- The first label file found wins, in the order Labels/labels/label, consensus/concensus,
  csv/json.
- utt_id = FileName without `.wav` (no assumption on the number of name fields).
- Labels A/H/S/N kept; `X` is rejected as "no majority label", U/F/D/C/O and any other code as
  "label <code> not in the 4 classes". The label is checked before the audio.
- V/A/D = EmoVal/EmoAct/EmoDom on the native 1-7 scale; an empty or `NaN` value -> None.
- SpkrID `Unknown` (or empty) -> speaker `unknown:<utt_id>`, one speaker per file, so that
  unknown speakers are never merged. Gender Male/Female -> M/F, anything else -> None.
- Split_Set Train -> train, Development/Validation -> dev, Test1/2/3 -> test1/2/3, Test -> test,
  empty -> None; any other value raises ValueError. No sessions (session None).
- Transcript: the stripped text of Transcripts/<stem>.txt (several lines are joined with a
  space); None when the file is missing.
- A row for an id already seen is rejected as "duplicate of <source>". Reject sources are
  `<label file relative to root>:<line>` (CSV) or the JSON file's relative path.
- The variant recorded in the index footer is `<label file> + <dev split name(s)>`, e.g.
  `Labels/labels_consensus.csv + Development`, since releases differ in exactly those.
"""

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

from xcorpus.corpora.base import CorpusSpec, Loaded, delimited_records

LABEL_DIRS = ("Labels", "labels", "label")
LABEL_STEMS = ("labels_consensus", "labels_concensus")
LABEL_EXTS = (".csv", ".json")
COLUMNS = ("FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set")

LABELS: dict[str, str] = {"N": "neutral", "H": "happy", "S": "sad", "A": "angry"}
NO_MAJORITY = "X"
SPLITS: dict[str, str] = {
    "train": "train",
    "development": "dev",
    "validation": "dev",
    "test": "test",
    "test1": "test1",
    "test2": "test2",
    "test3": "test3",
}
GENDERS: dict[str, str] = {"male": "M", "female": "F"}


def _label_file(root: Path) -> Path:
    for folder in LABEL_DIRS:
        for stem in LABEL_STEMS:
            for ext in LABEL_EXTS:
                path = root / folder / f"{stem}{ext}"
                if path.is_file():
                    return path
    raise FileNotFoundError(
        f"MSPP: no label file {{Labels,labels,label}}/labels_{{consensus,concensus}}.{{csv,json}}"
        f" in {root}"
    )


def _csv_records(path: Path, shown: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(source, record) per data row; ValueError on a missing column or a ragged row."""
    for lineno, record in delimited_records(path, shown, "MSPP", COLUMNS, "utf-8-sig", ","):
        yield f"{shown}:{lineno}", record


def _json_records(path: Path, shown: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(source, record) per FileName key; ValueError on a missing field."""
    with path.open(encoding="utf-8-sig") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"MSPP: {shown} is not an object keyed by FileName")
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise ValueError(f"MSPP: {shown}: entry {name} is not an object")
        record = {"FileName": name}
        for column in COLUMNS[1:]:
            if column not in fields:
                raise ValueError(f"MSPP: {shown}: entry {name} has no field {column}")
            value = fields[column]
            record[column] = "" if value is None else str(value)
        yield shown, record


def _value(text: str, column: str, source: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"MSPP: malformed {column} value {text!r} at {source}") from None
    return None if math.isnan(value) else value


def _split(text: str, source: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    if text.lower() not in SPLITS:
        raise ValueError(f"MSPP: unknown Split_Set {text!r} at {source}")
    return SPLITS[text.lower()]


def _transcript(path: Path) -> str | None:
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def load(root: Path) -> Loaded:
    """Read MSP-Podcast from `root` (the directory holding Labels/ and Audios/)."""
    root = Path(os.path.abspath(root))
    path = _label_file(root)
    shown = path.relative_to(root).as_posix()
    records = _json_records(path, shown) if path.suffix == ".json" else _csv_records(path, shown)
    loaded = Loaded()
    dev_names: set[str] = set()
    for source, rec in records:
        file_name = rec["FileName"].strip()
        code = rec["EmoClass"].strip()
        if not file_name:
            raise ValueError(f"MSPP: empty FileName at {source}")
        utt_id = file_name.removesuffix(".wav")
        if loaded.duplicate(utt_id, code, source):
            continue
        valence = _value(rec["EmoVal"], "EmoVal", source)
        arousal = _value(rec["EmoAct"], "EmoAct", source)
        dominance = _value(rec["EmoDom"], "EmoDom", source)
        split = _split(rec["Split_Set"], source)
        if split == "dev":
            dev_names.add(rec["Split_Set"].strip())
        label = loaded.label(utt_id, code, LABELS, NO_MAJORITY, source)
        if label is None:
            continue
        audio = root / "Audios" / f"{utt_id}.wav"
        if not audio.is_file():
            loaded.reject(utt_id, f"no audio file at {audio}", code, source)
            continue
        speaker = rec["SpkrID"].strip()
        if not speaker or speaker.lower() == "unknown":
            speaker = f"unknown:{utt_id}"
        loaded.rows.append(
            {
                "utt_id": utt_id,
                "audio_path": str(audio),
                "start_s": None,
                "end_s": None,
                "speaker": speaker,
                "gender": GENDERS.get(rec["Gender"].strip().lower()),
                "session": None,
                "split": split,
                "label": label,
                "raw_label": code,
                "valence": valence,
                "arousal": arousal,
                "dominance": dominance,
                "transcript": _transcript(root / "Transcripts" / f"{utt_id}.txt"),
            }
        )
    loaded.variant = f"{shown} + {'/'.join(sorted(dev_names)) or 'no dev split'}"
    return loaded


SPEC = CorpusSpec(name="MSPP", load=load, vad_scale=(1.0, 7.0), has_transcripts=True)

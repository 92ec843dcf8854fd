"""MSP-Podcast (MSPP) as distributed.

Layout read under the root (releases 1.6-1.12)::

    {Labels,labels,label}/labels_{consensus,concensus}.{csv,json}   consensus labels
    Audios/<FileName>                                               audio (FileName ends .wav)
    Transcripts/<stem>.txt                                          one line of text

The CSV header holds FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set
(any order, extra columns ignored; a missing one is an error). The JSON variant is an object
keyed by FileName whose values hold the other seven fields.

Optional per-annotator labels, `<label dir>/labels_detailed.{csv,json}` beside the consensus
file, give the annotation statistics. Three formats are read:

- v1.6 CSV, one row per worker: FileName, Workers, EmoClass_Major, EmoAct, EmoVal, EmoDom (other
  columns such as EmoClass_Second ignored);
- v1.11+ CSV: FileName, EmoDetail = `WORKER<id>; <Primary>; <secondary,...>; A:<f>; V:<f>; D:<f>;`;
- JSON: FileName -> worker -> {EmoClass_Major, EmoAct, EmoVal, EmoDom}.

Primary words are full names (Angry, Happy, Sad, Neutral, Surprise, Fear, Disgust, Contempt,
Other; `Other-<free text>` is Other). Per utterance, a worker counts once (its first entry):
n_raters = workers, agreement = share whose primary word names the consensus code, vad_spread =
mean over V, A, D of the sample std of the workers' ratings (native 1-7 scale; None with fewer
than two rated workers). Without a detailed file, or for an utterance it does not list, the three
are None. Entries for files not in the consensus file are ignored.

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
  empty -> None. No sessions (session None).
- Malformed entries are rejected with their source and reading goes on: a row with the wrong
  number of fields, an empty FileName, a V/A/D value that is not a number, an unknown Split_Set,
  a JSON entry that is not an object or lacks a field. A malformed detailed entry rejects the
  utterance it belongs to (its statistics would be wrong), naming the detailed file and line.
- Transcript: the stripped text of Transcripts/<stem>.txt (several lines are joined with a
  space); None when the file is missing.
- A row for an id already seen is rejected as "duplicate of <source>". Reject sources are
  `<label file relative to root>:<line>` (CSV) or `<json file>:<FileName>`.
- The variant recorded in the index footer is `<label file> + <dev split name(s)>`, plus the
  detailed file when there is one, e.g. `Labels/labels_consensus.csv + Development +
  Labels/labels_detailed.csv`, since releases differ in exactly those.
"""

import json
import math
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
    delimited_records,
    listing,
    rater_stats,
)

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

DETAILED_STEM = "labels_detailed"
# Primary words of the detailed labels -> consensus codes.
PRIMARY: dict[str, str] = {
    "angry": "A",
    "happy": "H",
    "sad": "S",
    "neutral": "N",
    "surprise": "U",
    "fear": "F",
    "disgust": "D",
    "contempt": "C",
    "other": "O",
}
_NUM = r"([^;]*)"
EMO_DETAIL_RE = re.compile(
    rf"^\s*(?P<worker>[^;]+?)\s*;\s*(?P<primary>[^;]+?)\s*;(?P<secondary>.*?);"
    rf"\s*A:{_NUM};\s*V:{_NUM};\s*D:{_NUM};\s*$"
)
V16_COLUMNS = ("FileName", "Workers", "EmoClass_Major", "EmoAct", "EmoVal", "EmoDom")
V11_COLUMNS = ("FileName", "EmoDetail")
# One worker's judgement: consensus code of the primary word and (V, A, D) or None.
Judgement = tuple[str, tuple[float, float, float] | None]


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


def _csv_records(
    path: Path, shown: str, columns: tuple[str, ...], loaded: Loaded
) -> Iterator[tuple[str, dict[str, str]]]:
    """(source, record) per data row; a missing column is a ValueError, a ragged row rejected."""
    rows = delimited_records(path, shown, "MSPP", columns, TEXT_ENCODING, ",", loaded, _utt_id)
    for lineno, record in rows:
        yield f"{shown}:{lineno}", record


def _utt_id(record: dict[str, str]) -> str | None:
    """The utterance id of a record's FileName; None without one."""
    return record.get("FileName", "").strip().removesuffix(".wav") or None


def _json_object(path: Path, shown: str) -> dict:
    with path.open(encoding=TEXT_ENCODING) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"MSPP: {shown} is not an object keyed by FileName")
    return data


def _json_records(path: Path, shown: str) -> Iterator[tuple[str, dict[str, str] | None]]:
    """(source, record) per FileName key; record None for an entry that is not an object."""
    for name, fields in _json_object(path, shown).items():
        if not isinstance(fields, dict):
            yield f"{shown}:{name}", None
            continue
        record = {"FileName": name}
        record |= {c: "" if fields[c] is None else str(fields[c]) for c in COLUMNS if c in fields}
        yield f"{shown}:{name}", record


def _value(text: str, column: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Malformed(f"{column} value {text!r}") from None
    return None if math.isnan(value) else value


def _split(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    if text.lower() not in SPLITS:
        raise Malformed(f"Split_Set {text!r}")
    return SPLITS[text.lower()]


def _detailed_file(label_file: Path) -> Path | None:
    for ext in (".csv", ".json"):
        path = label_file.parent / f"{DETAILED_STEM}{ext}"
        if path.is_file():
            return path
    return None


def _judgement(primary: str, a: str, v: str, d: str) -> Judgement:
    """One worker's (code, V/A/D); Malformed on an unknown word or a value that is no number."""
    word = primary.strip().split("-", 1)[0].strip().lower()
    if word not in PRIMARY:
        raise Malformed(f"primary emotion {primary.strip()!r}")
    val, act, dom = (_value(x, name) for x, name in ((v, "EmoVal"), (a, "EmoAct"), (d, "EmoDom")))
    if val is None or act is None or dom is None:
        return PRIMARY[word], None
    return PRIMARY[word], (val, act, dom)


def _detailed_json(path: Path, shown: str) -> Iterator[tuple[str, str, str, Judgement | str]]:
    """(utt_id, source, worker, judgement or why it is malformed) per worker entry."""
    for name, workers in _json_object(path, shown).items():
        utt_id, source = _utt_id({"FileName": name}) or "", f"{shown}:{name}"
        if not isinstance(workers, dict):
            yield utt_id, source, "", "malformed detailed entry (not an object of workers)"
            continue
        for worker, fields in workers.items():
            try:
                if not isinstance(fields, dict):
                    raise Malformed(f"detailed entry of {worker} (not an object)")
                values = [str(fields.get(k, "")) for k in V16_COLUMNS[2:]]
                yield utt_id, source, worker, _judgement(*values)
            except Malformed as e:
                yield utt_id, source, worker, f"malformed {e}"


def _detailed_csv(path: Path, shown: str) -> Iterator[tuple[str, str, str, Judgement | str]]:
    """(utt_id, source, worker, judgement or why it is malformed) per row, either CSV format."""
    with path.open(encoding=TEXT_ENCODING) as f:
        header = f.readline()
    columns = V11_COLUMNS if "EmoDetail" in header else V16_COLUMNS
    ragged = Loaded()  # ragged rows land here and are reported through their utterance
    for source, rec in _csv_records(path, shown, columns, ragged):
        utt_id = _utt_id(rec) or ""
        try:
            if columns == V16_COLUMNS:
                worker, values = rec["Workers"].strip(), [rec[k] for k in V16_COLUMNS[2:]]
            elif match := EMO_DETAIL_RE.match(rec["EmoDetail"]):
                worker = match.group("worker")
                values = [match.group("primary"), *match.group(4, 5, 6)]
            else:
                raise Malformed(f"EmoDetail {rec['EmoDetail']!r}")
            yield utt_id, source, worker, _judgement(*values)
        except Malformed as e:
            yield utt_id, source, "", f"malformed {e}"
    for reject in ragged.rejects:
        yield reject["utt_id"] or "", reject["source"], "", reject["reason"]


def _read_detailed(
    path: Path, shown: str, wanted: set[str]
) -> tuple[dict[str, dict[str, Judgement]], dict[str, tuple[str, str]]]:
    """Per wanted utterance: worker -> judgement (first entry wins), and (reason, source) of
    the first malformed entry for utterances that have one."""
    judgements: dict[str, dict[str, Judgement]] = {}
    malformed: dict[str, tuple[str, str]] = {}
    workers: dict[str, str] = {}  # interned worker ids: a release repeats each thousands of times
    entries = _detailed_json if path.suffix == ".json" else _detailed_csv
    for utt_id, source, worker, judgement in entries(path, shown):
        if utt_id not in wanted:
            continue
        if isinstance(judgement, str):
            malformed.setdefault(utt_id, (judgement, source))
            continue
        worker = workers.setdefault(worker, worker)
        judgements.setdefault(utt_id, {}).setdefault(worker, judgement)
    return judgements, malformed


def _transcript(path: Path) -> str | None:
    if not path.is_file():
        return None
    text = path.read_text(encoding=TEXT_ENCODING, errors="replace")
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _parsed(rec: dict[str, str] | None) -> dict:
    """The fields of one consensus record; Malformed when it does not parse."""
    if rec is None:
        raise Malformed("entry (not an object)")
    if missing := [c for c in COLUMNS if c not in rec]:
        raise Malformed(f"entry (no field {missing[0]})")
    file_name = rec["FileName"].strip()
    if not file_name:
        raise Malformed("entry (empty FileName)")
    speaker = rec["SpkrID"].strip()
    utt_id = file_name.removesuffix(".wav")
    return {
        "utt_id": utt_id,
        "code": rec["EmoClass"].strip(),
        "valence": _value(rec["EmoVal"], "EmoVal"),
        "arousal": _value(rec["EmoAct"], "EmoAct"),
        "dominance": _value(rec["EmoDom"], "EmoDom"),
        "split": _split(rec["Split_Set"]),
        "split_name": rec["Split_Set"].strip(),
        "speaker": f"unknown:{utt_id}" if speaker.lower() in ("", "unknown") else speaker,
        "gender": GENDERS.get(rec["Gender"].strip().lower()),
    }


def _consensus(path: Path, shown: str, loaded: Loaded) -> list[tuple[str, dict]]:
    """(source, parsed record) of every well-formed consensus entry; the rest are rejected."""
    if path.suffix == ".json":
        records = _json_records(path, shown)
    else:
        records = _csv_records(path, shown, COLUMNS, loaded)
    parsed = []
    for source, rec in records:
        loaded.entries += path.suffix == ".json"  # delimited_records counts the CSV rows
        try:
            parsed.append((source, _parsed(rec)))
        except Malformed as e:
            name = source.rsplit(":", 1)[-1] if rec is None else rec["FileName"]
            loaded.malformed(str(e), source, _utt_id({"FileName": name}))
    return parsed


def load(root: Path) -> Loaded:
    """Read MSP-Podcast from `root` (the directory holding Labels/ and Audios/)."""
    root = Path(os.path.abspath(root))
    path = _label_file(root)
    shown = path.relative_to(root).as_posix()
    loaded = Loaded()
    records = _consensus(path, shown, loaded)
    detailed_path = _detailed_file(path)
    judgements: dict[str, dict[str, Judgement]] = {}
    bad_detail: dict[str, tuple[str, str]] = {}
    if detailed_path is not None:
        wanted = {rec["utt_id"] for _, rec in records}
        detailed_shown = detailed_path.relative_to(root).as_posix()
        judgements, bad_detail = _read_detailed(detailed_path, detailed_shown, wanted)
    dev_names: set[str] = set()
    for source, rec in records:
        utt_id, code = rec["utt_id"], rec["code"]
        if loaded.duplicate(utt_id, code, source):
            continue
        if rec["split"] == "dev":
            dev_names.add(rec["split_name"])
        label = loaded.label(utt_id, code, LABELS, NO_MAJORITY, source)
        if utt_id in bad_detail:
            if label is not None:
                reason, where = bad_detail[utt_id]
                loaded.reject(utt_id, f"{reason} in detailed labels at {where}", code, source)
            continue
        audio = root / "Audios" / f"{utt_id}.wav"
        if not audio.is_file():
            if label is not None:
                loaded.reject(utt_id, f"no audio file at {audio}", code, source)
            continue
        keep = loaded.rate if label is None else loaded.rows.append
        keep(
            {
                "utt_id": utt_id,
                "audio_path": str(audio),
                "start_s": None,
                "end_s": None,
                "speaker": rec["speaker"],
                "gender": rec["gender"],
                "session": None,
                "split": rec["split"],
                "label": label,
                "raw_label": code,
                "valence": rec["valence"],
                "arousal": rec["arousal"],
                "dominance": rec["dominance"],
                "transcript": _transcript(root / "Transcripts" / f"{utt_id}.txt"),
                **rater_stats(code, judgements.get(utt_id, {}).values()),
            }
        )
    variant = [shown, "/".join(sorted(dev_names)) or "no dev split"]
    if detailed_path is not None:
        variant.append(detailed_path.relative_to(root).as_posix())
    loaded.variant = " + ".join(variant)
    return loaded


def sources(root: Path) -> Sources:
    """Every file of the label folders (consensus and detailed, whichever variant is read) and
    of Transcripts/, and the Audios/ folder."""
    labels = [path for folder in LABEL_DIRS for path in (root / folder).glob("*")]
    transcripts = listing(root / "Transcripts", ".txt")
    return Sources(files=[*labels, *transcripts], dirs=[root / "Audios"])


SPEC = CorpusSpec(
    name="MSPP",
    load=load,
    sources=sources,
    vad_scale=(1.0, 7.0),
    has_transcripts=True,
    has_agreement=True,
)

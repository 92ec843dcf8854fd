"""MSP-IMPROV (MSPI) as distributed.

Layout read under the root::

    Evalution.txt (release spelling) or Evaluation.txt    labels, blank-line separated blocks
    **/MSP-IMPROV-<S01A>-<F01>-<P>-<FM01>.wav              audio, found by one recursive glob

Each block of the label file starts with a summary line
`UTD-IMPROV-<id>.avi; <L>; A:<f>; V:<f>; D:<f> ; N:<f>;` (the `N:` naturalness field is
optional, any value may be `NaN`), followed by per-rater lines
`<rater-id>; <Primary>; <other words>; A:<f>; V:<f>; D:<f>; N:<f>;` (N optional, `NaN`
allowed, Primary one of Angry/Happy/Sad/Neutral/Other). Malformed lines are rejected with
file and line and reading goes on: a block's first line that is not a well-formed summary line
is rejected (under the `UTD-IMPROV-<id>` it seems to name, else without an id) together with
the rest of its block; a malformed rater line rejects its block's utterance (its statistics
would be wrong), naming that line.

Annotation statistics, from the block's rater lines; a rater id seen twice in a block (the
release repeats some raters) counts once, with its first line:

- n_raters: the number of distinct raters; None when the block has no rater line.
- agreement: the share of them whose Primary word is the consensus letter's
  (A Angry, H Happy, S Sad, N Neutral, O Other).
- vad_spread: the mean over V, A, D of the sample std (ddof=1) of the raters' ratings, over
  the raters with all three values (not `NaN`); None when fewer than two have them.
- condition: the recording-condition letter of the id (P natural interaction, R target
  sentence read, S other improvised turns, T target sentence in the improvisation).

Decisions:

- utt_id = the wav stem `MSP-IMPROV-<id>`; speaker = 4th dash field (`F01`), gender its letter,
  session = int(speaker[1:]) (dyad 1-6). No official split (split None; LOSO over sessions
  is the usual protocol). No transcripts exist (transcript None).
- V/A/D: summary A (arousal), V (valence), D (dominance) on the native 1-5 scale; `NaN` -> None.
- Labels A/H/S/N kept; `X` is rejected as "no majority label", `O` and any other code as
  "label <L> not in the 4 classes". The label is checked before the audio.
- When `Evalution.txt` and `Evaluation.txt` both exist, `Evalution.txt` (the release file)
  is read. When two wavs share a stem, the first in sorted path order is used.
- A second summary line for an id already seen is rejected as "duplicate of <source>".
- The variant recorded in the index footer is the label file's name.
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
    folders,
    rater_stats,
)

LABEL_FILES = ("Evalution.txt", "Evaluation.txt")
LABELS: dict[str, str] = {"N": "neutral", "H": "happy", "S": "sad", "A": "angry"}
NO_MAJORITY = "X"

_NUM = r"(\d+(?:\.\d*)?|\.\d+|[Nn]a[Nn])"
SUMMARY_RE = re.compile(
    r"^UTD-IMPROV-(?P<id>[A-Za-z0-9-]+)\.avi;\s*(?P<label>[A-Za-z]);"
    rf"\s*A:\s*{_NUM};\s*V:\s*{_NUM};\s*D:\s*{_NUM}\s*;"
    rf"(?:\s*N:\s*{_NUM}\s*;)?$"
)
ID_RE = re.compile(r"^S\d{2}[A-Z]-(?P<speaker>[FM]\d{2})-(?P<condition>[A-Z])-[A-Za-z0-9]+$")
RATER_RE = re.compile(
    r"^(?P<rater>[^;\s]+);\s*(?P<primary>[A-Za-z]+);[^;]*;"
    rf"\s*A:\s*{_NUM};\s*V:\s*{_NUM};\s*D:\s*{_NUM}\s*;"
    rf"(?:\s*N:\s*{_NUM}\s*;)?$"
)
# Primary word of a rater -> the consensus letter it supports.
PRIMARY: dict[str, str] = {"Angry": "A", "Happy": "H", "Sad": "S", "Neutral": "N", "Other": "O"}
CONDITIONS = frozenset("PRST")


def _label_file(root: Path) -> Path:
    for name in LABEL_FILES:
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"MSPI: no label file {' or '.join(LABEL_FILES)} in {root}")


def _value(text: str) -> float | None:
    return None if text.lower() == "nan" else float(text)


class _Block:
    """A summary line and its raters: id -> (primary letter, (V, A, D) or None)."""

    def __init__(self, lineno: int, match: re.Match[str]) -> None:
        self.lineno = lineno
        self.match = match
        self.raters: dict[str, tuple[str, tuple[float, float, float] | None]] = {}
        self.malformed: str | None = None  # where its first malformed rater line is

    def stats(self) -> dict:
        """n_raters, agreement and vad_spread of the block (see the module docstring)."""
        return rater_stats(self.match.group("label"), self.raters.values())


def _rater_line(block: _Block, line: str) -> None:
    """Add one rater line to `block` (first line per rater id); Malformed when it does not parse."""
    match = RATER_RE.match(line)
    if match is None or match.group("primary") not in PRIMARY:
        raise Malformed("rater line")
    arousal, valence, dominance = (_value(match.group(i)) for i in (3, 4, 5))
    vad = (
        None
        if valence is None or arousal is None or dominance is None
        else (valence, arousal, dominance)
    )
    block.raters.setdefault(match.group("rater"), (PRIMARY[match.group("primary")], vad))


def _id_guess(line: str) -> str | None:
    """The utterance id a malformed summary line seems to name."""
    match = re.match(r"^UTD-IMPROV-([A-Za-z0-9-]+)\.avi\b", line)
    return f"MSP-IMPROV-{match.group(1)}" if match else None


def _blocks(path: Path, loaded: Loaded) -> list[_Block]:
    """One block per well-formed summary line with its raters; malformed lines rejected."""
    found: list[_Block] = []
    block: _Block | None = None
    skipping = False  # inside the block of a rejected first line
    with path.open(encoding=TEXT_ENCODING, errors="replace") as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            source = f"{path.name}:{lineno}"
            if not line:
                block, skipping = None, False
            elif block is not None and not line.startswith("UTD-IMPROV-"):
                try:
                    _rater_line(block, line)
                except Malformed:
                    block.malformed = block.malformed or source
            elif not skipping or line.startswith("UTD-IMPROV-"):
                loaded.entries += 1
                match = SUMMARY_RE.match(line)
                if match is None or ID_RE.match(match.group("id")) is None:
                    what = "summary line" if line.startswith("UTD-") else "line, expected a summary"
                    loaded.malformed(what, source, _id_guess(line))
                    block, skipping = None, True
                    continue
                block = _Block(lineno, match)
                found.append(block)
    return found


def _audio_files(root: Path) -> dict[str, Path]:
    """wav stem -> path for every MSP-IMPROV-*.wav under the root (first in sorted order)."""
    audio: dict[str, Path] = {}
    for path in sorted(root.rglob("MSP-IMPROV-*.wav")):
        if path.is_file():
            audio.setdefault(path.stem, path)
    return audio


def load(root: Path) -> Loaded:
    """Read MSP-IMPROV from `root` (the directory holding Evalution.txt)."""
    root = Path(os.path.abspath(root))
    path = _label_file(root)
    audio = _audio_files(root)
    loaded = Loaded(variant=path.name)
    for block in _blocks(path, loaded):
        lineno, match = block.lineno, block.match
        utt_id = f"MSP-IMPROV-{match.group('id')}"
        code = match.group("label")
        source = f"{path.name}:{lineno}"
        if loaded.duplicate(utt_id, code, source):
            continue
        if block.malformed is not None:
            loaded.reject(utt_id, f"malformed rater line at {block.malformed}", code, source)
            continue
        label = loaded.label(utt_id, code, LABELS, NO_MAJORITY, source)
        if utt_id not in audio:
            if label is not None:
                loaded.reject(utt_id, f"no audio file at **/{utt_id}.wav", code, source)
            continue
        speaker, condition = utt_id.split("-")[3:5]
        arousal, valence, dominance = (_value(match.group(i)) for i in (3, 4, 5))
        keep = loaded.rate if label is None else loaded.rows.append
        keep(
            {
                "utt_id": utt_id,
                "audio_path": str(audio[utt_id]),
                "start_s": None,
                "end_s": None,
                "speaker": speaker,
                "gender": speaker[0],
                "session": int(speaker[1:]),
                "split": None,
                "label": label,
                "raw_label": code,
                "valence": valence,
                "arousal": arousal,
                "dominance": dominance,
                "transcript": None,
                "condition": condition if condition in CONDITIONS else None,
                "language": None,
                **block.stats(),
            }
        )
    return loaded


def sources(root: Path) -> Sources:
    """Both label file names (the first present is read), and every folder: wavs are found by
    a recursive glob."""
    return Sources(files=[root / name for name in LABEL_FILES], dirs=folders(root))


SPEC = CorpusSpec(
    name="MSPI",
    load=load,
    sources=sources,
    vad_scale=(1.0, 5.0),
    has_transcripts=False,
    has_agreement=True,
    sessions=(1, 2, 3, 4, 5, 6),
)

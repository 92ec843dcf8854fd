"""SAVEE (SAVEE) as distributed (`AudioData.zip`, or the Kaggle copy's flat `ALL/` folder).

Layout read under the root (any wrapper folder; corpora-more.md §4)::

    **/{DC,JE,JK,KL}/<code><NN>.wav     official: a folder per speaker, e.g. AudioData/KL/su07.wav
    **/<SPK>_<code><NN>.wav             Kaggle: one flat folder, e.g. ALL/JK_f11.wav

code is a, d, f, h, n, sa, su (anger, disgust, fear, happiness, neutral, sadness, surprise;
the two-letter codes are matched before `a`), NN the sentence number within the emotion.
Only wav names are read (`Info.txt` is prose); named.py ignores and logs AppleDouble files and
other names, and reads identical copies once.

Decisions:

- utt_id = `<SPK>_<code><NN>` in both forms (`DC_a01`), so the two copies give the same ids;
  the same id from both with different contents is a rejected duplicate.
- Labels: n, h, sa, a -> neutral, happy, sad, angry; d, f, su are rejected. No official split
  (split None), no sessions, no V/A/D, no rater statistics.
- speaker = SPK; gender M for all four (Info.txt: "four male speakers").
- No transcripts: the sentence texts ship with neither copy (has_transcripts False; a text
  modality needs `transcripts:`, e.g. ASR). language = EN.
- UNCONFIRMED in the sources, assumed here: bit depth and channel count (EmoBox's 16-bit mono
  is not relied on: both are read from each file, channels averaged at reading); NN is taken
  as any two digits (the release has 01-15, neutral 01-30).
"""

import os
import re
from pathlib import Path

from xcorpus.corpora.base import CorpusSpec, Loaded
from xcorpus.corpora.named import four_class, named_files, row, walked

LABELS: dict[str, str] = {"n": "neutral", "h": "happy", "sa": "sad", "a": "angry"}
NAMES: dict[str, str] = {
    "a": "anger",
    "d": "disgust",
    "f": "fear",
    "h": "happiness",
    "n": "neutral",
    "sa": "sadness",
    "su": "surprise",
}
SPEAKERS = ("DC", "JE", "JK", "KL")
LANGUAGE = "EN"
_CODE = r"(?P<code>sa|su|a|d|f|h|n)(?P<number>\d{2})\.wav$"
FOLDER_RE = re.compile(rf"^{_CODE}")
FLAT_RE = re.compile(rf"^(?P<speaker>{'|'.join(SPEAKERS)})_{_CODE}")


def _parse(path: Path) -> tuple[str, re.Match[str], str] | str:
    match = FLAT_RE.match(path.name)
    speaker = match.group("speaker") if match else path.parent.name
    match = match or FOLDER_RE.match(path.name)
    if match is None or speaker not in SPEAKERS:
        return "not a SAVEE file name (<SPK>/<code><NN>.wav or <SPK>_<code><NN>.wav)"
    code = match.group("code")
    return f"{speaker}_{code}{match.group('number')}", match, code


def load(root: Path) -> Loaded:
    """Read SAVEE from `root` (any folder above the speaker folders or the flat folder)."""
    root = Path(os.path.abspath(root))
    loaded = Loaded(variant="wav names")
    for item in named_files(root, loaded, _parse):
        label = four_class(loaded, item, LABELS, NAMES)
        if label is None:
            continue
        speaker = item.utt_id.split("_", 1)[0]
        loaded.rows.append(row(item, label, speaker, "M", language=LANGUAGE))
    return loaded


SPEC = CorpusSpec(
    name="SAVEE",
    load=load,
    sources=walked,
    vad_scale=None,
    has_transcripts=False,
)

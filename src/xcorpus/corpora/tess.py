"""TESS (TESS) as distributed (TSpace: one flat folder; Kaggle: a folder per speaker and
emotion, doubly nested).

Layout read under the root (any wrapper folder; corpora-more.md §5)::

    **/<SPK>_<word>_<emotion>.wav             e.g. OAF_back_angry.wav, YAF_boat_ps.wav
    **/<SPK>_<Emotion>/<SPK>_<word>_<emotion>.wav
                                  Kaggle, e.g. OAF_Pleasant_surprise/OAF_back_ps.wav

SPK is OAF or YAF, emotion one of angry, disgust, fear, happy, neutral, ps (pleasant
surprise), sad. Names are matched without regard to case (the Kaggle copy's capitalisation
varies). Only wav names are read; named.py ignores and logs AppleDouble files and other names,
and reads identical copies once (the Kaggle copy nests the tree twice).

Decisions:

- utt_id = `<SPK>_<word>_<emotion>` with SPK upper-case and word and emotion lower-case, so
  every copy gives the same ids.
- Labels: neutral, happy, sad, angry kept; disgust, fear, ps rejected. The label comes from the
  file name; where the parent folder is a Kaggle emotion folder (`OAF_Fear`,
  `YAF_pleasant_surprised`, ...), a folder naming another speaker or emotion rejects the file
  as "file name says <a>, folder <f> says <b>" rather than guessing which is right. A name
  without the emotion (`OAF_back.wav`) is read only inside such a folder, which then gives
  the emotion (corpora-more.md: "the folder is the only emotion source in some copies");
  elsewhere it is ignored as a stray name.
- speaker = SPK; gender F for both (two actresses, aged 64 and 26).
- transcript = "Say the word <word>" (the carrier phrase of the Northwestern University
  Auditory Test No. 6); language = EN. No official split, no sessions, no V/A/D, no raters.
- UNCONFIRMED in the sources, assumed here: the case of file names inside the Kaggle folders
  (any case is accepted), bit depth and channel count (read from each file). The sample rate
  is read from each file: 24,414 Hz, and 96 kHz for OAF_food_fear.wav.
"""

import os
import re
from pathlib import Path

from xcorpus.corpora.base import CorpusSpec, Loaded
from xcorpus.corpora.named import Named, four_class, named_files, row, walked

LABELS: dict[str, str] = {"neutral": "neutral", "happy": "happy", "sad": "sad", "angry": "angry"}
NAMES: dict[str, str] = {"ps": "pleasant surprise"}
EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "ps", "sad")
LANGUAGE = "EN"
NAME_RE = re.compile(
    rf"^(?P<speaker>OAF|YAF)_(?P<word>[a-z]+)_(?P<emotion>{'|'.join(EMOTIONS)})\.wav$",
    re.IGNORECASE,
)
# A name without the emotion, which then comes from its Kaggle emotion folder.
WORD_RE = re.compile(r"^(?P<speaker>OAF|YAF)_(?P<word>[a-z]+)\.wav$", re.IGNORECASE)
# Kaggle's per-speaker-and-emotion folders; pleasant surprise is spelt two ways.
FOLDER_RE = re.compile(
    r"^(?P<speaker>OAF|YAF)_(?P<emotion>angry|disgust|fear|happy|neutral|sad"
    r"|pleasant_surprised?)$",
    re.IGNORECASE,
)


def _folder_emotion(folder: re.Match[str]) -> str:
    emotion = folder.group("emotion").lower()
    return "ps" if emotion.startswith("pleasant") else emotion


def _parse(path: Path) -> tuple[str, re.Match[str], str] | str:
    match = NAME_RE.match(path.name)
    if match is not None:
        speaker, word, emotion = match.group("speaker", "word", "emotion")
    else:  # a copy that names the emotion in the folder only
        match, folder = WORD_RE.match(path.name), FOLDER_RE.match(path.parent.name)
        if match is None or folder is None:
            return "not a TESS file name (<OAF|YAF>_<word>_<emotion>.wav)"
        speaker, word, emotion = (
            match.group("speaker"),
            match.group("word"),
            _folder_emotion(folder),
        )
    emotion = emotion.lower()
    return f"{speaker.upper()}_{word.lower()}_{emotion}", match, emotion


def _folder_conflict(item: Named) -> str | None:
    """Why a Kaggle emotion folder contradicts the file name; None when it agrees or the
    folder is no emotion folder."""
    folder = FOLDER_RE.match(item.path.parent.name)
    if folder is None:
        return None
    emotion, speaker = _folder_emotion(folder), folder.group("speaker").upper()
    named = item.utt_id.split("_")
    if (speaker, emotion) == (named[0], named[2]):
        return None
    return (
        f"file name says {named[0]} {named[2]}, folder {item.path.parent.name} says "
        f"{speaker} {emotion}"
    )


def load(root: Path) -> Loaded:
    """Read TESS from `root` (any folder above the wavs or the Kaggle emotion folders)."""
    root = Path(os.path.abspath(root))
    loaded = Loaded(variant="wav names")
    for item in named_files(root, loaded, _parse):
        conflict = _folder_conflict(item)
        if conflict is not None:
            loaded.reject(item.utt_id, conflict, item.raw_label, item.source)
            continue
        label = four_class(loaded, item, LABELS, NAMES)
        if label is None:
            continue
        speaker, word, _ = item.utt_id.split("_")
        loaded.rows.append(
            row(item, label, speaker, "F", transcript=f"Say the word {word}", language=LANGUAGE)
        )
    return loaded


SPEC = CorpusSpec(
    name="TESS",
    load=load,
    sources=walked,
    vad_scale=None,
    has_transcripts=True,
)

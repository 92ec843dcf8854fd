"""RAVDESS (RAVDESS) as distributed (Zenodo `Audio_Speech_Actors_01-24.zip`, optionally with
the song zip, or the Kaggle copy).

Layout read under the root (any wrapper folder; corpora-more.md §2)::

    **/Actor_NN/MM-VV-EE-II-SS-RR-AA.wav     seven two-digit fields, e.g. 03-01-06-01-02-01-12

Only wav names are read; no label file ships with the audio (named.py: AppleDouble files and
other names are ignored and logged, identical copies such as the Kaggle copy's doubled tree
are read once). Fields: MM modality (03 audio-only), VV vocal channel (01 speech, 02 song),
EE emotion (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust,
08 surprised), II intensity (01 normal, 02 strong), SS statement, RR repetition, AA actor
(01-24).

Decisions:

- utt_id = the file stem, the same in every copy (EmoBox's track-2 lists name the same files).
- Song files (VV 02) are rejected as "song, not speech (vocal channel 02)"; video files (MM 01
  or 02, `.mp4`) are never read, and a wav with another modality is ignored and logged.
- Labels: 01, 03, 04, 05 -> neutral, happy, sad, angry; calm (02) is rejected, not merged into
  neutral (EmoBox keeps it apart too), like fearful, disgust and surprised. Both intensities
  are kept. No official split (split None), no sessions, no V/A/D, no rater statistics (the
  validation ratings are published with the paper, not with the audio).
- speaker = AA (`01`); gender = M for odd actors, F for even ones.
- transcript = the statement of SS ("Kids are talking by the door", "Dogs are sitting by the
  door", verbatim without punctuation as every source gives them); language = EN.
- UNCONFIRMED in the sources, assumed here: the channel count (some copies are reported to
  hold stereo files: any count is accepted and averaged at reading, and recorded per file);
  the sample rate is read from each file (48 kHz as released, 16 kHz in re-sampled copies).
"""

import os
import re
from pathlib import Path

from xcorpus.corpora.base import CorpusSpec, Loaded
from xcorpus.corpora.named import four_class, named_files, row, walked

LABELS: dict[str, str] = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry"}
NAMES: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
STATEMENTS: dict[str, str] = {
    "01": "Kids are talking by the door",
    "02": "Dogs are sitting by the door",
}
SONG = "02"
LANGUAGE = "EN"
NAME_RE = re.compile(
    r"^(?P<modality>0[1-3])-(?P<channel>0[12])-(?P<emotion>0[1-8])-(?P<intensity>0[12])"
    r"-(?P<statement>0[12])-(?P<repetition>0[12])-(?P<actor>0[1-9]|1\d|2[0-4])\.wav$"
)
AUDIO_ONLY = "03"


def _parse(path: Path) -> tuple[str, re.Match[str], str] | str:
    match = NAME_RE.match(path.name)
    if match is None:
        return "not a RAVDESS file name (MM-VV-EE-II-SS-RR-AA.wav)"
    if match.group("modality") != AUDIO_ONLY:
        return f"modality {match.group('modality')} is video, not audio-only (03)"
    return path.stem, match, match.group("emotion")


def load(root: Path) -> Loaded:
    """Read RAVDESS from `root` (any folder above the Actor_NN folders)."""
    root = Path(os.path.abspath(root))
    loaded = Loaded(variant="wav names")
    for item in named_files(root, loaded, _parse):
        fields = item.fields
        if fields.group("channel") == SONG:
            reason = f"song, not speech (vocal channel {SONG})"
            loaded.reject(item.utt_id, reason, item.raw_label, item.source)
            continue
        label = four_class(loaded, item, LABELS, NAMES)
        if label is None:
            continue
        actor = fields.group("actor")
        loaded.rows.append(
            row(
                item,
                label,
                actor,
                "M" if int(actor) % 2 else "F",
                transcript=STATEMENTS[fields.group("statement")],
                language=LANGUAGE,
            )
        )
    return loaded


SPEC = CorpusSpec(
    name="RAVDESS",
    load=load,
    sources=walked,
    vad_scale=None,
    has_transcripts=True,
)

"""CMU-MOSEI (CMUMOSEI) as distributed.

Layout read under the root::

    CMU_MOSEI_Labels.csd                            labels (HDF5 computational sequence)
    Raw/Transcript/Segmented/Combined/<video>.txt   `<video>___<seg>___<start>___<end>___<text>`
    Raw/Audio/Full/WAV_16000/<video>.wav            full-video audio

The .csd holds `All Labels/data/<video>/{features (n x 7), intervals (n x 2)}`, features in the
order [sentiment, happy, sad, anger, surprise, disgust, fear]. Every labelled interval is one
utterance; it is joined to the transcript segment with exactly the same (start, end).

Decisions:

- utt_id = `<video>_<seg>`; speaker = the video id (speakers are not released; one speaker may
  span several videos); gender, session and V/A/D are None.
- start_s/end_s locate the segment inside the full-video wav; a negative start becomes 0.
- 4 classes: emotion intensities are clamped to [0, 3]; neutral when all six are 0, otherwise
  the unique argmax if it is happy, sad or anger (-> angry). raw_label is "all-zero", the
  winning emotion's name (`happy`, `surprise`, ...) or the tied names joined by `|`. Ties are
  rejected ("tie between happy and sad"), surprise/disgust/fear winners as "label <name> not in
  the 4 classes", rows with a non-finite value as "non-finite label values".
- An interval without a transcript segment of the same (start, end) is rejected with the
  reason, and so is one that several segments share; such a reject's utt_id is
  `<video>#<row>`. A second interval joined to the same segment is rejected as
  "duplicate of <source>". Reasons are checked in the order label, transcript, audio.
- Splits: the standard folds of the CMU Multimodal SDK (`standard_train_fold`,
  `standard_valid_fold`, `standard_test_fold` in `cmu_mosei_std_folds.py`: 2,249 / 300 / 678
  video ids) ship as data in `corpora/data/cmumosei_folds.json` (its "source" names the SDK
  file and commit). split is "train", "dev" (the valid fold) or "test" by video id, and None for
  a video in no fold (399 labelled segments are in none).
- Malformed input is rejected and reading goes on: a video whose arrays lack features or
  intervals or have the wrong shape is rejected as a whole (utt_id = the video id, source
  `CMU_MOSEI_Labels.csd:<video>`). In transcript files blank lines are skipped; a line that
  does not start with `<video>___`, has fewer than five fields or non-numeric times is skipped,
  and an interval left without a segment names those lines (file:line) in its reject reason.
- If the .csd has no `All Labels` group but exactly one top-level group, that group is read.
- Reject sources are `CMU_MOSEI_Labels.csd:<video>/<row>` (row = index in the video's arrays).
"""

import functools
import json
import os
from importlib import resources
from pathlib import Path

import h5py
import numpy as np

from xcorpus.corpora.base import TEXT_ENCODING, CorpusSpec, Loaded, Malformed, Sources, listing

LABEL_FILE = "CMU_MOSEI_Labels.csd"
TRANSCRIPT_DIR = Path("Raw/Transcript/Segmented/Combined")
AUDIO_DIR = Path("Raw/Audio/Full/WAV_16000")
EMOTIONS = ("happy", "sad", "anger", "surprise", "disgust", "fear")
LABELS: dict[str, str] = {"happy": "happy", "sad": "sad", "anger": "angry"}
MAX_INTENSITY = 3.0

FOLDS_FILE = "data/cmumosei_folds.json"
FOLD_SPLITS = {"train": "train", "valid": "dev", "test": "test"}  # fold name -> our split

Segments = dict[tuple[float, float], list[tuple[str, str]]]


@functools.cache
def folds() -> dict[str, str]:
    """Video id -> split ("train", "dev", "test") from the packaged standard folds."""
    text = resources.files("xcorpus.corpora").joinpath(FOLDS_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    splits: dict[str, str] = {}
    for fold, split in FOLD_SPLITS.items():
        for video in data[fold]:
            if splits.setdefault(video, split) != split:
                raise ValueError(f"CMUMOSEI: video {video} is in several folds of {FOLDS_FILE}")
    return splits


def split_of(video: str) -> str | None:
    """The standard-fold split of a video id, None for a video in no fold."""
    return folds().get(video)


def _labels_group(h5: h5py.File, path: Path) -> h5py.Group:
    if "All Labels" in h5:
        group = h5["All Labels"]
    elif len(h5.keys()) == 1:
        group = h5[next(iter(h5.keys()))]
    else:
        raise ValueError(f"CMUMOSEI: {path} has no 'All Labels' group")
    if "data" not in group:
        raise ValueError(f"CMUMOSEI: {path} has no group {group.name}/data")
    return group["data"]


def _read_video(data: h5py.Group, video: str) -> tuple[np.ndarray, np.ndarray]:
    """(features n x 7, intervals n x 2) of one video; Malformed on a missing array or shape."""
    group = data[video]
    if not isinstance(group, h5py.Group) or "features" not in group or "intervals" not in group:
        raise Malformed("video (no features or intervals array)")
    features = np.asarray(group["features"][()], dtype=np.float64)
    intervals = np.asarray(group["intervals"][()], dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != 7 or intervals.shape != (features.shape[0], 2):
        raise Malformed(
            f"video (features {features.shape} and intervals {intervals.shape}; "
            "expected (n, 7) and (n, 2))"
        )
    return features, intervals


def _read_segments(path: Path, video: str, shown: str) -> tuple[Segments, list[str]]:
    """(start, end) -> [(segment id, text), ...] of one video's segmented transcript, and the
    `file:line` of its malformed lines (skipped)."""
    segments: Segments = {}
    malformed: list[str] = []
    prefix = f"{video}___"
    with path.open(encoding=TEXT_ENCODING, errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line[len(prefix) :].split("___", 3) if line.startswith(prefix) else []
            try:
                seg, start, end = fields[0], float(fields[1]), float(fields[2])
                text = fields[3]
            except (ValueError, IndexError):
                malformed.append(f"{shown}:{lineno}")
                continue
            segments.setdefault((start, end), []).append((seg, text.strip()))
    return segments, malformed


def classify(features: np.ndarray) -> tuple[str | None, str, str | None]:
    """(label or None, raw_label, reject reason or None) for one features row of 7 values."""
    if not np.all(np.isfinite(features)):
        return None, "non-finite", "non-finite label values"
    intensities = np.clip(features[1:], 0.0, MAX_INTENSITY)
    if not np.any(intensities > 0):
        return "neutral", "all-zero", None
    top = float(intensities.max())
    winners = [EMOTIONS[i] for i in np.flatnonzero(intensities == top)]
    if len(winners) > 1:
        return None, "|".join(winners), f"tie between {' and '.join(winners)}"
    winner = winners[0]
    if winner not in LABELS:
        return None, winner, f"label {winner} not in the 4 classes"
    return LABELS[winner], winner, None


def load(root: Path) -> Loaded:
    """Read CMU-MOSEI from `root` (the directory holding CMU_MOSEI_Labels.csd and Raw/)."""
    root = Path(os.path.abspath(root))
    label_path = root / LABEL_FILE
    if not label_path.is_file():
        raise FileNotFoundError(f"CMUMOSEI: no label file {LABEL_FILE} in {root}")
    loaded = Loaded()
    with h5py.File(label_path, "r") as h5:
        data = _labels_group(h5, label_path)
        for video in sorted(data.keys()):
            try:
                features, intervals = _read_video(data, video)
            except Malformed as e:
                loaded.entries += 1
                loaded.malformed(str(e), f"{LABEL_FILE}:{video}", video)
                continue
            _load_video(root, video, features, intervals, loaded)
    return loaded


def _load_video(
    root: Path, video: str, features: np.ndarray, intervals: np.ndarray, loaded: Loaded
) -> None:
    transcript_path = root / TRANSCRIPT_DIR / f"{video}.txt"
    shown = (TRANSCRIPT_DIR / f"{video}.txt").as_posix()
    segments: Segments | None = None
    malformed: list[str] = []
    if transcript_path.is_file():
        segments, malformed = _read_segments(transcript_path, video, shown)
    audio = root / AUDIO_DIR / f"{video}.wav"
    split = split_of(video)
    for row, (values, (start, end)) in enumerate(zip(features, intervals, strict=True)):
        loaded.entries += 1
        source = f"{LABEL_FILE}:{video}/{row}"
        matches = [] if segments is None else segments.get((float(start), float(end)), [])
        utt_id = f"{video}_{matches[0][0]}" if len(matches) == 1 else f"{video}#{row}"
        label, raw_label, reason = classify(values)
        if loaded.duplicate(utt_id, raw_label, source):
            continue
        if label is None:
            loaded.reject(utt_id, reason or "no label", raw_label, source)
            continue
        if segments is None:
            loaded.reject(utt_id, f"no transcript file {shown}", raw_label, source)
            continue
        if len(matches) != 1:
            interval = f"[{start:g}, {end:g}]"
            if matches:
                ids = ", ".join(seg for seg, _ in matches)
                reason = f"several transcript segments ({ids}) with interval {interval} in {shown}"
            else:
                reason = f"no transcript segment with interval {interval} in {shown}"
                if malformed:
                    reason += f" (malformed line(s) skipped: {', '.join(malformed)})"
            loaded.reject(utt_id, reason, raw_label, source)
            continue
        if not audio.is_file():
            loaded.reject(utt_id, f"no audio file at {audio}", raw_label, source)
            continue
        loaded.rows.append(
            {
                "utt_id": utt_id,
                "audio_path": str(audio),
                "start_s": max(0.0, float(start)),
                "end_s": float(end),
                "speaker": video,
                "gender": None,
                "session": None,
                "split": split,
                "label": label,
                "raw_label": raw_label,
                "valence": None,
                "arousal": None,
                "dominance": None,
                "transcript": matches[0][1],
            }
        )


def sources(root: Path) -> Sources:
    """The label file and the segmented transcripts, and the folder of the full-video wavs."""
    transcripts = listing(root / TRANSCRIPT_DIR, ".txt")
    return Sources(files=[root / LABEL_FILE, *transcripts], dirs=[root / AUDIO_DIR])


SPEC = CorpusSpec(name="CMUMOSEI", load=load, sources=sources, vad_scale=None, has_transcripts=True)

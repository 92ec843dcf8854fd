"""Layout writers of the acted corpora whose file names are their labels: CREMAD, RAVDESS,
SAVEE, TESS (corpora-more.md §1, §2, §4, §5).

Each name follows the corpus's grammar, so a name is also a take: a speaker has a fixed number
of takes per emotion (RAVDESS: 4 neutral, 8 of every other; CREMA-D: 12 sentences, 14 with
IEO's three intensities; TESS: 200 words). Takes are drawn without replacement, and a corpus
asked for more utterances than its grammar holds is refused with the limit named. Audio is
written at each corpus's own rate (resampled from the generator's 16 kHz), so indexing and
extraction meet the rates real copies have. The quirks the loaders must survive are written
too; each writer's docstring names them.
"""

import csv
import io
import shutil
from collections import Counter
from math import gcd
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from xcorpus.corpora import cremad
from xcorpus.corpora.demo.design import Speaker, Utterance
from xcorpus.corpora.demo.render import DemoCorpus, to_pcm16
from xcorpus.corpora.demo.voice import FS

# The first bytes of a macOS AppleDouble file, as zip archives made on a Mac carry them.
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(16)


def _wav(path: Path, pcm: np.ndarray, rate: int, channels: int = 1) -> None:
    """PCM16 wav at `rate` (resampled from the generator's 16 kHz); with 2 channels the
    second is the first at 90 % (a stereo take whose channels the loader averages)."""
    x = pcm.astype(np.float64) / 32767.0
    if rate != FS:
        g = gcd(rate, FS)
        x = resample_poly(x, rate // g, FS // g)
    out = to_pcm16(x)
    if channels == 2:
        out = np.stack([out, to_pcm16(0.9 * x)], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, out, rate, subtype="PCM_16", format="WAV")


def _csv(path: Path, rows: list[list], quote_all: bool = False) -> None:
    """A comma-separated file with LF line ends: strings quoted as R's write.csv does (every
    string, numbers bare), or every field quoted."""
    buffer = io.StringIO()
    # csv.writer is typed to take the QUOTE_* values as literals, not as any int.
    quoting: Literal[1, 2] = csv.QUOTE_ALL if quote_all else csv.QUOTE_NONNUMERIC
    csv.writer(buffer, quoting=quoting, lineterminator="\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")


class Takes:
    """The unused takes of each (speaker, code), drawn in a random order."""

    def __init__(self, corpus: str, rng: np.random.Generator) -> None:
        self.corpus, self.rng = corpus, rng
        self.left: dict[tuple[str, str], list] = {}

    def draw(self, speaker: Speaker, code: str, takes: list, prefer=None):
        key = (speaker.name, code)
        if key not in self.left:
            self.left[key] = [takes[i] for i in self.rng.permutation(len(takes))]
        left = self.left[key]
        if not left:
            raise ValueError(
                f"{self.corpus} demo: speaker {speaker.name} has only {len(takes)} takes of "
                f"{code}; ask for fewer utterances"
            )
        take = prefer if prefer in left else left[0]
        left.remove(take)
        return take


# --- CREMA-D -------------------------------------------------------------------------------

CREMA_CODES = {"neutral": "NEU", "happy": "HAP", "sad": "SAD", "angry": "ANG"}
CREMA_RACES = ("Caucasian", "African American", "Asian", "Unknown")
VOTE_LETTERS = ("A", "D", "F", "H", "N", "S")
EMOTION_OF_LETTER = dict(zip(VOTE_LETTERS, ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"), strict=True))


def write_cremad(demo: DemoCorpus, root: Path, rng: np.random.Generator) -> None:
    """AudioWAV/<actor>_<SEN>_<EMO>_<LVL>.wav, VideoDemographics.csv, SentenceFilenames.csv,
    processedResults/tabulatedVotes.csv.

    Choices: non-neutral IEO takes carry LO/MD/HI, all others XX; 4-12 raters per clip and
    modality, whose votes favour the intended emotion less the more ambiguous the utterance
    (its mix), so the agreement difficulty ranks them; the first SAD take keeps the legacy
    one-letter level (`_X.wav`) while the vote table names it `_XX` as the current release
    does; one AppleDouble `._` file.
    """
    takes = Takes("CREMAD", rng)
    wav = root / "AudioWAV"
    clips: list[tuple[str, Utterance, str]] = []  # (stem in the vote table, utterance, code)
    legacy_done = False
    for u in demo.utterances:
        code = CREMA_CODES[u.label] if u.label else u.raw
        options = [("IEO", level) for level in ("LO", "MD", "HI")] if code != "NEU" else []
        options += [(s, "XX") for s in cremad.SENTENCES if code == "NEU" or s != "IEO"]
        sentence, level = takes.draw(u.speaker, code, options)
        stem = f"{u.speaker.name}_{sentence}_{code}_{level}"
        name = stem
        if code == "SAD" and level == "XX" and not legacy_done:
            name, legacy_done = stem[:-1], True
        _wav(wav / f"{name}.wav", u.pcm, FS)
        clips.append((stem, u, code))
    first = sorted(wav.iterdir())[0]
    (wav / f"._{first.name}").write_bytes(APPLE_DOUBLE)
    clips.sort(key=lambda c: c[0])
    _csv(
        root / "SentenceFilenames.csv",
        [["Stimulus_Number", "Filename"], *([k, c[0]] for k, c in enumerate(clips, start=1))],
    )
    _csv(root / "VideoDemographics.csv", _crema_demographics(demo, rng))
    header = ["", *VOTE_LETTERS, "fileName", "numResponses", "agreement", "emoVote"]
    header += ["meanEmoResp", *(f"mean{e}Resp" for e in CREMA_EMOTION_WORDS), "medianEmoResp"]
    header += ["meanEmoRespNorm", *(f"mean{e}RespNorm" for e in CREMA_EMOTION_WORDS)]
    header += ["medianEmoRespNorm"]
    rows = [
        _crema_vote_row(query * 100000 + k, stem, u, code, rng)
        for query in (1, 2, 3)  # voice, face, audio-visual
        for k, (stem, u, code) in enumerate(clips, start=1)
    ]
    _csv(root / "processedResults" / "tabulatedVotes.csv", [header, *rows])


CREMA_EMOTION_WORDS = ("Anger", "Disgust", "Fear", "Happy", "Neutral", "Sad")


def _crema_demographics(demo: DemoCorpus, rng: np.random.Generator) -> list[list]:
    rows: list[list] = [["ActorID", "Age", "Sex", "Race", "Ethnicity"]]
    for speaker in sorted(demo.speakers, key=lambda s: s.name):
        rows.append(
            [
                int(speaker.name),
                int(rng.integers(20, 75)),
                "Male" if speaker.gender == "M" else "Female",
                CREMA_RACES[rng.choice(4, p=[0.67, 0.24, 0.08, 0.01])],
                "Hispanic" if rng.random() < 0.11 else "Not Hispanic",
            ]
        )
    return rows


def _crema_vote_row(
    number: int, stem: str, u: Utterance, code: str, rng: np.random.Generator
) -> list:
    """One row of tabulatedVotes.csv: votes per letter, their majority (ties joined with `:`)
    and mean levels (-1 for an emotion nobody chose)."""
    p = np.full(6, 0.06)
    p[list(EMOTION_OF_LETTER.values()).index(code)] += 0.1 + 0.45 * (1 - u.mix)
    if u.label is not None and u.second != u.primary:
        second = CREMA_CODES[("neutral", "happy", "sad", "angry")[u.second]]
        p[list(EMOTION_OF_LETTER.values()).index(second)] += 0.6 * u.mix
    n = int(rng.integers(4, 13))
    votes = rng.multinomial(n, p / p.sum())
    top = votes.max()
    winners = ":".join(letter for letter, v in zip(VOTE_LETTERS, votes, strict=True) if v == top)
    levels = [round(float(rng.uniform(20, 90)), 2) if v else -1 for v in votes]
    norm = [round(float(rng.uniform(0, 100)), 2) if v else -1 for v in votes]
    mean = round(float(np.mean([x for x in levels if x >= 0])), 2)
    mean_norm = round(float(np.mean([x for x in norm if x >= 0])), 2)
    return [
        str(number), *map(int, votes), stem, n, round(top / n, 6), winners,
        mean, *levels, round(mean), mean_norm, *norm, round(mean_norm),
    ]  # fmt: skip


# --- RAVDESS -------------------------------------------------------------------------------

RAVDESS_CODES = {"neutral": "01", "happy": "03", "sad": "04", "angry": "05"}
SONG_EMOTIONS = ("01", "02", "03", "04", "05", "06")  # song has no disgust or surprised
RAVDESS_RATE = 48000


def write_ravdess(demo: DemoCorpus, root: Path, rng: np.random.Generator) -> None:
    """Audio_Speech_Actors_01-24/Actor_NN/03-01-EE-II-SS-RR-AA.wav and the song zip's
    Audio_Song_Actors_01-24/Actor_NN/03-02-...wav, 48 kHz.

    Choices: neutral has intensity 01 only (4 takes per actor), every other emotion 8; song
    takes get an emotion of the song set; the first speech file is stereo; Actor_01's files
    are also copied into audio_speech_actors_01-24/Actor_01/ (the Kaggle copy's doubled tree).
    """
    takes = Takes("RAVDESS", rng)
    first_speech = True
    for u in demo.utterances:
        song = u.raw == "song"
        emotion = SONG_EMOTIONS[rng.integers(len(SONG_EMOTIONS))] if song else None
        emotion = emotion or (RAVDESS_CODES[u.label] if u.label else u.raw)
        intensities = ("01",) if emotion == "01" else ("01", "02")
        options = [(i, s, r) for i in intensities for s in ("01", "02") for r in ("01", "02")]
        intensity, statement, repetition = takes.draw(
            u.speaker, f"{'song' if song else 'speech'} {emotion}", options
        )
        actor = u.speaker.name
        name = f"03-0{2 if song else 1}-{emotion}-{intensity}-{statement}-{repetition}-{actor}"
        folder = "Audio_Song_Actors_01-24" if song else "Audio_Speech_Actors_01-24"
        channels = 2 if first_speech and not song else 1
        _wav(root / folder / f"Actor_{actor}" / f"{name}.wav", u.pcm, RAVDESS_RATE, channels)
        first_speech = first_speech and song
    speech = root / "Audio_Speech_Actors_01-24"
    if (speech / "Actor_01").is_dir():
        shutil.copytree(speech / "Actor_01", speech / "audio_speech_actors_01-24" / "Actor_01")


# --- SAVEE ---------------------------------------------------------------------------------

SAVEE_CODES = {"neutral": "n", "happy": "h", "sad": "sa", "angry": "a"}
SAVEE_RATE = 44100
SAVEE_INFO = (
    "SAVEE audio (demo copy): speakers DC, JE, JK and KL, all male.",
    "WAV files at 44.1 kHz. The letters before the digits name the emotion, the digits the",
    "sentence: a anger, d disgust, f fear, h happiness, n neutral, sa sadness, su surprise.",
)


def write_savee(demo: DemoCorpus, root: Path, rng: np.random.Generator) -> None:
    """AudioData/Info.txt and AudioData/<SPK>/<code><NN>.wav, 44.1 kHz.

    Choices: sentences are numbered 01, 02, ... per speaker and emotion in the order of the
    plan (the release has 15 per emotion and 30 neutral; a larger demo goes on to 99);
    AppleDouble `._` files beside the first speaker's wavs.
    """
    numbers: Counter[tuple[str, str]] = Counter()
    for u in demo.utterances:
        code = SAVEE_CODES[u.label] if u.label else u.raw
        numbers[u.speaker.name, code] += 1
        if numbers[u.speaker.name, code] > 99:
            raise ValueError("SAVEE demo: two-digit sentence numbers hold 99 takes per emotion")
        path = (
            root / "AudioData" / u.speaker.name / f"{code}{numbers[u.speaker.name, code]:02d}.wav"
        )
        _wav(path, u.pcm, SAVEE_RATE)
    (root / "AudioData" / "Info.txt").write_text("\n".join(SAVEE_INFO) + "\n", encoding="utf-8")
    first = sorted(p for p in (root / "AudioData").iterdir() if p.is_dir())[0]
    for wav in sorted(first.glob("*.wav"))[:2]:
        (first / f"._{wav.name}").write_bytes(APPLE_DOUBLE)


# --- TESS ----------------------------------------------------------------------------------

TESS_RATE = 24414
TESS_WORDS = (  # noqa: SIM905 (a word list reads best as text)
    "back bar base bath bean beg bite boat bone book bought burn cab calm came cause chain "
    "chair chalk chat check cheek chief choice cool dab date dead death deep dime dip ditch "
    "dodge dog doll door fail fall far fat fit five food gap gas gaze germ get gin goal good "
    "goose gun half hall hash hate have haze hire hit hole home hurl hush jail jar join judge "
    "jug juice keen keep keg kick kill king kite knock late laud lean learn lease lid life "
    "limb live loaf long lore lose lot love luck make match merge mess met mill mob mode mood "
    "moon mop mouse nag name near neat nice note numb pad page pain pass pearl peg perch "
    "phone pick pike pole pool puff rag raid rain raise rat reach read red ring ripe road "
    "room rose rot rough rush said sail search seize sell shack shall shawl sheep shirt "
    "should shout size soap soup sour south sub such sure take talk tape team tell thin "
    "third thought thumb time tip tire ton tool tough turn vine voice void vote wag walk "
    "wash week wheat when which whip white wife wire witch yearn yes young youth"
).split()


def write_tess(demo: DemoCorpus, root: Path, rng: np.random.Generator) -> None:
    """TESS/<SPK>_<word>_<emotion>.wav (the TSpace copy's one flat folder), 24,414 Hz.

    Choices: each speaker says each word at most once per emotion; the first fear utterance
    says "food" and is written at 96 kHz, like the release's OAF_food_fear.wav; one
    AppleDouble `._` file.
    """
    takes = Takes("TESS", rng)
    outlier_done = False
    for u in demo.utterances:
        emotion = u.label or u.raw
        outlier = emotion == "fear" and not outlier_done
        word = takes.draw(u.speaker, emotion, list(TESS_WORDS), prefer="food" if outlier else None)
        rate = 96000 if outlier else TESS_RATE
        _wav(root / "TESS" / f"{u.speaker.name}_{word}_{emotion}.wav", u.pcm, rate)
        outlier_done = outlier_done or outlier
    first = sorted((root / "TESS").iterdir())[0]
    (root / "TESS" / f"._{first.name}").write_bytes(APPLE_DOUBLE)

"""Layout writers of the MELD, EMODB and ESD demo corpora (registered in layouts.write_layout).

Each follows its corpus's documented layout (docs: corpora-more.md) where it is specific, with
the awkward cases the loaders must handle: MELD's 2018-style CSV characters, a clip its CSV row
names but that is missing, one that does not decode, clips no row names and final_videos_test
twins; EmoDB's Latin-1 recognition rates with decimal commas; ESD's per-speaker text
encodings (GB2312, UTF-16, UTF-8, Latin-1) and Mandarin emotion words.
"""

from collections import Counter
from pathlib import Path

import av
import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from xcorpus.corpora import emodb, esd
from xcorpus.corpora.demo.render import DemoCorpus
from xcorpus.corpora.demo.voice import FS

# MELD rows the demo adds beyond the plan, as the release has them: one whose clip is missing
# (like dev dia110_utt7) and one whose clip does not decode (like train dia125_utt3).
BROKEN_CLIPS = 2


def _wav(path: Path, pcm: np.ndarray) -> None:
    """16 kHz mono PCM16 wav, as EmoDB and ESD ship; parent folders created on the way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, pcm, FS, subtype="PCM_16", format="WAV")


def _bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# --- MELD ----------------------------------------------------------------------------------

MELD_RATE = 48000
MELD_NAMES = {"neutral": "neutral", "happy": "joy", "sad": "sadness", "angry": "anger"}
MELD_SENTIMENT = {"neutral": "neutral", "joy": "positive", "surprise": "positive"}
MELD_HEADER = (
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,"
    "StartTime,EndTime"
)
# 5.1 (FL, FR, FC, LFE, BL, BR): dialogue in the centre, bleeding into the others.
SURROUND_GAINS = (0.5, 0.5, 1.0, 0.1, 0.25, 0.25)


def write_mp4(path: Path, pcm: np.ndarray, channels: int) -> None:
    """A 16 kHz int16 utterance as MELD ships it: an MP4 whose only stream is 48 kHz AAC,
    stereo or 5.1."""
    x = resample_poly(pcm.astype(np.float64) / 32767.0, MELD_RATE // FS, 1)
    gains = SURROUND_GAINS if channels == 6 else (1.0, 1.0)
    layout = "5.1" if channels == 6 else "stereo"
    samples = np.clip(np.outer(gains, x), -1.0, 1.0).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=MELD_RATE, layout=layout)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
        frame.sample_rate = MELD_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)


def _clock(seconds: float) -> str:
    """hh:mm:ss,mmm as in MELD's StartTime/EndTime."""
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def _meld_dialogues(demo: DemoCorpus, rng: np.random.Generator) -> dict[str, list]:
    """Split -> dialogues (lists of utterances): runs of 2-6 turns, dealt about 70/10/20 over
    train/dev/test at dialogue level, as MELD's splits are (every character in all three)."""
    dialogues, i = [], 0
    while i < len(demo.utterances):
        k = int(rng.integers(2, 7))
        dialogues.append(demo.utterances[i : i + k])
        i += k
    order = rng.permutation(len(dialogues))
    n_dev = max(1, round(0.1 * len(dialogues)))
    n_test = max(1, round(0.2 * len(dialogues)))
    splits = {"dev": order[:n_dev], "test": order[n_dev : n_dev + n_test]}
    splits["train"] = order[n_dev + n_test :]
    return {split: [dialogues[d] for d in sorted(ids)] for split, ids in splits.items()}


def _meld_row(
    serial: int, u: tuple[str, str, str], ids: tuple[int, int], span: tuple[float, float],
    rng: np.random.Generator,
) -> str:  # fmt: skip
    """One CSV row of (text, speaker, emotion), quoted where it needs to be (the times always,
    as in the release)."""
    text, speaker, emotion = u
    quoted = f'"{text}"' if any(c in text for c in ',"') else text
    fields = [str(serial), quoted, speaker, emotion, MELD_SENTIMENT.get(emotion, "negative")]
    fields += [str(ids[0]), str(ids[1]), str(rng.integers(1, 11)), str(rng.integers(1, 25))]
    fields += [f'"{_clock(span[0])}"', f'"{_clock(span[1])}"']
    return ",".join(fields)


def write_meld(demo: DemoCorpus, root: Path, rng: np.random.Generator) -> None:
    """MELD.Raw/{train/train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv} and the clip
    folders train/train_splits, dev_splits_complete, output_repeated_splits_test.

    Choices: train's CSV is the 2018 form (UTF-8, LF, U+0092 for every apostrophe, Sr No. not
    sorted), dev and test the current one (CRLF, typographic apostrophes); about one dialogue in
    ten skips an Utterance_ID; 88 % of clips are 5.1, the rest stereo. Beyond the plan: a dev
    row whose clip is missing, a train row whose clip is truncated (does not decode), a dev clip
    no row names, and a final_videos_test twin of the first test clip.
    """
    base = root / "MELD.Raw"
    csvs = {"train": base / "train", "dev": base, "test": base}
    folders = {
        "train": base / "train" / "train_splits",
        "dev": base / "dev_splits_complete",
        "test": base / "output_repeated_splits_test",
    }
    for split, dialogues in _meld_dialogues(demo, rng).items():
        serials = rng.permutation(4 * len(demo.utterances)) + 1
        if split != "train":  # dev and test: increasing, with gaps
            serials = np.sort(serials[: sum(map(len, dialogues))])
        rows: list[str] = []
        for d, dialogue in enumerate(dialogues):
            clock = float(rng.uniform(30, 1200))
            gap = int(rng.integers(len(dialogue) + 1)) if rng.random() < 0.1 else len(dialogue)
            for k, u in enumerate(dialogue):
                utt = k + (k >= gap)  # an Utterance_ID skipped, as in 72 train dialogues
                seconds = len(u.pcm) / FS
                write_mp4(folders[split] / f"dia{d}_utt{utt}.mp4", u.pcm, _channels(rng))
                text = u.text.replace("'", "\x92" if split == "train" else "\u2019")
                emotion = MELD_NAMES[u.label] if u.label else u.raw
                span = (clock, clock + seconds)
                rows.append(_meld_row(serials[len(rows)], (text, u.speaker.name, emotion),
                                      (d, utt), span, rng))  # fmt: skip
                clock += seconds + float(rng.uniform(0.2, 2.0))
        rows += _meld_broken(split, len(dialogues), folders, demo, rng)
        end = "\n" if split == "train" else "\r\n"
        text = "".join(line + end for line in [MELD_HEADER, *rows])
        _bytes(csvs[split] / f"{split}_sent_emo.csv", text.encode("utf-8"))


def _meld_broken(
    split: str, n: int, folders: dict[str, Path], demo: DemoCorpus, rng: np.random.Generator
) -> list[str]:
    """The release's awkward files in `split` (whose dialogues are 0..n-1); the rows they add."""
    if split == "dev":  # dev dia110_utt7, a row without its clip; dia49_utt4, a clip without row
        write_mp4(folders["dev"] / f"dia{n + 1}_utt0.mp4", demo.utterances[0].pcm, 2)
        return [_meld_row(9999, ("No way.", "Phoebe", "neutral"), (n, 0), (10.0, 11.0), rng)]
    if split == "train":  # train dia125_utt3: a clip that does not decode (truncated)
        whole = (folders["train"] / "dia0_utt0.mp4").read_bytes()
        _bytes(folders["train"] / f"dia{n}_utt0.mp4", whole[: len(whole) // 3])
        return [_meld_row(9998, ("I know.", "Ross", "neutral"), (n, 0), (10.0, 11.0), rng)]
    first = folders["test"] / "dia0_utt0.mp4"  # a final_videos_test twin of a row's clip
    _bytes(first.with_name(f"final_videos_test{first.name}"), first.read_bytes())
    return []


def _channels(rng: np.random.Generator) -> int:
    return 6 if rng.random() < 0.88 else 2


# --- EmoDB ---------------------------------------------------------------------------------

EMODB_LETTERS = {"neutral": "N", "happy": "F", "sad": "T", "angry": "W"}
TAKES = "abcdefghijklmnopqrstuvwxyz"


def write_emodb(demo: DemoCorpus, root: Path, rng: np.random.Generator) -> None:
    """wav/SSTTTEV.wav, erkennung.txt and erklaerung.txt, as download.zip unpacks (no wrapper).

    Choices: each utterance speaks a random one of the ten sentences; takes a, b, c ... count
    the repeats of one speaker, sentence and emotion; the recognition rate falls with the
    utterance's ambiguity (100 % for a clear one, less the mixed-in share and some noise), one
    decimal with a decimal comma, every seventh value followed by a U+00A0.
    """
    takes: Counter[tuple[str, str, str]] = Counter()
    lines = ["Satz\terkannt\tnatürlich"]
    texts = sorted(emodb.SENTENCES)
    for u in demo.utterances:
        letter = EMODB_LETTERS[u.label] if u.label else u.raw
        text = texts[int(rng.integers(len(texts)))]
        key = (u.speaker.name, text, letter)
        stem = f"{u.speaker.name}{text}{letter}{TAKES[takes[key]]}"
        takes[key] += 1
        _wav(root / "wav" / f"{stem}.wav", u.pcm)
        rate = float(np.clip(100.0 - 60.0 * u.mix - rng.uniform(0.0, 20.0), 40.0, 100.0))
        value = f"{rate:.1f}".replace(".", ",") + ("\xa0" if len(lines) % 7 == 0 else "")
        natural = f"{rng.uniform(50.0, 100.0):.1f}".replace(".", ",")
        lines.append(f"{stem}.wav\t{value}\t{natural}")
    _bytes(root / "erkennung.txt", "".join(x + "\n" for x in lines).encode("latin-1"))
    note = "Erkennungsraten und Natürlichkeit der Äußerungen (Demo).\n"
    _bytes(root / "erklaerung.txt", note.encode("latin-1"))


# --- ESD -----------------------------------------------------------------------------------

ESD_TOP = "Emotion Speech Dataset"
ESD_SPLITS = ((20, "evaluation"), (50, "test"), (esd.BLOCK, "train"))  # by sentence index k
# Encodings of the speakers' text files, per the corpus notes ([ertk]'s table).
ESD_ENCODINGS = {
    **dict.fromkeys(("0001", "0002", "0004", "0005", "0009"), "gb2312"),
    **dict.fromkeys(
        ("0003", "0006", "0007", "0008", "0010", "0012", "0013", "0014", "0018", "0019"), "utf-16"
    ),
    **dict.fromkeys(("0011", "0015", "0020"), "utf-8"),
    **dict.fromkeys(("0016", "0017"), "latin-1"),
}
ESD_WORDS_ZH = {
    "Neutral": "中立", "Happy": "快乐", "Sad": "伤心", "Angry": "生气", "Surprise": "惊喜",
}  # fmt: skip
ESD_SENTENCES_ZH = (
    "今天下午我们一起去图书馆吧。",
    "他把书放在桌子上了。",
    "明天早上八点开会。",
    "这条路一直走到头就是车站。",
    "我们晚上在家里吃饭。",
    "请把门关上。",
)
ESD_EMOTIONS = {"neutral": "Neutral", "happy": "Happy", "sad": "Sad", "angry": "Angry"}


def write_esd(demo: DemoCorpus, root: Path, rng: np.random.Generator) -> None:
    """Emotion Speech Dataset/{ReadMe.txt, SSSS/SSSS.txt, SSSS/<Emotion>/<split>/SSSS_N.wav}.

    Choices: each utterance takes a sentence index k unused by its speaker and emotion, so its
    number is block * 350 + k + 1 and its split folder follows k (0-19 evaluation, 20-49 test,
    the rest train, as inferred for the release); English speakers say the demo's English
    sentences, Mandarin ones a few fixed Chinese sentences.
    """
    base = root / ESD_TOP
    lines: dict[str, list[str]] = {}
    taken: dict[tuple[str, str], set[int]] = {}
    for u in demo.utterances:
        speaker = u.speaker.name
        emotion = ESD_EMOTIONS[u.label] if u.label else u.raw
        used = taken.setdefault((speaker, emotion), set())
        k = int(rng.choice([i for i in range(esd.BLOCK) if i not in used]))
        used.add(k)
        number = esd.EMOTIONS.index(emotion) * esd.BLOCK + k + 1
        utt_id = f"{speaker}_{number:06d}"
        split = next(name for end, name in ESD_SPLITS if k < end)
        _wav(base / speaker / emotion / split / f"{utt_id}.wav", u.pcm)
        if esd.SPEAKERS[speaker][1] == "ZH":
            text, word = ESD_SENTENCES_ZH[k % len(ESD_SENTENCES_ZH)], ESD_WORDS_ZH[emotion]
        else:
            text, word = u.text, emotion
        lines.setdefault(speaker, []).append(f"{utt_id}\t{text}\t{word}")
    for speaker, entries in lines.items():
        text = "".join(line + "\n" for line in sorted(entries))
        _bytes(base / speaker / f"{speaker}.txt", text.encode(ESD_ENCODINGS[speaker]))
    readme = [f"{s}\t{g}\t{lang}" for s, (g, lang) in esd.SPEAKERS.items()]
    _bytes(base / "ReadMe.txt", "".join(x + "\n" for x in readme).encode("utf-8"))

"""EMODB, ESD and MELD loaders on tiny native-layout fixtures built in tmp_path."""

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from xcorpus.corpora import CORPORA, meld
from xcorpus.corpora.indexing import index_corpus
from xcorpus.corpora.sources import fingerprint
from xcorpus.tables import INDEX_SCHEMA, REJECTS_SCHEMA, index_metadata

# The index columns these loaders fill, compared row by row.
FIELDS = (
    "utt_id",
    "audio_path",
    "speaker",
    "gender",
    "split",
    "label",
    "raw_label",
    "transcript",
    "language",
    "agreement",
    "sample_rate",
    "channels",
)


def write_wav(path: Path, seed: int = 0, seconds: float = 0.1, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = 0.01 * np.random.default_rng(seed).standard_normal(int(rate * seconds))
    sf.write(path, noise, rate, subtype="PCM_16")


def write_mp4(path: Path, channels: int, seconds: float = 0.2, freq: float = 440.0) -> None:
    """An MP4 holding one 48 kHz AAC stream (stereo or 5.1) of a sine in every channel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = {2: "stereo", 6: "5.1"}[channels]
    t = np.arange(round(48000 * seconds)) / 48000
    samples = np.tile(0.3 * np.sin(2 * np.pi * freq * t), (channels, 1)).astype(np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000, layout=layout)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
        frame.sample_rate = 48000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)


def projected(table) -> list[dict]:
    return [{k: r[k] for k in FIELDS} for r in table.to_pylist()]


def expect(utt_id: str, audio: Path, label: str, raw: str, speaker: str, **kw) -> dict:
    """An expected index row of FIELDS; 16 kHz mono unless given."""
    base = dict.fromkeys(FIELDS)
    base |= {"utt_id": utt_id, "audio_path": str(audio), "label": label, "raw_label": raw}
    base |= {"speaker": speaker, "sample_rate": 16000, "channels": 1}
    assert set(kw) <= set(FIELDS)
    return base | kw


def rej(utt_id: str | None, reason: str, raw_label: str | None, source: str) -> dict:
    return {"utt_id": utt_id, "raw_label": raw_label, "reason": reason, "source": source}


def ignored(index) -> list[str]:
    return index_metadata(index.schema).get("ignored", {}).get("examples", [])


# ---------------------------------------------------------------------------------------------
# EMODB

EMODB_RATES = (
    "Satz\tSprecher\terkannt\tnat\n"
    "03a01Fa.wav\t03\t85,0\t70,0\n"
    "03a01Nc.wav\t03\t100,0\xa0\t90,0\n"  # U+00A0 after the value, as in the release
    "09b01Ta.wav  09  62,5  80,0\n"  # spaces, not TABs
    "14a05Tb.wav\t14\tn/a\t80,0\n"  # not a number: rejects its utterance
    "15a01Lb.wav\t15\t90,0\t50,0\n"  # a file the copy does not have
)
EMODB_FILES = (
    "03a01Fa", "03a01Nc", "08a02Wb", "09b01Ta", "10a04Lb", "13b10Ea", "16a07Aa", "14a05Tb",
)  # fmt: skip


def make_emodb(root: Path) -> None:
    """download.zip under a wrapper folder, with the quirks of its common copies."""
    base = root / "download"
    for k, stem in enumerate(EMODB_FILES):
        write_wav(base / "wav" / f"{stem}.wav", seed=k)
    write_wav(base / "wav" / "11b02Fcxx.wav", seed=20)  # EmoDB 2.0 source name
    (base / "erkennung.txt").write_bytes(EMODB_RATES.encode("latin-1"))
    (base / "erklaerung.txt").write_bytes("Erklärung\n".encode("latin-1"))
    write_wav(base / "wav" / "._03a01Fa.wav", seed=30)  # AppleDouble
    write_wav(base / "wav" / "notes.wav", seed=31)  # outside the grammar
    write_wav(base / "wav" / "wav" / "03a01Nc.wav", seed=1)  # identical copy: ignored
    write_wav(base / "wav" / "takes" / "08a02Wb.wav", seed=99)  # different file: duplicate
    write_wav(base / "laryngo" / "03a01Fa.wav", seed=40)  # laryngograph channel: not searched
    (base / "silb").mkdir()
    (base / "silb" / "03a01Fa.silb").write_bytes("112 der\n298 lap\n".encode("latin-1"))


def test_emodb_rows_and_rejects(tmp_path: Path) -> None:
    make_emodb(tmp_path)
    index, rejects, _ = index_corpus("EMODB", tmp_path)
    wav = tmp_path / "download" / "wav"
    a01 = "Der Lappen liegt auf dem Eisschrank."
    assert projected(index) == [
        expect("03a01Fa", wav / "03a01Fa.wav", "happy", "F", "03", gender="M", transcript=a01,
               language="DE", agreement=0.85),
        expect("03a01Nc", wav / "03a01Nc.wav", "neutral", "N", "03", gender="M",
               transcript=a01, language="DE", agreement=1.0),
        expect("08a02Wb", wav / "08a02Wb.wav", "angry", "W", "08", gender="F",
               transcript="Das will sie am Mittwoch abgeben.", language="DE"),
        expect("09b01Ta", wav / "09b01Ta.wav", "sad", "T", "09", gender="F",
               transcript="Was sind denn das für Tüten, die da unter dem Tisch stehen?",
               language="DE", agreement=0.625),
        expect("11b02Fc", wav / "11b02Fcxx.wav", "happy", "F", "11", gender="M",
               transcript="Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
               language="DE"),
    ]  # fmt: skip
    assert rejects.to_pylist() == [
        rej("08a02Wb", "duplicate of download/wav/08a02Wb.wav", "W",
            "download/wav/takes/08a02Wb.wav"),
        rej("10a04Lb", "label L not in the 4 classes", "L", "download/wav/10a04Lb.wav"),
        rej("13b10Ea", "label E not in the 4 classes", "E", "download/wav/13b10Ea.wav"),
        rej("14a05Tb", "malformed erkannt value 'n/a' in download/erkennung.txt:5", "T",
            "download/wav/14a05Tb.wav"),
        rej("16a07Aa", "label A not in the 4 classes", "A", "download/wav/16a07Aa.wav"),
    ]  # fmt: skip
    assert ignored(index) == [
        "download/wav/._03a01Fa.wav (AppleDouble file)",
        "download/wav/notes.wav (name outside the grammar)",
        "download/wav/wav/03a01Nc.wav (identical copy of download/wav/03a01Nc.wav)",
    ]
    meta = index_metadata(index.schema)
    assert meta["variant"] == "wav files + download/erkennung.txt"
    assert (meta["kept"], meta["rejected"], meta["ignored"]["count"]) == (5, 5, 3)


def test_emodb_audformat_copy_gives_confidences(tmp_path: Path) -> None:
    """audb's layout: db.yml and the two split tables; no erkennung.txt, no official split."""
    for k, stem in enumerate(("12b03Wc", "16a05La", "13a02Nb")):
        write_wav(tmp_path / "wav" / f"{stem}.wav", seed=k)
    (tmp_path / "db.yml").write_text("name: emodb\n", encoding="utf-8")
    header = "file,emotion,emotion.confidence\n"
    train = header + "wav/12b03Wc.wav,anger,0.95\nwav/16a05La.wav,boredom,0.8\n"
    (tmp_path / "db.emotion.categories.train.gold_standard.csv").write_text(train, "utf-8")
    test = header + "wav/13a02Nb.wav,neutral,0.7\n"
    (tmp_path / "db.emotion.categories.test.gold_standard.csv").write_text(test, "utf-8")
    (tmp_path / "db.files.csv").write_text("file,duration\nwav/12b03Wc.wav,0.1\n", "utf-8")
    index, rejects, _ = index_corpus("EMODB", tmp_path)
    rows = {r["utt_id"]: (r["label"], r["agreement"], r["split"]) for r in index.to_pylist()}
    assert rows == {"12b03Wc": ("angry", 0.95, None), "13a02Nb": ("neutral", 0.7, None)}
    assert [(r["utt_id"], r["reason"]) for r in rejects.to_pylist()] == [
        ("16a05La", "label L not in the 4 classes")
    ]
    assert index_metadata(index.schema)["variant"] == (
        "wav files + no erkennung.txt + audformat confidences"
    )


def test_emodb_rates_file_without_its_columns_is_an_error(tmp_path: Path) -> None:
    write_wav(tmp_path / "wav" / "03a01Fa.wav")
    (tmp_path / "erkennung.txt").write_bytes(b"Datei Rate\n03a01Fa.wav 85,0\n")
    with pytest.raises(ValueError, match=r"erkennung\.txt has no header with columns Satz"):
        index_corpus("EMODB", tmp_path)


# ---------------------------------------------------------------------------------------------
# ESD

ZH_NEUTRAL = "今天下午我们一起去图书馆吧。"
ZH_ANGRY = "你为什么又迟到了。"


def make_esd(root: Path) -> None:
    """The official zip under its wrapper folder, plus a flat speaker and the quirks."""
    base = root / "Emotion Speech Dataset"
    (base / "ReadMe.txt").parent.mkdir(parents=True)
    (base / "ReadMe.txt").write_text("0001 female Mandarin\n", encoding="utf-8")
    zh = (
        f"0001_000001\t{ZH_NEUTRAL}\t中立\r\n"
        "\r\n"  # a blank line
        f"0001_000371\t{ZH_ANGRY}\t生气\r\n"
        f"0001_001451\t{ZH_NEUTRAL}\t惊喜\r\n"
    )
    (base / "0001" / "0001.txt").parent.mkdir()
    (base / "0001" / "0001.txt").write_bytes(zh.encode("gb2312"))
    write_wav(base / "0001/Neutral/evaluation/0001_000001.wav", seed=1)
    write_wav(base / "0001/Angry/test/0001_000371.wav", seed=2)
    write_wav(base / "0001/Surprise/train/0001_001451.wav", seed=3)
    en = (
        "0011_000751\tThe red kite circled over the quiet field.\tHappy\n"
        "0011_000760\tThe fisherman and his wife see George every day.\n"  # 2 fields
        "0011_001071\tThe red kite circled over the quiet field.\tSad\n"
        "just some words\n"  # no id at all
    )
    (base / "0011").mkdir()
    (base / "0011" / "0011.txt").write_bytes(b"\xff\xfe" + en.encode("utf-16-le"))
    write_wav(base / "0011/Happy/train/0011_000751.wav", seed=4)
    write_wav(base / "0011/Happy/train/0011_000760.wav", seed=5)
    write_wav(base / "0011/Sad/test/0011_001071.wav", seed=6)
    write_wav(base / "0011/Happy/train/._0011_000751.wav", seed=7)  # AppleDouble
    # A flat copy of another speaker (no split folders), its text file in UTF-8.
    (base / "0015").mkdir()
    (base / "0015" / "0015.txt").write_text(
        "0015_001100\tLet the glass globe be.\tSad\n0015_000010\tAn hour out.\tNeutral\n",
        encoding="utf-8",
    )
    write_wav(base / "0015/Sad/0015_001100.wav", seed=8)
    write_wav(base / "0015/Sad/copy/0015_001100.wav", seed=8)  # identical: ignored
    write_wav(base / "0015/Angry/0015_000010.wav", seed=9)  # block Neutral, folder Angry
    (base / "0016").mkdir()
    (base / "0016" / "0016.txt").write_bytes(
        "0016_000021\tUn café, please.\tNeutral\n".encode("latin-1")
    )
    write_wav(base / "0016/Neutral/test/0016_000021.wav", seed=10)
    write_wav(base / "0021/Neutral/0021_000001.wav", seed=11)  # no such speaker
    write_wav(base / "0016/Neutral/test/0016_21.wav", seed=12)  # outside the grammar


def test_esd_rows_and_rejects(tmp_path: Path) -> None:
    make_esd(tmp_path)
    index, rejects, _ = index_corpus("ESD", tmp_path)
    base = tmp_path / "Emotion Speech Dataset"
    kite = "The red kite circled over the quiet field."
    assert projected(index) == [
        expect("0001_000001", base / "0001/Neutral/evaluation/0001_000001.wav", "neutral",
               "Neutral", "0001", gender="F", split="dev", transcript=ZH_NEUTRAL, language="ZH"),
        expect("0001_000371", base / "0001/Angry/test/0001_000371.wav", "angry", "Angry",
               "0001", gender="F", split="test", transcript=ZH_ANGRY, language="ZH"),
        expect("0011_000751", base / "0011/Happy/train/0011_000751.wav", "happy", "Happy",
               "0011", gender="M", split="train", transcript=kite, language="EN"),
        expect("0011_001071", base / "0011/Sad/test/0011_001071.wav", "sad", "Sad", "0011",
               gender="M", split="test", transcript=kite, language="EN"),
        expect("0015_001100", base / "0015/Sad/0015_001100.wav", "sad", "Sad", "0015",
               gender="F", transcript="Let the glass globe be.", language="EN"),
        expect("0016_000021", base / "0016/Neutral/test/0016_000021.wav", "neutral", "Neutral",
               "0016", gender="F", split="test", transcript="Un café, please.", language="EN"),
    ]  # fmt: skip
    top = "Emotion Speech Dataset"
    three = "malformed transcript line (2 TAB-separated fields, expected 3)"
    assert rejects.to_pylist() == [
        rej(None, "malformed transcript line (1 TAB-separated fields, expected 3)", None,
            f"{top}/0011/0011.txt:4"),
        rej("0001_001451", "label Surprise not in the 4 classes", "Surprise",
            f"{top}/0001/Surprise/train/0001_001451.wav"),
        rej("0011_000760", three, "Happy", f"{top}/0011/0011.txt:2"),
        rej("0015_000010", "folder Angry disagrees with the id's emotion block (Neutral)",
            "Neutral", f"{top}/0015/Angry/0015_000010.wav"),
        rej("0021_000001", "speaker 0021 not in ESD's speaker list (0001-0020)", "Neutral",
            f"{top}/0021/Neutral/0021_000001.wav"),
    ]  # fmt: skip
    assert ignored(index) == [
        f"{top}/0011/Happy/train/._0011_000751.wav (AppleDouble file)",
        f"{top}/0015/Sad/copy/0015_001100.wav (identical copy of {top}/0015/Sad/0015_001100.wav)",
        f"{top}/0016/Neutral/test/0016_21.wav (name outside the grammar)",
    ]
    assert index_metadata(index.schema)["variant"] == "split folders + flat"


def test_esd_malformed_line_without_a_file_is_its_own_reject(tmp_path: Path) -> None:
    (tmp_path / "0012").mkdir()
    (tmp_path / "0012" / "0012.txt").write_text("0012_000001\tHello.\tNeutral\n0012_000002\tBye.\n")
    write_wav(tmp_path / "0012/Neutral/0012_000001.wav")
    index, rejects, _ = index_corpus("ESD", tmp_path)
    assert index.column("transcript").to_pylist() == ["Hello."]
    assert rejects.to_pylist() == [
        rej("0012_000002", "malformed transcript line (2 TAB-separated fields, expected 3)",
            None, "0012/0012.txt:2")
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# MELD

MELD_HEADER = (
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,"
    "StartTime,EndTime"
)
# Train: CRLF, UTF-8 with the 2018 C1 character U+0092 for U+2019, Sr No. not sorted.
MELD_TRAIN = [
    MELD_HEADER,
    '5,"Okay, so who\x92s bringing the chairs?",Monica,neutral,neutral,0,0,5,12,'
    '"00:03:41,208","00:03:43,960"',
    '2,Not me!,Joey,joy,positive,0,1,5,12,"00:03:44,102","00:03:45,011"',
    '9,Wow!,Ross,surprise,positive,0,2,5,12,"00:03:45,300","00:03:46,000"',
    '3,I know.,Ross,neutral,neutral,125,3,2,3,"00:01:00,000","00:01:01,000"',
    '4,Huh?,Ross,neutral,neutral,x,4,2,3,"00:01:02,000","00:01:03,000"',
]  # fmt: skip
# Dev: cp1252 (byte 0x92 for U+2019), LF.
MELD_DEV = [
    MELD_HEADER,
    '1,I\u2019m fine.,Rachel,sadness,negative,0,0,1,1,"00:00:01,000","00:00:02,000"',
    '1153,No way.,Phoebe,neutral,neutral,110,7,9,2,"00:10:00,000","00:10:01,000"',
]  # fmt: skip
MELD_TEST = [
    MELD_HEADER,
    '1,\u201cStop it.\u201d,Chandler,anger,negative,0,0,3,4,"00:00:05,000","00:00:06,000"',
    '2,\u201cStop it.\u201d,Chandler,anger,negative,0,0,3,4,"00:00:05,000","00:00:06,000"',
]  # fmt: skip


def make_meld(root: Path) -> None:
    """MELD.Raw with train/ unpacked below it and dev/test beside it."""
    base = root / "MELD.Raw"
    (base / "train").mkdir(parents=True)
    train = "".join(line + "\r\n" for line in MELD_TRAIN)
    (base / "train" / "train_sent_emo.csv").write_bytes(train.encode("utf-8"))
    (base / "dev_sent_emo.csv").write_bytes("\n".join(MELD_DEV).encode("cp1252") + b"\n")
    (base / "test_sent_emo.csv").write_text("\n".join(MELD_TEST) + "\n", encoding="utf-8")
    clips = base / "train" / "train_splits"
    write_mp4(clips / "dia0_utt0.mp4", channels=6)
    write_mp4(clips / "dia0_utt1.mp4", channels=2, seconds=0.064)
    write_mp4(clips / "dia0_utt2.mp4", channels=2)
    (clips / "dia125_utt3.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    (clips / "._dia0_utt0.mp4").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 60)
    write_mp4(base / "dev_splits_complete" / "dia0_utt0.mp4", channels=2)
    write_mp4(base / "dev_splits_complete" / "dia49_utt4.mp4", channels=2)  # no CSV row
    write_mp4(base / "output_repeated_splits_test" / "dia0_utt0.mp4", channels=6)
    write_mp4(base / "output_repeated_splits_test" / "final_videos_testdia0_utt0.mp4", channels=6)


def test_meld_rows_and_rejects(tmp_path: Path) -> None:
    make_meld(tmp_path)
    index, rejects, _ = index_corpus("MELD", tmp_path)
    base = tmp_path / "MELD.Raw"
    train = base / "train" / "train_splits"
    meld = {"language": "EN", "sample_rate": 48000}
    assert projected(index) == [
        expect("dev_dia0_utt0", base / "dev_splits_complete/dia0_utt0.mp4", "sad", "sadness",
               "Rachel", split="dev", transcript="I\u2019m fine.", channels=2, **meld),
        expect("test_dia0_utt0", base / "output_repeated_splits_test/dia0_utt0.mp4", "angry",
               "anger", "Chandler", split="test", transcript="\u201cStop it.\u201d", channels=6,
               **meld),
        expect("train_dia0_utt0", train / "dia0_utt0.mp4", "neutral", "neutral", "Monica",
               split="train", transcript="Okay, so who\u2019s bringing the chairs?", channels=6,
               **meld),
        expect("train_dia0_utt1", train / "dia0_utt1.mp4", "happy", "joy", "Joey",
               split="train", transcript="Not me!", channels=2, **meld),
    ]  # fmt: skip
    broken = train / "dia125_utt3.mp4"
    assert rejects.to_pylist() == [
        rej(None, "malformed Dialogue_ID 'x'", None, "MELD.Raw/train/train_sent_emo.csv:6"),
        rej("dev_dia110_utt7", f"no audio file at {base / 'dev_splits_complete/dia110_utt7.mp4'}",
            "neutral", "MELD.Raw/dev_sent_emo.csv:3"),
        rej("test_dia0_utt0", "duplicate of MELD.Raw/test_sent_emo.csv:2", "anger",
            "MELD.Raw/test_sent_emo.csv:3"),
        rej("train_dia0_utt2", "label surprise not in the 4 classes", "surprise",
            "MELD.Raw/train/train_sent_emo.csv:4"),
        rej("train_dia125_utt3", f"unreadable audio {broken}: does not decode (Invalid data "
            "found when processing input)", "neutral", "MELD.Raw/train/train_sent_emo.csv:5"),
    ]  # fmt: skip
    assert ignored(index) == [
        "MELD.Raw/dev_splits_complete/dia49_utt4.mp4 (no CSV row names it)",
        "MELD.Raw/output_repeated_splits_test/final_videos_testdia0_utt0.mp4 "
        "(final_videos_test twin; the plain-named clip is read)",
        "MELD.Raw/train/train_splits/._dia0_utt0.mp4 (name outside the grammar)",
    ]
    assert index_metadata(index.schema)["variant"] == "train+dev+test CSVs"


def test_meld_split_without_its_clip_folder(tmp_path: Path) -> None:
    (tmp_path / "test_sent_emo.csv").write_text("\n".join(MELD_TEST[:2]) + "\n", "utf-8")
    loaded = meld.load(tmp_path)
    reason = f"no clip folder output_repeated_splits_test under {tmp_path}"
    assert (loaded.rows, loaded.rejects) == (
        [],
        [rej("test_dia0_utt0", reason, "anger", "test_sent_emo.csv:2")],
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"MELD: no train_sent_emo\.csv, dev_sent_emo"):
        meld.load(tmp_path / "empty")


# ---------------------------------------------------------------------------------------------
# All three


MAKERS = {"EMODB": (make_emodb, 10), "ESD": (make_esd, 11), "MELD": (make_meld, 9)}


def test_registry_specs() -> None:
    assert CORPORA["EMODB"].languages == ("DE",) and CORPORA["EMODB"].has_agreement
    assert CORPORA["ESD"].languages == ("EN", "ZH") and CORPORA["ESD"].splits_share_speakers
    assert CORPORA["MELD"].languages == ("EN",) and CORPORA["MELD"].splits_share_speakers
    assert all(CORPORA[c].has_transcripts and CORPORA[c].vad_scale is None for c in MAKERS)


@pytest.mark.parametrize("name", list(MAKERS))
def test_tables_accounting_and_fingerprint(tmp_path: Path, name: str) -> None:
    make, total = MAKERS[name]
    make(tmp_path)
    index, rejects, _ = index_corpus(name, tmp_path)
    assert index.schema == INDEX_SCHEMA and rejects.schema == REJECTS_SCHEMA
    assert index.num_rows + rejects.num_rows == total
    before = fingerprint(name, tmp_path)
    first = Path(index.column("audio_path")[0].as_py())
    first.rename(first.with_name("moved" + first.suffix))  # a file renamed: the corpus changed
    assert fingerprint(name, tmp_path) != before


@pytest.mark.parametrize("name", list(MAKERS))
def test_silent_audio_is_rejected(tmp_path: Path, name: str) -> None:
    make, total = MAKERS[name]
    make(tmp_path)
    index, _, _ = index_corpus(name, tmp_path)
    first = index.to_pylist()[0]
    path = Path(first["audio_path"])
    if path.suffix == ".mp4":
        write_mp4(path, channels=2, freq=0.0)  # sin(0) = 0: every sample zero
    else:
        sf.write(path, np.zeros(1600), 16000)
    index, rejects, _ = index_corpus(name, tmp_path)
    reasons = {r["utt_id"]: r["reason"] for r in rejects.to_pylist()}
    assert reasons[first["utt_id"]] == f"silent audio {path}"
    assert index.num_rows + rejects.num_rows == total


def test_meld_speaker_splits_regroup_main_characters(tmp_path: Path) -> None:
    make_meld(tmp_path)
    index, _, _ = index_corpus("MELD", tmp_path, splits="speaker")
    splits: dict[str, set] = {}
    for r in index.to_pylist():
        splits.setdefault(r["speaker"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits.values())

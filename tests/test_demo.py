"""The demo generator writes each corpus's native layout, deterministically."""

import json
import re
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from xcorpus.corpora import CORPORA as LOADERS
from xcorpus.corpora.demo import CORPORA, DemoSettings, generate, more, write_demo
from xcorpus.corpora.demo.design import PROFILES, VAD_PROTOTYPES, plan_corpus
from xcorpus.corpora.indexing import index_corpus, read_transcripts

SMALL = DemoSettings(seed=3, utterances=24)
WAV_FORMAT = (16000, 1, "PCM_16", "WAV")
IEMO_SUMMARY = re.compile(
    r"^\[(\d+\.\d+) - (\d+\.\d+)\]\t(\S+)\t(\w+)\t\[(\d+\.\d+), (\d+\.\d+), (\d+\.\d+)\]$"
)
MSPI_SUMMARY = re.compile(
    r"^UTD-IMPROV-(\S+)\.avi; ([AHSNOX]); A:(\d\.\d{6}); V:(\d\.\d{6}); D:(\d\.\d{6})"
    r"(?: ; N:(\d\.\d{6}))?;$"
)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    """All corpora, written once for the layout tests."""
    root = tmp_path_factory.mktemp("demo")
    for corpus in CORPORA:
        write_demo(corpus, root / corpus, SMALL)
    return root


def _check_wav(path: Path, whole_utterance: bool = True) -> None:
    """16 kHz mono PCM16, 0.8-4 s per utterance, no sample at full scale (nothing clipped)."""
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype, info.format) == WAV_FORMAT
    if whole_utterance:
        assert 0.8 <= info.duration <= 4.0, path
    pcm = sf.read(path, dtype="int16")[0]
    assert np.abs(pcm.astype(int)).max() < 32767, f"{path} clips"


def test_iemocap_layout(demo_root):
    root = demo_root / "IEMO"
    assert sorted(p.name for p in root.iterdir()) == [f"Session{s}" for s in range(1, 6)]
    codes, wavs = Counter(), 0
    for session in range(1, 6):
        dialog_dir = root / f"Session{session}" / "dialog"
        assert list((dialog_dir / "EmoEvaluation" / "Attribute").glob("*_atr.txt"))
        evaluations = sorted((dialog_dir / "EmoEvaluation").glob("*.txt"))
        assert evaluations
        xx_lines = 0
        for evaluation in evaluations:
            dialog = evaluation.stem
            assert re.fullmatch(r"Ses0\d[FM]_(impro0\d[ab]?|script0\d_\d[ab]?)", dialog)
            lines = evaluation.read_text().splitlines()
            assert lines[0] == "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
            summaries = [IEMO_SUMMARY.match(line) for line in lines if line.startswith("[")]
            assert summaries and all(summaries)
            assert any(line.startswith("C-E") for line in lines)
            assert any(line.startswith("A-E") for line in lines)
            for m in summaries:
                utt = m.group(3)
                assert utt.startswith(f"{dialog}_") and float(m.group(1)) < float(m.group(2))
                assert all(1.0 <= float(m.group(k)) <= 5.0 for k in (5, 6, 7))
                _check_wav(root / f"Session{session}" / "sentences" / "wav" / dialog / f"{utt}.wav")
                codes[m.group(4)] += 1
                wavs += 1
            transcript = (dialog_dir / "transcriptions" / f"{dialog}.txt").read_text().splitlines()
            assert all(
                re.fullmatch(r"\S+ \[\d{3}\.\d{4}-\d{3}\.\d{4}\]: .+", t) for t in transcript
            )
            xx_lines += sum("_MXX0 " in t for t in transcript)
        assert xx_lines == 1  # one unsegmented crosstalk turn per session
    assert wavs == sum(1 for _ in root.rglob("*.wav"))
    assert {"neu", "exc", "sad", "ang", "fru", "xxx"} <= set(codes)


def test_msp_improv_layout(demo_root):
    root = demo_root / "MSPI"
    blocks = root.joinpath("Evalution.txt").read_text().strip().split("\n\n")
    summaries = [MSPI_SUMMARY.match(block.splitlines()[0]) for block in blocks]
    assert all(summaries)
    assert sum(m.group(6) is None for m in summaries) == 1  # one line without naturalness
    assert {"O", "X"} <= {m.group(2) for m in summaries}
    for m, block in zip(summaries, blocks, strict=True):
        name = m.group(1)
        sentence, speaker, condition, _ = name.split("-")
        assert re.fullmatch(r"S\d\d[AHNS]", sentence) and condition in "PRST"
        assert re.fullmatch(r"[FM]0[1-6]", speaker)
        wav = root / "Audio" / f"session{int(speaker[1:])}" / sentence / condition
        _check_wav(wav / f"MSP-IMPROV-{name}.wav")
        assert all(1.0 <= float(m.group(k)) <= 5.0 for k in (3, 4, 5))
        assert all(
            re.fullmatch(r"WORKER_\d{4}-p\d; \w+; .*; A:.*; V:.*; D:.*; N:.*;", line)
            for line in block.splitlines()[1:]
        )
    stems = sorted(p.stem for p in root.rglob("*.wav"))
    assert sorted(f"MSP-IMPROV-{m.group(1)}" for m in summaries) == stems
    assert [p.name for p in root.rglob("*.txt")] == ["Evalution.txt"]  # no transcripts...
    assert sorted(read_transcripts(root / "transcripts_asr.tsv")) == stems  # ...but ASR


def test_msp_podcast_layout(demo_root):
    root = demo_root / "MSPP"
    labels = pd.read_csv(root / "Labels" / "labels_consensus.csv", dtype={"SpkrID": str})
    assert list(labels.columns) == [
        "FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set",
    ]  # fmt: skip
    assert set(labels.EmoClass) == set("AHSNUFDCOX")
    assert set(labels.Split_Set) == {"Train", "Development", "Test1", "Test2"}
    unknown = labels[labels.SpkrID == "Unknown"]
    assert len(unknown) and set(unknown.Gender) == {"Unknown"}
    known = labels[labels.SpkrID != "Unknown"]
    assert known.groupby("SpkrID").Split_Set.nunique().max() == 1  # speakers never span splits
    assert labels[["EmoAct", "EmoVal", "EmoDom"]].stack().between(1, 7).all()
    for name in labels.FileName:
        assert re.fullmatch(r"MSP-PODCAST_\d{4}_\d{4}\.wav", name)
        _check_wav(root / "Audios" / name)
        lines = (root / "Transcripts" / name.replace(".wav", ".txt")).read_text().splitlines()
        assert len(lines) == 1 and lines[0]


def test_cmu_mosei_layout(demo_root):
    root = demo_root / "CMUMOSEI"
    with h5py.File(root / "CMU_MOSEI_Labels.csd", "r") as h5:
        names = json.loads(h5["All Labels/metadata/dimension names"][0])
        assert names == ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
        data = h5["All Labels/data"]
        videos = {v: (data[v]["features"][()], data[v]["intervals"][()]) for v in data}
    assert any(v.startswith("-") for v in videos) and any(v.isdigit() for v in videos)
    assert all(re.fullmatch(r"[\w-]{11}|\d+", v) for v in videos)
    rows = np.concatenate([f for f, _ in videos.values()])
    assert (rows[:, 1:] == 0).all(axis=1).any()  # neutral: no emotion
    winners = [np.flatnonzero(r[1:] == r[1:].max()) for r in rows if r[1:].any()]
    assert any(len(w) > 1 for w in winners)  # a tie
    assert any(len(w) == 1 and w[0] >= 3 for w in winners)  # a surprise/disgust/fear winner
    assert any(i[0, 0] < 0 for _, i in videos.values())  # a negative start
    for video, (features, intervals) in videos.items():
        assert features.shape == (len(intervals), 7) and intervals.shape == (len(intervals), 2)
        lines = (
            (root / "Raw/Transcript/Segmented/Combined" / f"{video}.txt").read_text().splitlines()
        )
        parsed = [line.split("___", 4) for line in lines]
        assert [p[0] for p in parsed] == [video] * len(intervals)
        times = np.array([[float(p[2]), float(p[3])] for p in parsed])
        assert np.array_equal(times, intervals)  # exact join key for loaders
        wav = root / "Raw/Audio/Full/WAV_16000" / f"{video}.wav"
        _check_wav(wav, whole_utterance=False)
        assert intervals[:, 1].max() <= sf.info(wav).duration


def test_samsemo_layout(demo_root):
    root = demo_root / "SAMSEMO"
    assert root.joinpath("samsemo.tsv").read_bytes()[:2] == b"\xff\xfe"
    table = pd.read_csv(root / "samsemo.tsv", sep="\t", encoding="utf-16", keep_default_na=False)
    assert len(table.columns) == 32
    assert list(table.columns[[0, 17, 21, 31]]) == [
        "utterance_id", "aggregated_emotions", "transcript", "download_date",
    ]  # fmt: skip
    assert all(re.fullmatch(r"[a-z0-9]{10}_\d+", u) for u in table.utterance_id)
    videos = table.utterance_id.str.rsplit("_", n=1).str[0]
    assert videos.value_counts().min() > 1  # several scenes per source video
    aggregated = set(table.aggregated_emotions)
    assert {"neutral", "happiness", "sadness", "anger", ""} <= aggregated
    assert any("|" in a for a in aggregated)
    assert any(not t.isascii() for t in table.transcript)
    for utt in table.utterance_id:
        _check_wav(root / "EN" / utt / "audio.wav")
    listed = []
    for split in ("train", "valid", "test"):
        listed += (root / "splits" / f"{split}_split_EN.txt").read_text().split()
    assert len(listed) == len(set(listed)) and set(listed) <= set(table.utterance_id)


@pytest.mark.parametrize("corpus", CORPORA)
def test_loaders_read_the_generated_labels(demo_root, corpus):
    asr = demo_root / corpus / "transcripts_asr.tsv" if corpus == "MSPI" else None
    index, rejects, _ = index_corpus(corpus, demo_root / corpus, transcripts=asr)
    texts = index.column("transcript").to_pylist()
    assert all(texts) if LOADERS[corpus].has_transcripts or asr else not any(texts)  # SAVEE
    expected = Counter(u.label for u in generate(corpus, SMALL).utterances)
    broken = more.BROKEN_CLIPS if corpus == "MELD" else 0  # rows beyond the plan
    rejected = Counter({None: len(rejects) - broken})
    assert Counter(index.column("label").to_pylist()) + rejected == expected
    assert len(index) == SMALL.utterances
    assert len(rejects) >= len(PROFILES[corpus].dropped)  # every dropped code is present


def test_same_settings_give_identical_bytes(demo_root, tmp_path):
    for corpus in CORPORA:
        write_demo(corpus, tmp_path / corpus, SMALL)
        first = sorted(p.relative_to(demo_root / corpus) for p in (demo_root / corpus).rglob("*"))
        second = sorted(p.relative_to(tmp_path / corpus) for p in (tmp_path / corpus).rglob("*"))
        assert first == second
        for rel in first:
            a, b = demo_root / corpus / rel, tmp_path / corpus / rel
            assert a.is_dir() or a.read_bytes() == b.read_bytes(), rel


def test_another_seed_gives_other_audio():
    a = generate("IEMO", SMALL).utterances[0].audio
    b = generate("IEMO", DemoSettings(seed=4, utterances=24)).utterances[0].audio
    assert len(a) != len(b) or not np.array_equal(a, b)


def _class_means(settings: DemoSettings) -> tuple[np.ndarray, np.ndarray]:
    """Mean F0 shift from the speaker's base (st) and mean level (dB) per planned class."""
    plan = [u for u in plan_corpus("MSPP", settings) if u.label is not None and u.mix == 0]
    klass = np.array([u.primary for u in plan])
    f0 = np.array([12 * np.log2(u.voice.f0_hz / u.speaker.f0_hz) for u in plan])
    level = np.array([u.voice.gain_db for u in plan])
    return (
        np.array([f0[klass == k].mean() for k in range(4)]),
        np.array([level[klass == k].mean() for k in range(4)]),
    )


def test_expression_zero_removes_the_class_cues():
    f0, level = _class_means(DemoSettings(utterances=1500))
    assert f0[3] - f0[2] > 3.0 and level[3] - level[2] > 6.0  # angry vs sad
    f0, level = _class_means(DemoSettings(utterances=1500, expression=0.0))
    assert np.ptp(f0) < 0.4 and np.ptp(level) < 0.8


def test_ambiguous_utterances_lie_farther_from_their_class_in_vad():
    plan = [u for u in plan_corpus("MSPI", DemoSettings(utterances=1000)) if u.label is not None]
    distance = np.array([np.linalg.norm(u.vad - VAD_PROTOTYPES[u.primary]) for u in plan])
    ambiguous = np.array([u.mix > 0 for u in plan])
    assert 0.1 < ambiguous.mean() < 0.22
    assert distance[ambiguous].mean() > distance[~ambiguous].mean() + 0.2


def test_write_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "corpus"
    write_demo("MSPI", out, SMALL)
    write_demo("MSPI", out, SMALL)  # replaces the old copy in place

    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr("xcorpus.corpora.demo.write_layout", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_demo("MSPP", tmp_path / "half", SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]


@pytest.mark.parametrize(
    "kwargs",
    [{"utterances": 5}, {"expression": -1.0}, {"ambiguity": 1.5}, {"channel": "radio"}],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        DemoSettings(**kwargs)


def test_unknown_corpus_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown demo corpus"):
        write_demo("NOPE", tmp_path / "x", SMALL)

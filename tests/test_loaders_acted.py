"""Loaders of the acted corpora whose file names are their labels (CREMAD, RAVDESS, SAVEE, TESS),
on tiny native-layout fixtures with every parsing path and quirk of corpora-more.md."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import SCHEMA
from snakemake.utils import validate

from xcorpus.config import ConfigError, expand_experiments, with_builtin_feature_sets
from xcorpus.corpora import CORPORA, cremad, ravdess, savee, tess
from xcorpus.corpora.indexing import index_corpus
from xcorpus.tables import INDEX_SCHEMA, REJECTS_SCHEMA


def write_wav(path: Path, rate: int = 16000, channels: int = 1, seed: int = 0) -> Path:
    """0.1 s of low noise; another seed gives other bytes (a duplicate that is no copy)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = 0.01 * np.random.default_rng(seed).standard_normal((rate // 10, channels))
    sf.write(path, noise, rate, subtype="PCM_16")
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def expected(
    utt_id: str, audio: Path, label: str, raw: str, speaker: str, gender: str | None, **kw
) -> dict:
    """An index row as these loaders give it: whole file, no V/A/D, no session, English."""
    base = {
        "utt_id": utt_id,
        "audio_path": str(audio),
        "start_s": None,
        "end_s": None,
        "speaker": speaker,
        "gender": gender,
        "session": None,
        "split": None,
        "label": label,
        "raw_label": raw,
        "valence": None,
        "arousal": None,
        "dominance": None,
        "transcript": None,
        "condition": None,
        "language": "EN",
    }
    assert set(kw) <= set(base) | {"n_raters", "agreement"}
    return base | kw


def rej(utt_id: str, reason: str, raw_label: str, source: str) -> dict:
    return {"utt_id": utt_id, "raw_label": raw_label, "reason": reason, "source": source}


def by_id(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda r: (r["utt_id"], r.get("source", "")))


# ---------------------------------------------------------------------------------------------
# CREMA-D

CREMA = "CREMA-D"  # the clone's folder: the root given is the folder above it
VOTES_HEADER = (
    '"","A","D","F","H","N","S","fileName","numResponses","agreement","emoVote","meanEmoResp",'
    '"meanAngerResp","meanDisgustResp","meanFearResp","meanHappyResp","meanNeutralResp",'
    '"meanSadResp","medianEmoResp","meanEmoRespNorm","meanAngerRespNorm","meanDisgustRespNorm",'
    '"meanFearRespNorm","meanHappyRespNorm","meanNeutralRespNorm","meanSadRespNorm",'
    '"medianEmoRespNorm"\n'
)
LEVELS = ",50,-1,-1,-1,-1,50,-1,50,50,-1,-1,-1,-1,50,-1,50"  # the 16 intensity columns


def vote_row(name: str, counts: str, stem: str, total: int, vote: str) -> str:
    return f'"{name}",{counts},"{stem}",{total},0.5,"{vote}"{LEVELS}\n'


VOTES = VOTES_HEADER + (
    vote_row("100001", "0,0,0,1,7,2", "1001_IEO_NEU_XX", 10, "N")  # line 2
    + vote_row("200001", "0,0,0,9,1,0", "1001_IEO_NEU_XX", 10, "H")  # face: not read
    + vote_row("300001", "0,0,0,5,5,0", "1001_IEO_NEU_XX", 10, "H:N")  # audio-visual
    + vote_row("100002", "0,0,0,4,4,1", "1001_IEO_HAP_HI", 9, "H:N")  # a tie
    + vote_row("100003", "0,0,0,0,3,3", "1002_TIE_SAD_XX", 6, "N:S")
    + vote_row("100004", "0,0,0,0,3,5", "1040_ITH_SAD_XX", 8, "S")  # legacy _X file's row
    + vote_row("100005", "1,6,0,0,0,0", "1002_ITS_DIS_XX", 7, "D")
    + vote_row("100006", "4,0,0,0,1,0", "1001_DFA_ANG_XX", 7, "A")  # line 9: 5 votes, not 7
)
DEMOGRAPHICS = (
    '"ActorID","Age","Sex","Race","Ethnicity"\n'
    '1001,51,"Male","Caucasian","Not Hispanic"\n'
    '1002,21,"Female","Caucasian","Not Hispanic"\n'
    '1040,32,"Female","African American","Hispanic"\n'
)


def make_cremad(root: Path) -> None:
    """A clone under a wrapper folder: four kept classes, DIS, FEA, the legacy `_X` level, a
    clip missing from the demographics and votes, a malformed vote row, an AppleDouble file,
    a stray name, an identical copy and a different file under a kept id."""
    wav = root / CREMA / "AudioWAV"
    stems = [
        "1001_IEO_NEU_XX", "1001_IEO_HAP_HI", "1001_DFA_ANG_XX", "1002_TIE_SAD_XX",
        "1002_ITS_DIS_XX", "1002_WSI_FEA_XX", "1003_MTI_HAP_XX", "1040_ITH_SAD_X",
    ]  # fmt: skip
    for seed, stem in enumerate(stems):
        write_wav(wav / f"{stem}.wav", seed=seed)
    write_text(wav / "._1001_IEO_NEU_XX.wav", "Mac OS X resource fork")
    write_wav(wav / "1001_IEO_NEU.wav", seed=50)  # no level field: not a CREMA-D name
    (root / CREMA / "extra").mkdir()
    shutil.copy(wav / "1002_TIE_SAD_XX.wav", root / CREMA / "extra" / "1002_TIE_SAD_XX.wav")
    write_wav(root / CREMA / "other" / "1001_IEO_HAP_HI.wav", seed=99)
    write_text(root / CREMA / "AudioMP3" / "1001_IEO_NEU_XX.mp3", "ID3")  # never read
    write_text(root / CREMA / "VideoDemographics.csv", DEMOGRAPHICS)
    write_text(root / CREMA / "processedResults" / "tabulatedVotes.csv", VOTES)
    write_text(root / CREMA / "SentenceFilenames.csv", '"Stimulus_Number","Filename"\n')


def test_cremad_rows_and_rejects(tmp_path: Path) -> None:
    make_cremad(tmp_path)
    loaded = cremad.load(tmp_path)

    def wav(stem: str) -> Path:
        return tmp_path / CREMA / "AudioWAV" / f"{stem}.wav"

    assert by_id(loaded.rows) == [
        expected(
            "1001_IEO_HAP_HI",
            wav("1001_IEO_HAP_HI"),
            "happy",
            "HAP",
            "1001",
            "M",
            transcript="It's eleven o'clock",
            n_raters=9,
            agreement=4 / 9,
        ),
        expected(
            "1001_IEO_NEU_XX",
            wav("1001_IEO_NEU_XX"),
            "neutral",
            "NEU",
            "1001",
            "M",
            transcript="It's eleven o'clock",
            n_raters=10,
            agreement=0.7,
        ),
        expected(
            "1002_TIE_SAD_XX",
            wav("1002_TIE_SAD_XX"),
            "sad",
            "SAD",
            "1002",
            "F",
            transcript="That is exactly what happened",
            n_raters=6,
            agreement=0.5,
        ),
        expected(  # in neither the demographics nor the votes: unknown, not invented
            "1003_MTI_HAP_XX",
            wav("1003_MTI_HAP_XX"),
            "happy",
            "HAP",
            "1003",
            None,
            transcript="Maybe tomorrow it will be cold",
            n_raters=None,
            agreement=None,
        ),
        expected(  # legacy level: its own stem as id, the votes of its current name
            "1040_ITH_SAD_X",
            wav("1040_ITH_SAD_X"),
            "sad",
            "SAD",
            "1040",
            "F",
            transcript="I think I have a doctor's appointment",
            n_raters=8,
            agreement=5 / 8,
        ),
    ]
    src = f"{CREMA}/AudioWAV"
    assert by_id(loaded.rejects) == [
        rej(
            "1001_DFA_ANG_XX",
            f"malformed vote row at {CREMA}/processedResults/tabulatedVotes.csv:9",
            "ANG",
            f"{src}/1001_DFA_ANG_XX.wav",
        ),
        rej(
            "1001_IEO_HAP_HI",
            f"duplicate of {src}/1001_IEO_HAP_HI.wav",
            "HAP",
            f"{CREMA}/other/1001_IEO_HAP_HI.wav",
        ),
        rej(
            "1002_ITS_DIS_XX",
            "label DIS (disgust) not in the 4 classes",
            "DIS",
            f"{src}/1002_ITS_DIS_XX.wav",
        ),
        rej(
            "1002_WSI_FEA_XX",
            "label FEA (fear) not in the 4 classes",
            "FEA",
            f"{src}/1002_WSI_FEA_XX.wav",
        ),
    ]
    assert loaded.ignored == [
        f"{src}/._1001_IEO_NEU_XX.wav (AppleDouble file)",
        f"{src}/1001_IEO_NEU.wav (not a CREMA-D file name "
        "(<actor>_<sentence>_<emotion>_<level>.wav))",
        f"{CREMA}/extra/1002_TIE_SAD_XX.wav (identical copy of {src}/1002_TIE_SAD_XX.wav)",
    ]
    assert loaded.variant == (
        f"wav names, {CREMA}/VideoDemographics.csv, {CREMA}/processedResults/tabulatedVotes.csv"
    )


def test_cremad_kaggle_copy_has_no_speaker_table_or_votes(tmp_path: Path) -> None:
    write_wav(tmp_path / "AudioWAV" / "1091_WSI_ANG_XX.wav")
    (row,) = cremad.load(tmp_path).rows
    assert (row["utt_id"], row["gender"], row["n_raters"], row["agreement"]) == (
        "1091_WSI_ANG_XX", None, None, None,
    )  # fmt: skip
    assert row["transcript"] == "We'll stop in a couple of minutes"


def test_cremad_legacy_name_beside_its_current_name_is_rejected(tmp_path: Path) -> None:
    write_wav(tmp_path / "AudioWAV" / "1040_ITH_SAD_X.wav", seed=1)
    write_wav(tmp_path / "AudioWAV" / "1040_ITH_SAD_XX.wav", seed=2)
    loaded = cremad.load(tmp_path)
    assert [r["utt_id"] for r in loaded.rows] == ["1040_ITH_SAD_XX"]
    assert loaded.rejects == [
        rej(
            "1040_ITH_SAD_X",
            "legacy name of 1040_ITH_SAD_XX, which is also present",
            "SAD",
            "AudioWAV/1040_ITH_SAD_X.wav",
        )
    ]


def test_cremad_git_lfs_pointer_stops_indexing(tmp_path: Path) -> None:
    write_wav(tmp_path / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 83500\n"
    )
    write_text(tmp_path / "AudioWAV" / "1001_IEO_NEU_XX.wav", pointer)
    assert len(pointer) == 130
    with pytest.raises(
        ValueError, match=r"AudioWAV/1001_IEO_NEU_XX\.wav is a Git LFS pointer.*git lfs pull"
    ):
        cremad.load(tmp_path)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('"ActorID","Age","Race"\n1001,51,"Asian"\n', "has no column Sex"),
        ('"ActorID","Age","Sex"\n1001,51,"M"\n', r"malformed speaker row VideoDemographics\.csv:2"),
        ('"ActorID","Age","Sex"\n1001,"Male"\n', r"malformed speaker row VideoDemographics\.csv:2"),
        ('"ActorID","Sex"\n1001,"Male"\n1001,"Female"\n', r"actor 1001 listed again.*csv:3"),
    ],
)
def test_cremad_bad_speaker_table_is_an_error(tmp_path: Path, text: str, error: str) -> None:
    write_wav(tmp_path / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    write_text(tmp_path / "VideoDemographics.csv", text)
    with pytest.raises(ValueError, match=error):
        cremad.load(tmp_path)


def test_cremad_vote_rows_without_a_name_or_twice_are_errors(tmp_path: Path) -> None:
    write_wav(tmp_path / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    votes = tmp_path / "processedResults" / "tabulatedVotes.csv"
    write_text(votes, VOTES_HEADER + vote_row("100006", "7,0,0,0,0,0", "", 7, "A"))
    with pytest.raises(ValueError, match=r"tabulatedVotes\.csv:2 has no fileName"):
        cremad.load(tmp_path)
    twice = vote_row("100006", "7,0,0,0,0,0", "1001_DFA_ANG_XX", 7, "A")
    write_text(votes, VOTES_HEADER + twice + twice)
    with pytest.raises(ValueError, match=r"two voice vote rows, .*:2 and .*:3"):
        cremad.load(tmp_path)


def test_cremad_agreement_ranks_for_the_agreement_difficulty(tmp_path: Path) -> None:
    from xcorpus.difficulty import score_agreement

    make_cremad(tmp_path)
    index, _, _ = index_corpus("CREMAD", tmp_path)
    scores, unscored = score_agreement(index)
    difficulty = dict(
        zip(*scores.select(["utt_id", "difficulty"]).to_pydict().values(), strict=True)
    )
    assert difficulty == pytest.approx(
        {
            "1001_IEO_NEU_XX": 0.3,
            "1001_IEO_HAP_HI": 5 / 9,
            "1002_TIE_SAD_XX": 0.5,
            "1040_ITH_SAD_X": 3 / 8,
        }
    )
    assert unscored.column("utt_id").to_pylist() == ["1003_MTI_HAP_XX"]


# ---------------------------------------------------------------------------------------------
# RAVDESS

RAV_RATE = 48000


def make_ravdess(root: Path) -> None:
    """Zenodo speech zip plus one song file, a video file, every dropped emotion, a 2-channel
    file, an AppleDouble file, a video-modality wav, and the Kaggle copy's doubled tree (one
    identical copy, one file with other contents under a kept id)."""
    speech = root / "Audio_Speech_Actors_01-24"
    names = {
        "Actor_01": [
            "03-01-01-01-01-01-01", "03-01-02-01-01-01-01", "03-01-04-02-02-02-01",
            "03-01-06-01-01-02-01", "03-01-07-02-02-01-01", "03-01-08-01-02-02-01",
        ],
        "Actor_02": ["03-01-03-01-02-01-02", "03-02-03-01-01-01-02"],
    }  # fmt: skip
    for seed, (actor, stems) in enumerate(names.items()):
        for k, stem in enumerate(stems):
            write_wav(speech / actor / f"{stem}.wav", RAV_RATE, seed=10 * seed + k)
    write_wav(speech / "Actor_02" / "03-01-05-02-01-01-02.wav", RAV_RATE, channels=2, seed=7)
    write_text(speech / "Actor_02" / "01-01-05-01-01-01-02.mp4", "ftypmp42")  # not read
    write_wav(speech / "Actor_02" / "02-01-05-01-01-01-02.wav", RAV_RATE, seed=8)
    write_text(speech / "Actor_01" / "._03-01-01-01-01-01-01.wav", "resource fork")
    kaggle = speech / "audio_speech_actors_01-24"
    (kaggle / "Actor_01").mkdir(parents=True)
    shutil.copy(speech / "Actor_01" / "03-01-01-01-01-01-01.wav", kaggle / "Actor_01")
    write_wav(kaggle / "Actor_02" / "03-01-03-01-02-01-02.wav", RAV_RATE, seed=99)


def test_ravdess_rows_and_rejects(tmp_path: Path) -> None:
    make_ravdess(tmp_path)
    loaded = ravdess.load(tmp_path)
    top = "Audio_Speech_Actors_01-24"

    def wav(actor: str, stem: str) -> Path:
        return tmp_path / top / actor / f"{stem}.wav"

    kids, dogs = "Kids are talking by the door", "Dogs are sitting by the door"
    assert by_id(loaded.rows) == [
        expected(
            "03-01-01-01-01-01-01",
            wav("Actor_01", "03-01-01-01-01-01-01"),
            "neutral",
            "01",
            "01",
            "M",
            transcript=kids,
        ),
        expected(
            "03-01-03-01-02-01-02",
            wav("Actor_02", "03-01-03-01-02-01-02"),
            "happy",
            "03",
            "02",
            "F",
            transcript=dogs,
        ),
        expected(
            "03-01-04-02-02-02-01",
            wav("Actor_01", "03-01-04-02-02-02-01"),
            "sad",
            "04",
            "01",
            "M",
            transcript=dogs,
        ),
        expected(
            "03-01-05-02-01-01-02",
            wav("Actor_02", "03-01-05-02-01-01-02"),
            "angry",
            "05",
            "02",
            "F",
            transcript=kids,
        ),
    ]
    assert by_id(loaded.rejects) == [
        rej(
            "03-01-02-01-01-01-01",
            "label 02 (calm) not in the 4 classes",
            "02",
            f"{top}/Actor_01/03-01-02-01-01-01-01.wav",
        ),
        rej(
            "03-01-03-01-02-01-02",
            f"duplicate of {top}/Actor_02/03-01-03-01-02-01-02.wav",
            "03",
            f"{top}/audio_speech_actors_01-24/Actor_02/03-01-03-01-02-01-02.wav",
        ),
        rej(
            "03-01-06-01-01-02-01",
            "label 06 (fearful) not in the 4 classes",
            "06",
            f"{top}/Actor_01/03-01-06-01-01-02-01.wav",
        ),
        rej(
            "03-01-07-02-02-01-01",
            "label 07 (disgust) not in the 4 classes",
            "07",
            f"{top}/Actor_01/03-01-07-02-02-01-01.wav",
        ),
        rej(
            "03-01-08-01-02-02-01",
            "label 08 (surprised) not in the 4 classes",
            "08",
            f"{top}/Actor_01/03-01-08-01-02-02-01.wav",
        ),
        rej(
            "03-02-03-01-01-01-02",
            "song, not speech (vocal channel 02)",
            "03",
            f"{top}/Actor_02/03-02-03-01-01-01-02.wav",
        ),
    ]
    assert loaded.ignored == [
        f"{top}/Actor_01/._03-01-01-01-01-01-01.wav (AppleDouble file)",
        f"{top}/Actor_02/02-01-05-01-01-01-02.wav (modality 02 is video, not audio-only (03))",
        f"{top}/audio_speech_actors_01-24/Actor_01/03-01-01-01-01-01-01.wav "
        f"(identical copy of {top}/Actor_01/03-01-01-01-01-01-01.wav)",
    ]


def test_ravdess_index_records_rate_and_channels(tmp_path: Path) -> None:
    make_ravdess(tmp_path)
    index, rejects, _ = index_corpus("RAVDESS", tmp_path)
    formats = {r["utt_id"]: (r["sample_rate"], r["channels"]) for r in index.to_pylist()}
    assert formats == {
        "03-01-01-01-01-01-01": (48000, 1),
        "03-01-03-01-02-01-02": (48000, 1),
        "03-01-04-02-02-02-01": (48000, 1),
        "03-01-05-02-01-01-02": (48000, 2),
    }
    assert rejects.num_rows == 6


# ---------------------------------------------------------------------------------------------
# SAVEE

SAVEE_RATE = 44100
SAVEE_INFO = "'DC', 'JE', 'JK' and 'KL' are four male speakers recorded for the SAVEE database\n"


def make_savee(root: Path) -> None:
    """The official AudioData/ folders: every code (sa/su before a), neutral 30, a folder that
    is no speaker, an AppleDouble file."""
    data = root / "AudioData"
    write_text(data / "Info.txt", SAVEE_INFO)
    for seed, name in enumerate(("a01", "h01", "n01", "n30", "sa01", "su01", "d01", "f01")):
        write_wav(data / "DC" / f"{name}.wav", SAVEE_RATE, seed=seed)
    write_wav(data / "JE" / "sa15.wav", SAVEE_RATE, seed=20)
    write_wav(data / "XX" / "a01.wav", SAVEE_RATE, seed=21)
    write_text(data / "DC" / "._a01.wav", "resource fork")


def make_savee_flat(root: Path) -> None:
    """The Kaggle copy: ALL/<SPK>_<code><NN>.wav, same audio as the official files."""
    for name in ("DC_a01", "DC_sa01", "DC_su01", "JE_n30"):
        write_wav(root / "ALL" / f"{name}.wav", SAVEE_RATE, seed=100 + len(name))


def savee_row(root: Path, rel: str, utt_id: str, label: str, raw: str) -> dict:
    return expected(utt_id, root / rel, label, raw, utt_id[:2], "M")


def test_savee_rows_and_rejects(tmp_path: Path) -> None:
    make_savee(tmp_path)
    loaded = savee.load(tmp_path)
    assert by_id(loaded.rows) == [
        savee_row(tmp_path, "AudioData/DC/a01.wav", "DC_a01", "angry", "a"),
        savee_row(tmp_path, "AudioData/DC/h01.wav", "DC_h01", "happy", "h"),
        savee_row(tmp_path, "AudioData/DC/n01.wav", "DC_n01", "neutral", "n"),
        savee_row(tmp_path, "AudioData/DC/n30.wav", "DC_n30", "neutral", "n"),
        savee_row(tmp_path, "AudioData/DC/sa01.wav", "DC_sa01", "sad", "sa"),
        savee_row(tmp_path, "AudioData/JE/sa15.wav", "JE_sa15", "sad", "sa"),
    ]
    assert by_id(loaded.rejects) == [
        rej("DC_d01", "label d (disgust) not in the 4 classes", "d", "AudioData/DC/d01.wav"),
        rej("DC_f01", "label f (fear) not in the 4 classes", "f", "AudioData/DC/f01.wav"),
        rej("DC_su01", "label su (surprise) not in the 4 classes", "su", "AudioData/DC/su01.wav"),
    ]
    shape = "not a SAVEE file name (<SPK>/<code><NN>.wav or <SPK>_<code><NN>.wav)"
    assert loaded.ignored == [
        "AudioData/DC/._a01.wav (AppleDouble file)",
        f"AudioData/XX/a01.wav ({shape})",
    ]


def test_savee_flat_copy_gives_the_same_ids(tmp_path: Path) -> None:
    make_savee_flat(tmp_path)
    loaded = savee.load(tmp_path)
    assert by_id(loaded.rows) == [
        savee_row(tmp_path, "ALL/DC_a01.wav", "DC_a01", "angry", "a"),
        savee_row(tmp_path, "ALL/DC_sa01.wav", "DC_sa01", "sad", "sa"),
        savee_row(tmp_path, "ALL/JE_n30.wav", "JE_n30", "neutral", "n"),
    ]
    assert loaded.rejects == [
        rej("DC_su01", "label su (surprise) not in the 4 classes", "su", "ALL/DC_su01.wav")
    ]


def test_savee_both_copies_in_one_root(tmp_path: Path) -> None:
    """Identical files of the two forms are one utterance; other contents are a duplicate."""
    make_savee(tmp_path)
    make_savee_flat(tmp_path)
    shutil.copy(tmp_path / "AudioData/DC/a01.wav", tmp_path / "ALL/DC_a01.wav")
    loaded = savee.load(tmp_path)
    ids = sorted(r["utt_id"] for r in loaded.rows)
    assert ids == ["DC_a01", "DC_h01", "DC_n01", "DC_n30", "DC_sa01", "JE_n30", "JE_sa15"]
    assert [r for r in loaded.rejects if r["reason"].startswith("duplicate")] == [
        rej("DC_sa01", "duplicate of ALL/DC_sa01.wav", "sa", "AudioData/DC/sa01.wav"),
        rej("DC_su01", "duplicate of ALL/DC_su01.wav", "su", "AudioData/DC/su01.wav"),
    ]
    assert "AudioData/DC/a01.wav (identical copy of ALL/DC_a01.wav)" in loaded.ignored


# ---------------------------------------------------------------------------------------------
# TESS

TESS_RATE = 24414
KAGGLE_TESS = "TESS Toronto emotional speech set data"


def make_tess(root: Path) -> None:
    """TSpace flat copy: the 96 kHz outlier among 24,414 Hz files, ps, an AppleDouble file."""
    for seed, name in enumerate(
        ("OAF_back_angry", "OAF_back_ps", "YAF_dog_neutral", "YAF_dog_happy", "YAF_dog_sad")
    ):
        write_wav(root / "TESS" / f"{name}.wav", TESS_RATE, seed=seed)
    write_wav(root / "TESS" / "OAF_food_fear.wav", 96000, seed=9)
    write_text(root / "TESS" / "._OAF_back_angry.wav", "resource fork")
    write_wav(root / "TESS" / "OAF_back.wav", TESS_RATE, seed=10)


def make_tess_kaggle(root: Path) -> None:
    """Kaggle copy: emotion folders of inconsistent case, doubly nested (an identical copy),
    a capitalised file name and a folder that contradicts its file."""
    top = root / KAGGLE_TESS
    write_wav(top / "OAF_Pleasant_surprise" / "OAF_back_ps.wav", TESS_RATE, seed=1)
    write_wav(top / "YAF_pleasant_surprised" / "YAF_dog_ps.wav", TESS_RATE, seed=2)
    write_wav(top / "OAF_Sad" / "OAF_bar_sad.wav", 96000, seed=3)
    write_wav(top / "YAF_neutral" / "YAF_Bean_Neutral.wav", TESS_RATE, seed=4)
    write_wav(top / "OAF_Fear" / "OAF_bite_sad.wav", TESS_RATE, seed=5)
    write_wav(top / "OAF_angry" / "OAF_cab.wav", TESS_RATE, seed=6)  # emotion: the folder's
    nested = root / "tess toronto emotional speech set data" / KAGGLE_TESS / "OAF_Sad"
    nested.mkdir(parents=True)
    shutil.copy(top / "OAF_Sad" / "OAF_bar_sad.wav", nested / "OAF_bar_sad.wav")


def tess_row(root: Path, rel: str, utt_id: str, label: str, raw: str) -> dict:
    word = utt_id.split("_")[1]
    return expected(
        utt_id, root / rel, label, raw, utt_id[:3], "F", transcript=f"Say the word {word}"
    )


def test_tess_rows_and_rejects(tmp_path: Path) -> None:
    make_tess(tmp_path)
    loaded = tess.load(tmp_path)
    assert by_id(loaded.rows) == [
        tess_row(tmp_path, "TESS/OAF_back_angry.wav", "OAF_back_angry", "angry", "angry"),
        tess_row(tmp_path, "TESS/YAF_dog_happy.wav", "YAF_dog_happy", "happy", "happy"),
        tess_row(tmp_path, "TESS/YAF_dog_neutral.wav", "YAF_dog_neutral", "neutral", "neutral"),
        tess_row(tmp_path, "TESS/YAF_dog_sad.wav", "YAF_dog_sad", "sad", "sad"),
    ]
    assert by_id(loaded.rejects) == [
        rej(
            "OAF_back_ps",
            "label ps (pleasant surprise) not in the 4 classes",
            "ps",
            "TESS/OAF_back_ps.wav",
        ),
        rej("OAF_food_fear", "label fear not in the 4 classes", "fear", "TESS/OAF_food_fear.wav"),
    ]
    assert loaded.ignored == [
        "TESS/._OAF_back_angry.wav (AppleDouble file)",
        "TESS/OAF_back.wav (not a TESS file name (<OAF|YAF>_<word>_<emotion>.wav))",
    ]


def test_tess_kaggle_copy(tmp_path: Path) -> None:
    make_tess_kaggle(tmp_path)
    loaded = tess.load(tmp_path)
    top = KAGGLE_TESS
    assert by_id(loaded.rows) == [
        tess_row(tmp_path, f"{top}/OAF_Sad/OAF_bar_sad.wav", "OAF_bar_sad", "sad", "sad"),
        tess_row(tmp_path, f"{top}/OAF_angry/OAF_cab.wav", "OAF_cab_angry", "angry", "angry"),
        tess_row(
            tmp_path,
            f"{top}/YAF_neutral/YAF_Bean_Neutral.wav",
            "YAF_bean_neutral",
            "neutral",
            "neutral",
        ),
    ]
    assert by_id(loaded.rejects) == [
        rej(
            "OAF_back_ps",
            "label ps (pleasant surprise) not in the 4 classes",
            "ps",
            f"{top}/OAF_Pleasant_surprise/OAF_back_ps.wav",
        ),
        rej(
            "OAF_bite_sad",
            "file name says OAF sad, folder OAF_Fear says OAF fear",
            "sad",
            f"{top}/OAF_Fear/OAF_bite_sad.wav",
        ),
        rej(
            "YAF_dog_ps",
            "label ps (pleasant surprise) not in the 4 classes",
            "ps",
            f"{top}/YAF_pleasant_surprised/YAF_dog_ps.wav",
        ),
    ]
    assert loaded.ignored == [
        f"tess toronto emotional speech set data/{top}/OAF_Sad/OAF_bar_sad.wav "
        f"(identical copy of {top}/OAF_Sad/OAF_bar_sad.wav)",
    ]
    index, _, _ = index_corpus("TESS", tmp_path)
    rates = dict(zip(*index.select(["utt_id", "sample_rate"]).to_pydict().values(), strict=True))
    assert rates == {"OAF_bar_sad": 96000, "OAF_cab_angry": 24414, "YAF_bean_neutral": 24414}


# ---------------------------------------------------------------------------------------------
# Registry: index_corpus on every fixture


MAKERS = {
    "CREMAD": (make_cremad, 9, ("language", "n_raters", "agreement")),
    "RAVDESS": (make_ravdess, 10, ("language",)),
    "SAVEE": (make_savee, 9, ("language",)),
    "TESS": (make_tess, 6, ("language",)),
}


def test_registry_specs() -> None:
    assert set(MAKERS) <= set(CORPORA)
    for name in MAKERS:
        assert CORPORA[name].vad_scale is None and CORPORA[name].sessions is None
    assert [n for n in MAKERS if CORPORA[n].has_transcripts] == ["CREMAD", "RAVDESS", "TESS"]
    assert [n for n in MAKERS if CORPORA[n].has_agreement] == ["CREMAD"]


@pytest.mark.parametrize("name", list(MAKERS))
def test_index_corpus_tables(tmp_path: Path, name: str) -> None:
    make, total, filled = MAKERS[name]
    make(tmp_path)
    index, rejects, _ = index_corpus(name, tmp_path)
    assert index.schema == INDEX_SCHEMA and rejects.schema == REJECTS_SCHEMA
    assert index.num_rows + rejects.num_rows == total
    assert set(index.column("corpus").to_pylist()) == {name}
    ids = index.column("utt_id").to_pylist()
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(Path(p).is_file() for p in index["audio_path"].to_pylist())
    for column in ("condition", "language", "n_raters", "agreement", "vad_spread"):
        nulls = index.column(column).null_count
        assert (nulls < index.num_rows) if column in filled else (nulls == index.num_rows), column


@pytest.mark.parametrize("name", list(MAKERS))
def test_every_acted_loader_gets_the_audio_checks(tmp_path: Path, name: str) -> None:
    make, total, _ = MAKERS[name]
    make(tmp_path)
    index, _, _ = index_corpus(name, tmp_path)
    first = index.to_pylist()[-1]  # a file without copies, whose silence rejects it alone
    info = sf.info(first["audio_path"])
    sf.write(first["audio_path"], np.zeros((info.frames, info.channels)), info.samplerate)
    index, rejects, _ = index_corpus(name, tmp_path)
    reasons = [r["reason"] for r in rejects.to_pylist() if r["utt_id"] == first["utt_id"]]
    assert f"silent audio {first['audio_path']}" in reasons
    assert index.num_rows + rejects.num_rows == total


def test_cli_index_names_the_ignored_files(tmp_path: Path, capsys) -> None:
    from xcorpus.cli import main

    make_tess(tmp_path / "tess")
    out = tmp_path / "out"
    main(
        [
            "index",
            "TESS",
            str(tmp_path / "tess"),
            "--out",
            f"{out}.parquet",
            "--rejects",
            f"{out}.csv",
        ]
    )
    captured = capsys.readouterr()
    assert "TESS: 4 utterances kept, 2 rejected" in captured.out
    assert "    TESS/._OAF_back_angry.wav (AppleDouble file)\n" in captured.out


def acted_config(default_config: dict, **experiment) -> dict:
    """The default config with the four acted corpora as demo corpora and one experiment."""
    corpora = {c: {"root": f"results/demo/{c}", "demo": True} for c in MAKERS}
    template = default_config["experiments"][0]
    return default_config | {"corpora": corpora, "experiments": [template | experiment]}


def test_config_accepts_the_acted_corpora(default_config) -> None:
    config = acted_config(
        default_config, name="CREMAD_only", train_dataset="CREMAD", difficulty_method="agreement"
    )
    validate(config, str(SCHEMA))
    (experiment,) = expand_experiments(config)
    assert experiment["test_datasets"] == ["RAVDESS", "SAVEE", "TESS"]


def test_config_refuses_what_the_acted_corpora_lack(default_config) -> None:
    config = acted_config(
        default_config, name="TESS_only", train_dataset="TESS", difficulty_method="agreement"
    )
    validate(config, str(SCHEMA))
    with pytest.raises(ConfigError, match="needs annotator agreement, which TESS does not have"):
        expand_experiments(config)
    config = acted_config(
        default_config, name="text", train_dataset="CREMAD", modality="text",
        use_curriculum_learning=False,
    )  # fmt: skip
    validate(config, str(SCHEMA))
    config["features"] = with_builtin_feature_sets(config["features"])
    with pytest.raises(ConfigError, match="SAVEE is distributed without them"):
        expand_experiments(config)

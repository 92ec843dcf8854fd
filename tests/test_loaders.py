"""Corpus loaders on tiny native-layout fixtures built in tmp_path."""

import csv
import json
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pyarrow.compute as pc
import pytest
import soundfile as sf

from xcorpus.corpora import CORPORA, cmumosei, iemocap, mspimprov, msppodcast, samsemo
from xcorpus.corpora.indexing import index_corpus
from xcorpus.corpora.splits import group_by_speaker
from xcorpus.tables import INDEX_SCHEMA, RATED_SCHEMA, REJECTS_SCHEMA, index_metadata


def write_wav(path: Path, seconds: float = 0.1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sf.write(path, 0.01 * rng.standard_normal(int(16000 * seconds)), 16000, subtype="PCM_16")


def write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)


# Columns only the loaders that have them set (IEMO, MSPI, MSPP, SAMSEMO); to_tables fills the
# rest.
ANNOTATION = ("condition", "language", "n_raters", "agreement", "vad_spread")


def row(utt_id: str, audio: Path, label: str, raw_label: str, speaker: str, **kw) -> dict:
    """An expected index row; fields not given are None, ANNOTATION columns absent unless given."""
    base = {
        "utt_id": utt_id,
        "audio_path": str(audio),
        "start_s": None,
        "end_s": None,
        "speaker": speaker,
        "gender": None,
        "session": None,
        "split": None,
        "label": label,
        "raw_label": raw_label,
        "valence": None,
        "arousal": None,
        "dominance": None,
        "transcript": None,
    }
    assert set(kw) <= set(base) | set(ANNOTATION), set(kw) - set(base) - set(ANNOTATION)
    return base | kw


def stats(
    condition: str | None, n_raters: int | None, agreement: float | None, spread: float | None
) -> dict:
    """The ANNOTATION columns of an IEMO or MSPI row (no language)."""
    return {
        "condition": condition,
        "language": None,
        "n_raters": n_raters,
        "agreement": agreement,
        "vad_spread": spread,
    }


def rej(utt_id: str, reason: str, raw_label: str | None, source: str) -> dict:
    return {"utt_id": utt_id, "raw_label": raw_label, "reason": reason, "source": source}


def by_id(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda r: r["utt_id"])


# ---------------------------------------------------------------------------------------------
# IEMO


IEMO_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
IEMO_S1_EVAL = IEMO_HEADER + (
    "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"  # line 3
    "C-E2:\tNeutral;\t()\n"
    "A-E3:\tval 3; act 2; dom  2;\t()\n"
    "\n"
    "[10.0100 - 11.3925]\tSes01F_impro01_M000\texc\t[3.5000, 4.0000, 3.0000]\n"  # line 7
    "C-E1:\tExcited; Happiness;\t(cheerful)\n"
    "\n"
    "[14.8872 - 18.0175]\tSes01F_impro01_M001\tfru\t[2.5000, 3.5000, 3.5000]\n"  # line 10
    "\n"
    "[20.0000 - 21.5000]\tSes01F_impro01_F001\txxx\t[2.3333, 2.6667, 3.0000]\n"  # line 12
    "\n"
    "[22.0000 - 24.0000]\tSes01F_impro01_F002\tang\t[1.5000, 4.0000, 4.5000]\n"  # line 14
)
# Three evaluators (2 agree; `Neutral state` is Neutral), self-evaluations ignored;
# V 1,2,3 (std 1), A 2,2,2 (0), D 1,3,5 (2): vad_spread 1.0.
IEMO_S2_EVAL = IEMO_HEADER + (
    "[1.0000 - 2.0000]\tSes02M_script01_1b_F003\tsad\t[2.0000, 2.0000, 3.0000]\n"
    "C-E1:\tSadness;\t()\n"
    "C-E2:\tNeutral state;\t(calm)\n"
    "C-E3:\tFrustration; Sadness;\t()\n"
    "C-F1:\tAnger;\t(self)\n"
    "A-E1:\tval 1; act 2; dom  1;\t()\n"
    "A-E2:\tval 2; act 2; dom  3;\t()\n"
    "A-E3:\tval 3; act 2; dom  5;\t()\n"
    "A-F1:\tval 5; act 5; dom  5;\t()\n"
)
# Four evaluators, 2 with Anger (`Other:<text>` is Other); V 1,1,1,3 (std 1), A 5,5,5,3 (1),
# D 4,4,4,4 (0): vad_spread 2/3.
IEMO_S4_EVAL = IEMO_HEADER + (
    "[5.5000 - 7.0000]\tSes04F_script02_2_F000\tang\t[1.5000, 4.5000, 4.0000]\n"
    "C-E1:\tAnger;\t()\n"
    "C-E2:\tAnger; Frustration;\t()\n"
    "C-E3:\tFrustration;\t()\n"
    "C-E4:\tOther:annoyed;\t()\n"
    "A-E1:\tval 1; act 5; dom  4;\t()\n"
    "A-E2:\tval 1; act 5; dom  4;\t()\n"
    "A-E3:\tval 1; act 5; dom  4;\t()\n"
    "A-E4:\tval 3; act 3; dom  4;\t()\n"
)
# hap: Excited does not agree (codes map to one word each); the self-evaluator M1 is ignored.
IEMO_S5_EVAL = IEMO_HEADER + (
    "[8.0000 - 9.0000]\tSes05F_impro03_M010\thap\t[4.0000, 3.0000, 3.0000]\n"
    "C-E1:\tHappiness;\t()\n"
    "C-E2:\tExcited;\t()\n"
    "C-M1:\tHappiness;\t()\n"
    "A-E1:\tval 4; act 3; dom  3;\t()\n"
    "A-E2:\tval 4; act 3; dom  3;\t()\n"
    "A-M1:\tval 1; act 1; dom  1;\t()\n"
)
IEMO_S1_TRANS = (
    "Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.\n"
    "Ses01F_impro01_M000 [010.0100-011.3925]: Yeah, [LAUGHTER] that's  great.\n"
    "Ses01F_impro01_MXX0 [012.0000-012.5000]: Hmm.\n"
    "Ses01F_impro01_M001 [014.8872-018.0175]: Do you have your forms?\n"
)


def make_iemo(root: Path) -> None:
    """Five sessions; exc, fru, xxx, a missing wav, an MXX0 line, Attribute/ and `._` files."""
    s1 = root / "Session1"
    write_text(s1 / "dialog/EmoEvaluation/Ses01F_impro01.txt", IEMO_S1_EVAL)
    # Per-annotator subfolder and an AppleDouble file: never read (would be malformed).
    write_text(s1 / "dialog/EmoEvaluation/Attribute/Ses01F_impro01_e1_atr.txt", "[broken\n")
    write_text(s1 / "dialog/EmoEvaluation/._Ses01F_impro01.txt", "[broken\n")
    write_text(s1 / "dialog/transcriptions/Ses01F_impro01.txt", IEMO_S1_TRANS)
    for utt in ("F000", "M000", "M001"):
        write_wav(s1 / f"sentences/wav/Ses01F_impro01/Ses01F_impro01_{utt}.wav")
    # Dialog prefix M, utterance speaker F: speaker and gender come from the last field.
    s2 = root / "Session2"
    write_text(s2 / "dialog/EmoEvaluation/Ses02M_script01_1b.txt", IEMO_S2_EVAL)
    write_text(
        s2 / "dialog/transcriptions/Ses02M_script01_1b.txt",
        "Ses02M_script01_1b_F003 [001.0000-002.0000]: I miss him -- so much.\n",
    )
    write_wav(s2 / "sentences/wav/Ses02M_script01_1b/Ses02M_script01_1b_F003.wav")
    s3 = root / "Session3"
    write_text(
        s3 / "dialog/EmoEvaluation/Ses03M_impro05a.txt",
        IEMO_HEADER + "[3.0000 - 4.2500]\tSes03M_impro05a_M012\tneu\t[3.0000, 2.0000, 2.5000]\n",
    )
    # The transcription file has no line for M012: transcript None.
    write_text(
        s3 / "dialog/transcriptions/Ses03M_impro05a.txt",
        "Ses03M_impro05a_F000 [000.5000-001.0000]: Hi.\n",
    )
    write_wav(s3 / "sentences/wav/Ses03M_impro05a/Ses03M_impro05a_M012.wav")
    s4 = root / "Session4"
    write_text(s4 / "dialog/EmoEvaluation/Ses04F_script02_2.txt", IEMO_S4_EVAL)
    write_text(
        s4 / "dialog/transcriptions/Ses04F_script02_2.txt",
        "Ses04F_script02_2_F000 [005.5000-007.0000]: Get out!\n",
    )
    write_wav(s4 / "sentences/wav/Ses04F_script02_2/Ses04F_script02_2_F000.wav")
    s5 = root / "Session5"
    write_text(s5 / "dialog/EmoEvaluation/Ses05F_impro03.txt", IEMO_S5_EVAL)
    write_text(
        s5 / "dialog/transcriptions/Ses05F_impro03.txt",
        "Ses05F_impro03_M010 [008.0000-009.0000]: We did it!\n",
    )
    write_wav(s5 / "sentences/wav/Ses05F_impro03/Ses05F_impro03_M010.wav")


def test_iemo_rows_and_rejects(tmp_path: Path) -> None:
    make_iemo(tmp_path)
    loaded = iemocap.load(tmp_path)

    def wav(s: int, dialog: str, utt: str) -> Path:
        return tmp_path / f"Session{s}/sentences/wav/{dialog}/{dialog}_{utt}.wav"

    assert by_id(loaded.rows) == [
        row(
            "Ses01F_impro01_F000",
            wav(1, "Ses01F_impro01", "F000"),
            "neutral",
            "neu",
            "Ses01_F",
            gender="F",
            session=1,
            valence=2.5,
            arousal=2.5,
            dominance=2.5,
            transcript="Excuse me.",
            **stats("improvised", 1, 1.0, None),
        ),
        row(
            "Ses01F_impro01_M000",
            wav(1, "Ses01F_impro01", "M000"),
            "happy",
            "exc",
            "Ses01_M",
            gender="M",
            session=1,
            valence=3.5,
            arousal=4.0,
            dominance=3.0,
            transcript="Yeah, that's great.",
            **stats("improvised", 1, 1.0, None),
        ),
        row(
            "Ses02M_script01_1b_F003",
            wav(2, "Ses02M_script01_1b", "F003"),
            "sad",
            "sad",
            "Ses02_F",
            gender="F",
            session=2,
            valence=2.0,
            arousal=2.0,
            dominance=3.0,
            transcript="I miss him -- so much.",
            **stats("scripted", 3, 2 / 3, 1.0),
        ),
        row(
            "Ses03M_impro05a_M012",
            wav(3, "Ses03M_impro05a", "M012"),
            "neutral",
            "neu",
            "Ses03_M",
            gender="M",
            session=3,
            valence=3.0,
            arousal=2.0,
            dominance=2.5,
            **stats("improvised", None, None, None),  # no evaluator lines
        ),
        row(
            "Ses04F_script02_2_F000",
            wav(4, "Ses04F_script02_2", "F000"),
            "angry",
            "ang",
            "Ses04_F",
            gender="F",
            session=4,
            valence=1.5,
            arousal=4.5,
            dominance=4.0,
            transcript="Get out!",
            **stats("scripted", 4, 0.5, 2 / 3),
        ),
        row(
            "Ses05F_impro03_M010",
            wav(5, "Ses05F_impro03", "M010"),
            "happy",
            "hap",
            "Ses05_M",
            gender="M",
            session=5,
            valence=4.0,
            arousal=3.0,
            dominance=3.0,
            transcript="We did it!",
            **stats("improvised", 2, 0.5, 0.0),
        ),
    ]
    src = "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"
    missing = wav(1, "Ses01F_impro01", "F002")
    assert by_id(loaded.rejects) == [
        rej("Ses01F_impro01_F001", "no majority label", "xxx", f"{src}:12"),
        rej("Ses01F_impro01_F002", f"no audio file at {missing}", "ang", f"{src}:14"),
        rej("Ses01F_impro01_M001", "label fru not in the 4 classes", "fru", f"{src}:10"),
    ]


def iemo_ids(loaded) -> list[str]:
    return sorted(r["utt_id"] for r in loaded.rows)


IEMO_S1_SRC = "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"


def test_iemo_malformed_summary_line_is_rejected_with_its_block(tmp_path: Path) -> None:
    make_iemo(tmp_path)
    before = iemo_ids(iemocap.load(tmp_path))
    path = tmp_path / IEMO_S1_SRC
    text = IEMO_S1_EVAL.replace("[2.5000, 2.5000, 2.5000]", "[2.5000, 2.5000]")  # line 3
    text = text.replace("[10.0100 - 11.3925]", "[10.0100-11.3925]")  # line 7
    path.write_text(text + "\nC-E1:\tAnger;\t()\n")  # line 16: an evaluator outside a block
    loaded = iemocap.load(tmp_path)
    assert iemo_ids(loaded) == sorted(set(before) - {"Ses01F_impro01_F000", "Ses01F_impro01_M000"})
    malformed = [r for r in loaded.rejects if r["reason"].startswith("malformed")]
    assert malformed == [
        rej("Ses01F_impro01_F000", "malformed summary line", None, f"{IEMO_S1_SRC}:3"),
        rej("Ses01F_impro01_M000", "malformed summary line", None, f"{IEMO_S1_SRC}:7"),
        rej(None, "malformed evaluator line outside a block", None, f"{IEMO_S1_SRC}:16"),
    ]
    index_corpus("IEMO", tmp_path)  # kept + rejected = read


def test_iemo_malformed_transcription_line_names_file_and_line(tmp_path: Path) -> None:
    make_iemo(tmp_path)
    path = tmp_path / "Session1/dialog/transcriptions/Ses01F_impro01.txt"
    path.write_text(IEMO_S1_TRANS.replace("[010.0100-011.3925]", "[010.0100 - 011.3925]"))
    with pytest.raises(ValueError, match=r"transcriptions/Ses01F_impro01\.txt:2"):
        iemocap.load(tmp_path)


@pytest.mark.parametrize(
    ("old", "new", "line", "utt_id", "code"),
    [
        ("A-E3:\tval 3; act 2; dom  2;", "A-E3:\tval 3; act 2;", 5, "Ses01F_impro01_F000", "neu"),
        ("C-E2:\tNeutral;", "C-E2:\tCalm;", 4, "Ses01F_impro01_F000", "neu"),
        ("C-E1:\tExcited; Happiness;", "C-E1:\t", 8, "Ses01F_impro01_M000", "exc"),
    ],
)
def test_iemo_malformed_evaluator_line_rejects_its_utterance(
    tmp_path: Path, old: str, new: str, line: int, utt_id: str, code: str
) -> None:
    make_iemo(tmp_path)
    before = iemo_ids(iemocap.load(tmp_path))
    path = tmp_path / IEMO_S1_SRC
    path.write_text(IEMO_S1_EVAL.replace(old, new))
    loaded = iemocap.load(tmp_path)
    assert iemo_ids(loaded) == sorted(set(before) - {utt_id})
    summary_line = 3 if utt_id.endswith("F000") else 7
    reason = f"malformed evaluator line at {IEMO_S1_SRC}:{line}"
    assert rej(utt_id, reason, code, f"{IEMO_S1_SRC}:{summary_line}") in loaded.rejects


def test_iemo_missing_label_files(tmp_path: Path) -> None:
    (tmp_path / "Session1/sentences/wav").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="EmoEvaluation"):
        iemocap.load(tmp_path)


# ---------------------------------------------------------------------------------------------
# MSPI


MSPI_EVAL = (
    "UTD-IMPROV-S01A-F01-S-FM01.avi; A; A:3.800000; V:1.600000; D:3.600000 ; N:3.200000;\n"
    "WORKER_0123-p1; Angry; Frustrated,Annoyed; A:4.000000; V:2.000000; D:4.000000; N:3.0;\n"
    "WORKER_0456-p2; Angry; ; A:4.000000; V:1.000000; D:4.000000; N:4.000000;\n"
    "WORKER_0999-p3; Sad; Depressed; A:4.000000; V:3.000000; D:4.000000; N:2.000000;\n"
    "WORKER_0123-p1; Happy; ; A:1.000000; V:5.000000; D:1.000000; N:1.000000;\n"  # repeated
    "\n"
    "UTD-IMPROV-S01N-M01-P-MF02.avi; N; A:2.000000; V:3.000000; D:2.800000 ; N:3.600000;\n"
    "WORKER_0789-p1; Neutral; ; A:2.000000; V:3.000000; D:3.000000; N:4.000000;\n"
    "\n"
    "UTD-IMPROV-S02H-F03-R-FF01.avi; H; A:3.400000; V:4.400000; D:3.000000 ;\n"  # line 10, no N
    "WORKER_0123-p1; Happy; ; A:3.000000; V:4.000000; D:3.000000; N:4.000000;\n"
    "WORKER_0456-p2; Neutral; Excited; A:3.000000; V:4.000000; D:3.000000; N:NaN;\n"
    "\n"
    "UTD-IMPROV-S03S-M03-T-MF03.avi; S; A:NaN; V:1.166667; D:2.000000 ; N:NaN;\n"  # line 14
    "WORKER_0789-p1; Sad; ; A:NaN; V:1.000000; D:2.000000;\n"
    "WORKER_0123-p1; Sad; ; A:2.000000; V:1.500000; D:2.000000; N:3.000000;\n"
    "\n"
    "UTD-IMPROV-S04A-F01-S-FM02.avi; O; A:3.000000; V:3.000000; D:3.000000 ; N:3.000000;\n"
    "WORKER_0456-p2; Other; ; A:3.000000; V:3.000000; D:3.000000; N:3.000000;\n"
    "\n"
    "UTD-IMPROV-S05H-M01-P-MF04.avi; X; A:2.500000; V:3.500000; D:2.500000 ; N:4.000000;\n"
    "\n"
    "UTD-IMPROV-S06N-F03-P-FM05.avi; N; A:2.000000; V:3.000000; D:2.000000 ; N:4.000000;\n"
)
MSPI_WAVS = {
    "MSP-IMPROV-S01A-F01-S-FM01": "Audio/session1/S01A/S",
    "MSP-IMPROV-S01N-M01-P-MF02": "Audio/session1/S01N/P",
    "MSP-IMPROV-S02H-F03-R-FF01": "Audio/session3/S02H/R",
    "MSP-IMPROV-S03S-M03-T-MF03": "Audio/session3/S03S/T",
}


def make_mspi(root: Path, label_name: str = "Evalution.txt") -> None:
    """One block per condition (S, P, R, T), an O and an X label, a block without N:, NaN.

    Raters: S01A has a repeated rater (counted once), S03S one rater without A.
    """
    write_text(root / label_name, MSPI_EVAL)
    for stem, folder in MSPI_WAVS.items():
        write_wav(root / folder / f"{stem}.wav")


def mspi_expected(root: Path) -> list[dict]:
    def wav(stem: str) -> Path:
        return root / MSPI_WAVS[stem] / f"{stem}.wav"

    return [
        row(
            "MSP-IMPROV-S01A-F01-S-FM01",
            wav("MSP-IMPROV-S01A-F01-S-FM01"),
            "angry",
            "A",
            "F01",
            gender="F",
            session=1,
            valence=1.6,
            arousal=3.8,
            dominance=3.6,
            # V 2,1,3 (std 1), A and D constant: spread 1/3; the repeat of 0123 is ignored.
            **stats("S", 3, 2 / 3, 1 / 3),
        ),
        row(
            "MSP-IMPROV-S01N-M01-P-MF02",
            wav("MSP-IMPROV-S01N-M01-P-MF02"),
            "neutral",
            "N",
            "M01",
            gender="M",
            session=1,
            valence=3.0,
            arousal=2.0,
            dominance=2.8,
            **stats("P", 1, 1.0, None),
        ),
        row(
            "MSP-IMPROV-S02H-F03-R-FF01",
            wav("MSP-IMPROV-S02H-F03-R-FF01"),
            "happy",
            "H",
            "F03",
            gender="F",
            session=3,
            valence=4.4,
            arousal=3.4,
            dominance=3.0,
            **stats("R", 2, 0.5, 0.0),
        ),
        row(
            "MSP-IMPROV-S03S-M03-T-MF03",
            wav("MSP-IMPROV-S03S-M03-T-MF03"),
            "sad",
            "S",
            "M03",
            gender="M",
            session=3,
            valence=1.166667,
            arousal=None,
            dominance=2.0,
            **stats("T", 2, 1.0, None),  # only one rater has all of V, A, D
        ),
    ]


@pytest.mark.parametrize("label_name", ["Evalution.txt", "Evaluation.txt"])
def test_mspi_rows_and_rejects(tmp_path: Path, label_name: str) -> None:
    make_mspi(tmp_path, label_name)
    loaded = mspimprov.load(tmp_path)
    assert by_id(loaded.rows) == mspi_expected(tmp_path)
    assert by_id(loaded.rejects) == [
        rej("MSP-IMPROV-S04A-F01-S-FM02", "label O not in the 4 classes", "O", f"{label_name}:18"),
        rej("MSP-IMPROV-S05H-M01-P-MF04", "no majority label", "X", f"{label_name}:21"),
        rej(
            "MSP-IMPROV-S06N-F03-P-FM05",
            "no audio file at **/MSP-IMPROV-S06N-F03-P-FM05.wav",
            "N",
            f"{label_name}:23",
        ),
    ]


def mspi_ids(loaded) -> list[str]:
    return sorted(r["utt_id"] for r in loaded.rows)


def test_mspi_malformed_summary_lines_are_rejected_with_their_blocks(tmp_path: Path) -> None:
    make_mspi(tmp_path)
    before = mspi_ids(mspimprov.load(tmp_path))
    broken = MSPI_EVAL.replace("V:4.400000; D:3.000000 ;", "V:4.400000 D:3.000000 ;")  # line 10
    # line 14 no longer starts like a summary line; its rater lines go with it
    broken = broken.replace("UTD-IMPROV-S03S-M03-T-MF03.avi", "IMPROV-S03S-M03-T-MF03.avi")
    (tmp_path / "Evalution.txt").write_text(broken)
    loaded = mspimprov.load(tmp_path)
    gone = {"MSP-IMPROV-S02H-F03-R-FF01", "MSP-IMPROV-S03S-M03-T-MF03"}
    assert mspi_ids(loaded) == sorted(set(before) - gone)
    assert [r for r in loaded.rejects if r["reason"].startswith("malformed")] == [
        rej("MSP-IMPROV-S02H-F03-R-FF01", "malformed summary line", None, "Evalution.txt:10"),
        rej(None, "malformed line, expected a summary", None, "Evalution.txt:14"),
    ]
    index_corpus("MSPI", tmp_path)  # kept + rejected = read


@pytest.mark.parametrize(
    ("old", "new", "line", "utt_id", "code"),
    [
        ("WORKER_0789-p1; Neutral;", "WORKER_0789-p1; Calm;", 8, "S01N-M01-P-MF02", "N"),
        (
            "WORKER_0999-p3; Sad; Depressed; A:4.000000;",
            "WORKER_0999-p3; Sad; Depressed;",
            4,
            "S01A-F01-S-FM01",
            "A",
        ),
    ],
)
def test_mspi_malformed_rater_line_rejects_its_utterance(
    tmp_path: Path, old: str, new: str, line: int, utt_id: str, code: str
) -> None:
    make_mspi(tmp_path)
    before = mspi_ids(mspimprov.load(tmp_path))
    (tmp_path / "Evalution.txt").write_text(MSPI_EVAL.replace(old, new))
    loaded = mspimprov.load(tmp_path)
    utt_id = f"MSP-IMPROV-{utt_id}"
    assert mspi_ids(loaded) == sorted(set(before) - {utt_id})
    summary_line = {"N": 7, "A": 1}[code]
    reason = f"malformed rater line at Evalution.txt:{line}"
    assert rej(utt_id, reason, code, f"Evalution.txt:{summary_line}") in loaded.rejects


def test_mspi_missing_label_file(tmp_path: Path) -> None:
    write_wav(tmp_path / "Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.wav")
    with pytest.raises(FileNotFoundError, match=r"Evalution\.txt or Evaluation\.txt"):
        mspimprov.load(tmp_path)


# ---------------------------------------------------------------------------------------------
# MSPP


MSPP_HEADER = "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set\n"
MSPP_ROWS = [
    "MSP-PODCAST_0001_0008.wav,N,2.2,4.0,2.6,30,Male,Test1",  # line 2
    "MSP-PODCAST_0153_0412.wav,H,5.333333,6.0,5.166667,412,Female,Train",
    "MSP-PODCAST_0153_0413.wav,S,2.0,2.5,3.0,Unknown,Unknown,Development",
    "MSP-PODCAST_0200_0001.wav,A,6.0,2.0,5.5,88,Female,Test2",  # line 5
    "MSP-PODCAST_0200_0002.wav,U,5.0,4.0,4.0,88,Female,Test2",
    "MSP-PODCAST_0200_0003.wav,F,4.5,2.0,2.0,88,Female,Test2",
    "MSP-PODCAST_0200_0004.wav,D,4.0,2.0,4.0,88,Female,Test2",
    "MSP-PODCAST_0200_0005.wav,C,3.5,2.5,4.5,88,Female,Test2",
    "MSP-PODCAST_0200_0006.wav,O,3.0,3.0,3.0,88,Female,Test2",  # line 10
    "MSP-PODCAST_2210_0047.wav,X,4.0,3.857143,4.142857,Unknown,Unknown,Development",
    "MSP-PODCAST_0300_0001_2.wav,H,4.0,5.5,4.0,Unknown,Unknown,Test1",  # line 12
    "MSP-PODCAST_0400_0001.wav,N,3.0,4.0,3.0,30,Male,Train",  # line 13, no audio
]
MSPP_TEXTS = {
    "MSP-PODCAST_0001_0008": "yeah and i think that's exactly what they were trying to tell us",
    "MSP-PODCAST_0153_0412": "that was, honestly, the best day",
    "MSP-PODCAST_0153_0413": "i don't know",
    "MSP-PODCAST_0200_0001": "stop it",
}


def make_mspp(
    root: Path,
    label_dir: str = "Labels",
    label_stem: str = "labels_consensus",
    dev_name: str = "Development",
) -> None:
    """All ten codes, Unknown speakers, Train/Development/Test1/Test2, a missing wav."""
    lines = [line.replace("Development", dev_name) for line in MSPP_ROWS]
    write_text(root / label_dir / f"{label_stem}.csv", MSPP_HEADER + "\n".join(lines) + "\n")
    for line in lines[:-1]:  # the last row's audio is missing
        write_wav(root / "Audios" / line.split(",")[0])
    for stem, text in MSPP_TEXTS.items():
        write_text(root / "Transcripts" / f"{stem}.txt", text + "\n")


NO_STATS = {"n_raters": None, "agreement": None, "vad_spread": None}


def mspp_expected(root: Path, stats: dict[str, dict] | None = None) -> list[dict]:
    """Expected rows; `stats` gives the annotation statistics of utterances that have them."""

    def wav(stem: str) -> Path:
        return root / "Audios" / f"{stem}.wav"

    rows = [
        row(
            "MSP-PODCAST_0001_0008",
            wav("MSP-PODCAST_0001_0008"),
            "neutral",
            "N",
            "30",
            gender="M",
            split="test1",
            valence=4.0,
            arousal=2.2,
            dominance=2.6,
            transcript=MSPP_TEXTS["MSP-PODCAST_0001_0008"],
        ),
        row(
            "MSP-PODCAST_0153_0412",
            wav("MSP-PODCAST_0153_0412"),
            "happy",
            "H",
            "412",
            gender="F",
            split="train",
            valence=6.0,
            arousal=5.333333,
            dominance=5.166667,
            transcript=MSPP_TEXTS["MSP-PODCAST_0153_0412"],
        ),
        row(
            "MSP-PODCAST_0153_0413",
            wav("MSP-PODCAST_0153_0413"),
            "sad",
            "S",
            "unknown:MSP-PODCAST_0153_0413",
            split="dev",
            valence=2.5,
            arousal=2.0,
            dominance=3.0,
            transcript=MSPP_TEXTS["MSP-PODCAST_0153_0413"],
        ),
        row(
            "MSP-PODCAST_0200_0001",
            wav("MSP-PODCAST_0200_0001"),
            "angry",
            "A",
            "88",
            gender="F",
            split="test2",
            valence=2.0,
            arousal=6.0,
            dominance=5.5,
            transcript="stop it",
        ),
        row(
            "MSP-PODCAST_0300_0001_2",
            wav("MSP-PODCAST_0300_0001_2"),
            "happy",
            "H",
            "unknown:MSP-PODCAST_0300_0001_2",
            split="test1",
            valence=5.5,
            arousal=4.0,
            dominance=4.0,
        ),
    ]
    return [r | (stats or {}).get(r["utt_id"], NO_STATS) for r in rows]


def mspp_rejects(root: Path, source: str) -> list[dict]:
    def at(line: int) -> str:
        if source.endswith(".csv"):
            return f"{source}:{line}"
        return f"{source}:{MSPP_ROWS[line - 2].split(',')[0]}"

    not4 = "label {} not in the 4 classes"
    missing = root / "Audios/MSP-PODCAST_0400_0001.wav"
    return [
        rej("MSP-PODCAST_0200_0002", not4.format("U"), "U", at(6)),
        rej("MSP-PODCAST_0200_0003", not4.format("F"), "F", at(7)),
        rej("MSP-PODCAST_0200_0004", not4.format("D"), "D", at(8)),
        rej("MSP-PODCAST_0200_0005", not4.format("C"), "C", at(9)),
        rej("MSP-PODCAST_0200_0006", not4.format("O"), "O", at(10)),
        rej("MSP-PODCAST_0400_0001", f"no audio file at {missing}", "N", at(13)),
        rej("MSP-PODCAST_2210_0047", "no majority label", "X", at(11)),
    ]


def test_mspp_rows_and_rejects(tmp_path: Path) -> None:
    make_mspp(tmp_path)
    loaded = msppodcast.load(tmp_path)
    assert by_id(loaded.rows) == mspp_expected(tmp_path)
    assert by_id(loaded.rejects) == mspp_rejects(tmp_path, "Labels/labels_consensus.csv")


def test_mspp_old_release_concensus_and_validation(tmp_path: Path) -> None:
    make_mspp(tmp_path, label_dir="label", label_stem="labels_concensus", dev_name="Validation")
    loaded = msppodcast.load(tmp_path)
    assert by_id(loaded.rows) == mspp_expected(tmp_path)
    assert by_id(loaded.rejects) == mspp_rejects(tmp_path, "label/labels_concensus.csv")


def test_mspp_json_variant(tmp_path: Path) -> None:
    make_mspp(tmp_path)
    csv_path = tmp_path / "Labels/labels_consensus.csv"
    with csv_path.open(newline="") as f:
        records = list(csv.DictReader(f))
    data = {
        r.pop("FileName"): {
            **r,
            "EmoAct": float(r["EmoAct"]),
            "EmoVal": float(r["EmoVal"]),
            "EmoDom": float(r["EmoDom"]),
        }
        for r in records
    }
    write_text(tmp_path / "Labels/labels_consensus.json", json.dumps(data))
    csv_path.unlink()
    loaded = msppodcast.load(tmp_path)
    assert by_id(loaded.rows) == mspp_expected(tmp_path)
    assert by_id(loaded.rejects) == mspp_rejects(tmp_path, "Labels/labels_consensus.json")


def test_mspp_malformed_rows_are_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    make_mspp(tmp_path)
    path = tmp_path / "Labels/labels_consensus.csv"
    lines = path.read_text().splitlines()
    lines[3] = "MSP-PODCAST_0153_0413.wav,S,2.0,2.5"  # line 4: too few fields
    lines[4] = "MSP-PODCAST_0200_0001.wav,A,high,2.0,5.5,88,Female,Test2"  # line 5
    lines[5] = "MSP-PODCAST_0200_0002.wav,U,5.0,4.0,4.0,88,Female,Test9"  # line 6
    lines[6] = ",F,4.5,2.0,2.0,88,Female,Test2"  # line 7: no FileName
    path.write_text("\n".join(lines) + "\n")
    index, rejects, _ = index_corpus("MSPP", tmp_path)  # the accounting check passes too
    kept = {r["utt_id"] for r in mspp_expected(tmp_path)}
    kept -= {"MSP-PODCAST_0153_0413", "MSP-PODCAST_0200_0001"}
    assert set(index.column("utt_id").to_pylist()) == kept
    csv_name = "Labels/labels_consensus.csv"
    malformed = [r for r in rejects.to_pylist() if r["reason"].startswith("malformed")]
    assert sorted(malformed, key=lambda r: r["source"]) == [
        rej(
            "MSP-PODCAST_0153_0413",
            "malformed line (4 fields, the header has 8)",
            None,
            f"{csv_name}:4",
        ),
        rej("MSP-PODCAST_0200_0001", "malformed EmoAct value 'high'", None, f"{csv_name}:5"),
        rej("MSP-PODCAST_0200_0002", "malformed Split_Set 'Test9'", None, f"{csv_name}:6"),
        rej(None, "malformed entry (empty FileName)", None, f"{csv_name}:7"),
    ]


def test_mspp_malformed_json_entries_are_rejected(tmp_path: Path) -> None:
    make_mspp(tmp_path)
    (tmp_path / "Labels/labels_consensus.csv").unlink()
    good = {"EmoClass": "N", "EmoAct": 3, "EmoVal": 3, "EmoDom": 3, "SpkrID": "30"}
    good |= {"Gender": "Male", "Split_Set": "Train"}
    data = {
        "MSP-PODCAST_0001_0008.wav": good,
        "MSP-PODCAST_0153_0412.wav": "H",
        "MSP-PODCAST_0153_0413.wav": {k: v for k, v in good.items() if k != "Gender"},
    }
    write_text(tmp_path / "Labels/labels_consensus.json", json.dumps(data))
    loaded = msppodcast.load(tmp_path)
    assert [r["utt_id"] for r in loaded.rows] == ["MSP-PODCAST_0001_0008"]
    shown = "Labels/labels_consensus.json"
    assert by_id(loaded.rejects) == [
        rej(
            "MSP-PODCAST_0153_0412",
            "malformed entry (not an object)",
            None,
            f"{shown}:MSP-PODCAST_0153_0412.wav",
        ),
        rej(
            "MSP-PODCAST_0153_0413",
            "malformed entry (no field Gender)",
            None,
            f"{shown}:MSP-PODCAST_0153_0413.wav",
        ),
    ]


# Per-annotator judgements: file -> [(worker, primary, A, V, D)]; "" = no rating. A worker's
# second entry for a file is ignored; a file not in the consensus file is ignored.
MSPP_DETAILED = {
    "MSP-PODCAST_0153_0412.wav": [
        ("WORKER00012", "Happy", "5.0", "6.0", "5.0"),
        ("WORKER00377", "Happy", "6.0", "6.0", "5.0"),
        ("WORKER00009", "Other-amused", "4.0", "5.0", "4.0"),
        ("WORKER00012", "Sad", "1.0", "1.0", "1.0"),
    ],
    "MSP-PODCAST_0001_0008.wav": [
        ("WORKER00001", "Neutral", "2.0", "4.0", "3.0"),
        ("WORKER00002", "Sad", "", "", ""),
    ],
    "MSP-PODCAST_9999_0001.wav": [("WORKER00001", "Angry", "6.0", "2.0", "6.0")],
}
MSPP_STATS = {
    # V [6, 6, 5] and D [5, 5, 4]: std 0.57735; A [5, 6, 4]: std 1.0
    "MSP-PODCAST_0153_0412": {
        "n_raters": 3,
        "agreement": pytest.approx(2 / 3),
        "vad_spread": pytest.approx((2 * 0.5773502691896258 + 1.0) / 3),
    },
    "MSP-PODCAST_0001_0008": {"n_raters": 2, "agreement": 0.5, "vad_spread": None},
}


def write_mspp_detailed(root: Path, fmt: str) -> None:
    """MSPP_DETAILED as labels_detailed in the v1.11 (EmoDetail), v1.6 or JSON format."""
    entries = [(name, *e) for name, judged in MSPP_DETAILED.items() for e in judged]
    if fmt == "json":
        data: dict[str, dict] = {}
        for name, worker, primary, a, v, d in entries:
            fields = {"EmoClass_Major": primary, "EmoAct": a, "EmoVal": v, "EmoDom": d}
            data.setdefault(name, {}).setdefault(worker, fields)
        write_text(root / "Labels/labels_detailed.json", json.dumps(data))
        return
    if fmt == "v1.6":
        lines = ["FileName,Workers,EmoClass_Major,EmoClass_Second,EmoAct,EmoVal,EmoDom"]
        lines += [f"{n},{w},{p},,{a},{v},{d}" for n, w, p, a, v, d in entries]
    else:
        lines = ["FileName,EmoDetail"]
        lines += [
            f'{n},"{w}; {p}; Amused,Excited; A:{a}; V:{v}; D:{d};"' for n, w, p, a, v, d in entries
        ]
    write_text(root / "Labels/labels_detailed.csv", "\n".join(lines) + "\n")


@pytest.mark.parametrize("fmt", ["v1.11", "v1.6", "json"])
def test_mspp_detailed_labels_give_annotation_statistics(tmp_path: Path, fmt: str) -> None:
    make_mspp(tmp_path)
    write_mspp_detailed(tmp_path, fmt)
    loaded = msppodcast.load(tmp_path)
    assert by_id(loaded.rows) == mspp_expected(tmp_path, MSPP_STATS)
    assert by_id(loaded.rejects) == mspp_rejects(tmp_path, "Labels/labels_consensus.csv")
    ext = "json" if fmt == "json" else "csv"
    detailed = f"Labels/labels_detailed.{ext}"
    assert loaded.variant == f"Labels/labels_consensus.csv + Development + {detailed}"


def test_mspp_malformed_detailed_line_rejects_its_utterance(tmp_path: Path) -> None:
    make_mspp(tmp_path)
    write_mspp_detailed(tmp_path, "v1.11")
    path = tmp_path / "Labels/labels_detailed.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("Happy", "Joyful")  # line 3, MSP-PODCAST_0153_0412
    lines[5] = 'MSP-PODCAST_0001_0008.wav,"WORKER00001; Neutral; ; A:2.0; V:4.0"'  # line 6
    path.write_text("\n".join(lines) + "\n")
    loaded = msppodcast.load(tmp_path)
    kept = {r["utt_id"] for r in loaded.rows}
    assert "MSP-PODCAST_0153_0412" not in kept and "MSP-PODCAST_0001_0008" not in kept
    extra = by_id(loaded.rejects)
    for reject in mspp_rejects(tmp_path, "Labels/labels_consensus.csv"):
        extra.remove(reject)
    assert extra == [
        rej(
            "MSP-PODCAST_0001_0008",
            "malformed EmoDetail 'WORKER00001; Neutral; ; A:2.0; V:4.0' in detailed labels at "
            "Labels/labels_detailed.csv:6",
            "N",
            "Labels/labels_consensus.csv:2",
        ),
        rej(
            "MSP-PODCAST_0153_0412",
            "malformed primary emotion 'Joyful' in detailed labels at Labels/labels_detailed.csv:3",
            "H",
            "Labels/labels_consensus.csv:3",
        ),
    ]


def test_mspp_missing_column_and_missing_file(tmp_path: Path) -> None:
    make_mspp(tmp_path)
    path = tmp_path / "Labels/labels_consensus.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    with pytest.raises(ValueError, match=r"labels_consensus\.csv has no column Split_Set"):
        msppodcast.load(tmp_path)
    path.unlink()
    with pytest.raises(FileNotFoundError, match="labels_"):
        msppodcast.load(tmp_path)


# ---------------------------------------------------------------------------------------------
# CMUMOSEI

# VID_A and VID_N are real ids from the standard folds (train and valid); the other two are in
# no fold
VID_A = "-lzEya4AM_4"  # leading '-' and an '_' inside; train fold
VID_N = "188343"  # numeric id; valid fold -> dev
VID_NOAUDIO = "zz9Kq1w0aBc"
VID_NOTRANS = "noTrans0001"
MOSEI_LABELS = {
    # video: [(start, end), [sentiment, happy, sad, anger, surprise, disgust, fear]]
    VID_A: [
        ((-0.4576, 4.84), [0.5, 0, 0, 0, 0, 0, 0]),  # all zero -> neutral, start clamped
        ((4.84, 14.052), [1.0, 1.3333333, 0.3333333, 0, 0.6666667, 0, 0]),  # happy
        ((13.211, 27.521), [0.0, 1.0, 1.0, 0, 0, 0, 0]),  # tie happy/sad
        ((26.541, 41.3), [0.3333, 0.3333333, 0, 0, 1.6666666, 0, 0]),  # surprise wins
        ((41.3, 45.0), [-1.0, 0, 0, 2.0, 0, 0, 0]),  # no transcript segment
    ],
    VID_N: [
        ((0.0, 3.5), [-2.0, 0, 2.0, 3.6666667, 0, 0, 0]),  # anger > 3 clamped, still wins
        ((3.5, 7.25), [-1.0, 0, 0.6666667, 0, 0, 0, 0.3333333]),  # sad
        ((7.25, 9.0), [-2.5, 0, 0, 3.3333333, 0, 3.0, 0]),  # clamped anger ties disgust
    ],
    VID_NOAUDIO: [((1.0, 2.0), [2.0, 2.0, 0, 0, 0, 0, 0])],
    VID_NOTRANS: [((0.5, 1.5), [0.0, 0, 0, 0, 0, 0, 0])],
}
MOSEI_TRANSCRIPTS = {
    VID_A: (
        f"{VID_A}___0___-0.4576___4.84___so today i want to talk to you\n"
        f"{VID_A}___1___4.84___14.052___i love this _____ phone, really\n"
        f"{VID_A}___2___13.211___27.521___it was good and bad\n"
        f"{VID_A}___3___26.541___41.3___wow\n"
        f"{VID_A}___4___50.0___55.5___an unlabelled segment\n"
    ),
    VID_N: (
        f"{VID_N}___0___0.0___3.5___this makes me furious\n"
        f"\n"
        f"{VID_N}___1___3.5___7.25___i miss the old days\n"
        f"{VID_N}___2___7.25___9.0___disgusting and infuriating\n"
    ),
    VID_NOAUDIO: f"{VID_NOAUDIO}___0___1.0___2.0___great stuff\n",
}
MOSEI_TRANS_DIR = "Raw/Transcript/Segmented/Combined"
MOSEI_AUDIO_DIR = "Raw/Audio/Full/WAV_16000"


def make_cmumosei(root: Path) -> None:
    """A '-' id and a numeric id; all-zero, tie, surprise, >3, negative start, unmatched."""
    with h5py.File(root / "CMU_MOSEI_Labels.csd", "w") as h5:
        meta = h5.create_group("All Labels/metadata")
        names = ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
        meta.create_dataset("dimension names", data=[json.dumps(names)], dtype=h5py.string_dtype())
        for video, items in MOSEI_LABELS.items():
            group = h5.create_group(f"All Labels/data/{video}")
            group.create_dataset("intervals", data=np.array([iv for iv, _ in items]))
            group.create_dataset("features", data=np.array([ft for _, ft in items]))
    for video, text in MOSEI_TRANSCRIPTS.items():
        write_text(root / MOSEI_TRANS_DIR / f"{video}.txt", text)
    for video in (VID_A, VID_N, VID_NOTRANS):  # each as long as its last labelled segment
        seconds = max(end for (_, end), _ in MOSEI_LABELS[video])
        write_wav(root / MOSEI_AUDIO_DIR / f"{video}.wav", seconds=seconds)


def test_cmumosei_rows_and_rejects(tmp_path: Path) -> None:
    make_cmumosei(tmp_path)
    loaded = cmumosei.load(tmp_path)
    wav_a = tmp_path / MOSEI_AUDIO_DIR / f"{VID_A}.wav"
    wav_n = tmp_path / MOSEI_AUDIO_DIR / f"{VID_N}.wav"
    assert by_id(loaded.rows) == [
        row(
            f"{VID_A}_0",
            wav_a,
            "neutral",
            "all-zero",
            VID_A,
            split="train",
            start_s=0.0,
            end_s=4.84,
            transcript="so today i want to talk to you",
        ),
        row(
            f"{VID_A}_1",
            wav_a,
            "happy",
            "happy",
            VID_A,
            split="train",
            start_s=4.84,
            end_s=14.052,
            transcript="i love this _____ phone, really",
        ),
        row(
            f"{VID_N}_0",
            wav_n,
            "angry",
            "anger",
            VID_N,
            split="dev",
            start_s=0.0,
            end_s=3.5,
            transcript="this makes me furious",
        ),
        row(
            f"{VID_N}_1",
            wav_n,
            "sad",
            "sad",
            VID_N,
            split="dev",
            start_s=3.5,
            end_s=7.25,
            transcript="i miss the old days",
        ),
    ]
    csd = "CMU_MOSEI_Labels.csd"
    trans_a = f"{MOSEI_TRANS_DIR}/{VID_A}.txt"
    assert by_id(loaded.rejects) == [
        rej(
            f"{VID_A}#4",
            f"no transcript segment with interval [41.3, 45] in {trans_a}",
            "anger",
            f"{csd}:{VID_A}/4",
        ),
        rej(f"{VID_A}_2", "tie between happy and sad", "happy|sad", f"{csd}:{VID_A}/2"),
        rej(f"{VID_A}_3", "label surprise not in the 4 classes", "surprise", f"{csd}:{VID_A}/3"),
        rej(f"{VID_N}_2", "tie between anger and disgust", "anger|disgust", f"{csd}:{VID_N}/2"),
        rej(
            f"{VID_NOTRANS}#0",
            f"no transcript file {MOSEI_TRANS_DIR}/{VID_NOTRANS}.txt",
            "all-zero",
            f"{csd}:{VID_NOTRANS}/0",
        ),
        rej(
            f"{VID_NOAUDIO}_0",
            f"no audio file at {tmp_path / MOSEI_AUDIO_DIR / VID_NOAUDIO}.wav",
            "happy",
            f"{csd}:{VID_NOAUDIO}/0",
        ),
    ]


def test_cmumosei_classify() -> None:
    assert cmumosei.classify(np.array([1.0, 0, 0, 0, 0, 0, 0])) == ("neutral", "all-zero", None)
    assert cmumosei.classify(np.array([0, 0, 0, 0.5, 0, 0, 0.2])) == ("angry", "anger", None)
    assert cmumosei.classify(np.array([0, 0, 0, 0, 0, 0, 1.0])) == (
        None,
        "fear",
        "label fear not in the 4 classes",
    )
    assert cmumosei.classify(np.array([0, 0.5, 0, 0, 0, 0, np.nan]))[2] == (
        "non-finite label values"
    )


def test_cmumosei_malformed_input_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    make_cmumosei(tmp_path)
    path = tmp_path / MOSEI_TRANS_DIR / f"{VID_N}.txt"
    path.write_text(MOSEI_TRANSCRIPTS[VID_N].replace("___3.5___7.25___", "___3.5___end___"))
    with h5py.File(tmp_path / "CMU_MOSEI_Labels.csd", "a") as h5:
        group = h5.create_group("All Labels/data/badShape001")
        group.create_dataset("intervals", data=np.zeros((2, 2)))
        group.create_dataset("features", data=np.zeros((2, 6)))
        h5.create_group("All Labels/data/noArrays001")
    loaded = cmumosei.load(tmp_path)
    kept = sorted(r["utt_id"] for r in loaded.rows)
    assert kept == [f"{VID_A}_0", f"{VID_A}_1", f"{VID_N}_0"]
    shown = f"{MOSEI_TRANS_DIR}/{VID_N}.txt"
    reason = (
        f"no transcript segment with interval [3.5, 7.25] in {shown} "
        f"(malformed line(s) skipped: {shown}:3)"
    )
    csd = "CMU_MOSEI_Labels.csd"
    assert rej(f"{VID_N}#1", reason, "sad", f"{csd}:{VID_N}/1") in loaded.rejects
    malformed = [r for r in loaded.rejects if r["reason"].startswith("malformed")]
    assert malformed == [
        rej(
            "badShape001",
            "malformed video (features (2, 6) and intervals (2, 2); expected (n, 7) and (n, 2))",
            None,
            f"{csd}:badShape001",
        ),
        rej(
            "noArrays001",
            "malformed video (no features or intervals array)",
            None,
            f"{csd}:noArrays001",
        ),
    ]


def test_cmumosei_missing_label_file(tmp_path: Path) -> None:
    make_cmumosei(tmp_path)
    (tmp_path / "CMU_MOSEI_Labels.csd").unlink()
    with pytest.raises(FileNotFoundError, match=r"CMU_MOSEI_Labels\.csd"):
        cmumosei.load(tmp_path)


def test_cmumosei_split_of() -> None:
    assert cmumosei.split_of(VID_A) == "train"
    assert cmumosei.split_of(VID_N) == "dev"
    assert cmumosei.split_of("--qXJuDtHPw") == "dev"
    assert cmumosei.split_of("286943") == "test"
    for video in (VID_NOAUDIO, VID_NOTRANS, "-q4Xz_7bLm2A", "81406 ", ""):
        assert cmumosei.split_of(video) is None


def test_cmumosei_packaged_folds() -> None:
    from importlib import resources

    folds_file = resources.files("xcorpus.corpora").joinpath("data/cmumosei_folds.json")
    data = json.loads(folds_file.read_text(encoding="utf-8"))
    assert data["source"] == (
        "CMU-MultiComp-Lab/CMU-MultimodalSDK/mmsdk/mmdatasdk/dataset/standard_datasets/"
        "CMU_MOSEI/cmu_mosei_std_folds.py@3e27d3781fe38b660432c7edfa7912bd0d256ee1"
    )
    train, valid, test = (set(data[k]) for k in ("train", "valid", "test"))
    assert (len(data["train"]), len(data["valid"]), len(data["test"])) == (2249, 300, 678)
    assert (len(train), len(valid), len(test)) == (2249, 300, 678)  # no repeats
    assert not (train & valid or train & test or valid & test)
    assert len(cmumosei.folds()) == 2249 + 300 + 678


# ---------------------------------------------------------------------------------------------
# SAMSEMO


def samsemo_record(utt_id: str, sex: str, emotions: list[str], agg: str, text: str) -> dict:
    record = dict.fromkeys(samsemo.COLUMNS, "")
    record |= {
        "utterance_id": utt_id,
        "movie_title": "City council debate, 2019",
        "movie_link": "https://example.org/video.webm",
        "source_scene_start": "00:01:12.00",
        "source_scene_stop": "00:01:19.99",
        "language": "EN",
        "sex": sex,
        "age": "adult",
        "race": "white",
        "covered_face": "no",
        "multiple_faces": "no",
        "aggregated_emotions": agg,
        "annotator_1": "ann07",
        "annotator_2": "ann12",
        "annotator_3": "ann03",
        "transcript": text,
        "translation_en": text,
        "duration": "00:00:06.40",
        "movie_type": "debate",
        "license": "CC BY 4.0",
        "author": "someone",
        "download_date": "2023-02-11",
    }
    for k, emotion in enumerate(emotions, start=1):
        record[f"emotion_1_annotator_{k}"] = emotion
    return record


SAMSEMO_RECORDS = [
    # line 2: same source video as line 3, different split
    samsemo_record(
        "q7kd2m4xzp_3", "male", ["anger", "anger", "neutral"], "anger", "Why, then, not us?"
    )
    | {"emotion_2_annotator_2": "disgust"},
    samsemo_record(  # annotator 2's second emotion agrees with the label
        "q7kd2m4xzp_5",
        "female",
        ["neutral", "sadness", "neutral"],
        "neutral",
        'Żółć, 한국어 and a "quoted" word',
    )
    | {"emotion_2_annotator_2": "neutral"},
    samsemo_record(  # line 4
        "b3n0xw91cd_0", "female", ["happiness", "other emotions", "sadness"], "", "No i co"
    ),
    samsemo_record(
        "b3n0xw91cd_1",
        "female",
        ["happiness", "surprise", "happiness"],
        "happiness|surprise",
        "Wow!",
    ),
    samsemo_record(  # line 6
        "b3n0xw91cd_2",
        "male",
        ["other emotions"] * 3,
        "other emotions",
        "Hmm",
    ),
    samsemo_record("c9c9c9c9c9_0", "other", ["sadness"] * 3, "sadness", "I lost it")
    | {"language": "KO"},
    samsemo_record("c9c9c9c9c9_1", "female", ["happiness"] * 2, "happiness", "Great"),  # line 8
    samsemo_record("c9c9c9c9c9_2", "male", ["happiness"] * 3, "happiness", "Yes"),  # no audio
]


def write_samsemo_tsv(path: Path, records: list[dict], columns: tuple[str, ...]) -> None:
    with path.open("w", encoding="utf-16", newline="") as f:  # utf-16 writes the BOM
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([record[c] for c in columns])


def make_samsemo(root: Path) -> None:
    """Empty, multi-label and `other emotions` labels, non-ASCII text, scene-random splits."""
    root.mkdir(parents=True, exist_ok=True)
    write_samsemo_tsv(root / "samsemo.tsv", SAMSEMO_RECORDS, samsemo.COLUMNS)
    write_text(root / "splits/train_split_EN.txt", "q7kd2m4xzp_3\nb3n0xw91cd_1\n")
    write_text(root / "splits/valid_split_EN.txt", "c9c9c9c9c9_0\n")
    write_text(root / "splits/test_split_EN.txt", "q7kd2m4xzp_5\n")
    for record in SAMSEMO_RECORDS[:-1]:
        write_wav(root / "EN" / record["utterance_id"] / "audio.wav")
        write_text(root / "EN" / record["utterance_id"] / "image_0.jpg", "not a real jpg")


def test_samsemo_rows_and_rejects(tmp_path: Path) -> None:
    make_samsemo(tmp_path)
    assert (tmp_path / "samsemo.tsv").read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    loaded = samsemo.load(tmp_path)

    def wav(utt: str) -> Path:
        return tmp_path / "EN" / utt / "audio.wav"

    assert by_id(loaded.rows) == [
        row(
            "c9c9c9c9c9_0",
            wav("c9c9c9c9c9_0"),
            "sad",
            "sadness",
            "c9c9c9c9c9",
            split="dev",
            transcript="I lost it",
            language="KO",
            n_raters=3,
            agreement=1.0,
        ),
        row(
            "c9c9c9c9c9_1",
            wav("c9c9c9c9c9_1"),
            "happy",
            "happiness",
            "c9c9c9c9c9",
            gender="F",
            transcript="Great",
            language="EN",
            n_raters=2,
            agreement=1.0,
        ),
        row(
            "q7kd2m4xzp_3",
            wav("q7kd2m4xzp_3"),
            "angry",
            "anger",
            "q7kd2m4xzp",
            gender="M",
            split="train",
            transcript="Why, then, not us?",
            language="EN",
            n_raters=3,
            agreement=pytest.approx(2 / 3),
        ),
        row(
            "q7kd2m4xzp_5",
            wav("q7kd2m4xzp_5"),
            "neutral",
            "neutral",
            "q7kd2m4xzp",
            gender="F",
            split="test",
            transcript='Żółć, 한국어 and a "quoted" word',
            language="EN",
            n_raters=3,
            agreement=1.0,
        ),
    ]
    assert by_id(loaded.rejects) == [
        rej("b3n0xw91cd_0", "no majority label", None, "samsemo.tsv:4"),
        rej(
            "b3n0xw91cd_1", "multi-label happiness|surprise", "happiness|surprise", "samsemo.tsv:5"
        ),
        rej(
            "b3n0xw91cd_2",
            "label other emotions not in the 4 classes",
            "other emotions",
            "samsemo.tsv:6",
        ),
        rej(
            "c9c9c9c9c9_2",
            "no audio file at **/c9c9c9c9c9_2/audio.wav",
            "happiness",
            "samsemo.tsv:9",
        ),
    ]


def test_samsemo_missing_column(tmp_path: Path) -> None:
    make_samsemo(tmp_path)
    columns = tuple(c for c in samsemo.COLUMNS if c != "sex")
    write_samsemo_tsv(tmp_path / "samsemo.tsv", SAMSEMO_RECORDS, columns)
    with pytest.raises(ValueError, match=r"samsemo\.tsv has no column sex"):
        samsemo.load(tmp_path)


def test_samsemo_malformed_rows_are_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    make_samsemo(tmp_path)
    path = tmp_path / "samsemo.tsv"
    lines = path.read_text(encoding="utf-16").splitlines()
    lines[2] = lines[2].rsplit("\t", 3)[0]  # line 3 loses three fields
    lines[6] = lines[6].replace("sadness", "melancholy", 1)  # line 7: unknown annotator emotion
    lines[7] = "\t" + lines[7].split("\t", 1)[1]  # line 8: no utterance_id
    path.write_text("\n".join(lines) + "\n", encoding="utf-16")
    index, rejects, _ = index_corpus("SAMSEMO", tmp_path)  # the accounting check passes too
    assert index.column("utt_id").to_pylist() == ["q7kd2m4xzp_3"]
    malformed = [r for r in rejects.to_pylist() if r["reason"].startswith("malformed")]
    assert sorted(malformed, key=lambda r: r["source"]) == [
        rej("q7kd2m4xzp_5", "malformed line (29 fields, the header has 32)", None, "samsemo.tsv:3"),
        rej("c9c9c9c9c9_0", "malformed annotator 1 emotion 'melancholy'", None, "samsemo.tsv:7"),
        rej(None, "malformed row (empty utterance_id)", None, "samsemo.tsv:8"),
    ]


def test_samsemo_splits_grouped_by_video(tmp_path: Path) -> None:
    make_samsemo(tmp_path)
    official, _, _ = index_corpus("SAMSEMO", tmp_path)
    grouped, _, _ = index_corpus("SAMSEMO", tmp_path, splits="speaker")
    split_of = dict(zip(*grouped.select(["utt_id", "split"]).to_pydict().values(), strict=True))
    # q7kd2m4xzp_3 (train) and q7kd2m4xzp_5 (test) share their video: now in one split
    assert split_of["q7kd2m4xzp_3"] == split_of["q7kd2m4xzp_5"] is not None
    assert split_of["c9c9c9c9c9_1"] is None  # in no official split: stays in none
    assert official.column("split").null_count == grouped.column("split").null_count
    assert index_metadata(grouped.schema)["variant"] == "standard + splits grouped by speaker"
    with pytest.raises(ValueError, match="splits must be one of official, speaker"):
        index_corpus("SAMSEMO", tmp_path, splits="video")


def test_group_by_speaker_keeps_split_sizes_and_separates_speakers() -> None:
    rng = np.random.default_rng(3)
    rows = [
        {"speaker": f"v{rng.integers(60)}", "split": str(rng.choice(["train", "dev", "test"]))}
        for _ in range(600)
    ] + [{"speaker": "v0", "split": None}]
    official = Counter(r["split"] for r in rows)
    group_by_speaker(rows, "SAMSEMO")
    splits_of: dict[str, set] = {}
    for r in rows[:-1]:
        splits_of.setdefault(r["speaker"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits_of.values())
    assert rows[-1]["split"] is None
    grouped = Counter(r["split"] for r in rows)
    assert grouped[None] == 1 and set(grouped) == set(official)
    for name in ("train", "dev", "test"):  # within one speaker's share (about 10 rows)
        assert abs(grouped[name] - official[name]) <= 25, (name, grouped, official)
    again = [dict(r) for r in rows]
    group_by_speaker(again, "SAMSEMO")
    assert again == rows  # a fixed assignment: regrouping grouped splits changes nothing


def test_samsemo_missing_label_file(tmp_path: Path) -> None:
    make_samsemo(tmp_path)
    (tmp_path / "samsemo.tsv").unlink()
    with pytest.raises(FileNotFoundError, match=r"samsemo\.tsv"):
        samsemo.load(tmp_path)


# ---------------------------------------------------------------------------------------------
# Registry: index_corpus on every fixture

MAKERS = {
    "IEMO": (make_iemo, 9),
    "MSPI": (make_mspi, 7),
    "MSPP": (make_mspp, 12),
    "CMUMOSEI": (make_cmumosei, 10),
    "SAMSEMO": (make_samsemo, 8),
}


def test_registry_specs() -> None:
    assert set(MAKERS) <= set(CORPORA)  # the others: test_loaders_acted.py, test_loaders_more.py
    assert CORPORA["IEMO"].vad_scale == (1.0, 5.0) and CORPORA["IEMO"].has_transcripts
    assert CORPORA["MSPI"].vad_scale == (1.0, 5.0) and not CORPORA["MSPI"].has_transcripts
    assert CORPORA["MSPP"].vad_scale == (1.0, 7.0) and CORPORA["MSPP"].has_transcripts
    assert CORPORA["CMUMOSEI"].vad_scale is None and CORPORA["CMUMOSEI"].has_transcripts
    assert CORPORA["SAMSEMO"].vad_scale is None and CORPORA["SAMSEMO"].has_transcripts


@pytest.mark.parametrize("name", list(MAKERS))
def test_index_corpus_tables(tmp_path: Path, name: str) -> None:
    make, total = MAKERS[name]
    root = tmp_path / name
    root.mkdir()
    make(root)
    index, rejects, _ = index_corpus(name, root)
    assert index.schema == INDEX_SCHEMA
    assert rejects.schema == REJECTS_SCHEMA
    assert index.num_rows + rejects.num_rows == total
    assert index.num_rows > 0 and rejects.num_rows > 0
    assert set(index.column("corpus").to_pylist()) == {name}
    assert set(index.column("label").to_pylist()) <= {"neutral", "happy", "sad", "angry"}
    ids = index.column("utt_id").to_pylist()
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in index["audio_path"].to_pylist())
    # Annotation columns: null where the loader has no such information (to_tables fills them).
    stats_columns = ("condition", "n_raters", "agreement", "vad_spread")
    samsemo_filled = ("language", "n_raters", "agreement")
    filled = {"IEMO": stats_columns, "MSPI": stats_columns, "SAMSEMO": samsemo_filled}
    for column in ANNOTATION:
        nulls = index.column(column).null_count
        if column in filled.get(name, ()):
            assert nulls < index.num_rows, column
        else:
            assert nulls == index.num_rows, column


def test_index_corpus_relative_root_gives_absolute_paths(tmp_path, monkeypatch) -> None:
    make_mspi(tmp_path / "mspi")
    monkeypatch.chdir(tmp_path)
    index, _, _ = index_corpus("MSPI", "mspi")
    assert all(Path(p).is_absolute() for p in index["audio_path"].to_pylist())


def test_index_corpus_missing_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        index_corpus("IEMO", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown corpus"):
        index_corpus("NOPE", tmp_path)


# ---------------------------------------------------------------------------------------------
# Byte-order marks: a UTF-8 BOM (as Windows editors write) changes nothing


def _with_bom(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


@pytest.mark.parametrize(
    ("name", "text_file"),
    [
        ("IEMO", IEMO_S1_SRC),
        ("IEMO", "Session1/dialog/transcriptions/Ses01F_impro01.txt"),
        ("MSPI", "Evalution.txt"),
        ("MSPP", "Labels/labels_consensus.csv"),
        ("MSPP", "Transcripts/MSP-PODCAST_0001_0008.txt"),
        ("CMUMOSEI", f"{MOSEI_TRANS_DIR}/{VID_A}.txt"),
    ],
)
def test_a_byte_order_mark_changes_nothing(tmp_path: Path, name: str, text_file: str) -> None:
    make, _ = MAKERS[name]
    for copy in ("plain", "bom"):
        (tmp_path / copy).mkdir()
        make(tmp_path / copy)
    _with_bom(tmp_path / "bom" / text_file)
    plain, with_bom = (index_corpus(name, tmp_path / c) for c in ("plain", "bom"))
    for a, b in zip(plain, with_bom, strict=True):
        b_rows = [str(r).replace(str(tmp_path / "bom"), "ROOT") for r in b.to_pylist()]
        assert b_rows == [str(r).replace(str(tmp_path / "plain"), "ROOT") for r in a.to_pylist()]


def test_iemo_bom_before_the_first_summary_line_keeps_its_utterance(tmp_path: Path) -> None:
    make_iemo(tmp_path)
    path = tmp_path / IEMO_S1_SRC
    path.write_text("\ufeff" + IEMO_S1_EVAL.removeprefix(IEMO_HEADER), encoding="utf-8")
    index, rejects, _ = index_corpus("IEMO", tmp_path)
    (first,) = [r for r in index.to_pylist() if r["utt_id"] == "Ses01F_impro01_F000"]
    assert (first["label"], first["n_raters"], first["transcript"]) == ("neutral", 1, "Excuse me.")
    assert not [r for r in rejects.to_pylist() if r["reason"].startswith("malformed")]


def test_transcripts_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    make_mspi(tmp_path / "mspi")
    tsv = tmp_path / "asr.tsv"
    tsv.write_text("\ufeffutt_id\ttranscript\nMSP-IMPROV-S01A-F01-S-FM01\thello\n", "utf-8")
    index, _, _ = index_corpus("MSPI", tmp_path / "mspi", transcripts=tsv)
    texts = dict(zip(index["utt_id"].to_pylist(), index["transcript"].to_pylist(), strict=True))
    assert texts["MSP-IMPROV-S01A-F01-S-FM01"] == "hello"


@pytest.mark.parametrize("name", list(MAKERS))
def test_every_loader_gets_the_audio_checks(tmp_path: Path, name: str) -> None:
    """Silence is rejected for every corpus, through index_corpus's shared check."""
    make, total = MAKERS[name]
    make(tmp_path)
    index, _, _ = index_corpus(name, tmp_path)
    first = index.to_pylist()[0]
    sf.write(first["audio_path"], np.zeros(sf.info(first["audio_path"]).frames), 16000)
    index, rejects, _ = index_corpus(name, tmp_path)
    reasons = {r["utt_id"]: r["reason"] for r in rejects.to_pylist()}
    if first["start_s"] is None:  # a whole file: only its utterance
        assert reasons[first["utt_id"]] == f"silent audio {first['audio_path']}"
    else:  # a CMU-MOSEI video: every segment in it
        assert f"silent audio {first['audio_path']}" in reasons.values()
    assert index.num_rows + rejects.num_rows == total
    assert first["utt_id"] not in index.column("utt_id").to_pylist()


# ---------------------------------------------------------------------------------------------
# Rated rows: rejected for their category, kept aside for dimensional_all_rated


def test_rated_rows_are_the_category_rejects_with_vad_and_audio(tmp_path: Path) -> None:
    """IEMO's fru with audio is rated; its xxx has no wav, so only its category reject exists;
    MSPP's six out-of-class and no-majority rows are rated, its N without audio is not; MSPI's
    O gets a wav here and is rated, its X has none. Rejects are unchanged by any of it."""
    make_iemo(tmp_path / "iemo")
    iemo = iemocap.load(tmp_path / "iemo")
    wav = tmp_path / "iemo/Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M001.wav"
    assert iemo.rated == [
        row(
            "Ses01F_impro01_M001",
            wav,
            None,
            "fru",
            "Ses01_M",
            gender="M",
            session=1,
            valence=2.5,
            arousal=3.5,
            dominance=3.5,
            transcript="Do you have your forms?",
            **stats("improvised", None, None, None),
        )
    ]
    make_mspi(tmp_path / "mspi")
    o_wav = tmp_path / "mspi/Audio/session4/S04A/S/MSP-IMPROV-S04A-F01-S-FM02.wav"
    write_wav(o_wav)
    mspi = mspimprov.load(tmp_path / "mspi")
    assert mspi.rated == [
        row(
            "MSP-IMPROV-S04A-F01-S-FM02",
            o_wav,
            None,
            "O",
            "F01",
            gender="F",
            session=1,
            valence=3.0,
            arousal=3.0,
            dominance=3.0,
            **stats("S", 1, 1.0, None),
        )
    ]
    assert [r["utt_id"] for r in mspi.rejects][:2] == [
        "MSP-IMPROV-S04A-F01-S-FM02",
        "MSP-IMPROV-S05H-M01-P-MF04",
    ]
    make_mspp(tmp_path / "mspp")
    mspp = msppodcast.load(tmp_path / "mspp")
    assert by_id(mspp.rejects) == mspp_rejects(tmp_path / "mspp", "Labels/labels_consensus.csv")
    vad = {
        r["utt_id"]: (r["raw_label"], r["split"], r["valence"], r["arousal"]) for r in mspp.rated
    }
    assert vad == {
        "MSP-PODCAST_0200_0002": ("U", "test2", 4.0, 5.0),
        "MSP-PODCAST_0200_0003": ("F", "test2", 2.0, 4.5),
        "MSP-PODCAST_0200_0004": ("D", "test2", 2.0, 4.0),
        "MSP-PODCAST_0200_0005": ("C", "test2", 2.5, 3.5),
        "MSP-PODCAST_0200_0006": ("O", "test2", 3.0, 3.0),
        "MSP-PODCAST_2210_0047": ("X", "dev", 3.857143, 4.0),
    }
    assert all(r["label"] is None for r in mspp.rated)


def test_index_corpus_rated_table(tmp_path: Path) -> None:
    """The rated table holds the rated rows that pass the audio check, in RATED_SCHEMA with a
    null label; the footer counts them and those left out for their audio; corpora without
    V/A/D give an empty table and no footer entry."""
    make_mspp(tmp_path / "mspp")
    silent = tmp_path / "mspp/Audios/MSP-PODCAST_0200_0006.wav"
    sf.write(silent, np.zeros(16000), 16000, subtype="PCM_16")
    index, rejects, rated = index_corpus("MSPP", tmp_path / "mspp")
    assert rated.schema == RATED_SCHEMA
    assert rated.column("utt_id").to_pylist() == [
        "MSP-PODCAST_0200_0002",
        "MSP-PODCAST_0200_0003",
        "MSP-PODCAST_0200_0004",
        "MSP-PODCAST_0200_0005",
        "MSP-PODCAST_2210_0047",
    ]
    assert rated.column("label").null_count == rated.num_rows
    assert set(rated.column("corpus").to_pylist()) == {"MSPP"}
    assert rated.column("sample_rate").to_pylist() == [16000] * 5
    assert not set(rated.column("utt_id").to_pylist()) & set(index.column("utt_id").to_pylist())
    assert set(rated.column("utt_id").to_pylist()) < set(rejects.column("utt_id").to_pylist())
    assert index_metadata(index.schema)["rated"] == {"kept": 5, "audio_failed": 1}
    (tmp_path / "mosei").mkdir()
    make_cmumosei(tmp_path / "mosei")
    index, _, rated = index_corpus("CMUMOSEI", tmp_path / "mosei")
    assert rated.num_rows == 0 and rated.schema == RATED_SCHEMA
    assert "rated" not in index_metadata(index.schema)


def test_rated_rows_follow_their_speakers_regrouped_split(tmp_path: Path) -> None:
    """Under splits: speaker a rated row takes the split its speaker was regrouped into; a
    speaker with no split in the index gets none."""
    make_mspp(tmp_path)
    index, _, rated = index_corpus("MSPP", tmp_path, splits="speaker")
    placed = dict(zip(index["speaker"].to_pylist(), index["split"].to_pylist(), strict=True))
    for speaker, split in zip(
        rated["speaker"].to_pylist(), rated["split"].to_pylist(), strict=True
    ):
        assert split == placed.get(speaker), speaker
    assert "unknown:MSP-PODCAST_2210_0047" not in placed
    assert rated.filter(pc.field("speaker") == "88")["split"].to_pylist() == [placed["88"]] * 5

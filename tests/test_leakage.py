import numpy as np
import pyarrow as pa
import pytest
import soundfile as sf

from xcorpus.audio import hash_utterances, signal_hash
from xcorpus.leakage import leakage_report, model_name, warnings
from xcorpus.tables import INDEX_SCHEMA, MANIFEST_SCHEMA

EGEMAPS = {"audio": {"name": "egemaps", "backend": "egemaps", "model": None}}
MINILM = {"text": {"name": "minilm", "backend": "minilm", "model": None}}


def tone(seed: int, seconds: float = 0.25, rate: int = 16000) -> np.ndarray:
    """16-bit samples: a lossless copy (WAV -> FLAC) keeps exactly these."""
    return np.random.default_rng(seed).integers(-16000, 16000, int(seconds * rate), np.int16)


class Corpora:
    """Tiny corpora of real audio files: each row (utt_id, speaker, session, seed, text)."""

    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.indexes, self.hashes = {}, {}

    def add(self, corpus: str, rows: list[tuple], fmt: str = "wav") -> None:
        records = []
        for utt_id, speaker, session, seed, text in rows:
            path = self.dir / corpus / f"{utt_id}.{fmt}"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, tone(seed), 16000, subtype="PCM_16")
            records.append(
                {name: None for name in INDEX_SCHEMA.names}
                | {
                    "utt_id": utt_id,
                    "corpus": corpus,
                    "audio_path": str(path),
                    "speaker": speaker,
                    "session": session,
                    "label": "neutral",
                    "raw_label": "neu",
                    "transcript": text,
                }
            )
        self.indexes[corpus] = pa.Table.from_pylist(records, schema=INDEX_SCHEMA)
        self.hashes[corpus] = hash_utterances(self.indexes[corpus])


def manifest(rows: list[tuple]) -> pa.Table:
    """rows: (utt_id, corpus, role, fold)."""
    keys = ("utt_id", "corpus", "role", "fold")
    return pa.Table.from_pylist([dict(zip(keys, r, strict=True)) for r in rows], MANIFEST_SCHEMA)


def experiment(train: list[str], test: list[str], **changes) -> dict:
    return {
        "name": "exp",
        "train_dataset": train,
        "test_datasets": test,
        "modality": "audio",
        "evaluation_mode": "cross_corpus",
    } | changes


def report(corpora, exp, rows, features=EGEMAPS, share=0.2) -> list[dict]:
    table = leakage_report(exp, manifest(rows), corpora.indexes, corpora.hashes, features, share)
    return table.to_pylist()


def of(rows: list[dict], check: str) -> list[dict]:
    return [r for r in rows if r["check"] == check]


def summary(rows: list[dict]) -> list[tuple]:
    return [(r["check"], r["corpus"], r["role"], r["other_corpus"], r["other_role"], r["count"])
            for r in rows]  # fmt: skip


@pytest.fixture
def corpora(tmp_path) -> Corpora:
    """IEMO (trained on) and MSPI, CMUMOSEI (tested), all different audio and text."""
    c = Corpora(tmp_path)
    c.add("IEMO", [("i1", "s1", 1, 1, "hello there"), ("i2", "s2", 1, 2, "good night"),
                   ("i3", "s3", 2, 3, "well then")])  # fmt: skip
    c.add("MSPI", [("m1", "a", 1, 11, "one"), ("m2", "b", 1, 12, "two")])
    c.add("CMUMOSEI", [("c1", "v1", None, 21, "three"), ("c2", "v2", None, 22, "four")])
    return c


CLEAN = [
    ("i1", "IEMO", "train", None), ("i2", "IEMO", "train", None), ("i3", "IEMO", "val", None),
    ("m1", "MSPI", "test", None), ("m2", "MSPI", "test", None),
    ("c1", "CMUMOSEI", "test", None), ("c2", "CMUMOSEI", "test", None),
]  # fmt: skip


def test_a_clean_experiment_gets_a_zero_row_per_check(corpora):
    exp = experiment(["IEMO"], ["MSPI", "CMUMOSEI"], modality="both")
    rows = report(corpora, exp, CLEAN, EGEMAPS | MINILM)
    assert [(r["check"], r["fold"], r["count"], r["message"]) for r in rows] == [
        ("speaker_overlap", None, 0, "no speaker is in two roles of one corpus"),
        ("same_audio", None, 0, "no evaluated utterance has the decoded audio of a seen one"),
        ("same_audio_between_tests", None, 0,
         "no test utterance's audio is tested again in another corpus"),
        ("same_transcript", None, 0, "no evaluated utterance has the transcript of a seen one"),
        ("pretrained_on", None, 0,
         "no evaluated corpus is in the training data of its feature models"),
    ]  # fmt: skip
    assert warnings(leakage_report(exp, manifest(CLEAN), corpora.indexes, corpora.hashes,
                                   EGEMAPS | MINILM, 0.2), "exp") == []  # fmt: skip


def test_a_speaker_in_train_and_in_corpus_test_is_one_row(corpora):
    rows = [r if r[0] != "i3" else ("i3", "IEMO", "heldout", None) for r in CLEAN]
    rows.append(("i4", "IEMO", "heldout", None))
    corpora.add("IEMO", [("i1", "s1", 1, 1, "a"), ("i2", "s2", 1, 2, "b"),
                         ("i3", "s3", 2, 3, "c"), ("i4", "s2", 2, 4, "d")])  # fmt: skip
    found = of(report(corpora, experiment(["IEMO"], ["MSPI", "CMUMOSEI"]), rows), "speaker_overlap")
    assert found == [
        {
            "check": "speaker_overlap",
            "fold": None,
            "corpus": "IEMO",
            "role": "heldout",
            "other_corpus": "IEMO",
            "other_role": "train",
            "count": 1,
            "examples": "s2",
            "message": "1 speaker(s) of IEMO are in both train and heldout",
        }
    ]


def test_a_corpus_copied_under_another_name_and_format_is_found(corpora):
    """MSPI's m2 is IEMO's i1 again (a FLAC file at another path); CMUMOSEI's c2 is MSPI's m1."""
    corpora.add("MSPI", [("m1", "a", 1, 11, "one"), ("m2", "b", 1, 1, "two")], fmt="flac")
    corpora.add("CMUMOSEI", [("c1", "v1", None, 21, "three"), ("c2", "v2", None, 11, "four")])
    assert corpora.hashes["MSPI"]["hash"][1] == corpora.hashes["IEMO"]["hash"][0]
    exp = experiment(["IEMO"], ["MSPI", "CMUMOSEI"])
    rows = report(corpora, exp, CLEAN)
    assert summary(of(rows, "same_audio")) == [("same_audio", "MSPI", "test", "IEMO", "train", 1)]
    assert of(rows, "same_audio")[0]["examples"] == "m2"
    assert of(rows, "same_audio")[0]["message"] == (
        "1 test utterance(s) of MSPI have the decoded audio of train utterance(s) of IEMO"
    )
    assert summary(of(rows, "same_audio_between_tests")) == [
        ("same_audio_between_tests", "CMUMOSEI", "test", "MSPI", "test", 1)
    ]
    table = leakage_report(exp, manifest(CLEAN), corpora.indexes, corpora.hashes, EGEMAPS, 0.2)
    assert warnings(table, "exp") == [
        "warning: exp: 1 test utterance(s) of MSPI have the decoded audio of train utterance(s) "
        "of IEMO",
        "warning: exp: 1 test utterance(s) of CMUMOSEI have the decoded audio of test "
        "utterance(s) of MSPI",
    ]


def test_shared_transcripts_are_found_for_text_models_only(corpora):
    corpora.add("MSPI", [("m1", "a", 1, 11, "  Hello,   THERE! "), ("m2", "b", 1, 12, "two")])
    text = of(report(corpora, experiment(["IEMO"], ["MSPI", "CMUMOSEI"], modality="text"),
                     CLEAN, MINILM), "same_transcript")  # fmt: skip
    assert summary(text) == [("same_transcript", "MSPI", "test", "IEMO", "train", 1)]
    assert text[0]["examples"] == "m1"
    assert text[0]["message"] == (
        "1 test utterance(s) of MSPI have the transcript of train utterance(s) of IEMO; "
        "most often 'hello there' (1x)"
    )
    audio = of(report(corpora, experiment(["IEMO"], ["MSPI", "CMUMOSEI"]), CLEAN),
               "same_transcript")  # fmt: skip
    assert [(r["count"], r["message"]) for r in audio] == [
        (None, "not checked: modality audio: the model reads no transcript")
    ]


def test_a_test_corpus_named_in_the_feature_models_card_is_a_warning(corpora):
    e2v = {"audio": {"name": "e2v", "backend": "emotion2vec", "model": "/models/emotion2vec_base/"}}
    exp = experiment(["IEMO"], ["MSPI", "CMUMOSEI"])
    table = leakage_report(exp, manifest(CLEAN), corpora.indexes, corpora.hashes, e2v, 0.2)
    found = of(table.to_pylist(), "pretrained_on")
    # IEMO's validation (its in-corpus figure) and CMU-MOSEI's test; MSP-IMPROV is not in Table 1.
    assert summary(found) == [
        ("pretrained_on", "IEMO", "val", None, None, 1),
        ("pretrained_on", "CMUMOSEI", "test", None, None, 2),
    ]
    assert found[1]["message"] == (
        "audio features e2v (emotion2vec /models/emotion2vec_base/) were trained on CMUMOSEI "
        "(self-supervised pre-training on their audio; arXiv:2312.15185 Table 1), and 2 test "
        "utterance(s) of CMUMOSEI are evaluated"
    )
    assert f"warning: exp: {found[1]['message']}" in warnings(table, "exp")
    plus = {"audio": e2v["audio"] | {"model": "iic/emotion2vec_plus_large"}}
    found = of(report(corpora, exp, CLEAN, plus), "pretrained_on")
    assert summary(found) == [("pretrained_on", "IEMO", "val", None, None, 1)]
    assert " may have been trained on IEMO " in found[0]["message"]


def test_an_unknown_feature_model_is_not_checked_not_clean(corpora):
    wavlm = {"audio": {"name": "wavlm", "backend": "hf_audio", "model": "/models/my-wavlm"}}
    found = of(report(corpora, experiment(["IEMO"], ["MSPI", "CMUMOSEI"]), CLEAN, wavlm),
               "pretrained_on")  # fmt: skip
    assert [r["count"] for r in found] == [None]
    assert found[0]["message"].startswith(
        "not checked: audio features wavlm (hf_audio /models/my-wavlm): what this model was "
        "trained on is not recorded here (known: emotion2vec_base, "
    )


def test_loso_folds_are_checked_with_the_roles_of_each_fold(corpora):
    """IEMOCAP-like: sessions with their own speakers, a scripted line read in both sessions."""
    corpora.add("IEMO", [("i1", "s1", 1, 1, "the script"), ("i2", "s2", 1, 2, "good night"),
                         ("i3", "s3", 2, 3, "The script"), ("i4", "s4", 2, 4, "well")])  # fmt: skip
    rows = [(u, "IEMO", "train", s) for u, s in (("i1", 1), ("i2", 1), ("i3", 2), ("i4", 2))]
    exp = experiment(["IEMO"], ["MSPI"], modality="text", evaluation_mode="loso")
    found = report(corpora, exp, rows, MINILM, share=0.5)
    assert {r["fold"] for r in found} == {1, 2}  # no cross-corpus partition, MSPI not read
    assert [r["count"] for r in of(found, "speaker_overlap")] == [0, 0]
    text = [r for r in of(found, "same_transcript") if r["count"]]
    # Each fold tests one session; the other session's line trains (or validates) the model.
    assert [(r["fold"], r["corpus"], r["role"], r["count"]) for r in text] == [
        (1, "IEMO", "heldout", 1),
        (2, "IEMO", "heldout", 1),
    ]
    assert {r["other_role"] for r in text} <= {"train", "val"}


def test_a_manifest_utterance_without_a_hash_is_an_error(corpora):
    corpora.hashes["MSPI"] = corpora.hashes["MSPI"].slice(0, 1)
    with pytest.raises(ValueError, match=r"^manifest utterance m2 of MSPI has no audio hash$"):
        report(corpora, experiment(["IEMO"], ["MSPI", "CMUMOSEI"]), CLEAN)


def test_hashes_are_of_the_decoded_segment(tmp_path):
    signal = tone(5, seconds=1.0)
    sf.write(tmp_path / "long.wav", signal, 16000, subtype="PCM_16")
    sf.write(tmp_path / "part.flac", signal[4000:8000], 16000, subtype="PCM_16")
    index = pa.Table.from_pylist(
        [
            {"utt_id": "seg", "audio_path": str(tmp_path / "long.wav"), "start_s": 0.25,
             "end_s": 0.5},
            {"utt_id": "file", "audio_path": str(tmp_path / "part.flac"), "start_s": None,
             "end_s": None},
        ]
    )  # fmt: skip
    hashes = hash_utterances(index)["hash"].to_pylist()
    assert hashes[0] == hashes[1] != signal_hash(np.zeros(4000, np.float32))
    assert len(hashes[0]) == 32


def test_model_names_from_directories_and_hub_ids():
    assert model_name("iic/emotion2vec_plus_large") == "emotion2vec_plus_large"
    assert model_name("/models/Emotion2vec_Base/") == "emotion2vec_base"


def test_a_corpus_without_transcripts_is_checked_like_the_others(corpora):
    """SAVEE ships no transcripts: its column is all null, which must not stop the report."""
    corpora.add("MSPI", [("m1", "a", 1, 11, None), ("m2", "b", 1, 12, None)])
    rows = report(corpora, experiment(["IEMO"], ["MSPI", "CMUMOSEI"]), CLEAN)
    assert [(r["check"], r["count"]) for r in rows if r["check"] != "same_transcript"] == [
        ("speaker_overlap", 0), ("same_audio", 0), ("same_audio_between_tests", 0),
        ("pretrained_on", 0),
    ]  # fmt: skip

import numpy as np
import pyarrow as pa
import pytest

from xcorpus.manifest import build_manifest, loso_roles, validation_speakers
from xcorpus.tables import DIFFICULTY_SCHEMA, INDEX_SCHEMA


def index(corpus: str, rows: list[tuple]) -> pa.Table:
    """rows: (utt_id, speaker, split, transcript)."""
    base = {name: None for name in INDEX_SCHEMA.names}
    records = [
        base
        | {
            "utt_id": u,
            "corpus": corpus,
            "audio_path": f"{u}.wav",
            "speaker": spk,
            "split": split,
            "label": "neutral",
            "raw_label": "N",
            "transcript": text,
        }
        for u, spk, split, text in rows
    ]
    return pa.Table.from_pylist(records, schema=INDEX_SCHEMA)


def scores(table: pa.Table) -> pa.Table:
    ids = table.column("utt_id").to_pylist()
    return pa.Table.from_pylist(
        [{"utt_id": u, "vad_norm": [3.0, 3.0, 3.0], "difficulty": 0.5} for u in ids],
        schema=DIFFICULTY_SCHEMA,
    )


IEMO = index("IEMO", [(f"i{k}", f"spk{k % 10}", None, "hello") for k in range(40)])
MSPP = index(
    "MSPP",
    [("p1", "1", "train", "a"), ("p2", "2", "dev", "b"), ("p3", "3", "test1", "c")],
)
SAM = index("SAMSEMO", [("s1", "v1", "train", "x"), ("s2", "v2", "test", "")])


def experiment(**changes) -> dict:
    return {
        "train_dataset": ["IEMO", "MSPP"],
        "test_datasets": ["SAMSEMO"],
        "modality": "audio",
        "use_curriculum_learning": True,
        "curriculum_type": "difficulty",
        "evaluation_mode": "cross_corpus",
    } | changes


def roles(manifest: pa.Table) -> dict[str, str]:
    return dict(zip(manifest["utt_id"].to_pylist(), manifest["role"].to_pylist(), strict=True))


def test_validation_is_held_out_speakers_not_utterances():
    manifest, rejects = build_manifest(
        experiment(),
        {"IEMO": IEMO, "MSPP": MSPP, "SAMSEMO": SAM},
        0.2,
        {"IEMO": scores(IEMO), "MSPP": scores(MSPP)},
    )
    got = roles(manifest)
    speaker = dict(zip(IEMO["utt_id"].to_pylist(), IEMO["speaker"].to_pylist(), strict=True))
    val_speakers = {speaker[u] for u in speaker if got[u] == "val"}
    train_speakers = {speaker[u] for u in speaker if got[u] == "train"}
    assert len(val_speakers) == 2 and not val_speakers & train_speakers
    # MSPP keeps its speaker-disjoint official partition; Test1 is its in-corpus test.
    assert (got["p1"], got["p2"], got["p3"]) == ("train", "val", "heldout")
    # Test corpora are tested in full, whatever their official split.
    assert (got["s1"], got["s2"]) == ("test", "test")
    assert len(rejects) == 0


def test_official_test_sharing_a_speaker_gives_no_in_corpus_test():
    mspp = index(
        "MSPP", [("p1", "1", "train", "a"), ("p2", "2", "dev", "b"), ("p3", "1", "test1", "c")]
    )
    manifest, _ = build_manifest(
        experiment(train_dataset=["MSPP"], use_curriculum_learning=False),
        {"MSPP": mspp, "SAMSEMO": SAM},
        0.5,
        {},
    )
    got = roles(manifest)
    assert "heldout" not in got.values()  # speaker 1 in train and test: held-out speakers instead
    assert {got["p1"], got["p3"]} == {got["p1"]}  # one speaker, one role


def test_loso_rows_carry_their_session_and_folds_hold_out_one_session():
    rows = [(f"u{k}", f"Ses0{k % 5 + 1}_{'FM'[k % 2]}", None, "t") for k in range(40)]
    iemo = index("IEMO", rows)
    sessions = [k % 5 + 1 for k in range(40)]
    iemo = iemo.set_column(
        iemo.schema.get_field_index("session"), "session", pa.array(sessions, pa.int32())
    )
    exp = experiment(train_dataset=["IEMO"], evaluation_mode="loso", use_curriculum_learning=False)
    manifest, rejects = build_manifest(exp, {"IEMO": iemo, "SAMSEMO": SAM}, 0.25, {})
    iemo_rows = [r for r in manifest.to_pylist() if r["corpus"] == "IEMO"]
    assert [r["fold"] for r in iemo_rows] == sessions and len(rejects) == 0
    speakers = np.array(iemo["speaker"].to_pylist())
    for fold in range(1, 6):
        fold_roles = loso_roles(speakers, np.array(sessions), fold, "IEMO", 0.25)
        assert set(speakers[fold_roles == "heldout"]) == {f"Ses0{fold}_F", f"Ses0{fold}_M"}
        val, train = set(speakers[fold_roles == "val"]), set(speakers[fold_roles == "train"])
        assert len(val) == 2 and not val & train and f"Ses0{fold}_F" not in val | train


def test_loso_rejects_rows_without_session():
    exp = experiment(train_dataset=["IEMO"], evaluation_mode="loso", use_curriculum_learning=False)
    _, rejects = build_manifest(exp, {"IEMO": IEMO, "SAMSEMO": SAM}, 0.2, {})
    assert set(rejects["reason"].to_pylist()) == {"no session (leave-one-session-out)"}
    assert len(rejects) == len(IEMO)


def test_validation_speakers_are_fixed_per_corpus():
    assert validation_speakers(IEMO, "IEMO", 0.2) == validation_speakers(IEMO, "IEMO", 0.2)
    assert len(validation_speakers(IEMO, "IEMO", 0.5)) == 5


def test_single_speaker_corpus_cannot_be_validated():
    one = index("X", [("a", "s", None, None)])
    with pytest.raises(ValueError, match="X: 1 speaker"):
        validation_speakers(one, "X", 0.2)


def test_text_modality_rejects_utterances_without_transcript():
    manifest, rejects = build_manifest(
        experiment(modality="both", use_curriculum_learning=False),
        {"IEMO": IEMO, "MSPP": MSPP, "SAMSEMO": SAM},
        0.2,
        {},
    )
    assert "s2" not in roles(manifest)
    assert rejects.to_pylist() == [
        {
            "utt_id": "s2",
            "raw_label": "N",
            "reason": "no transcript (modality both)",
            "source": "SAMSEMO",
        }
    ]


def test_training_utterance_without_difficulty_is_rejected():
    indexes = {"IEMO": IEMO, "MSPP": MSPP, "SAMSEMO": SAM}
    plain = roles(build_manifest(experiment(use_curriculum_learning=False), indexes, 0.2, {})[0])
    first_train = next(u for u in IEMO["utt_id"].to_pylist() if plain[u] == "train")
    first_val = next(u for u in IEMO["utt_id"].to_pylist() if plain[u] == "val")
    unscored = pa.compute.is_in(IEMO["utt_id"], pa.array([first_train, first_val]))
    partial = scores(IEMO.filter(pa.compute.invert(unscored)))
    manifest, rejects = build_manifest(
        experiment(), indexes, 0.2, {"IEMO": partial, "MSPP": scores(MSPP)}
    )
    # A training utterance without difficulty cannot enter the curriculum; validation needs none.
    assert rejects["utt_id"].to_pylist() == [first_train]
    assert rejects["reason"].to_pylist() == ["no difficulty score (difficulty curriculum)"]
    assert roles(manifest)[first_val] == "val"

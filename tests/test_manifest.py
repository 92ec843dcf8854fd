import numpy as np
import pyarrow as pa
import pytest
from conftest import index_table

from xcorpus.manifest import build_manifest, held_out_speakers, loso_roles, validation_speakers
from xcorpus.tables import RATED_SCHEMA


def index(corpus: str, rows: list[tuple]) -> pa.Table:
    """rows: (utt_id, speaker, split, transcript)."""
    keys = ("utt_id", "speaker", "split", "transcript")
    records = [dict(zip(keys, row, strict=True)) | {"raw_label": "N"} for row in rows]
    return index_table(corpus, records)


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


def speakers_by_role(manifest: pa.Table, corpus_index: pa.Table) -> dict[str, set[str]]:
    got = roles(manifest)
    speaker = dict(
        zip(corpus_index["utt_id"].to_pylist(), corpus_index["speaker"].to_pylist(), strict=True)
    )
    by_role: dict[str, set[str]] = {}
    for utt, spk in speaker.items():
        by_role.setdefault(got[utt], set()).add(spk)
    return by_role


def test_validation_and_in_corpus_test_are_held_out_speakers_not_utterances():
    manifest, rejects = build_manifest(
        experiment(), {"IEMO": IEMO, "MSPP": MSPP, "SAMSEMO": SAM}, 0.2, 0.3
    )
    got = roles(manifest)
    by_role = speakers_by_role(manifest, IEMO)
    # IEMO has no official partition: 3 test speakers (0.3), then 2 validation speakers (0.2).
    assert {role: len(s) for role, s in by_role.items()} == {"heldout": 3, "val": 2, "train": 5}
    assert not (by_role["heldout"] & by_role["val"] or by_role["train"] & by_role["val"])
    assert not by_role["train"] & by_role["heldout"]
    # MSPP keeps its speaker-disjoint official partition; Test1 is its in-corpus test.
    assert (got["p1"], got["p2"], got["p3"]) == ("train", "val", "heldout")
    # Test corpora are tested in full, whatever their official split.
    assert (got["s1"], got["s2"]) == ("test", "test")
    assert len(rejects) == 0


def test_in_corpus_test_speakers_are_the_same_for_every_experiment():
    alone = build_manifest(
        experiment(train_dataset=["IEMO"]), {"IEMO": IEMO, "SAMSEMO": SAM}, 0.2, 0.2
    )
    pooled = build_manifest(experiment(), {"IEMO": IEMO, "MSPP": MSPP, "SAMSEMO": SAM}, 0.2, 0.2)
    assert speakers_by_role(alone[0], IEMO) == speakers_by_role(pooled[0], IEMO)


def test_official_partition_sharing_a_speaker_is_refused_not_dissolved():
    # Speaker 1 of the training split also speaks in dev: Test1 must never become training data.
    mspp = index(
        "MSPP",
        [("p1", "1", "train", "a"), ("p2", "1", "dev", "b"), ("p3", "3", "test1", "c"),
         ("p4", "4", "test2", "d"), ("p5", "5", "train", "e")],
    )  # fmt: skip
    with pytest.raises(ValueError) as error:
        build_manifest(experiment(train_dataset=["MSPP"]), {"MSPP": mspp, "SAMSEMO": SAM}, 0.2, 0.2)
    assert str(error.value) == (
        "MSPP: its official partition is not speaker-disjoint: 1 speaker(s) in two splits "
        "(1 in dev and train); the official test split would meet its speakers in training or "
        "validation. Set corpora.MSPP.splits: speaker to regroup the splits by speaker"
    )


def test_official_partition_without_a_test_split_draws_test_speakers_from_train():
    rows = [(f"p{k}", str(k % 10), "train", "a") for k in range(40)] + [("d1", "99", "dev", "b")]
    manifest, _ = build_manifest(
        experiment(train_dataset=["MSPP"]), {"MSPP": index("MSPP", rows), "SAMSEMO": SAM}, 0.2, 0.2
    )
    got = roles(manifest)
    assert got["d1"] == "val"  # the official dev split stays validation
    assert {got[f"p{k}"] for k in range(40)} == {"train", "heldout"}


def test_held_out_speakers_leave_one_to_train_on():
    with pytest.raises(ValueError, match="X: 2 speaker"):
        held_out_speakers(["a", "b"], "X", [0.2, 0.2])
    test, val = held_out_speakers([f"s{k}" for k in range(10)], "X", [0.2, 0.3])
    assert (len(test), len(val)) == (2, 3) and not test & val


def test_loso_rows_carry_their_session_and_folds_hold_out_one_session():
    rows = [(f"u{k}", f"Ses0{k % 5 + 1}_{'FM'[k % 2]}", None, "t") for k in range(40)]
    iemo = index("IEMO", rows)
    sessions = [k % 5 + 1 for k in range(40)]
    iemo = iemo.set_column(
        iemo.schema.get_field_index("session"), "session", pa.array(sessions, pa.int32())
    )
    exp = experiment(train_dataset=["IEMO"], evaluation_mode="loso", use_curriculum_learning=False)
    manifest, rejects = build_manifest(exp, {"IEMO": iemo, "SAMSEMO": SAM}, 0.25, 0.2)
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
    _, rejects = build_manifest(exp, {"IEMO": IEMO, "SAMSEMO": SAM}, 0.2, 0.2)
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
        0.2,
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


def test_manifest_does_not_depend_on_the_curriculum():
    indexes = {"IEMO": IEMO, "MSPP": MSPP, "SAMSEMO": SAM}
    plain = build_manifest(experiment(use_curriculum_learning=False), indexes, 0.2, 0.2)
    curriculum = build_manifest(experiment(curriculum_type="difficulty"), indexes, 0.2, 0.2)
    assert plain[0].equals(curriculum[0]) and plain[1].equals(curriculum[1])


def rated_table(corpus: str, rows: list[tuple]) -> pa.Table:
    """rows: (utt_id, speaker, split) of a rated table (label null)."""
    keys = ("utt_id", "speaker", "split")
    records = [dict(zip(keys, row, strict=True)) | {"transcript": "t"} for row in rows]
    return (
        index_table(corpus, records)
        .drop_columns(["label"])
        .append_column("label", pa.nulls(len(records), pa.string()))
        .select(RATED_SCHEMA.names)
        .cast(RATED_SCHEMA)
    )


RATED = {
    "IEMO": rated_table("IEMO", [(f"r{k}", f"spk{k % 10}", None) for k in range(10)]),
    "MSPP": rated_table("MSPP", [("q1", "1", "train"), ("q3", "3", "test1"), ("q9", "9", None)]),
    "SAMSEMO": rated_table("SAMSEMO", [("t1", "v9", "train")]),
}
INDEXES = {"IEMO": IEMO, "MSPP": MSPP, "SAMSEMO": SAM}


def test_rated_rows_take_their_speakers_roles_and_change_no_other_role():
    plain, _ = build_manifest(experiment(), INDEXES, 0.2, 0.3, rated=RATED)
    assert plain == build_manifest(experiment(), INDEXES, 0.2, 0.3)[0]  # only when asked
    exp = experiment(dimensional_all_rated=True, use_curriculum_learning=False)
    manifest, rejects = build_manifest(exp, INDEXES, 0.2, 0.3, rated=RATED)
    got = roles(manifest)
    assert {k: v for k, v in got.items() if k in roles(plain)} == roles(plain)
    by_speaker = {
        spk: got[utt]
        for utt, spk in zip(IEMO["utt_id"].to_pylist(), IEMO["speaker"].to_pylist(), strict=True)
    }
    assert {got[f"r{k}"] for k in range(10)} == {"train", "val", "heldout"}
    assert all(got[f"r{k}"] == by_speaker[f"spk{k}"] for k in range(10))
    # MSPP: official roles; q9 is outside the partition. SAMSEMO is a test corpus: in full.
    assert (got["q1"], got["q3"], "q9" in got, got["t1"]) == ("train", "heldout", False, "test")
    assert len(manifest) == len(plain) + 13 and len(rejects) == 0


def test_rated_rows_that_break_the_partition_are_refused():
    """A rated row of a Test1 speaker in the training split would carry a test speaker into
    training: refused, as for the index."""
    rated = {"MSPP": rated_table("MSPP", [("q1", "3", "train")])}
    exp = experiment(dimensional_all_rated=True, use_curriculum_learning=False)
    with pytest.raises(ValueError, match=r"MSPP: its official partition is not speaker-disjoint"):
        build_manifest(exp, INDEXES, 0.2, 0.3, rated=rated)

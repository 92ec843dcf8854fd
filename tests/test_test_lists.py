import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import index_table

from xcorpus.config import ConfigError, check_test_lists
from xcorpus.corpora.test_lists import (
    EMOBOX_FILES,
    list_path,
    listed_ids,
    read_list,
    read_test_lists,
)
from xcorpus.manifest import build_manifest


def index(corpus: str, rows: list[tuple]) -> pa.Table:
    """rows: (utt_id, label, speaker, split)."""
    keys = ("utt_id", "label", "speaker", "split")
    return index_table(corpus, [dict(zip(keys, row, strict=True)) for row in rows])


def write_list(path: Path, entries: list[tuple]) -> Path:
    lines = [
        json.dumps(dict(zip(("wav_filename", "label", "speaker"), e, strict=True))) for e in entries
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("corpus", list(EMOBOX_FILES))
def test_shipped_emobox_lists_are_balanced_240_utterance_sets(corpus):
    entries = read_list(list_path(corpus, "emobox"))
    assert len(entries) == 240
    assert Counter(e["label"] for e in entries) == dict.fromkeys(
        ("angry", "happy", "neutral", "sad"), 60
    )
    assert len({e["wav_filename"] for e in entries}) == 240


def test_iemocap_list_maps_file_stems_and_checks_labels():
    path = list_path("IEMO", "emobox")
    entries = read_list(path)
    rows = [(Path(e["wav_filename"]).stem, e["label"], e["speaker"], None) for e in entries]
    full = index("IEMO", [*rows, ("Ses01F_extra_F000", "sad", "01F", None)])
    ids, ambiguous = listed_ids("IEMO", path, full)
    assert ids == {r[0] for r in rows} and ambiguous == []
    assert "Ses02F_impro03_F019" in ids

    missing = index("IEMO", rows[1:])
    with pytest.raises(ValueError, match=rf"{path}:1: happy/Ses02F_impro03_F019.wav is utter"):
        listed_ids("IEMO", path, missing)
    relabelled = index("IEMO", [(rows[0][0], "sad", "02F", None), *rows[1:]])
    with pytest.raises(ValueError, match="labels Ses02F_impro03_F019 happy, the IEMO index sad"):
        listed_ids("IEMO", path, relabelled)


def test_savee_and_ravdess_ids(tmp_path):
    savee = write_list(
        tmp_path / "s.jsonl", [("JK/sa09.wav", "sad", "JK"), ("DC/n02.wav", "neutral", "DC")]
    )
    ids, _ = listed_ids(
        "SAVEE",
        savee,
        index("SAVEE", [("JK_sa09", "sad", "JK", None), ("DC_n02", "neutral", "DC", None)]),
    )
    assert ids == {"JK_sa09", "DC_n02"}
    ravdess = write_list(
        tmp_path / "r.jsonl", [("Actor_15/03-01-03-01-01-02-15.wav", "happy", "15")]
    )
    ids, _ = listed_ids(
        "RAVDESS", ravdess, index("RAVDESS", [("03-01-03-01-01-02-15", "happy", "15", None)])
    )
    assert ids == {"03-01-03-01-01-02-15"}


def test_meld_items_resolve_their_split_by_label_and_speaker(tmp_path):
    listed = write_list(
        tmp_path / "m.jsonl",
        [
            ("audio/dia5_utt8.wav", "angry", "Rachel"),
            ("audio/final_videos_testdia12_utt3.wav", "angry", "Ross"),
            ("audio/dia208_utt1.wav", "neutral", "Joey"),
        ],
    )
    meld = index(
        "MELD",
        [
            ("dev_dia5_utt8", "angry", "Rachel", "dev"),
            ("train_dia5_utt8", "happy", "Rachel", "train"),  # another label: not this item
            ("train_dia12_utt3", "angry", "Ross", "train"),  # not the test twin
            ("test_dia12_utt3", "angry", "Ross", "test"),
            ("train_dia208_utt1", "neutral", "Joey", "train"),
            ("test_dia208_utt1", "neutral", "Joey", "test"),
        ],
    )
    ids, ambiguous = listed_ids("MELD", listed, meld)
    assert ids == {"dev_dia5_utt8", "test_dia12_utt3"}
    assert ambiguous == ["audio/dia208_utt1.wav (test, train)"]


def test_malformed_and_repeated_entries_name_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"wav_filename": "a.wav", "label": "sad", "speaker": "x"}\n{oops\n')
    with pytest.raises(ValueError, match=rf"{bad}:2: not a JSON line"):
        read_list(bad)
    bad.write_text('{"wav_filename": "a.wav", "label": "sad"}\n')
    with pytest.raises(ValueError, match=rf"{bad}:1: needs string keys wav_filename, label"):
        read_list(bad)
    twice = write_list(tmp_path / "t.jsonl", [("x/a.wav", "sad", "s"), ("y/a.wav", "sad", "s")])
    with pytest.raises(ValueError, match="names a twice"):
        listed_ids("IEMO", twice, index("IEMO", [("a", "sad", "s", None)]))


def test_a_listed_test_corpus_is_tested_on_the_list_only_and_training_corpora_ignore_it(
    tmp_path,
):
    iemo = index("IEMO", [(f"i{k}", "sad", f"spk{k % 10}", None) for k in range(40)])
    savee = index("SAVEE", [(f"DC_sa{k:02d}", "sad", "DC", None) for k in range(1, 6)])
    listed = write_list(
        tmp_path / "s.jsonl", [("DC/sa02.wav", "sad", "DC"), ("DC/sa04.wav", "sad", "DC")]
    )
    lists = {"SAVEE": str(listed), "IEMO": str(listed)}
    experiment = {
        "train_dataset": ["IEMO"],
        "test_datasets": ["SAVEE"],
        "modality": "audio",
        "evaluation_mode": "cross_corpus",
    }
    indexes = {"IEMO": iemo, "SAVEE": savee}
    chosen = read_test_lists({"SAVEE": lists["SAVEE"]}, indexes)
    manifest, rejects = build_manifest(experiment, indexes, 0.2, 0.2, chosen | {"IEMO": set()})
    by_corpus = Counter(manifest.column("corpus").to_pylist())
    assert by_corpus == {"IEMO": 40, "SAVEE": 2} and rejects.num_rows == 0
    tested = [
        u
        for u, c in zip(*manifest.select(["utt_id", "corpus"]).to_pydict().values(), strict=True)
        if c == "SAVEE"
    ]
    assert tested == ["DC_sa02", "DC_sa04"]


def test_config_refuses_a_list_emobox_does_not_have_or_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="corpus MSPP: EmoBox has no track-2 test list for it"):
        check_test_lists({"MSPP": {"root": "r", "test_list": "emobox"}})
    with pytest.raises(ConfigError, match=r"corpus IEMO: test_list .*nope.jsonl is not a file"):
        check_test_lists({"IEMO": {"root": "r", "test_list": str(tmp_path / "nope.jsonl")}})
    check_test_lists({"IEMO": {"root": "r", "test_list": "emobox"}, "MSPP": {"root": "r"}})

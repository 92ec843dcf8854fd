"""index_corpus beyond the loaders: audio header checks, accounting, footer metadata, CLI."""

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from xcorpus.cli import main
from xcorpus.corpora import index_corpus
from xcorpus.corpora.base import Loaded, to_tables
from xcorpus.corpora.probe import check_audio
from xcorpus.tables import INDEX_SCHEMA, read_index_metadata, write_parquet

HEADER = "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set\n"


def write_wav(path: Path, frames: int = 1600, rate: int = 16000, channels: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros((frames, channels)), rate, subtype="PCM_16")


def make_mspp(root: Path, lines: list[str]) -> Path:
    """A MSP-Podcast layout whose label CSV holds `lines` (no audio written)."""
    (root / "Labels").mkdir(parents=True)
    (root / "Labels" / "labels_consensus.csv").write_text(HEADER + "".join(lines))
    (root / "Audios").mkdir()
    return root


def line(stem: str, code: str = "H", split: str = "Train") -> str:
    return f"{stem}.wav,{code},4,4,4,1,Female,{split}\n"


@pytest.fixture
def mspp(tmp_path: Path) -> Path:
    """Two good files (one 44.1 kHz stereo), one missing, one text, one empty, one X label."""
    stems = ["ok_mono", "ok_stereo", "missing", "text", "empty", "nomajority"]
    root = make_mspp(
        tmp_path / "mspp",
        [line(s, "X" if s == "nomajority" else "H", "Development" if s == "ok_stereo" else "Train")
         for s in stems],
    )  # fmt: skip
    audios = root / "Audios"
    write_wav(audios / "ok_mono.wav")
    write_wav(audios / "ok_stereo.wav", frames=4410, rate=44100, channels=2)
    (audios / "text.wav").write_text("not audio at all\n")
    write_wav(audios / "empty.wav", frames=0)
    return root


def test_audio_rejects_and_header_columns(mspp: Path) -> None:
    index, rejects = index_corpus("MSPP", mspp)
    rows = {r["utt_id"]: r for r in index.to_pylist()}
    assert set(rows) == {"ok_mono", "ok_stereo"}
    assert (rows["ok_mono"]["sample_rate"], rows["ok_mono"]["channels"]) == (16000, 1)
    assert (rows["ok_stereo"]["sample_rate"], rows["ok_stereo"]["channels"]) == (44100, 2)
    assert INDEX_SCHEMA.names.index("sample_rate") == INDEX_SCHEMA.names.index("end_s") + 1
    reasons = {r["utt_id"]: r for r in rejects.to_pylist()}
    audios = mspp / "Audios"
    assert reasons["missing"]["reason"] == f"no audio file at {audios / 'missing.wav'}"
    assert reasons["text"]["reason"].startswith(f"unreadable audio {audios / 'text.wav'}: ")
    assert reasons["text"]["raw_label"] == "H"
    assert reasons["text"]["source"] == "Labels/labels_consensus.csv:5"
    assert reasons["empty"]["reason"] == f"empty audio {audios / 'empty.wav'}"
    assert reasons["nomajority"]["reason"] == "no majority label"


def hand_row(utt_id: str, audio: Path, start_s: float | None = None) -> dict:
    return {
        "utt_id": utt_id,
        "audio_path": str(audio),
        "start_s": start_s,
        "end_s": None if start_s is None else start_s + 1.0,
        "speaker": "s1",
        "label": "happy",
        "raw_label": "hap",
    }


def hand_loaded(*rows: dict) -> Loaded:
    loaded = Loaded(rows=list(rows), entries=len(rows))
    for n, row in enumerate(rows):
        loaded.seen[row["utt_id"]] = f"labels.txt:{n + 1}"
    return loaded


def test_check_audio_missing_and_segment_past_end(tmp_path: Path) -> None:
    wav = tmp_path / "video.wav"
    write_wav(wav, frames=16000)  # 1 s
    loaded = hand_loaded(
        hand_row("seg0", wav, 0.5),
        hand_row("seg1", wav, 1.0),
        hand_row("gone", tmp_path / "gone.wav"),
    )
    check_audio(loaded)
    assert [r["utt_id"] for r in loaded.rows] == ["seg0"]
    assert {(r["utt_id"], r["reason"], r["source"]) for r in loaded.rejects} == {
        ("seg1", f"segment starts after the end of {wav}", "labels.txt:2"),
        ("gone", f"no audio file at {tmp_path / 'gone.wav'}", "labels.txt:3"),
    }


def test_accounting_names_lost_and_doubled_ids(tmp_path: Path) -> None:
    loaded = hand_loaded(hand_row("a", tmp_path / "a.wav"), hand_row("b", tmp_path / "b.wav"))
    loaded.duplicate("a", "hap", "labels.txt:9")  # a duplicate reject counts as placed
    loaded.entries += 1
    to_tables(loaded, "X")
    loaded.rows.pop()
    with pytest.raises(ValueError, match=r"missing b, doubled or never read none"):
        to_tables(loaded, "X")
    loaded.reject("a", "also rejected", "hap", "labels.txt:1")
    with pytest.raises(ValueError, match=r"missing b, doubled or never read a"):
        to_tables(loaded, "X")


def test_accounting_counts_the_entries_the_files_define(tmp_path: Path) -> None:
    """An entry lost before it had an id (a skipped line) fails the count, though every id
    the loader saw is placed."""
    loaded = hand_loaded(hand_row("a", tmp_path / "a.wav"))
    loaded.malformed("evaluator line outside a block", "labels.txt:5")
    loaded.entries += 2  # that line, and a summary line read but never placed
    with pytest.raises(ValueError, match=r"^X: kept 1 \+ rejected 1 != 3 entries in the label"):
        to_tables(loaded, "X")


def test_zero_usable_is_an_error(tmp_path: Path) -> None:
    root = make_mspp(tmp_path / "mspp", [line("a"), line("b", "X")])
    with pytest.raises(ValueError, match=rf"MSPP: no usable utterances under {root} \(2 rejected"):
        index_corpus("MSPP", root)


def test_metadata_round_trip(mspp: Path, tmp_path: Path) -> None:
    index, _ = index_corpus("MSPP", mspp)
    path = tmp_path / "out" / "MSPP.parquet"
    write_parquet(index, path, INDEX_SCHEMA)
    assert read_index_metadata(path) == {
        "corpus": "MSPP",
        "root": str(mspp),
        "variant": "Labels/labels_consensus.csv + Development",
        "kept": 2,
        "rejected": 4,
        "classes": {"happy": 2},
        "splits": {"dev": 1, "train": 1},
    }
    assert pq.read_table(path).num_rows == 2


def test_metadata_is_required_to_read(tmp_path: Path) -> None:
    path = tmp_path / "plain.parquet"
    write_parquet(INDEX_SCHEMA.empty_table(), path, INDEX_SCHEMA)
    with pytest.raises(ValueError, match="no index metadata"):
        read_index_metadata(path)


def test_cli_index_prints_summary(mspp: Path, tmp_path: Path, capsys) -> None:
    out, rejects = tmp_path / "MSPP.parquet", tmp_path / "MSPP.rejects.csv"
    main(["index", "MSPP", str(mspp), "--out", str(out), "--rejects", str(rejects)])
    printed = capsys.readouterr().out
    assert "MSPP: 2 utterances kept, 4 rejected" in printed
    assert "variant: Labels/labels_consensus.csv + Development" in printed
    assert "classes: happy 2" in printed
    assert "splits: dev 1, train 1" in printed
    assert "rejected 1: no majority label" in printed
    assert read_index_metadata(out)["kept"] == 2

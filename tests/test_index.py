"""index_corpus beyond the loaders: audio header checks, accounting, footer metadata, CLI."""

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from xcorpus.cli import main
from xcorpus.corpora.base import Loaded, to_tables
from xcorpus.corpora.indexing import index_corpus
from xcorpus.corpora.probe import check_audio
from xcorpus.tables import INDEX_SCHEMA, RATED_SCHEMA, read_index_metadata, write_parquet

HEADER = "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set\n"


def write_wav(
    path: Path, frames: int = 1600, rate: int = 16000, channels: int = 1, samples=None
) -> None:
    """Low noise (a usable recording) unless `samples` are given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if samples is None:
        samples = 0.01 * np.random.default_rng(0).standard_normal((frames, channels))
    sf.write(path, samples, rate, subtype="PCM_16")


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
    index, rejects, _ = index_corpus("MSPP", mspp)
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
        hand_row("seg0", wav, 0.0),
        hand_row("seg1", wav, 1.0),
        hand_row("gone", tmp_path / "gone.wav"),
    )
    check_audio(loaded)
    assert [r["utt_id"] for r in loaded.rows] == ["seg0"]
    assert {(r["utt_id"], r["reason"], r["source"]) for r in loaded.rejects} == {
        ("seg1", f"segment starts after the end of {wav}", "labels.txt:2"),
        ("gone", f"no audio file at {tmp_path / 'gone.wav'}", "labels.txt:3"),
    }


def test_truncated_silent_and_too_short_audio_are_rejected(tmp_path: Path) -> None:
    write_wav(tmp_path / "full.wav", frames=34560)
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "truncated.wav").write_bytes(data[: 44 + 34539])  # the header says 69120 bytes
    write_wav(tmp_path / "zeros.wav", samples=np.zeros(16000))
    left = (9000 * np.sin(np.linspace(0, 900, 16000))).astype(np.int16)
    write_wav(tmp_path / "cancels.wav", samples=np.stack([left, -left], axis=1))  # mono: 0
    write_wav(tmp_path / "five.wav", frames=5)
    write_wav(tmp_path / "ok.wav", frames=400)  # 25 ms, the shortest kept
    loaded = hand_loaded(
        *(hand_row(name, tmp_path / f"{name}.wav") for name in ("full", "truncated", "zeros"))
    )
    loaded.rows += [hand_row(n, tmp_path / f"{n}.wav") for n in ("cancels", "five", "ok")]
    check_audio(loaded)
    assert [r["utt_id"] for r in loaded.rows] == ["full", "ok"]
    declared = "its header declares 69120 bytes of audio data, the file holds 34539"
    assert {r["utt_id"]: r["reason"] for r in loaded.rejects} == {
        "truncated": f"truncated audio {tmp_path / 'truncated.wav'}: {declared}",
        "zeros": f"silent audio {tmp_path / 'zeros.wav'}",
        "cancels": f"silent audio {tmp_path / 'cancels.wav'}",
        "five": f"shorter than 25 ms (0.3 ms): {tmp_path / 'five.wav'}",
    }


def test_segments_are_checked_on_their_own_samples(tmp_path: Path) -> None:
    """A 2 s file, sound in its first second only."""
    wav = tmp_path / "video.wav"
    sound = 0.01 * np.random.default_rng(0).standard_normal(16000)
    write_wav(wav, samples=np.concatenate([sound, np.zeros(16000)]))
    segments = {
        "speech": (0.5, 1.5),
        "quiet": (1.2, 1.9),
        "tail": (1.5, 2.2),  # ends 0.2 s after the file: within tolerance, cut at its end
        "beyond": (1.0, 2.5),  # ends 0.5 s after the file
        "blip": (0.5, 0.51),
    }
    loaded = hand_loaded(*(hand_row(u, wav, start) for u, (start, _) in segments.items()))
    for row in loaded.rows:
        row["end_s"] = segments[row["utt_id"]][1]
    check_audio(loaded)
    assert [r["utt_id"] for r in loaded.rows] == ["speech"]
    assert {r["utt_id"]: r["reason"] for r in loaded.rejects} == {
        "quiet": f"silent audio {wav}",
        "tail": f"silent audio {wav}",
        "beyond": f"audio ends 0.500 s before the segment's end (2.5 s) in {wav}",
        "blip": f"shorter than 25 ms (10.0 ms): {wav}",
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
    index, _, _ = index_corpus("MSPP", mspp)
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


def test_cli_index_writes_the_rated_table(mspp: Path, tmp_path: Path, capsys) -> None:
    write_wav(mspp / "Audios" / "nomajority.wav")
    out, rated = tmp_path / "MSPP.parquet", tmp_path / "MSPP.rated.parquet"
    rejects = tmp_path / "MSPP.rejects.csv"
    paths = ["--out", str(out), "--rejects", str(rejects), "--rated", str(rated)]
    main(["index", "MSPP", str(mspp), *paths])
    printed = capsys.readouterr().out
    assert "rated on V/A/D among the rejected for their category: 1 " in printed
    table = pq.read_table(rated)
    assert table.schema == RATED_SCHEMA
    assert table.column("utt_id").to_pylist() == ["nomajority"]
    assert table.column("raw_label").to_pylist() == ["X"]
    assert table.column("label").to_pylist() == [None]

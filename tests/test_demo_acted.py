"""The demo generator writes the acted corpora (CREMAD, RAVDESS, SAVEE, TESS) in their native
layouts, which their loaders read (test_demo.py checks the indexed counts for every corpus)."""

import csv
import filecmp
import logging
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from xcorpus.corpora import cremad, ravdess, savee, tess
from xcorpus.corpora.demo import DemoSettings, generate, write_demo
from xcorpus.corpora.demo.acted import Takes
from xcorpus.corpora.demo.design import ACTED, Speaker
from xcorpus.corpora.indexing import index_corpus
from xcorpus.corpora.sources import fingerprint

SMALL = DemoSettings(seed=3, utterances=48)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("acted")
    for corpus in ACTED:
        write_demo(corpus, root / corpus, SMALL)
    return root


def wavs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.wav") if not p.name.startswith("._"))


def formats(paths: list[Path]) -> Counter:
    """(rate, channels, subtype) -> number of files."""
    return Counter((sf.info(p).samplerate, sf.info(p).channels, sf.info(p).subtype) for p in paths)


def test_cremad_layout(demo_root):
    root = demo_root / "CREMAD"
    files = wavs(root / "AudioWAV")
    assert all(cremad.NAME_RE.match(p.name) for p in files)
    assert formats(files) == {(16000, 1, "PCM_16"): len(files)}
    legacy = [p.stem for p in files if p.stem.endswith("_X")]
    assert len(legacy) == 1 and "_SAD_" in legacy[0]
    assert len(list((root / "AudioWAV").glob("._*.wav"))) == 1
    with (root / "SentenceFilenames.csv").open() as f:
        listed = [r["Filename"] for r in csv.DictReader(f)]
    current = sorted(p.stem + ("X" if p.stem.endswith("_X") else "") for p in files)
    assert sorted(listed) == current  # the table, like the release, names the current stems
    with (root / "processedResults" / "tabulatedVotes.csv").open() as f:
        votes = list(csv.DictReader(f))
    assert len(votes) == 3 * len(files)
    assert Counter(int(r[""]) // 100000 for r in votes) == {
        1: len(files),
        2: len(files),
        3: len(files),
    }
    for r in votes:
        counts = [int(r[letter]) for letter in "ADFHNS"]
        assert sum(counts) == int(r["numResponses"]) and 4 <= sum(counts) <= 12
        top = [letter for letter, n in zip("ADFHNS", counts, strict=True) if n == max(counts)]
        assert r["emoVote"] == ":".join(top)
    assert any(":" in r["emoVote"] for r in votes) and any(r["meanFearResp"] == "-1" for r in votes)
    with (root / "VideoDemographics.csv").open() as f:
        actors = {r["ActorID"]: r["Sex"] for r in csv.DictReader(f)}
    assert set(actors) == {p.name[:4] for p in files}
    assert set(actors.values()) <= {"Male", "Female"}


def test_ravdess_layout(demo_root):
    root = demo_root / "RAVDESS"
    speech, song = root / "Audio_Speech_Actors_01-24", root / "Audio_Song_Actors_01-24"
    files = wavs(root)
    assert all(
        ravdess.NAME_RE.match(p.name) and p.parent.name == f"Actor_{p.stem[-2:]}" for p in files
    )
    assert all(p.name[3:5] == "02" for p in wavs(song)) and wavs(song)
    assert formats(files) == {(48000, 1, "PCM_16"): len(files) - 1, (48000, 2, "PCM_16"): 1}
    kaggle = speech / "audio_speech_actors_01-24" / "Actor_01"
    copies = sorted(kaggle.iterdir())
    assert copies and all(
        filecmp.cmp(p, speech / "Actor_01" / p.name, shallow=False) for p in copies
    )
    takes = Counter((p.stem[-2:], p.stem[:8]) for p in wavs(speech) if kaggle not in p.parents)
    assert max(n for (_, take), n in takes.items() if take == "03-01-01") <= 4  # neutral takes


def test_savee_layout(demo_root):
    root = demo_root / "SAVEE" / "AudioData"
    files = wavs(root)
    assert {p.parent.name for p in files} == {"DC", "JE", "JK", "KL"}
    assert all(savee.FOLDER_RE.match(p.name) for p in files)
    assert formats(files) == {(44100, 1, "PCM_16"): len(files)}
    assert (root / "Info.txt").is_file() and list(root.glob("*/._*.wav"))


def test_tess_layout(demo_root):
    root = demo_root / "TESS" / "TESS"
    files = wavs(root)
    assert all(tess.NAME_RE.match(p.name) for p in files)
    assert formats(files) == {(24414, 1, "PCM_16"): len(files) - 1, (96000, 1, "PCM_16"): 1}
    (outlier,) = [p.name for p in files if sf.info(p).samplerate == 96000]
    assert outlier.endswith("_food_fear.wav")


@pytest.mark.parametrize("corpus", ACTED)
def test_loader_reads_the_demo_with_only_the_planted_quirks_ignored(demo_root, corpus, caplog):
    with caplog.at_level(logging.INFO, logger="xcorpus.corpora"):
        index, rejects, _ = index_corpus(corpus, demo_root / corpus)
    planned = generate(corpus, SMALL).utterances
    assert index.num_rows + rejects.num_rows == len(planned)
    assert not [r for r in rejects.to_pylist() if not r["reason"].startswith(("label ", "song"))]
    reasons = Counter(m.getMessage().split(": ")[-1].split(" of ")[0] for m in caplog.records)
    assert set(reasons) <= {"AppleDouble metadata file", "identical copy"}
    assert sorted(Counter(index.column("speaker").to_pylist())) == sorted(
        {u.speaker.name for u in planned if u.label is not None}
    )
    genders = dict(zip(*index.select(["speaker", "gender"]).to_pydict().values(), strict=True))
    assert genders == {u.speaker.name: u.speaker.gender for u in planned if u.label is not None}
    if corpus == "CREMAD":  # every clip has its voice votes, for the agreement difficulty
        assert index.column("agreement").null_count == 0


def test_takes_are_drawn_without_replacement_and_run_out_with_the_limit_named():
    takes = Takes("RAVDESS", np.random.default_rng(0))
    actor = Speaker("01", "M", 0, 120.0, 1.0, ())
    drawn = {takes.draw(actor, "speech 01", ["a", "b", "c", "d"]) for _ in range(4)}
    assert drawn == {"a", "b", "c", "d"}
    with pytest.raises(ValueError, match="speaker 01 has only 4 takes of speech 01"):
        takes.draw(actor, "speech 01", ["a", "b", "c", "d"])
    assert takes.draw(actor, "speech 03", ["x", "food"], prefer="food") == "food"


@pytest.mark.parametrize("corpus", ACTED)
def test_fingerprint_follows_the_wavs_and_cremad_tables(demo_root, corpus, tmp_path):
    """Adding or renaming a wav anywhere, or editing CREMA-D's speaker or vote table, reindexes."""
    root = tmp_path / corpus
    shutil.copytree(demo_root / corpus, root)
    before = fingerprint(corpus, root)
    wav = wavs(root)[-1]
    wav.rename(wav.with_name(f"moved-{wav.name}"))
    assert fingerprint(corpus, root) != before
    if corpus == "CREMAD":
        for table in ("VideoDemographics.csv", "processedResults/tabulatedVotes.csv"):
            now = fingerprint(corpus, root)
            (root / table).write_bytes((root / table).read_bytes())
            assert fingerprint(corpus, root) != now

"""The fingerprint that decides when the workflow reindexes a corpus, on each demo layout."""

import shutil
from pathlib import Path

import pytest

from xcorpus.corpora.demo import DemoSettings, write_demo
from xcorpus.corpora.sources import fingerprint

# Per corpus: a label file, and a wav whose folder the loader looks audio up in.
LAYOUT = {
    "IEMO": ("Session1/dialog/EmoEvaluation/*.txt", "Session1/sentences/wav/*/*.wav"),
    "MSPI": ("Evalution.txt", "Audio/*/*/*/MSP-IMPROV-*.wav"),
    "MSPP": ("Labels/labels_consensus.csv", "Audios/*.wav"),
    "CMUMOSEI": ("CMU_MOSEI_Labels.csd", "Raw/Audio/Full/WAV_16000/*.wav"),
    "SAMSEMO": ("samsemo.tsv", "*/*/audio.wav"),
}


@pytest.fixture(scope="module")
def demos(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("demos")
    for corpus in LAYOUT:
        write_demo(corpus, base / corpus, DemoSettings(utterances=12))
    return base


@pytest.fixture
def root(demos, tmp_path, request) -> Path:
    """A fresh copy of one demo corpus (mtimes kept)."""
    copy = tmp_path / request.node.callspec.params["corpus"]
    shutil.copytree(demos / copy.name, copy)
    return copy


def first(root: Path, pattern: str) -> Path:
    return sorted(root.glob(pattern))[0]


@pytest.mark.parametrize("corpus", LAYOUT)
def test_a_rewritten_label_file_changes_the_fingerprint(corpus, root):
    before = fingerprint(corpus, root)
    assert fingerprint(corpus, root) == before
    label = first(root, LAYOUT[corpus][0])
    label.write_bytes(label.read_bytes())  # same bytes, new mtime: what an edit leaves
    assert fingerprint(corpus, root) != before


@pytest.mark.parametrize("corpus", LAYOUT)
def test_adding_or_removing_a_wav_changes_the_fingerprint(corpus, root):
    before = fingerprint(corpus, root)
    wav = first(root, LAYOUT[corpus][1])
    moved = wav.with_name(f"moved-{wav.name}")
    wav.rename(moved)
    assert fingerprint(corpus, root) != before
    moved.rename(wav)
    shutil.copy(wav, wav.with_name("extra.wav"))
    assert fingerprint(corpus, root) != before


@pytest.mark.parametrize("corpus", ["IEMO"])
def test_files_the_loader_never_reads_do_not_count(corpus, root):
    """IEMOCAP's videos and motion capture are not read; adding one reindexes nothing."""
    before = fingerprint(corpus, root)
    (root / "Session1/dialog/avi").mkdir()
    (root / "Session1/dialog/avi/Ses01F_impro01.avi").write_bytes(b"video")
    wav = first(root, LAYOUT[corpus][1])
    wav.write_bytes(wav.read_bytes())  # contents overwritten in place: not detected, as documented
    assert fingerprint(corpus, root) == before


@pytest.mark.parametrize("corpus", ["MSPP"])
def test_transcripts_count_wherever_they_are(corpus, root, tmp_path):
    tsv = tmp_path / "asr.tsv"
    tsv.write_text("utt_id\ttranscript\n")
    before = fingerprint(corpus, root, tsv)
    transcript = first(root, "Transcripts/*.txt")
    transcript.write_text(transcript.read_text() + " edited")
    after = fingerprint(corpus, root, tsv)
    assert after != before
    tsv.write_text("utt_id\ttranscript\nx\ty\n")
    assert fingerprint(corpus, root, tsv) != after
    tsv.unlink()
    assert fingerprint(corpus, root, tsv) != after


def test_a_missing_root_has_a_fixed_fingerprint(tmp_path):
    assert fingerprint("MSPP", tmp_path / "absent") == f"no directory {tmp_path / 'absent'}"

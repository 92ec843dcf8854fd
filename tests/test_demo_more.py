"""The MELD, EMODB and ESD demo corpora: their layouts' quirks, read by their loaders."""

from collections import Counter
from pathlib import Path

import pytest

from xcorpus.audio import decode_container
from xcorpus.corpora.demo import DemoSettings, generate, write_demo
from xcorpus.corpora.demo.more import ESD_ENCODINGS
from xcorpus.corpora.indexing import index_corpus
from xcorpus.tables import index_metadata

SMALL = DemoSettings(seed=5, utterances=40)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo_more")
    for corpus in ("MELD", "EMODB", "ESD"):
        write_demo(corpus, root / corpus, SMALL)
    return root


def planned(corpus: str) -> Counter:
    return Counter(u.label for u in generate(corpus, SMALL).utterances)


def test_meld_demo(demo_root):
    root = demo_root / "MELD" / "MELD.Raw"
    index, rejects, _ = index_corpus("MELD", demo_root / "MELD")
    plan = planned("MELD")
    assert Counter(index.column("label").to_pylist()) == plan - Counter({None: plan[None]})
    reasons = Counter(r["reason"].split(" /")[0].split(":")[0] for r in rejects.to_pylist())
    assert reasons == Counter(
        {"no audio file at": 1, "unreadable audio": 1}
        | {f"label {code} not in the 4 classes": n for code, n in _dropped("MELD").items()}
    )
    assert set(index.column("sample_rate").to_pylist()) == {48000}
    assert set(index.column("channels").to_pylist()) == {2, 6}
    assert set(index.column("split").to_pylist()) == {"train", "dev", "test"}
    main = {"Rachel", "Monica", "Phoebe", "Ross", "Chandler", "Joey"}
    assert set(index.column("speaker").to_pylist()) <= main | {
        "Janice",
        "Gunther",
        "Mr. Geller",
        "Emily",
    }
    train = (root / "train" / "train_sent_emo.csv").read_bytes()
    assert b"\xc2\x92" in train and b"\r\n" not in train  # the 2018 form
    assert b"\r\n" in (root / "test_sent_emo.csv").read_bytes()
    assert not any("\x92" in t for t in index.column("transcript").to_pylist())
    _, rate, channels = decode_container(
        next((root / "output_repeated_splits_test").glob("dia*.mp4"))
    )
    assert rate == 48000 and channels in (2, 6)
    examples = index_metadata(index.schema)["ignored"]["examples"]
    assert any("final_videos_test twin" in e for e in examples)
    assert any("no CSV row names it" in e for e in examples)


def _dropped(corpus: str) -> Counter:
    return Counter(u.raw for u in generate(corpus, SMALL).utterances if u.label is None)


def test_emodb_demo(demo_root):
    root = demo_root / "EMODB"
    index, rejects, _ = index_corpus("EMODB", root)
    assert len(index) == SMALL.utterances
    assert Counter(r["raw_label"] for r in rejects.to_pylist()) == _dropped("EMODB")
    rates = (root / "erkennung.txt").read_bytes().decode("latin-1")
    assert "\xa0" in rates and "," in rates.splitlines()[1]
    rows = index.to_pylist()
    assert all(r["language"] == "DE" and r["transcript"] for r in rows)
    assert all(0.4 <= r["agreement"] <= 1.0 for r in rows)
    assert {r["speaker"]: r["gender"] for r in rows}.items() <= {
        "03": "M", "08": "F", "09": "F", "10": "M", "11": "M",
        "12": "M", "13": "F", "14": "F", "15": "M", "16": "F",
    }.items()  # fmt: skip


def test_esd_demo(demo_root):
    root = demo_root / "ESD" / "Emotion Speech Dataset"
    index, rejects, _ = index_corpus("ESD", demo_root / "ESD")
    assert len(index) == SMALL.utterances
    assert {r["raw_label"] for r in rejects.to_pylist()} == {"Surprise"}
    for text_file in root.glob("*/*.txt"):
        data = text_file.read_bytes()
        assert data.startswith(b"\xff\xfe") == (ESD_ENCODINGS[text_file.stem] == "utf-16")
    rows = index.to_pylist()
    assert all(r["transcript"] for r in rows)
    languages = {r["speaker"]: r["language"] for r in rows}
    assert all(lang == ("ZH" if s <= "0010" else "EN") for s, lang in languages.items())
    assert {r["split"] for r in rows} <= {"train", "dev", "test"}

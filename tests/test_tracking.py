"""W&B logging: what the offline run files hold, read back from wandb's transaction log."""

import json
import os
import struct
import zlib
from pathlib import Path

import pytest
import wandb
from conftest import fingerprinted
from wandb.proto import wandb_internal_pb2

from xcorpus.aggregate import experiment_table
from xcorpus.labels import CLASSES
from xcorpus.tracking import log_averaged_run, log_seed_run

EXPERIMENT = {
    "name": "IEMO+MSPI_CrossAttn",
    "train_dataset": ["IEMO", "MSPI"],
    "test_datasets": ["MSPP", "CMUMOSEI"],
    "wandb_project": "MultiDataset_Training",
    "learning_rate": 1e-5,
    "seeds": [42, 87739],
}
TRAIN = "IEMO+MSPI"
# Not symmetric, so that a transposed table would show.
CONFUSION = [[5, 1, 0, 0], [2, 6, 0, 0], [0, 0, 7, 3], [0, 4, 0, 8]]
HISTORY = [
    {
        "epoch": e,
        "train_loss": 1.0 / (e + 1),
        "val_uar": 0.3 + 0.1 * e,
        "learning_rate": 1e-5,
        "curriculum_fraction": 1.0,
        "samples_seen": 100 * (e + 1),
    }
    for e in range(3)
]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Whatever a test passes, W&B never goes online from here."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def split(uar: float) -> dict:
    return {"uar": uar, "accuracy": uar + 0.05, "macro_f1": uar - 0.05, "confusion": CONFUSION}


def seed_metrics(seed: int, uar: float) -> dict:
    return fingerprinted(
        {
            "experiment": EXPERIMENT["name"],
            "train": TRAIN,
            "seed": seed,
            "best_epoch": 2,
            "validation": split(uar),
            "test": {"MSPP": split(uar - 0.1), "CMUMOSEI": split(uar - 0.2)},
            "in_corpus": {"MSPP": split(uar + 0.1)},
            "n": {
                "train": 100,
                "validation": 20,
                "test": {"MSPP": 30, "CMUMOSEI": 40},
                "in_corpus": {"MSPP": 10},
            },
        }
    )


# Reading wandb's transaction log (run-*.wandb): a 7-byte header (":W&B", magic, version), then
# LevelDB-log records in 32 KiB blocks: crc32 of type + data, length, type (full / first /
# middle / last), data; each whole record a serialised wandb_internal_pb2.Record.
BLOCK, HEADER, FULL, LAST = 32768, 7, 1, 4


def read_records(path: Path) -> list:
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    position, pending, records = HEADER, b"", []
    while position + HEADER <= len(data):
        left = BLOCK - position % BLOCK
        if left < HEADER:
            position += left
            continue
        crc, length, kind = struct.unpack("<IHB", data[position : position + HEADER])
        chunk = data[position + HEADER : position + HEADER + length]
        assert crc == zlib.crc32(chunk, zlib.crc32(bytes([kind])))
        position += HEADER + length
        pending += chunk
        if kind in (FULL, LAST):
            records.append(wandb_internal_pb2.Record.FromString(pending))
            pending = b""
    return records


class OfflineRun:
    """What one offline run directory says: run header, config, history and final summary."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir
        (log,) = run_dir.glob("run-*.wandb")
        records = read_records(log)
        self.run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
        self.config = {u.key: json.loads(u.value_json) for u in self.run.config.update}
        self.history = [
            {_key(i): json.loads(i.value_json) for i in r.history.item}
            for r in records
            if r.WhichOneof("record_type") == "history"
        ]
        self.summary = {}
        for r in records:
            if r.WhichOneof("record_type") == "summary":
                self.summary |= {_key(u): json.loads(u.value_json) for u in r.summary.update}

    def table(self, key: str) -> dict:
        return json.loads((self.dir / "files" / self.summary[f"{key}/path"]).read_text())


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def offline_runs(directory: Path) -> dict[str, OfflineRun]:
    runs = [OfflineRun(d) for d in (directory / "wandb").glob("offline-run-*")]
    return {r.run.display_name: r for r in runs}


def test_seed_run(tmp_path):
    reason = "test corpora MSPP are standardised with the statistics of their own features"
    normalisation = {"method": "corpus", "transductive": True, "reason": reason}
    metrics = seed_metrics(42, 0.6) | {"feature_normalisation": normalisation}
    assert log_seed_run(EXPERIMENT, metrics, HISTORY, "offline", tmp_path)["logged"]
    (run,) = offline_runs(tmp_path).values()
    assert run.run.display_name == "IEMO+MSPI_CrossAttn_seed42"
    assert (run.run.project, run.run.run_group, run.run.job_type) == (
        "MultiDataset_Training",
        "IEMO+MSPI_CrossAttn",
        "train",
    )
    assert {k: run.config[k] for k in EXPERIMENT} == EXPERIMENT
    assert run.config["seed"] == 42
    assert (run.config["transductive"], run.config["transductive_reason"]) == (True, reason)
    epochs = [(h["_step"], h["val_uar"]) for h in run.history]
    assert epochs == [(h["epoch"], pytest.approx(h["val_uar"])) for h in HISTORY]
    expected = {
        "validation": metrics["validation"],
        "IEMO+MSPItoMSPP": metrics["test"]["MSPP"],
        "IEMO+MSPItoCMUMOSEI": metrics["test"]["CMUMOSEI"],
        "IEMO+MSPItoMSPP_in_corpus": metrics["in_corpus"]["MSPP"],
    }
    for key, values in expected.items():
        assert run.summary[f"{key}_uar"] == pytest.approx(values["uar"])
        assert run.summary[f"{key}_accuracy"] == pytest.approx(values["accuracy"])
        assert run.summary[f"{key}_f1"] == pytest.approx(values["macro_f1"])
        table = run.table(f"confusion/{key}")
        assert table["columns"] == ["true", *CLASSES]
        assert table["data"] == [[c, *row] for c, row in zip(CLASSES, CONFUSION, strict=True)]


def test_averaged_run(tmp_path):
    metrics = {42: seed_metrics(42, 0.6), 87739: seed_metrics(87739, 0.4)}
    rows = experiment_table(EXPERIMENT["name"], TRAIN, metrics).to_pylist()
    log_averaged_run(EXPERIMENT, rows, "offline", tmp_path)
    (run,) = offline_runs(tmp_path).values()
    assert run.run.display_name == "AVERAGED_IEMO+MSPI"
    assert (run.run.run_group, run.run.job_type) == ("IEMO+MSPI_CrossAttn", "aggregate")
    assert run.summary["validation_uar_mean"] == pytest.approx(0.5)
    assert run.summary["IEMO+MSPItoMSPP_uar_mean"] == pytest.approx(0.4)
    assert run.summary["IEMO+MSPItoCMUMOSEI_accuracy_mean"] == pytest.approx(0.35)
    assert run.summary["IEMO+MSPItoMSPP_in_corpus_f1_mean"] == pytest.approx(0.55)
    assert run.summary["IEMO+MSPItoMSPP_uar_std"] == pytest.approx(0.2 / 2**0.5)
    table = run.table("experiment_table")
    assert table["columns"] == list(rows[0])
    assert len(table["data"]) == len(rows)


def test_one_seed_std_is_left_out(tmp_path):
    rows = experiment_table(EXPERIMENT["name"], TRAIN, {42: seed_metrics(42, 0.6)}).to_pylist()
    log_averaged_run(EXPERIMENT, rows, "offline", tmp_path)
    (run,) = offline_runs(tmp_path).values()
    assert run.summary["IEMO+MSPItoMSPP_uar_mean"] == pytest.approx(0.5)
    assert not [k for k in run.summary if k.endswith("_std")]


def test_reruns_replace_their_run_directory(tmp_path):
    def log(seed: int, uar: float) -> dict[str, str]:
        log_seed_run(EXPERIMENT, seed_metrics(seed, uar), HISTORY, "offline", tmp_path)
        assert len(list((tmp_path / "wandb").glob("offline-run-*"))) == len(offline_runs(tmp_path))
        return {name: run.run.run_id for name, run in offline_runs(tmp_path).items()}

    first = log(42, 0.6)
    log(87739, 0.6)
    same = log(42, 0.6)
    changed = log(42, 0.7)
    seed42, seed87739 = (f"IEMO+MSPI_CrossAttn_seed{s}" for s in (42, 87739))
    assert set(changed) == {seed42, seed87739}
    assert same[seed42] == first[seed42] != changed[seed42]
    assert changed[seed87739] == same[seed87739]
    assert offline_runs(tmp_path)[seed42].summary["validation_uar"] == pytest.approx(0.7)


def test_nothing_is_written_outside_the_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    environment = dict(os.environ)
    log_seed_run(EXPERIMENT, seed_metrics(42, 0.6), HISTORY, "offline", tmp_path / "results")
    assert dict(os.environ) == environment
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_disabled_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(wandb, "init", lambda **kwargs: pytest.fail("a disabled run started"))
    record = log_seed_run(EXPERIMENT, seed_metrics(42, 0.6), HISTORY, "disabled", tmp_path / "w")
    assert record == {
        "mode": "disabled",
        "project": "MultiDataset_Training",
        "group": "IEMO+MSPI_CrossAttn",
        "name": "IEMO+MSPI_CrossAttn_seed42",
        "logged": False,
    }
    assert log_averaged_run(EXPERIMENT, [], "disabled", tmp_path / "w")["name"] == (
        f"AVERAGED_{TRAIN}"
    )
    assert not list(tmp_path.iterdir())
    assert capsys.readouterr().err == ""


def test_a_failure_is_reported_not_raised(tmp_path, monkeypatch, capsys):
    def broken(**kwargs):
        raise RuntimeError("no route to host\nretrying")

    monkeypatch.setattr(wandb, "init", broken)
    assert not log_seed_run(EXPERIMENT, seed_metrics(42, 0.6), HISTORY, "online", tmp_path)[
        "logged"
    ]
    err = capsys.readouterr().err
    assert err == (
        "W&B logging failed: RuntimeError: no route to host retrying; "
        "local results are unaffected\n"
    )


def test_an_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="offlne"):
        log_seed_run(EXPERIMENT, seed_metrics(42, 0.6), HISTORY, "offlne", tmp_path)


def test_seed_run_of_dann_on_unlabelled_test_features_is_transductive(tmp_path):
    reason = "the domain loss reads the unlabelled features of test corpora MSPP"
    records = {
        "feature_normalisation": {"method": "train", "transductive": False, "reason": None},
        "domain_adaptation": {"method": "dann", "transductive": True, "reason": reason},
    }
    assert log_seed_run(EXPERIMENT, seed_metrics(42, 0.6) | records, HISTORY, "offline", tmp_path)[
        "logged"
    ]
    (run,) = offline_runs(tmp_path).values()
    assert (run.config["transductive"], run.config["transductive_reason"]) == (True, reason)

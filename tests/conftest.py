from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from xcorpus.tables import INDEX_SCHEMA
from xcorpus.train.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
# Where Snakemake finds it from the repository root, with workflow/profiles/default beside it.
SNAKEFILE = REPO / "workflow" / "Snakefile"


def schema_experiment(**overrides) -> dict:
    """An experiment holding every key's schema default, then `overrides`."""
    keys = yaml.safe_load(SCHEMA.read_text())["$defs"]["experiment"]["properties"]
    return {k: v["default"] for k, v in keys.items() if "default" in v} | overrides


def schema_settings(**overrides) -> Settings:
    """Training settings of schema_experiment(**overrides), with what expand_experiments and
    mark_schema_defaults add (here: IEMO trained on, MSPI tested, no curriculum default noted)."""
    added = {
        "name": "exp",
        "train_dataset": ["IEMO"],
        "test_datasets": ["MSPI"],
        "curriculum_defaults": [],
    }
    return Settings.of(schema_experiment(**added | overrides))


@pytest.fixture
def default_config() -> dict:
    """config.yaml as Snakemake reads it (YAML merge keys resolved), not yet validated."""
    return yaml.safe_load((REPO / "config.yaml").read_text())


def fingerprinted(m: dict, **sets: str) -> dict:
    """Hand-made metrics `m` with an `utterances` digest per split, as training writes them: by
    default one per split name and size; `sets` gives a split another set of utterances."""
    n = m["n"]
    in_corpus = n.get("in_corpus", {})
    utterances = {
        "validation": f"val-{m['train']}-{n['validation']}",
        "test": {c: sets.get(c, f"{c}-{k}") for c, k in n["test"].items()},
        "in_corpus": {c: sets.get(c, f"{c}-heldout-{k}") for c, k in in_corpus.items()},
    }
    return m | {"utterances": utterances}


def index_table(corpus: str, rows: list[dict]) -> pa.Table:
    """A corpus index of `rows` (utt_id, speaker and what a test sets), the rest null; audio_path
    and raw_label default to the id and label."""
    base = dict.fromkeys(INDEX_SCHEMA.names) | {"corpus": corpus, "label": "neutral"}
    records = [
        base | {"audio_path": f"{r['utt_id']}.wav", "raw_label": r.get("label", "neutral")} | r
        for r in rows
    ]
    return pa.Table.from_pylist(records, schema=INDEX_SCHEMA)

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture
def default_config() -> dict:
    """config.yaml as Snakemake reads it (YAML merge keys resolved), not yet validated."""
    return yaml.safe_load((REPO / "config.yaml").read_text())

"""The project's own checks: Snakemake lint, snakefmt, ruff, mypy; and README == CI commands."""

import re
import subprocess
import sys

import pytest
from conftest import REPO

PYTHON_DIRS = ["src", "tests", "workflow/scripts", "benchmarks"]


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "snakemake", "--lint"],
        ["snakefmt", "--check", "workflow"],
        ["ruff", "check", *PYTHON_DIRS],
        ["ruff", "format", "--check", *PYTHON_DIRS],
    ],
    ids=["snakemake-lint", "snakefmt", "ruff-check", "ruff-format"],
)
def test_clean(command):
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_mypy_clean():
    """src/xcorpus type-checks, as `[tool.mypy]` in pyproject.toml configures it."""
    pytest.importorskip("mypy")
    run = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_ci_runs_the_readme_commands():
    readme = (REPO / "README.md").read_text()
    setup = readme.split("## Set-up on a fresh machine")[1].split("\n## ")[0]
    commands = re.findall(r"```bash\n(.+?)\n```", setup)
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text()
    main, tests = commands
    assert main in ci
    # pytest's "no tests collected" exit code 5 is tolerated by CI, nothing else.
    assert tests.removesuffix(" && pytest") + " && { pytest || [ $? -eq 5 ]; }" in ci


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "benchmarks").glob("*.py")))
def test_benchmark_starts(script):
    """Benchmarks run outside the suite: at least their imports and arguments must hold."""
    run = subprocess.run(
        [sys.executable, f"benchmarks/{script}", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and run.stdout.startswith("usage:"), run.stderr[-3000:]

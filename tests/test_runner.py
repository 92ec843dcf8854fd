"""`xcorpus run` (xcorpus.runner): the seed's --experiment N / --all mapped onto the workflow."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from xcorpus.config import ConfigError
from xcorpus.runner import Options, resolve, select, snakemake_command

NAMES = ["IEMO_only", "IEMO+MSPI", "7"]


def test_experiments_by_index_or_name_in_the_order_asked():
    assert resolve(["0"], NAMES) == ["IEMO_only"]
    assert resolve(["IEMO+MSPI", "0", "IEMO_only"], NAMES) == ["IEMO+MSPI", "IEMO_only"]
    assert resolve(["7"], NAMES) == ["7"]  # a name made of digits is the name, not index 7
    assert resolve(["2"], NAMES) == ["7"]
    for bad in ("3", "IEMO", "-1"):
        with pytest.raises(ConfigError, match=rf"--experiment {bad}: no such experiment; "):
            resolve([bad], NAMES)


def test_select_keeps_config_order_and_refuses_unknown_names():
    assert select(NAMES, []) == NAMES
    assert select(NAMES, ["7", "IEMO_only"]) == ["IEMO_only", "7"]
    with pytest.raises(ConfigError, match="run_experiments: no experiment MSPP_only; defined"):
        select(NAMES, ["MSPP_only"])


def test_one_snakemake_call_with_the_config_alone():
    options = Options("2", "workflow/profiles/slurm", ["-n"], Path("S"))
    command = snakemake_command(Path("c.yaml"), ["IEMO+MSPI"], options)
    assert command[1:] == [
        "-m", "snakemake", "--snakefile", "S", "--configfile", "c.yaml",
        "--replace-workflow-config", "--cores", "2", "--workflow-profile",
        "workflow/profiles/slurm", "--config", 'run_experiments=["IEMO+MSPI"]', "-n",
    ]  # fmt: skip
    assert "--config" not in snakemake_command(Path("c.yaml"), None, Options())


def xcorpus(workdir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-c", "from xcorpus.cli import main; main()", *args],
        cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def write_config(workdir: Path, corpora: dict, experiments: list[dict], **more) -> Path:
    config = {"corpora": corpora, "experiments": experiments, "wandb_mode": "disabled", **more}
    path = workdir / "mine.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def planned_tables(output: str) -> set[str]:
    """The experiment tables (and their W&B records) a dry run's output names."""
    return set(re.findall(r"results/tables/([^\s,;]+)", output))


def test_dry_run_maps_experiment_indexes_and_all_onto_targets(tmp_path):
    corpora = {}
    for corpus in ("IEMO", "MSPI", "MSPP"):
        (tmp_path / corpus).mkdir()
        corpora[corpus] = {"root": str(tmp_path / corpus)}
    experiments = [
        {"name": "IEMO_only", "train_dataset": "IEMO", "seeds": [1]},
        {"seeds": [1], "curriculum_type": "none", "sweep": {"train_dataset": "leave_one_out"}},
    ]
    config = write_config(tmp_path, corpora, experiments)
    # The working directory's config.yaml is not merged in (its corpora would be tested on).
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())

    one = xcorpus(tmp_path, "run", str(config), "--experiment", "2", "--cores", "1", "-n")
    assert one.returncode == 0, one.stderr[-3000:]
    assert one.stdout.startswith("xcorpus run: LeaveOut_MSPI\n")
    assert planned_tables(one.stdout + one.stderr) == {
        "LeaveOut_MSPI.csv",
        "LeaveOut_MSPI.wandb.json",
    }
    assert "SAMSEMO" not in one.stdout + one.stderr

    both = xcorpus(tmp_path, "run", str(config), "--experiment", "IEMO_only", "3", "-n")
    assert planned_tables(both.stdout + both.stderr) >= {"IEMO_only.csv", "LeaveOut_MSPP.csv"}
    assert "LeaveOut_IEMO" not in both.stdout + both.stderr

    every = xcorpus(tmp_path, "run", str(config), "--all", "-n")
    assert every.returncode == 0, every.stderr[-3000:]
    names = {"IEMO_only", "LeaveOut_IEMO", "LeaveOut_MSPI", "LeaveOut_MSPP"}
    assert {t.removesuffix(".csv") for t in planned_tables(every.stderr + every.stdout)} >= names

    bad = xcorpus(tmp_path, "run", str(config), "--experiment", "4", "-n")
    assert bad.returncode != 0
    assert "xcorpus run: --experiment 4: no such experiment; defined: 0 IEMO_only, 1 " in bad.stderr


@pytest.mark.workflow
def test_a_real_run_prints_the_summary_of_the_chosen_experiment(tmp_path):
    corpora = {c: {"root": f"results/demo/{c}", "demo": True} for c in ("IEMO", "MSPP")}
    experiments = [
        {"name": name, "train_dataset": train, "seeds": [1], "num_epochs": 2,
         "curriculum_epochs": 1}
        for name, train in (("IEMO_only", "IEMO"), ("MSPP_only", "MSPP"))
    ]  # fmt: skip
    config = write_config(tmp_path, corpora, experiments, demo={"utterances": 48})
    run = xcorpus(tmp_path, "run", str(config), "--experiment", "0", "--cores", "2", timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    table = (tmp_path / "results/cross_corpus_uar.md").read_text()
    assert "IEMO_only" in table and "MSPP_only" not in table
    assert run.stdout.rstrip().endswith(table.rstrip())  # the last thing printed
    assert not (tmp_path / "results/runs/MSPP_only").exists()

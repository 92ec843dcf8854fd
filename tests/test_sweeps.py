"""Sweep expansion (xcorpus.sweeps): the experiments, their names, and refusals naming the sweep."""

import subprocess
import sys

import pytest
import yaml
from conftest import SNAKEFILE

from xcorpus.config import ConfigError
from xcorpus.sweeps import expand_sweep, expand_sweeps, number_text, with_origin

CORPORA = ["IEMO", "MSPI", "MSPP", "CMUMOSEI", "SAMSEMO"]
# What the schema fills in before expansion (the trainable corpora depend on the curriculum).
DEFAULTS = {
    "use_curriculum_learning": True,
    "curriculum_type": "difficulty",
    "difficulty_method": "euclidean",
    "learning_rate": 0.001,
}


def names(experiments: list[dict]) -> list[str]:
    return [exp["name"] for exp in experiments]


def test_the_issue_example_leave_one_out_of_the_vad_corpora():
    entry = DEFAULTS | {
        "seeds": [1],
        "sweep": {
            "train_dataset": "leave_one_out",
            "learning_rate": ["1e-3", 1e-4],
            "curriculum_type": ["none", "difficulty"],
        },
    }
    generated = expand_sweep(entry, CORPORA)
    assert names(generated) == [
        f"LeaveOut_{out}_{lr}_{cur}"
        for out in ("IEMO", "MSPI", "MSPP")
        for lr in ("lr1e-3", "lr1e-4")
        for cur in ("none", "difficulty")
    ]
    # A difficulty curriculum in the sweep: only the corpora with V/A/D are trainable, and
    # LeaveOut_IEMO trains on the same corpora with either curriculum.
    first, second = generated[0], generated[1]
    assert first["train_dataset"] == second["train_dataset"] == ["MSPI", "MSPP"]
    assert (first["curriculum_type"], second["curriculum_type"]) == ("none", "difficulty")
    assert first["learning_rate"] == "1e-3" and generated[2]["learning_rate"] == 1e-4
    assert all(exp["seeds"] == [1] and "sweep" not in exp for exp in generated)


def test_without_a_difficulty_curriculum_every_configured_corpus_is_trainable():
    entry = DEFAULTS | {"curriculum_type": "none", "sweep": {"train_dataset": "leave_one_out"}}
    generated = expand_sweep(entry, CORPORA)
    assert names(generated) == [f"LeaveOut_{c}" for c in CORPORA]
    assert generated[3]["train_dataset"] == ["IEMO", "MSPI", "MSPP", "SAMSEMO"]


def test_all_combinations_smallest_first_and_the_name_as_suffix():
    entry = DEFAULTS | {"name": "CrossAttn", "sweep": {"train_dataset": "all_combinations"}}
    generated = expand_sweep(entry, CORPORA)
    assert names(generated) == [
        "IEMO_CrossAttn",
        "MSPI_CrossAttn",
        "MSPP_CrossAttn",
        "IEMO+MSPI_CrossAttn",
        "IEMO+MSPP_CrossAttn",
        "MSPI+MSPP_CrossAttn",
        "IEMO+MSPI+MSPP_CrossAttn",
    ]
    # All of the configured corpora would leave nothing to test on.
    only_vad = expand_sweep(entry, ["IEMO", "MSPI", "MSPP"])
    assert names(only_vad)[-1] == "MSPI+MSPP_CrossAttn"


def test_names_of_numbers_text_booleans_and_lists():
    entry = DEFAULTS | {
        "train_dataset": "IEMO",
        "sweep": {
            "train_dataset": [["IEMO"], ["IEMO", "MSPI"]],
            "weight_decay": [0, 0.00025],
            "dropout": [0.2],
            "lr_scheduler": ["none", "cosine"],
            "curriculum_type": ["none"],
            "class_weights": [True, False],
            "num_epochs": [30],
        },
    }
    generated = expand_sweep(entry, CORPORA)
    assert names(generated)[:3] == [
        "IEMO_wd0_drop0.2_sched-none_cur-none_cw_ep30",
        "IEMO_wd0_drop0.2_sched-none_cur-none_nocw_ep30",
        "IEMO_wd0_drop0.2_cosine_cur-none_cw_ep30",
    ]
    assert names(generated)[-1] == "IEMO+MSPI_wd2.5e-4_drop0.2_cosine_cur-none_nocw_ep30"
    assert len(set(names(generated))) == len(generated) == 16
    assert [number_text(x) for x in (1e-3, 0.0001, 2.5e-4, 0.2, 30.0, 1.5)] == [
        "1e-3", "1e-4", "2.5e-4", "0.2", "30", "1.5",
    ]  # fmt: skip


def test_expansion_is_deterministic_and_keeps_hand_written_entries_in_place():
    hand = {"name": "IEMO_only", "train_dataset": "IEMO"}
    sweep = DEFAULTS | {"name": "x", "sweep": {"learning_rate": [0.1, 0.01]}}
    given = [{"name", "train_dataset"}, {"name", "sweep"}]
    experiments, keys, origins = expand_sweeps(
        [hand, sweep, hand | {"name": "b"}], [*given, {"name"}], CORPORA
    )
    assert names(experiments) == ["IEMO_only", "lr0.1_x", "lr0.01_x", "b"]
    assert keys[1] == {"name", "learning_rate"}
    assert origins == {
        "lr0.1_x": "the sweep of experiment x",
        "lr0.01_x": "the sweep of experiment x",
    }
    again = expand_sweeps([hand, sweep, hand | {"name": "b"}], [*given, {"name"}], CORPORA)
    assert again == (experiments, keys, origins)


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"learning_rate": []}, "learning_rate must be a non-empty list"),
        ({"learning_rate": "leave_one_out"}, "learning_rate must be a non-empty list"),
        ({"learning_rate": [0.1, 0.1]}, "lists a value twice"),
        ({"name": ["a"]}, "name cannot be swept"),
        ({"learning_rate": [0.001, "1e-3"]}, "lr1e-3_grid is generated twice"),
    ],
)
def test_bad_sweeps_are_refused_naming_the_sweep(sweep, message):
    with pytest.raises(ConfigError, match=message) as error:
        expand_sweep(DEFAULTS | {"name": "grid", "sweep": sweep}, CORPORA, "the sweep of grid")
    assert str(error.value).startswith("the sweep of grid: ")


def test_leave_one_out_needs_two_trainable_corpora():
    with pytest.raises(ConfigError, match="leave_one_out needs 2 trainable corpora"):
        expand_sweep(DEFAULTS | {"sweep": {"train_dataset": "leave_one_out"}}, ["IEMO", "CMUMOSEI"])


def test_with_origin_names_whole_names_only():
    origins = {"lr0.1_x": "the sweep of experiment x"}
    assert with_origin("experiment lr0.1_x: bad", origins).endswith(
        "(lr0.1_x is generated by the sweep of experiment x)"
    )
    assert with_origin("experiment lr0.1_xy: bad", origins) == "experiment lr0.1_xy: bad"


def dry_run(tmp_path, experiments: list[dict]) -> subprocess.CompletedProcess:
    corpora = {}
    for corpus in ("IEMO", "MSPI", "MSPP"):
        (tmp_path / corpus).mkdir(exist_ok=True)
        corpora[corpus] = {"root": str(tmp_path / corpus)}
    config = {"corpora": corpora, "experiments": experiments, "wandb_mode": "disabled"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(SNAKEFILE),
         "--directory", str(tmp_path), "--cores", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        # The schema refuses a generated value, naming the generated experiment and the sweep.
        (
            {"learning_rate": [0.1, "fast"]},
            "experiment fast_grid: learning_rate: 'fast' is not valid",
        ),
        ({"lerning_rate": [0.1]}, "experiment lerning_rate0.1_grid: Additional properties"),
        # ...and so do the config checks (LOSO needs one training corpus).
        (
            {"train_dataset": [["IEMO", "MSPI"]], "evaluation_mode": ["loso"]},
            "experiment IEMO+MSPI_loso_grid: LOSO evaluation not supported",
        ),
    ],
)
def test_the_workflow_refuses_an_invalid_generated_experiment(tmp_path, sweep, message):
    entry = {"name": "grid", "train_dataset": "IEMO", "curriculum_type": "none", "sweep": sweep}
    run = dry_run(tmp_path, [entry])
    assert run.returncode != 0
    error = next(line for line in run.stderr.splitlines() if "Configuration error" in line)
    assert message in error, error
    assert error.endswith("is generated by the sweep of experiment grid)"), error

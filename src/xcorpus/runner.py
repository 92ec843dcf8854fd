"""`xcorpus run`: the seed's `python main.py --config FILE --experiment 0` / `--all`, as one
Snakemake run of the workflow.

The experiments chosen (by 0-based index in the config's list, sweeps expanded, or by name)
reach the workflow as the config key `run_experiments`: its default target is then their
tables, figures, leakage reports and W&B runs, and the cross-corpus summary of those
experiments, which Snakemake prints when it succeeds, as the seed printed its results.
"""

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from xcorpus.config import ConfigError, schema_error

SNAKEFILE = Path(__file__).resolve().parents[2] / "workflow" / "Snakefile"


def select(names: list[str], chosen: list[str]) -> list[str]:
    """The experiments a run builds, in config order: `chosen`, or all when it is empty."""
    if unknown := [name for name in chosen if name not in names]:
        raise ConfigError(
            f"run_experiments: no experiment {', '.join(unknown)}; defined: {', '.join(names)}"
        )
    return [name for name in names if name in chosen] if chosen else list(names)


def resolve(selectors: list[str], names: list[str]) -> list[str]:
    """Experiment names for `--experiment` values: an index into `names` (0-based, as the
    seed's --experiment 0) or a name; a string of digits that is also a name is the name."""
    resolved = []
    for selector in selectors:
        if selector in names:
            resolved.append(selector)
        elif selector.isdigit() and int(selector) < len(names):
            resolved.append(names[int(selector)])
        else:
            listing = ", ".join(f"{i} {name}" for i, name in enumerate(names))
            raise ConfigError(f"--experiment {selector}: no such experiment; defined: {listing}")
    return list(dict.fromkeys(resolved))


def experiment_names(config_file: Path, schema: Path) -> list[str]:
    """The names the workflow gives the config's experiments (sweeps expanded), read as the
    workflow reads the file (YAML or JSON, YTE templates) and with the schema's defaults."""
    from jsonschema import ValidationError
    from snakemake.common.configfile import load_configfile
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from xcorpus.sweeps import expand_sweeps

    config = load_configfile(str(config_file))
    given = [set(exp) for exp in config.get("experiments", [])]
    try:
        validate(config, str(schema))
    except WorkflowError as error:
        if not isinstance(error.__context__, ValidationError):
            raise
        raise ConfigError(f"{config_file}: {schema_error(config, error.__context__)}") from None
    experiments, _, _ = expand_sweeps(config["experiments"], given, list(config["corpora"]))
    return [exp["name"] for exp in experiments]


@dataclass(frozen=True)
class Options:
    """How Snakemake runs: local cores, a workflow profile, its own further arguments."""

    cores: str = "all"
    profile: str | None = None
    extra: list[str] = field(default_factory=list)
    snakefile: Path = SNAKEFILE


def snakemake_command(
    config_file: Path, experiments: list[str] | None, options: Options
) -> list[str]:
    """One snakemake call: the config file alone (the working directory's config.yaml is not
    merged in), the chosen experiments (None: all), then the caller's own arguments."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(options.snakefile)]
    command += ["--configfile", str(config_file), "--replace-workflow-config"]
    command += ["--cores", options.cores]
    if options.profile:
        command += ["--workflow-profile", options.profile]
    if experiments is not None:
        command += ["--config", f"run_experiments={json.dumps(experiments)}"]
    return command + options.extra


def run(config_file: Path, selectors: list[str] | None, options: Options) -> int:
    """Run the workflow for the chosen experiments (None: all); Snakemake's exit status."""
    if not options.snakefile.exists():
        raise SystemExit(f"xcorpus run: no workflow at {options.snakefile}; pass --snakefile")
    chosen = None
    if selectors is not None:
        schema = options.snakefile.parent / "schemas" / "config.schema.yaml"
        try:
            chosen = resolve(selectors, experiment_names(config_file, schema))
        except ConfigError as error:
            raise SystemExit(f"xcorpus run: {error}") from None
        print(f"xcorpus run: {', '.join(chosen)}", flush=True)
    command = snakemake_command(config_file, chosen, options)
    return subprocess.run(command, check=False).returncode

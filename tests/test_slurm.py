"""The SLURM profile against a real single-node SLURM (slurmctld + slurmd + munge, one fake GPU).

Needs root and apt-get (it installs slurm-wlm) and snakemake-executor-plugin-slurm; skipped
otherwise. Deselect with `-m "not slurm"`. The daemons run from a generated slurm.conf (put in
/etc/slurm for the test's duration) with their state in a temporary directory, on non-default
ports, and are stopped by their PID files afterwards, even when the test fails.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, SNAKEFILE

from xcorpus import resources

pytestmark = pytest.mark.slurm

PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
PACKAGES = ["slurm-wlm", "slurmctld", "slurmd", "slurm-client", "munge"]
CORPORA = ("IEMO", "MSPP")
EXPERIMENT = "IEMO_only"
SEEDS = (1, 2)
TARGETS = [f"results/runs/{EXPERIMENT}/seed-{seed}/metrics.json" for seed in SEEDS]
# Light jobs of these targets, which must run on the submitting node, never through sbatch.
LOCAL_RULES = ("build_manifest", "score_difficulty", "aggregate_experiment")
SNAKEMAKE_TIMEOUT = 300  # seconds; the run took 109 s on 2 cores


def run(*command: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=True, **kwargs
    )


def install_slurm() -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("a real SLURM needs root and apt-get to install slurm-wlm and munge")
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install the slurm extra")
    if all(shutil.which(p) for p in ("slurmctld", "slurmd", "sbatch", "munged")):
        return
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    try:
        run("apt-get", "update", timeout=300, env=env)
        run("apt-get", "install", "-y", "--no-install-recommends", *PACKAGES, timeout=600, env=env)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"could not install SLURM with apt-get: {getattr(error, 'stderr', error)}")


def start_munge() -> Path | None:
    """Start munged unless one answers already; return its PID file if we started it."""
    if subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0:
        return None
    for directory in ("/run/munge", "/var/log/munge", "/var/lib/munge", "/etc/munge"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        shutil.chown(directory, "munge", "munge")
    if not Path("/etc/munge/munge.key").exists():
        run("runuser", "-u", "munge", "--", "/usr/sbin/mungekey", "--create")
    run("runuser", "-u", "munge", "--", "/usr/sbin/munged")
    run("sh", "-c", "munge -n | unmunge")
    return Path("/run/munge/munged.pid")


def slurm_conf(state: Path, host: str) -> str:
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return f"""\
ClusterName=xcorpustest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
AuthInfo=cred_expire=10
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
DefMemPerCPU=1000
MinJobAge=600
ReturnToService=2
GresTypes=gpu
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
NodeName={host} NodeAddr=127.0.0.1 CPUs=4 RealMemory={memory_mb - 2048} Gres=gpu:fake:1
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def stop(pid_file: Path) -> None:
    """SIGTERM the daemon named by `pid_file`, then SIGKILL it if it is still there after 10 s."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


@contextmanager
def installed(path: Path, text: str):
    """Write `path` for the duration of the block, then restore what was there before."""
    backup = path.with_name(path.name + ".xcorpus-test-backup")
    if path.exists():
        path.replace(backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        if backup.exists():
            backup.replace(path)


def start_cluster(state: Path, started: list[Path]) -> None:
    """Start munged (if needed), slurmctld and slurmd, and wait for the node to be idle.

    A machine where the daemons cannot run (a container without what they need) cannot host
    this test: it skips with the daemons' own words instead of failing the suite.
    """
    try:
        munge_pid = start_munge()
        if munge_pid:
            started.append(munge_pid)
        started.append(state / "slurmctld.pid")
        run("/usr/sbin/slurmctld")
        started.append(state / "slurmd.pid")
        run("/usr/sbin/slurmd")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        pytest.skip(f"the SLURM daemons do not start here: {getattr(error, 'stderr', error)}")
    for _ in range(120):
        sinfo = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
        if sinfo.stdout.strip() == "idle":
            return
        time.sleep(0.5)
    logs = "".join(p.read_text()[-2000:] for p in state.glob("*.log"))
    pytest.skip(f"the SLURM node did not become idle here: {sinfo.stdout}{sinfo.stderr}{logs}")


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """A running one-node cluster: partition `debug`, 4 CPUs, one fake GPU.

    The configuration goes to /etc/slurm (restored afterwards): job steps (srun inside the
    batch jobs) look for it there and do not see SLURM_CONF.
    """
    install_slurm()
    state = tmp_path_factory.mktemp("slurm")
    (state / "ctld").mkdir()
    (state / "d").mkdir()
    host = socket.gethostname().split(".")[0]
    gres = f"NodeName={host} Name=gpu Type=fake File=/dev/null\n"
    started: list[Path] = []
    with (
        installed(Path("/etc/slurm/slurm.conf"), slurm_conf(state, host)),
        installed(Path("/etc/slurm/gres.conf"), gres),
    ):
        try:
            start_cluster(state, started)
            yield
        finally:
            for pid_file in reversed(started):  # slurmd, slurmctld, then munged
                stop(pid_file)


def write_config(workdir: Path, experiment: dict) -> None:
    config = {
        "demo": {"seed": 7, "utterances": 48},
        "corpora": {c: {"root": f"results/demo/{c}", "demo": True} for c in CORPORA},
        "features": {"egemaps": {"backend": "egemaps", "shards": 2}},
        "experiments": [{"name": EXPERIMENT, "train_dataset": "IEMO"} | experiment],
        "wandb_mode": "disabled",
    }
    workdir.mkdir(parents=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def cluster_profile(directory: Path) -> Path:
    """The project's SLURM profile, its placeholders set to the test cluster's."""
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["default-resources"]["slurm_partition"] == "<your-partition>"
    profile["default-resources"] |= {"slurm_partition": "debug", "slurm_account": "test"}
    directory.mkdir()
    (directory / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return directory


def snakemake(workdir: Path, targets: list[str], *args: str) -> list[str]:
    return [
        "timeout", "-s", "KILL", str(SNAKEMAKE_TIMEOUT), sys.executable, "-m", "snakemake",
        "--snakefile", str(SNAKEFILE), "--directory", str(workdir), *args, *targets,
    ]  # fmt: skip


def on_slurm(workdir: Path, targets: list[str], profile: Path) -> list[str]:
    """The snakemake command that runs `targets` through the SLURM executor with `profile`."""
    return snakemake(
        workdir, targets,
        "--workflow-profile", str(profile),
        "--slurm-init-seconds-before-status-checks", "5",
        "--slurm-keep-successful-logs",
    )  # fmt: skip


def test_profile_runs_on_slurm_like_locally(slurm_cluster, tmp_path):
    local_dir, cluster_dir = tmp_path / "local", tmp_path / "cluster"
    for workdir in (local_dir, cluster_dir):
        write_config(workdir, {"num_epochs": 4, "curriculum_epochs": 2, "seeds": list(SEEDS)})
    profile = cluster_profile(tmp_path / "profile")

    start = time.monotonic()
    targets = [*TARGETS, f"results/tables/{EXPERIMENT}.csv"]
    local = subprocess.Popen(
        snakemake(local_dir, targets, "--cores", "2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    cluster = subprocess.run(
        on_slurm(cluster_dir, targets, profile), capture_output=True, text=True
    )
    local_output = local.communicate(timeout=SNAKEMAKE_TIMEOUT)[0]
    print(f"SLURM run {time.monotonic() - start:.0f} s")
    assert local.returncode == 0, local_output[-3000:]
    log = cluster.stdout + cluster.stderr
    assert cluster.returncode == 0, log[-5000:]

    # Every job went through sbatch, and SLURM ran it to completion.
    job_ids = set(re.findall(r"SLURM jobid (\d+)", log))
    assert len(job_ids) >= 5, log[-5000:]
    shown = {job_id: run("scontrol", "show", "job", job_id).stdout for job_id in job_ids}
    for show in shown.values():
        assert "JobState=COMPLETED" in show, show
    # What each submitted job asked for is what its rule computes (xcorpus.resources): eGeMAPS
    # extraction no GPU, memory and time from its shard's rows; the training bundle one GPU and
    # the memory of one training job (they run one after another); no light job submitted.
    rules = {job_id: re.search(r"Comment=rule_(\w+?)(?:_wildcards|\s)", show).group(1)
             for job_id, show in shown.items()}  # fmt: skip
    assert not set(rules.values()) & set(LOCAL_RULES), rules
    assert (cluster_dir / "results/tables" / f"{EXPERIMENT}.csv").exists()
    extract = [job_id for job_id, rule in rules.items() if rule == "extract_features"]
    assert len(extract) == len(CORPORA) * 2, rules
    for job_id in extract:
        corpus = re.search(r"_wildcards_egemaps_(\w+?)_", shown[job_id]).group(1)
        rows = pq.read_metadata(cluster_dir / f"results/corpora/{corpus}.parquet")
        shard_rows = resources.shard_rows(rows.num_rows, 2)
        egemaps = {"backend": "egemaps", "granularity": "utterance"}
        assert f"MinMemoryNode={resources.extract_mem_mb(egemaps, shard_rows)}M" in shown[job_id]
        minutes = resources.extract_runtime(egemaps, shard_rows)
        assert f"TimeLimit=00:{minutes:02d}:00" in shown[job_id], shown[job_id]
        assert "gpu" not in shown[job_id], shown[job_id]
    # Both training jobs ran in one grouped SLURM job that asked for a single GPU.
    train_logs = list((cluster_dir / ".snakemake/slurm_logs").glob("group_train*/**/*.log"))
    assert len(train_logs) == 1, sorted((cluster_dir / ".snakemake/slurm_logs").rglob("*"))
    train_job = re.search(r"(\d+)\.log$", train_logs[0].name).group(1)
    show = shown[train_job]
    gpus = re.findall(r"gpu[:=](\d+)", show)
    assert gpus and set(gpus) == {"1"}, show
    features = cluster_dir.glob("results/features/egemaps/*/*.parquet")
    feature_mb = sum(path.stat().st_size for path in features) / 2**20
    assert f"MinMemoryNode={resources.train_mem_mb(feature_mb)}M" in show, show
    assert sum(f"seed-{s}/metrics.json" in train_logs[0].read_text() for s in SEEDS) == 2
    benchmarks = sorted((cluster_dir / "results/benchmarks").rglob("*.tsv"))
    assert len(benchmarks) == len(extract) + len(SEEDS), benchmarks

    # The results equal a local run's: features exactly, training per seed exactly.
    shards = sorted((local_dir / "results/features").rglob("*.parquet"))
    assert len(shards) == len(CORPORA) * 2
    for shard in shards:
        other = cluster_dir / shard.relative_to(local_dir)
        assert pq.read_table(other).equals(pq.read_table(shard)), shard
    for target in TARGETS:
        metrics = json.loads((local_dir / target).read_text())
        assert json.loads((cluster_dir / target).read_text()) == metrics, target


def test_requeued_training_resumes_from_its_checkpoint(slurm_cluster, tmp_path):
    """SLURM requeues a running training job, as it does on preemption (`scontrol requeue`
    kills it and queues it again): the job resumes from its last epoch's checkpoint and ends
    exactly as an uninterrupted local run."""
    target = f"results/runs/{EXPERIMENT}/seed-1/metrics.json"
    local_dir, cluster_dir = tmp_path / "local", tmp_path / "cluster"
    for workdir in (local_dir, cluster_dir):  # ~12 ms an epoch: long enough to requeue mid-run
        write_config(workdir, {"num_epochs": 2000, "batch_size": 8, "seeds": [1]})
    profile = cluster_profile(tmp_path / "profile")
    local = subprocess.Popen(
        snakemake(local_dir, [target], "--cores", "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    cluster = subprocess.Popen(
        on_slurm(cluster_dir, [target], profile),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    train_log = cluster_dir / f"results/logs/runs/{EXPERIMENT}/seed-1.log"
    requeued_after = 50  # epochs seen in the log before the requeue
    deadline = time.monotonic() + SNAKEMAKE_TIMEOUT
    while f"epoch {requeued_after}:" not in (train_log.read_text() if train_log.exists() else ""):
        assert cluster.poll() is None and time.monotonic() < deadline, cluster.communicate()[0]
        time.sleep(0.2)
    running = run("squeue", "-h", "-t", "RUNNING", "-o", "%i").stdout.split()
    assert len(running) == 1, running  # the training job: everything before it has finished
    run("scontrol", "requeue", running[0])

    cluster_output = cluster.communicate(timeout=SNAKEMAKE_TIMEOUT)[0]
    local_output = local.communicate(timeout=SNAKEMAKE_TIMEOUT)[0]
    assert local.returncode == 0, local_output[-3000:]
    assert cluster.returncode == 0, cluster_output[-5000:]
    show = run("scontrol", "show", "job", running[0]).stdout
    assert "JobState=COMPLETED" in show and "Restarts=1" in show, show

    # The second run of the job resumed where the first left off, and ran on from there.
    log = train_log.read_text()
    resumed = re.search(r"resuming from \S+ at epoch (\d+)\n", log)
    assert resumed and int(resumed.group(1)) >= requeued_after, log[:2000]
    assert re.search(rf"\nepoch {resumed.group(1)}:", log) and "\nepoch 0:" not in log
    assert not list((cluster_dir / "results/checkpoints").rglob("*.pt"))

    # ...and ended exactly as the uninterrupted run: every epoch's row, the model selection,
    # the test predictions and metrics.
    run_dir = Path(target).parent
    for name in ("metrics.json", "history.csv"):
        local_text = (local_dir / run_dir / name).read_text()
        assert (cluster_dir / run_dir / name).read_text() == local_text, name
    predictions = pq.read_table(local_dir / run_dir / "predictions.parquet")
    assert pq.read_table(cluster_dir / run_dir / "predictions.parquet").equals(predictions)

"""What jobs ask a cluster for (xcorpus.resources), and that the rules declare it."""

import re
import subprocess
import sys

import pyarrow as pa
import pytest
import yaml
from conftest import SNAKEFILE

from xcorpus import resources
from xcorpus.features.shards import write_shard

# Peak anonymous memory of a 250k-utterance training job over memory-mapped frames (MB).
PEAK_FRAMES_250K = 1207


@pytest.mark.parametrize(
    ("feature_set", "gpus"),
    [
        ({"backend": "egemaps"}, 0),
        ({"backend": "egemaps", "device": "cuda"}, 0),
        ({"backend": "minilm"}, 0),
        ({"backend": "minilm", "device": "auto"}, 0),
        ({"backend": "minilm", "device": "cuda"}, 1),
        ({"backend": "emotion2vec"}, 1),
        ({"backend": "emotion2vec", "device": "cpu"}, 0),
        ({"backend": "hf_audio", "device": "auto"}, 1),
        ({"backend": "hf_text"}, 1),
    ],
)
def test_a_gpu_only_where_the_encoder_uses_one(feature_set, gpus):
    assert resources.extract_gpus(feature_set) == gpus


def test_extraction_memory_grows_with_the_shard_and_each_attempt():
    egemaps = {"backend": "egemaps", "granularity": "utterance"}
    assert resources.extract_mem_mb(egemaps, None) == resources.EXTRACT_BASE_MB["egemaps"]
    # 100k rows x 88 float32 held twice: 67.1 MB on top of the base.
    assert resources.extract_mem_mb(egemaps, 100_000) == 1000 + 68
    assert resources.extract_mem_mb(egemaps, 100_000, attempt=3) == 3 * 1068
    frames = {"backend": "hf_audio", "granularity": "frames", "sequence_rate": 10}
    frames["max_frames"] = 200
    # 100 frames (10/s x 10 s) x 1024 float16 + a 1024 float32 vector, twice, per row.
    per_row = 1024 * 4 + 100 * 1024 * 2
    assert resources.extract_mem_mb(frames, 1000) == 6000 + -(-1000 * per_row * 2 // 2**20)
    capped = frames | {"sequence_rate": None}
    assert resources.sequence_frames(capped) == 200
    assert resources.sequence_frames(frames | {"max_frames": 30}) == 30


def test_extraction_time_from_the_shard_rows():
    egemaps = {"backend": "egemaps"}
    assert resources.extract_runtime(egemaps, None) == resources.UNKNOWN_RUNTIME_MIN
    assert resources.extract_runtime(egemaps, 2400) == 10 + 10  # 2400 x 0.25 s
    assert resources.extract_runtime(egemaps, 2400, attempt=2) == 40
    assert resources.shard_rows(1001, 2) == 501
    assert resources.shard_rows(None, 2) is None


def test_training_memory_from_the_feature_bytes():
    assert resources.train_mem_mb(0) == resources.TRAIN_BASE_MB
    assert resources.train_mem_mb(100.2) == resources.TRAIN_BASE_MB + 501
    assert resources.train_mem_mb(100, attempt=2) == 2 * (resources.TRAIN_BASE_MB + 500)
    frames = resources.TRAIN_BASE_MB + 500 + resources.TRAIN_FRAMES_MB
    assert resources.train_mem_mb(100, frames=True) == frames
    # The peaks measured by benchmarks/train_scale.py (BENCHMARKS.md, "Training at MSP-PODCAST
    # scale"): 250k x 768-d (737 MB of feature files) at 2,941 MB; 250k utterances of frames
    # (held: 250k x (768 + 384) float32 vectors, 1,099 MB) at PEAK_FRAMES_250K MB anonymous.
    assert resources.train_mem_mb(737) >= 2941
    assert resources.train_mem_mb(1099, frames=True) >= PEAK_FRAMES_250K


def test_held_feature_memory_counts_the_vectors_of_a_shard_with_frames(tmp_path):
    vectors, framed = tmp_path / "vectors.parquet", tmp_path / "frames.parquet"
    table = pa.table({"utt_id": ["a", "b"], "embedding": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
    write_shard(table, vectors, {"dim": "3"})
    frames = pa.array([[[1.0, 2.0, 3.0]] * 40] * 2, pa.list_(pa.list_(pa.float16(), 3)))
    write_shard(
        table.append_column("frames", frames), framed, {"dim": "3", "granularity": "frames"}
    )
    assert resources.held_features([vectors]) == (vectors.stat().st_size / 2**20, False)
    assert resources.held_features([framed]) == (2 * 3 * 4 / 2**20, True)
    held = (vectors.stat().st_size + 2 * 3 * 4) / 2**20
    assert resources.held_features([vectors, framed]) == pytest.approx((held, True))


def test_rules_declare_resources(tmp_path):
    """The dry run's job listing: extraction of eGeMAPS asks for no GPU, training for one,
    both for memory and time (before the inputs exist: the figures without them). Which jobs
    stay local is checked on a real SLURM (tests/test_slurm.py): a dry run lists them alike."""
    corpora = {}
    for corpus in ("IEMO", "MSPI", "MSPP"):  # empty roots: a dry run never reads them
        (tmp_path / corpus).mkdir()
        corpora[corpus] = {"root": str(tmp_path / corpus)}
    config = {
        "corpora": corpora,
        "features": {"egemaps": {"backend": "egemaps", "shards": 2}},
        "experiments": [{"name": "IEMO_only", "train_dataset": "IEMO", "seeds": [1]}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(SNAKEFILE),
         "--directory", str(tmp_path), "--cores", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = {}
    for kind, name, body in re.findall(r"^(\w+) (\w+):\n(.*?)\n\n", run.stdout, re.M | re.S):
        listed = re.search(r"resources: (.*)", body)
        jobs.setdefault(name, (kind, listed.group(1) if listed else ""))
    _, extract = jobs["extract_features"]
    assert "mem_mb=1000" in extract and "runtime=60" in extract and "gpu=0" in extract, extract
    _, train = jobs["train"]
    assert f"mem_mb={resources.TRAIN_BASE_MB}" in train and "gpu=1" in train, train

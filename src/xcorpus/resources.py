"""What the heavy jobs ask a cluster for: memory (MB), wall time (minutes) and GPUs.

The workflow's rules read these through input functions (workflow/rules/common.smk); light
rules run on the submitting node (`localrule: True`) and ask for nothing. The figures are peak
RSS and rates measured on the demo and at MSP-PODCAST scale (BENCHMARKS.md, "Resources of the
jobs"), with headroom; every retry (`attempt` 2, 3) asks for that much again, so a job killed
for memory or time is resubmitted with more.
"""

import math
import os
from pathlib import Path

import pyarrow.parquet as pq

from xcorpus.features.shards import has_frames, read_metadata

# Peak RSS of one extraction job before its outputs count: interpreter, libraries, the model and
# one chunk of audio (at most 600 s) or transcripts, with headroom over the eGeMAPS shards
# measured (BENCHMARKS.md, "Memory of one shard job"). The neural backends load torch and a
# base- or large-size encoder (estimated, not measured: BENCHMARKS.md, "Resources of the jobs").
EXTRACT_BASE_MB = {
    "egemaps": 1000,
    "minilm": 2000,
    "hf_text": 4000,
    "emotion2vec": 6000,
    "hf_audio": 6000,
}
# Wall seconds per utterance on one CPU core, for utterances of ~5 s (MSP-PODCAST's mean): twice
# the time of the CPU rates measured for eGeMAPS and emotion2vec base (BENCHMARKS.md, "Feature
# extraction"). A GPU is faster; these are upper bounds.
EXTRACT_SECONDS_PER_UTTERANCE = {
    "egemaps": 0.25,
    "minilm": 0.05,
    "hf_text": 0.2,
    "emotion2vec": 1.2,
    "hf_audio": 1.2,
}
# Embedding width assumed for memory: the largest a configured encoder usually has (a large
# model's 1024; eGeMAPS 88, MiniLM 384).
EMBEDDING_DIM = {
    "egemaps": 88,
    "minilm": 384,
    "hf_text": 1024,
    "emotion2vec": 1024,
    "hf_audio": 1024,
}
# Mean utterance length assumed for the frames an audio sequence holds (sequence_rate x this,
# at most max_frames); text sequences are taken at max_frames tokens.
UTTERANCE_SECONDS = 10.0
# Rows are held twice while a shard is written (the arrays and the Arrow table built from them).
OUTPUT_COPIES = 2
# Training: torch, the model and the run's tables, plus the feature files it reads times the
# copies load_data and normalise hold, with the system allocator for Arrow
# (use_system_memory_pool); both above the peaks measured on the demo and at 250k utterances
# (BENCHMARKS.md, "Resources of the jobs" and "Training at MSP-PODCAST scale").
TRAIN_BASE_MB = 1500
TRAIN_FEATURE_COPIES = 5
# Training over frames: the frames are memory-mapped from the job's tmpdir (never in its own
# memory); this is for the shards' read buffers, the frame positions and the page cache the
# batches read through (BENCHMARKS.md, "Training at MSP-PODCAST scale").
TRAIN_FRAMES_MB = 2000
TRAIN_RUNTIME_MIN = 60
# Minutes every job gets on top of its work: start-up, reading the index, writing.
START_MIN = 10
# Extraction time when the index does not exist yet (the plan before indexing).
UNKNOWN_RUNTIME_MIN = 60


def extract_gpus(feature_set: dict) -> int:
    """1 for a neural audio encoder or hf_text unless `device: cpu`; MiniLM (small, fast on a
    CPU) only with `device: cuda`; eGeMAPS never. A GPU that the job would not use only keeps it
    queueing longer."""
    backend, device = feature_set["backend"], feature_set.get("device", "auto")
    if backend == "egemaps" or device == "cpu":
        return 0
    if backend == "minilm":
        return int(device == "cuda")
    return 1


def shard_rows(index_rows: int | None, shards: int) -> int | None:
    """Rows of the largest shard (shards split an index about evenly by utterance id hash)."""
    return None if index_rows is None else math.ceil(index_rows / shards)


def sequence_frames(feature_set: dict) -> int:
    """Frames (tokens) one stored sequence is assumed to hold; 0 without sequences."""
    if feature_set.get("granularity", "utterance") != "frames":
        return 0
    cap = feature_set.get("max_frames", 200)
    rate = feature_set.get("sequence_rate")
    if feature_set["backend"] in ("minilm", "hf_text") or rate is None:
        return cap
    return min(cap, math.ceil(rate * UTTERANCE_SECONDS))


def extract_mem_mb(feature_set: dict, rows: int | None, attempt: int = 1) -> int:
    """The backend's base plus the shard's outputs (float32 vectors, float16 sequences)."""
    backend = feature_set["backend"]
    dim = EMBEDDING_DIM[backend]
    per_row = dim * 4 + sequence_frames(feature_set) * dim * 2
    outputs = (rows or 0) * per_row * OUTPUT_COPIES / 2**20
    return math.ceil(EXTRACT_BASE_MB[backend] + outputs) * attempt


def extract_runtime(feature_set: dict, rows: int | None, attempt: int = 1) -> int:
    """Minutes for a shard of `rows` utterances (UNKNOWN_RUNTIME_MIN when not yet known)."""
    if rows is None:
        return UNKNOWN_RUNTIME_MIN * attempt
    work = rows * EXTRACT_SECONDS_PER_UTTERANCE[feature_set["backend"]] / 60
    return math.ceil(START_MIN + work) * attempt


def train_mem_mb(feature_mb: float, frames: bool = False, attempt: int = 1) -> int:
    """Memory of one training job holding `feature_mb` of vectors (held_features), plus
    TRAIN_FRAMES_MB when a feature set stores frames."""
    frames_mb = TRAIN_FRAMES_MB if frames else 0
    return math.ceil(TRAIN_BASE_MB + TRAIN_FEATURE_COPIES * feature_mb + frames_mb) * attempt


def held_features(paths: list[str] | list[Path]) -> tuple[float, bool]:
    """MB of the feature shards `paths` that a training job holds in memory, and whether any
    stores frames: a shard of utterance vectors counts its file; one with frames only its
    float32 vectors (from the footer), since the frames are memory-mapped (or, for a vector
    model, not read)."""
    held, frames = 0.0, False
    for path in paths:
        metadata = read_metadata(path)
        if has_frames(metadata):
            held += pq.read_metadata(path).num_rows * int(metadata["dim"]) * 4 / 2**20
            frames = True
        else:
            held += os.path.getsize(path) / 2**20
    return held, frames


def use_system_memory_pool() -> None:
    """Allocate Arrow buffers with the system allocator from now on. Arrow's default pool
    (jemalloc) keeps the buffers of freed feature tables resident, so a training job's peak
    grew faster than its rows with it and linearly without (BENCHMARKS.md, "Training at
    MSP-PODCAST scale")."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def train_runtime(attempt: int = 1) -> int:
    return TRAIN_RUNTIME_MIN * attempt

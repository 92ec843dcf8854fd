"""Training at MSP-PODCAST scale: peak RSS and time per epoch of one training job's data path.

Usage: python benchmarks/train_scale.py [--rows 25000 100000 250000] [--dim 768] [--epochs 2]
    [--frames-rows 8000 32000] [--frames 50] [--frame-epochs 1] [--pools system default]
    [--frame-pools system] [--stores memory mapped] [--data-limit-mb MB] [--dir DIR]

Writes a synthetic corpus per size as the workflow would have it (an IEMO-named index, a
manifest: 80 % train, 10 % validation, 10 % an MSPP-named test corpus; 4 classes; a feature set
in 4 parquet shards), then in a fresh process per size runs what a training job runs:
`load_data`, `normalise` (train statistics), the model, `fit` for --epochs (no curriculum) and
the test predictions, reporting peak RSS (VmHWM, which counts the pages of a memory-mapped
store it has touched), the peak anonymous RSS (the process's own memory, sampled every 10 ms),
the anonymous RSS after imports, the feature files' size and the seconds of loading and per
epoch; each size once per Arrow memory pool (the system allocator, which the workflow's
training script sets, and Arrow's default, jemalloc).

Vectors: --rows utterances x --dim float32 embeddings, the audio MLP. Frames: --frames-rows
utterances with --frames float16 frames each (default 50, the default 10 frames/s over ~5 s)
of --dim audio and 20 tokens x 384 text, the cross-attention model over sequences, in shards of
at most 8,000 utterances, once per frame store (--stores: held in memory, or memory-mapped from
a file in the work directory as the workflow trains). --data-limit-mb caps the children's
private writable memory (RLIMIT_DATA, which a shared file mapping does not count), so a run
that finishes under it shows the job fits in that much memory.
"""

import argparse
import functools
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:  # xcorpus is imported in the child, after its Arrow pool is chosen
    from xcorpus.train.settings import Settings

CHILD = "--child"
SHARDS = 4
FRAME_SHARD_ROWS = 8_000  # frames of at most this many utterances are generated at once
TEXT_TOKENS, TEXT_DIM = 20, 384
CLASSES = ("neutral", "happy", "sad", "angry")


def rss_mb(field: str = "VmHWM") -> float:
    """This process's resident memory in MB: peak (VmHWM), current (VmRSS) or anonymous
    (RssAnon). Not getrusage: its ru_maxrss survives exec, so a child would start at its
    parent's peak."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1)) / 1024


class AnonymousPeak(threading.Thread):
    """The highest RssAnon seen, sampled every 10 ms: the kernel keeps no peak of anonymous
    memory alone, and VmHWM also counts the mapped store's pages (evictable file cache)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_mb("RssAnon")

    def run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mb("RssAnon"))
            time.sleep(0.01)


def write_world(root: Path, rows: int, dim: int, frames: int) -> dict:
    """Index, manifest and feature shards of `rows` synthetic utterances (frames > 0: with
    sequences of that many frames, and a text feature set of token sequences)."""
    from xcorpus.features.shards import write_shard
    from xcorpus.tables import INDEX_SCHEMA, MANIFEST_SCHEMA, write_parquet

    rng = np.random.default_rng(0)
    n_test = rows // 10
    corpora = ["IEMO"] * (rows - n_test) + ["MSPP"] * n_test
    ids = [f"{c}_{i:07d}" for i, c in enumerate(corpora)]
    y = rng.integers(0, 4, rows)
    indexes = []
    for corpus in ("IEMO", "MSPP"):
        mine = [i for i, c in enumerate(corpora) if c == corpus]
        index = pa.table(
            {
                "utt_id": [ids[i] for i in mine],
                "corpus": [corpus] * len(mine),
                "audio_path": [f"{ids[i]}.wav" for i in mine],
                "speaker": [f"{corpus}_spk{i % 200}" for i in mine],
                "label": [CLASSES[y[i]] for i in mine],
                "raw_label": [CLASSES[y[i]] for i in mine],
            }
        )
        missing = [f for f in INDEX_SCHEMA if f.name not in index.column_names]
        for field in missing:
            index = index.append_column(field, pa.nulls(len(mine), field.type))
        indexes.append(root / f"{corpus}.parquet")
        write_parquet(index.select(INDEX_SCHEMA.names).cast(INDEX_SCHEMA), indexes[-1])
    roles = [
        "test" if c == "MSPP" else ("val" if i % 9 == 0 else "train") for i, c in enumerate(corpora)
    ]
    manifest = pa.table(
        {"utt_id": ids, "corpus": corpora, "role": roles, "fold": pa.nulls(rows, pa.int32())}
    )
    write_parquet(manifest.cast(MANIFEST_SCHEMA), root / "manifest.parquet")
    means = rng.normal(size=(4, dim)).astype(np.float32) * 0.07
    features = {"audio": [], "text": []}
    shards = max(SHARDS, math.ceil(rows / FRAME_SHARD_ROWS)) if frames else SHARDS
    for shard in range(shards):
        rows_of = np.arange(shard, rows, shards)
        x = means[y[rows_of]] + rng.standard_normal((len(rows_of), dim), dtype=np.float32)
        columns = {
            "utt_id": [ids[i] for i in rows_of],
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), dim),
        }
        metadata = {"backend": "synthetic", "dim": str(dim), "modality": "audio"}
        if frames:
            columns["frames"] = sequences(len(rows_of), frames, dim, rng)
            metadata["granularity"] = "frames"
        path = root / "audio" / f"shard-{shard}-of-{shards}.parquet"
        write_shard(pa.table(columns), path, metadata)
        features["audio"].append(path)
        if frames:
            text = rng.standard_normal((len(rows_of), TEXT_DIM), dtype=np.float32)
            columns = {
                "utt_id": columns["utt_id"],
                "embedding": pa.FixedSizeListArray.from_arrays(
                    pa.array(text.reshape(-1)), TEXT_DIM
                ),
                "frames": sequences(len(rows_of), TEXT_TOKENS, TEXT_DIM, rng),
            }
            metadata = metadata | {"dim": str(TEXT_DIM), "modality": "text"}
            path = root / "text" / f"shard-{shard}-of-{shards}.parquet"
            write_shard(pa.table(columns), path, metadata)
            features["text"].append(path)
    return {
        "indexes": [str(p) for p in indexes],
        "features": {k: [str(p) for p in v] for k, v in features.items() if v},
    }


def sequences(n: int, length: int, dim: int, rng: np.random.Generator) -> pa.Array:
    """`n` sequences of `length` float16 frames of `dim`."""
    values = rng.standard_normal((n * length, dim), dtype=np.float32).astype(np.float16)
    frames = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), dim)
    offsets = pa.array(np.arange(0, n * length + 1, length, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, frames)


def experiment(epochs: int, frames: bool) -> "Settings":
    """The schema's defaults for an IEMO -> MSPP experiment without a curriculum, as a
    training job reads them."""
    from snakemake.utils import validate

    from xcorpus.config import expand_experiments, mark_schema_defaults, with_builtin_feature_sets
    from xcorpus.train.settings import Settings

    exp = {"name": "scale", "train_dataset": "IEMO", "num_epochs": epochs, "seeds": [1]}
    exp |= {"use_curriculum_learning": False, "curriculum_type": "none"}
    if frames:
        exp |= {"modality": "both", "fusion_type": "cross_attention"}
    config = {
        "corpora": {c: {"root": c, "demo": True} for c in ("IEMO", "MSPP")},
        "experiments": [exp],
        "wandb_mode": "disabled",
    }
    given = [set(exp)]
    validate(config, str(Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml"))
    config["features"] = with_builtin_feature_sets(config["features"])
    expanded = expand_experiments(config)
    mark_schema_defaults(expanded, given)
    return Settings.of(expanded[0])


def child(world: dict, epochs: int, frames: bool, pool: str, store: str) -> dict:
    """One training job's data path in this process, with Arrow's `pool` (system, as the
    workflow's training script sets it, or Arrow's default) and frames held in memory or
    memory-mapped (`store`); its figures."""
    import torch

    from xcorpus.resources import use_system_memory_pool

    if pool == "system":
        use_system_memory_pool()

    from xcorpus.train.curriculum import make_curriculum
    from xcorpus.train.data import load_data
    from xcorpus.train.loop import fit, predict_proba, set_determinism
    from xcorpus.train.normalise import normalise
    from xcorpus.train.run import build_model

    torch.set_num_threads(1)
    exp = experiment(epochs, frames)
    root = Path(world["indexes"][0]).parent
    after_imports = rss_mb("RssAnon")
    anonymous = AnonymousPeak()
    anonymous.start()
    start = time.perf_counter()
    features = {k: [Path(p) for p in v] for k, v in world["features"].items()}
    indexes = [Path(p) for p in world["indexes"]]
    scratch = tempfile.TemporaryDirectory(dir=root, prefix="frames-")
    frames_dir = Path(scratch.name) if store == "mapped" else None
    data = load_data(exp, root / "manifest.parquet", indexes, features, None, frames_dir=frames_dir)
    data, _ = normalise(data, exp.feature_normalisation, exp.min_speaker_utterances)
    loaded = time.perf_counter() - start
    after_load = rss_mb("RssAnon")
    set_determinism(1)
    model = build_model(exp, data.train)
    curriculum = make_curriculum(exp, data.train.corpus, data.train.y.numpy(), None, 1)
    start = time.perf_counter()
    result = fit(model, data.train, data.val, curriculum, exp, np.random.default_rng(1), None)
    per_epoch = (time.perf_counter() - start) / epochs
    model.load_state_dict(result.best_state)
    predict_proba(model, data.test["MSPP"])
    scratch.cleanup()
    return {
        "after_imports_mb": after_imports,
        "after_load_mb": after_load,
        "peak_mb": rss_mb(),
        "peak_anonymous_mb": max(anonymous.peak, rss_mb("RssAnon")),
        "load_s": loaded,
        "epoch_s": per_epoch,
        "train_rows": len(data.train),
    }


def measure(
    rows: int,
    dim: int,
    frames: int,
    epochs: int,
    pools: list[str],
    stores: list[str],
    workdir: Path,
    data_limit_mb: int | None,
) -> list[dict]:
    """Figures of one size, per Arrow memory pool and frame store, each in a fresh process;
    the world is removed afterwards."""
    root = workdir / f"{'frames' if frames else 'vectors'}-{rows}"
    world = write_world(root, rows, dim, frames)
    feature_bytes = sum(Path(p).stat().st_size for v in world["features"].values() for p in v)
    results = []
    limit = None if data_limit_mb is None else functools.partial(limit_data, data_limit_mb)
    for pool in pools:
        for store in stores:
            command = [sys.executable, __file__, CHILD, json.dumps(world), str(epochs)]
            command += [str(bool(frames)), pool, store]
            run = subprocess.run(
                command, capture_output=True, text=True, check=True, preexec_fn=limit
            )
            figures = json.loads(run.stdout.strip().splitlines()[-1])
            feature_mb = feature_bytes / 2**20
            results.append({"rows": rows, "pool": pool, "store": store, "feature_mb": feature_mb})
            results[-1] |= figures | {"data_limit_mb": data_limit_mb}
    for path in sorted(root.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    return results


def limit_data(mb: int) -> None:
    """Cap this process's private writable memory (RLIMIT_DATA) at `mb` MiB."""
    resource.setrlimit(resource.RLIMIT_DATA, (mb * 2**20, mb * 2**20))


def report(kind: str, results: list[dict]) -> None:
    print(f"\n{kind}")
    header = ["rows", "Arrow pool", "frames", "feature files", "anonymous after imports"]
    header += ["anonymous after load_data", "peak RSS", "peak anonymous"]
    header += ["peak anonymous - imports per 1k rows", "RLIMIT_DATA", "load", "epoch"]
    print("| " + " | ".join(header) + " |")
    print("|---:|---|---|" + "---:|" * (len(header) - 3))
    for r in results:
        growth = (r["peak_anonymous_mb"] - r["after_imports_mb"]) / r["rows"] * 1000
        limit = "-" if r["data_limit_mb"] is None else f"{r['data_limit_mb']:,} MB"
        print(
            f"| {r['rows']:,} | {r['pool']} | {r['store']} | {r['feature_mb']:,.0f} MB "
            f"| {r['after_imports_mb']:,.0f} MB | {r['after_load_mb']:,.0f} MB "
            f"| {r['peak_mb']:,.0f} MB | {r['peak_anonymous_mb']:,.0f} MB | {growth:.1f} MB "
            f"| {limit} | {r['load_s']:.1f} s | {r['epoch_s']:.1f} s |"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        world, epochs, frames = json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "True"
        print(json.dumps(child(world, epochs, frames, sys.argv[5], sys.argv[6])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[25_000, 100_000, 250_000])
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--frames-rows", type=int, nargs="*", default=[8_000, 32_000])
    parser.add_argument("--frames", type=int, default=50, help="frames per utterance")
    parser.add_argument("--frame-epochs", type=int, default=1)
    parser.add_argument(
        "--pools", nargs="+", default=["system", "default"], choices=["system", "default"],
        help="Arrow memory pools to measure each size with (system: as the workflow trains)",
    )  # fmt: skip
    parser.add_argument(
        "--frame-pools", nargs="+", default=["system"], choices=["system", "default"]
    )
    parser.add_argument(
        "--stores", nargs="+", default=["memory", "mapped"], choices=["memory", "mapped"],
        help="where the frames are held (mapped: memory-mapped, as the workflow trains)",
    )  # fmt: skip
    parser.add_argument("--data-limit-mb", type=int, help="RLIMIT_DATA of each training child")
    parser.add_argument("--dir", help="work directory (default: a temporary one)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, torch 1 thread")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        limit = args.data_limit_mb
        vectors = [
            r
            for n in args.rows
            for r in measure(n, args.dim, 0, args.epochs, args.pools, ["-"], Path(tmp), limit)
        ]
        report(f"vectors: {args.dim}-d float32, audio MLP, {args.epochs} epochs", vectors)
        framed = [
            r
            for n in args.frames_rows
            for r in measure(
                n,
                args.dim,
                args.frames,
                args.frame_epochs,
                args.frame_pools,
                args.stores,
                Path(tmp),
                limit,
            )
        ]
        report(
            f"frames: {args.frames} x {args.dim} audio + {TEXT_TOKENS} x {TEXT_DIM} text, float16, "
            f"cross-attention, {args.frame_epochs} epoch(s)",
            framed,
        )


if __name__ == "__main__":
    main()

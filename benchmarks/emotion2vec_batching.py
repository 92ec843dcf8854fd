"""Throughput of the emotion2vec backend against FunASR's one-at-a-time `generate`.

Builds a base-size random emotion2vec (768-d, 12 heads, prenet 4 + depth 8, 512 conv channels;
~94M parameters) in a temporary directory, so it runs offline, then times on the same clips
(a) FunASR `generate` one clip at a time and (b) `xcorpus.features.emotion2vec`, and checks that
(b) reproduces (a): worst per-utterance cosine of utterance vectors and of frames. Prints a
markdown table row. Example on a GPU:

    python benchmarks/emotion2vec_batching.py --device cuda --dtype bfloat16 --batch-seconds 120
"""

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from xcorpus import testing
from xcorpus.audio import SAMPLE_RATE
from xcorpus.features import emotion2vec, emotion2vec_funasr
from xcorpus.features.encoder import DTYPES, resolve_device


def clips(count: int, low: float, high: float, seed: int) -> list[np.ndarray]:
    """Seeded noise clips of uniform random length and loudness."""
    rng = np.random.default_rng(seed)
    return [
        (
            rng.standard_normal(int(rng.uniform(low, high) * SAMPLE_RATE)) * rng.uniform(0.01, 0.5)
        ).astype(np.float32)
        for _ in range(count)
    ]


def machine(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    names = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ] or [platform.processor()]
    return f"{names[0]}, {torch.get_num_threads()} threads"


def funasr_generate(model_dir: Path, device: str):
    """A function from clips to FunASR's frames, one clip per `generate` call.

    Its utterance vector is the mean of these frames, so one call per clip is enough.
    """
    model = emotion2vec_funasr.funasr_model(model_dir, device)

    def run(waves: list[np.ndarray]) -> list[np.ndarray]:
        with emotion2vec_funasr.quiet():
            return [
                model.generate(w, granularity="frame", extract_embedding=True)[0]["feats"]
                for w in waves
            ]

    return run


def timed(run, waves: list[np.ndarray]):
    """`run(waves)` and its wall time, after a two-clip warm-up."""
    run(waves[:2])
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = run(waves)
    return result, time.perf_counter() - start


def worst_cosines(ours: list, reference: list[np.ndarray]) -> tuple[float, float]:
    """Lowest cosine over utterance vectors and over all frames."""

    def cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = a.astype(np.float64), b.astype(np.float64)
        return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)

    pairs = list(zip(ours, reference, strict=True))
    for mine, theirs in pairs:
        if mine.frames.shape != theirs.shape:
            raise AssertionError(f"frame count {mine.frames.shape} != FunASR's {theirs.shape}")
    utterance = min(float(cos(m.vector, r.mean(axis=0))) for m, r in pairs)
    frames = min(float(cos(m.frames, r).min()) for m, r in pairs)
    return utterance, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--dtype", default="float32", choices=list(DTYPES))
    parser.add_argument("--batch-seconds", type=float, default=60.0)
    parser.add_argument(
        "--max-items",
        type=int,
        default=None,
        help="items per padded batch (0: no limit); default: the encoder's choice for the device",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = resolve_device(args.device)
    waves = clips(args.clips, args.min_seconds, args.max_seconds, args.seed)
    audio_seconds = sum(len(w) for w in waves) / SAMPLE_RATE
    config = testing.random_model_config(
        width=768, heads=12, depth=8, prenet_depth=4, conv_channels=512
    )
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = testing.write_random_model(Path(tmp), config, seed=args.seed)
        encoder = emotion2vec.load(
            str(model_dir), device=device, dtype=args.dtype, batch_seconds=args.batch_seconds
        )
        if args.max_items is not None:
            encoder.max_items = args.max_items or None
        reference, funasr_s = timed(funasr_generate(model_dir, device), waves)
        ours, ours_s = timed(encoder, waves)
    utterance_cos, frame_cos = worst_cosines(ours, reference)

    print(
        "| machine | device | dtype | batch s | max items | clips | audio s "
        "| FunASR clips/s | FunASR audio-s/s | ours clips/s | ours audio-s/s | speed-up "
        "| worst 1-cos utt | worst 1-cos frame |"
    )
    print("|" + "---|" * 14)
    print(
        f"| {machine(device)} | {device} | {args.dtype} | {args.batch_seconds:g} "
        f"| {encoder.max_items or 'no limit'} | {len(waves)} | {audio_seconds:.0f} "
        f"| {len(waves) / funasr_s:.2f} | {audio_seconds / funasr_s:.1f} "
        f"| {len(waves) / ours_s:.2f} | {audio_seconds / ours_s:.1f} "
        f"| {funasr_s / ours_s:.2f}x | {1 - utterance_cos:.1e} | {1 - frame_cos:.1e} |"
    )


if __name__ == "__main__":
    main()

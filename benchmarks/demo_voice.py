"""Speed of the demo's speech synthesiser and of its block-wise formant filter, against
switching IIR coefficients every block, in one run.

Usage: python benchmarks/demo_voice.py [--utterances 20] [--seconds 3.0] [--repeats 5]
On one core (numpy's FFT is single-threaded): `synthesise` on neutral voices (x real time);
`voice._formant_filter` (each 10 ms block rings through its own cascade, overlap-add of one
batched FFT) against the straightforward filter, scipy's `sosfilt` run block by block with the
block's four resonators and the state carried over, on the same excitation and formant tracks
(x real time of each, best of --repeats taken in turns, and their ratio). With formants that
do not move the two compute the same filter, so their difference is the error of holding each
block's response in a 1024-point frame; printed in dB below the output, for a neutral voice's
bandwidths and a fully pressed one's (x0.7, the narrowest the demo's voices reach).
"""

import argparse
import os
import sys
import time

import numpy as np
from scipy import signal

from xcorpus.corpora.demo import voice
from xcorpus.corpora.demo.voice import BANDWIDTHS, FS, HOP, SCHWA, VOWELS, VoiceParams


def per_block_iir(x: np.ndarray, formants: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """The baseline: the four resonators of each 10 ms block as second-order sections (unity
    gain at DC, as voice._formant_filter), filtering that block with the state carried over."""
    r = np.exp(-np.pi * bandwidths / FS)
    out = np.zeros(len(x))
    state = np.zeros((4, 2))
    for block, freqs in enumerate(np.clip(formants, 150.0, 0.45 * FS)):
        c = 2.0 * r * np.cos(2.0 * np.pi * freqs / FS)
        sos = np.zeros((4, 6))
        sos[:, 0] = 1.0 - c + r**2
        sos[:, 3], sos[:, 4], sos[:, 5] = 1.0, -c, r**2
        part = slice(block * HOP, (block + 1) * HOP)
        out[part], state = signal.sosfilt(sos, x[part], zi=state)
    return out


def formant_tracks(blocks: int, rng: np.random.Generator) -> np.ndarray:
    """(blocks, 4) Hz: a new vowel target every 20 blocks, interpolated between them."""
    targets = VOWELS[rng.integers(len(VOWELS), size=blocks // 20 + 2)]
    at = np.arange(len(targets)) * 20.0
    return np.stack([np.interp(np.arange(blocks), at, targets[:, k]) for k in range(4)], axis=1)


def best_rates(filters: list, cases: list, repeats: int) -> list[float]:
    """Audio seconds filtered per second by each filter, best of `repeats` passes over all
    cases, the filters taking turns so that a change in the machine's load falls on all."""
    audio = sum(len(x) for x, _ in cases) / FS
    best = [float("inf")] * len(filters)
    for _ in range(repeats):
        for i, filter_fn in enumerate(filters):
            best[i] = min(best[i], timed(filter_fn, cases))
    return [audio / seconds for seconds in best]


def timed(filter_fn, cases: list) -> float:
    start = time.perf_counter()
    for x, formants in cases:
        filter_fn(x, formants, BANDWIDTHS)
    return time.perf_counter() - start


def frame_error_db(rng: np.random.Generator, seconds: float, bw_scale: float) -> float:
    """Level of the difference between the two filters (fixed schwa formants) below the
    baseline's output, in dB."""
    blocks = int(seconds * FS) // HOP
    x = rng.standard_normal(blocks * HOP)
    formants = np.tile(SCHWA, (blocks, 1))
    exact = per_block_iir(x, formants, BANDWIDTHS * bw_scale)
    framed = voice._formant_filter(x, formants, BANDWIDTHS * bw_scale)
    return float(20 * np.log10(np.std(framed - exact) / np.std(exact)))


def neutral_voice(duration_s: float, rng: np.random.Generator) -> VoiceParams:
    return VoiceParams(
        f0_hz=float(rng.uniform(100.0, 220.0)),
        accent_st=2.0,
        rate=4.0,
        gain_db=0.0,
        jitter=0.01,
        shimmer=0.05,
        breathiness=0.1,
        pause_s=0.3,
        articulation=0.8,
        f1_scale=1.0,
        formant_scale=1.0,
        pressedness=0.0,
        duration_s=duration_s,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each utterance")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    blocks = int(args.seconds * FS) // HOP
    cases = [
        (rng.standard_normal(blocks * HOP), formant_tracks(blocks, rng))
        for _ in range(args.utterances)
    ]
    ours, baseline = best_rates([voice._formant_filter, per_block_iir], cases, args.repeats)
    start = time.perf_counter()
    audio = sum(
        len(voice.synthesise(neutral_voice(args.seconds, rng), rng)) / FS
        for _ in range(args.utterances)
    )
    synthesis = audio / (time.perf_counter() - start)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores")
    print(f"{args.utterances} utterances of {args.seconds} s")
    print(f"synthesise (neutral voices):       {synthesis:6.0f}x real time")
    print(f"formant filter, block FFT (ours):  {ours:6.0f}x real time")
    print(f"formant filter, IIR per block:     {baseline:6.0f}x real time")
    print(f"ratio: {ours / baseline:.1f}x")
    for bw_scale in (1.0, 0.7):
        error = frame_error_db(rng, args.seconds, bw_scale)
        print(f"1024-point frame, bandwidths x{bw_scale}: difference {error:.0f} dB")


if __name__ == "__main__":
    main()

"""Time `index_corpus` on synthetic layouts: MSP-Podcast at 25k and 250k rows, or CREMA-D at
a tenth of and at its full size (7,442 wavs).

Usage: python benchmarks/index_scale.py [--corpus MSPP|CREMAD] [--rows N] [--small N]
           [--workers 0] [--dir DIR]
MSPP: builds Labels/labels_consensus.csv, Audios/*.wav (one tiny wav hard-linked to every name,
so the layout takes seconds to write) and Transcripts/*.txt for a quarter of the utterances, and
with --workers N a v1.11 Labels/labels_detailed.csv of N annotator rows per utterance. CREMAD:
AudioWAV/<actor>_<SEN>_<EMO>_<LVL>.wav named as the release names them (82 per actor), hard-
linked the same way, with VideoDemographics.csv and a tabulatedVotes.csv of three rows per
clip. Each layout is indexed in a fresh process, reporting seconds and peak RSS, and the time
of the sources fingerprint the workflow takes of the corpus at every Snakemake start. Time and
memory should grow no faster than the row count; the target is 250k MSPP rows in under 60 s on
2 cores.
"""

import argparse
import csv
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

CODES = ("N", "H", "S", "A", "X", "U")
SPLITS = ("Train", "Development", "Test1")
GENDERS = ("Male", "Female")
EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")  # CREMA-D's codes and intensities
LEVELS = ("LO", "MD", "HI")
# ext4 allows 65000 links to one inode; a fresh template wav every this many names.
LINKS_PER_TEMPLATE = 50_000


def build_layout(root: Path, rows: int, workers: int) -> None:
    """An MSP-Podcast release 1.12 layout with `rows` label rows, all with audio, and `workers`
    detailed annotator rows per utterance (none when 0)."""
    audios = root / "Audios"
    transcripts = root / "Transcripts"
    for folder in (root / "Labels", audios, transcripts):
        folder.mkdir(parents=True)
    columns = ["FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender"]
    with (root / "Labels" / "labels_consensus.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*columns, "Split_Set"])
        for i in range(rows):
            stem = f"MSP-PODCAST_{i // 100:04d}_{i % 100:04d}"
            code, gender, split = CODES[i % len(CODES)], GENDERS[i % 2], SPLITS[i % len(SPLITS)]
            writer.writerow(
                [f"{stem}.wav", code, "4.2", "3.8", "4.0", str(i % 1500), gender, split]
            )
            if i % LINKS_PER_TEMPLATE == 0:
                template = root / f"template{i // LINKS_PER_TEMPLATE}.wav"
                noise = 0.01 * np.random.default_rng(i).standard_normal(1600)
                sf.write(template, noise, 16000, subtype="PCM_16")  # not silent: kept
            os.link(template, audios / f"{stem}.wav")
            if i % 4 == 0:
                (transcripts / f"{stem}.txt").write_text("a short line of speech\n")
    if workers:
        write_detailed(root / "Labels" / "labels_detailed.csv", rows, workers)


def write_detailed(path: Path, rows: int, workers: int) -> None:
    """`workers` EmoDetail rows per utterance, as release 1.11+ writes them."""
    words = ("Neutral", "Happy", "Sad", "Angry", "Other-bored", "Surprise")
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["FileName", "EmoDetail"])
        for i in range(rows):
            stem = f"MSP-PODCAST_{i // 100:04d}_{i % 100:04d}"
            for w in range(workers):
                worker, word = f"WORKER{(i + 7 * w) % 3000:05d}", words[(i + w) % len(words)]
                detail = f"{worker}; {word}; Amused,Excited; A:{1 + w % 7}.0; V:4.0; D:3.0;"
                writer.writerow([f"{stem}.wav", detail])


def build_cremad(root: Path, clips: int) -> None:
    """A CREMA-D clone of `clips` wavs (actors from 1001, the release's 82 names each), its
    speaker table and a vote table with voice, face and audio-visual rows per clip."""
    from xcorpus.corpora.cremad import SENTENCES

    wav = root / "AudioWAV"
    wav.mkdir(parents=True)
    per_actor = [(s, e, "XX") for s in SENTENCES if s != "IEO" for e in EMOTIONS]
    per_actor += [("IEO", "NEU", "XX")]
    per_actor += [("IEO", e, level) for e in EMOTIONS if e != "NEU" for level in LEVELS]
    stems = [
        f"{1001 + k // len(per_actor)}_{'_'.join(per_actor[k % len(per_actor)])}"
        for k in range(clips)
    ]
    template = root.with_name(f"{root.name}-template.wav")  # outside the corpus
    noise = 0.01 * np.random.default_rng(0).standard_normal(1600)
    sf.write(template, noise, 16000, subtype="PCM_16")
    for stem in stems:
        os.link(template, wav / f"{stem}.wav")
    actors = sorted({stem[:4] for stem in stems})
    with (root / "VideoDemographics.csv").open("w", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["ActorID", "Age", "Sex", "Race", "Ethnicity"])
        for i, actor in enumerate(actors):
            writer.writerow([int(actor), 30, GENDERS[i % 2], "Unknown", "Not Hispanic"])
    (root / "processedResults").mkdir()
    with (root / "processedResults" / "tabulatedVotes.csv").open("w", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["", "A", "D", "F", "H", "N", "S", "fileName", "numResponses"])
        for query in (1, 2, 3):
            for k, stem in enumerate(stems, start=1):
                votes = [(k + j) % 3 for j in range(6)]
                writer.writerow([str(query * 100000 + k), *votes, stem, sum(votes)])


def timed_index(corpus: str, root: str) -> tuple[float, float, float, int, float]:
    """(seconds, peak RSS in MiB, its growth over the imports in MiB, kept rows) of indexing
    `root`, and the seconds of its sources fingerprint, which every Snakemake start takes; run
    in a fresh process so that the peak is this run's alone."""
    from xcorpus.corpora import index_corpus
    from xcorpus.corpora.sources import fingerprint

    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    index, _ = index_corpus(corpus, root)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    fingerprint(corpus, root)
    fingerprint_s = time.perf_counter() - start
    growth_mib = (peak_kib - before_kib) / 1024
    return seconds, peak_kib / 1024, growth_mib, index.num_rows, fingerprint_s


def measure(base: Path, corpus: str, rows: int, workers: int) -> tuple[float, float]:
    """Build a layout of `rows` rows under `base`, index it, print and return (s, peak MiB)."""
    root = base / f"{corpus.lower()}_{rows}"
    start = time.perf_counter()
    if corpus == "CREMAD":
        build_cremad(root, rows)
    else:
        build_layout(root, rows, workers)
    built = time.perf_counter() - start
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        seconds, peak_mib, growth_mib, kept, fingerprint_s = pool.submit(
            timed_index, corpus, str(root)
        ).result()
    print(
        f"{rows:>8} rows: index {seconds:7.2f} s, peak RSS {peak_mib:7.1f} MiB "
        f"(+{growth_mib:.1f} MiB over the imports), {kept} kept, sources fingerprint "
        f"{fingerprint_s:.2f} s (layout written in {built:.1f} s)",
        flush=True,
    )
    return seconds, peak_mib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("MSPP", "CREMAD"), default="MSPP")
    parser.add_argument("--rows", type=int, help="default: 250000 (MSPP), 7442 (CREMAD)")
    parser.add_argument("--small", type=int, help="default: a tenth of --rows")
    parser.add_argument("--workers", type=int, default=0, help="detailed rows per utterance")
    parser.add_argument("--dir", help="where to build the layouts (default: a temporary dir)")
    args = parser.parse_args()
    args.rows = args.rows or (7442 if args.corpus == "CREMAD" else 250_000)
    args.small = args.small or args.rows // 10
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.workers} workers/utt")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        small_s, small_mib = measure(Path(tmp), args.corpus, args.small, args.workers)
        large_s, large_mib = measure(Path(tmp), args.corpus, args.rows, args.workers)
    print(
        f"ratio {args.rows / args.small:.0f}x rows: {large_s / small_s:.1f}x time, "
        f"{large_mib / small_mib:.1f}x peak RSS"
    )


if __name__ == "__main__":
    main()

"""Time `index_corpus` on synthetic corpus layouts at full size and at a tenth of it.

Usage: python benchmarks/index_scale.py [--corpus MSPP|ESD|MELD|CREMAD] [--rows N] [--small N]
                                        [--workers 0] [--dir DIR]
MSPP (default 250k / 25k rows): Labels/labels_consensus.csv, Audios/*.wav (one tiny wav
hard-linked to every name, so the layout takes seconds to write) and Transcripts/*.txt for a
quarter of the utterances, and with --workers N a v1.11 Labels/labels_detailed.csv of N
annotator rows per utterance. ESD (35,000 / 3,500 files, the full corpus): the official split
folders with a hard-linked 1 s wav and the 20 speakers' text files. MELD (13,708 / 1,371 rows,
the three CSVs' size): the CSVs and one MP4 clip per row, hard links to a 3.2 s (MELD's mean
duration) 48 kHz AAC clip, 5.1 for most rows and stereo for every eighth, so indexing decodes
every clip as it does for the real corpus. CREMAD (7,442 / 744 wavs): AudioWAV/ named as the
release names them (82 per actor), hard-linked the same way, with VideoDemographics.csv and a
tabulatedVotes.csv of three rows per clip. Each layout is indexed in a fresh process: seconds,
peak RSS, and the time of the sources fingerprint the workflow takes at every Snakemake start.
Time and memory should grow no faster than the row count; the MSPP target is 250k rows in
under 60 s on 2 cores.
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


def build_mspp(root: Path, rows: int, workers: int) -> None:
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


def _linked(template: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.link(template, path)


def build_esd(root: Path, rows: int, workers: int) -> None:
    """ESD's official layout holding the first `rows` of its 35,000 files (speaker by speaker,
    350 sentences of each emotion) and each speaker's UTF-8 text file."""
    from xcorpus.corpora.esd import BLOCK, EMOTIONS

    template = root / "template.wav"
    root.mkdir(parents=True)
    noise = 0.01 * np.random.default_rng(0).standard_normal(16000)
    sf.write(template, noise, 16000, subtype="PCM_16")
    lines: dict[str, list[str]] = {}
    for i in range(rows):
        speaker = f"{i // (BLOCK * len(EMOTIONS)) + 1:04d}"
        number = i % (BLOCK * len(EMOTIONS)) + 1
        k, emotion = (number - 1) % BLOCK, EMOTIONS[(number - 1) // BLOCK]
        split = "evaluation" if k < 20 else "test" if k < 50 else "train"
        utt_id = f"{speaker}_{number:06d}"
        _linked(template, root / speaker / emotion / split / f"{utt_id}.wav")
        lines.setdefault(speaker, []).append(f"{utt_id}\tA short sentence number {k}.\t{emotion}")
    for speaker, entries in lines.items():
        (root / speaker / f"{speaker}.txt").write_text("".join(x + "\n" for x in entries))


MELD_EMOTIONS = ("neutral", "joy", "sadness", "anger", "surprise", "neutral", "fear", "disgust")
MELD_SHARES = (("train", 9989), ("dev", 1109), ("test", 2610))


def build_meld(root: Path, rows: int, workers: int) -> None:
    """MELD.Raw with `rows` CSV rows over train/dev/test in the release's proportions, ten
    utterances a dialogue, each row's clip a hard link to a 3.2 s AAC template."""
    from xcorpus.corpora.demo.more import MELD_HEADER, write_mp4

    base = root / "MELD.Raw"
    pcm = (3000 * np.random.default_rng(0).standard_normal(int(16000 * 3.2))).astype(np.int16)
    templates = {c: root / f"template{c}.mp4" for c in (2, 6)}
    for channels, path in templates.items():
        write_mp4(path, pcm, channels)
    folders = {"train": "train/train_splits", "dev": "dev_splits_complete"}
    total = sum(n for _, n in MELD_SHARES)
    row = 0
    for split, share in MELD_SHARES:
        n = round(rows * share / total)
        folder = base / folders.get(split, "output_repeated_splits_test")
        lines = [MELD_HEADER]
        for i in range(n):
            d, u = divmod(i, 10)
            emotion = MELD_EMOTIONS[row % len(MELD_EMOTIONS)]
            times = '"00:01:00,000","00:01:03,200"'
            lines.append(f"{row + 1},Okay.,Ross,{emotion},neutral,{d},{u},1,1,{times}")
            _linked(templates[2 if row % 8 == 0 else 6], folder / f"dia{d}_utt{u}.mp4")
            row += 1
        csv_dir = base / "train" if split == "train" else base
        (csv_dir / f"{split}_sent_emo.csv").write_text("\r\n".join(lines) + "\r\n")


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


def build_cremad(root: Path, clips: int, workers: int) -> None:
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


LAYOUTS = {"MSPP": build_mspp, "ESD": build_esd, "MELD": build_meld, "CREMAD": build_cremad}
# Full and small sizes per corpus: rows of the label files (MSPP, MELD) or audio files.
SIZES = {
    "MSPP": (250_000, 25_000),
    "ESD": (35_000, 3_500),
    "MELD": (13_708, 1_371),
    "CREMAD": (7_442, 744),
}


def _peak_kib() -> int:
    """This process's peak RSS in KiB: VmHWM where /proc has it, since on Linux ru_maxrss
    survives exec, so a spawned child would report its parent's peak (MELD's layout writer
    peaks above the indexing child); ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def timed_index(corpus: str, root: str) -> tuple[float, float, float, int, float]:
    """(seconds, peak RSS in MiB, its growth over the imports in MiB, kept rows) of indexing
    `root`, and the seconds of its sources fingerprint, which every Snakemake start takes; run
    in a fresh process so that the peak is this run's alone."""
    from xcorpus.corpora.indexing import index_corpus
    from xcorpus.corpora.sources import fingerprint

    before_kib = _peak_kib()
    start = time.perf_counter()
    index, _, _ = index_corpus(corpus, root)
    seconds = time.perf_counter() - start
    peak_kib = _peak_kib()
    start = time.perf_counter()
    fingerprint(corpus, root)
    fingerprint_s = time.perf_counter() - start
    growth_mib = (peak_kib - before_kib) / 1024
    return seconds, peak_kib / 1024, growth_mib, index.num_rows, fingerprint_s


def measure(corpus: str, base: Path, rows: int, workers: int) -> tuple[float, float]:
    """Build a layout of `rows` rows under `base`, index it, print and return (s, peak MiB)."""
    root = base / f"{corpus.lower()}_{rows}"
    start = time.perf_counter()
    LAYOUTS[corpus](root, rows, workers)
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
    parser.add_argument("--corpus", choices=sorted(LAYOUTS), default="MSPP")
    parser.add_argument("--rows", type=int, help="full size (default: the corpus's)")
    parser.add_argument("--small", type=int, help="small size (default: a tenth)")
    parser.add_argument("--workers", type=int, default=0, help="detailed rows per utterance")
    parser.add_argument("--dir", help="where to build the layouts (default: a temporary dir)")
    args = parser.parse_args()
    rows, small = args.rows or SIZES[args.corpus][0], args.small or SIZES[args.corpus][1]
    print(
        f"{args.corpus}: python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"{args.workers} workers/utt"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        small_s, small_mib = measure(args.corpus, Path(tmp), small, args.workers)
        large_s, large_mib = measure(args.corpus, Path(tmp), rows, args.workers)
    print(
        f"ratio {rows / small:.0f}x rows: {large_s / small_s:.1f}x time, "
        f"{large_mib / small_mib:.1f}x peak RSS"
    )


if __name__ == "__main__":
    main()

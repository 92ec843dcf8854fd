"""Reading one utterance as 16 kHz mono float32, whatever the corpus's file format and rate.

Every audio backend sees the same signal: segments are cut by frame index (seeking, so a
one-hour CMU-MOSEI video wav is never read whole for a five-second segment), channels are
averaged, and other rates are resampled with a polyphase filter. WAV/FLAC are read with
soundfile; the audio stream of an MP4 video (MELD's 48 kHz AAC, 2 or 6 channels) is decoded
with PyAV, whose wheels carry FFmpeg, as the samples FFmpeg's decoder gives (whole: MP4 clips
are short), then averaged and resampled the same way. Content hashes of exactly
that signal let the leakage report find the same audio under another name, path or format.
"""

import hashlib
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import soundfile as sf

from xcorpus.tables import AUDIO_HASH_SCHEMA

SAMPLE_RATE = 16000
# A segment may end this much after the end of its file (a video's audio track and its
# transcript timings drift by a few video frames); it is then cut at the file's end. A segment
# running further past the end is refused: its end is speech the file does not have.
SEGMENT_END_TOLERANCE_S = 0.25


# Files whose audio is a stream inside a video container, decoded by decode_container.
CONTAINER_SUFFIXES = frozenset({".mp4"})


class AudioError(Exception):
    """Audio that cannot give the requested samples; the message names the file."""


def is_container(path: str | Path) -> bool:
    """Whether `path` is read by decode_container rather than soundfile."""
    return Path(path).suffix.lower() in CONTAINER_SUFFIXES


def decode_container(path: str | Path) -> tuple[np.ndarray, int, int]:
    """(mono float32 samples, sample rate, channel count) of the first audio stream of `path`.

    Channels are averaged frame by frame as they are decoded, so a five-minute 5.1 clip holds
    one channel's samples in memory, not six. An AudioError names the file when it has no
    audio stream or does not decode (a truncated or corrupt clip, like MELD's train
    dia125_utt3).
    """
    import av  # imported here: the config checks and WAV-only runs never need FFmpeg

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            channels = stream.codec_context.layout.nb_channels
            rate = stream.codec_context.sample_rate
            blocks = [_frame_mono(frame, channels) for frame in container.decode(stream)]
    except av.FFmpegError as e:  # FFmpeg's own words, without the errno and path it repeats
        raise AudioError(f"{path}: does not decode ({e.strerror or e})") from e
    mono = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    return mono, rate, channels


def _frame_mono(frame, channels: int) -> np.ndarray:
    """One decoded frame (planar or packed, float or integer) as mono float32 in [-1, 1]."""
    data = frame.to_ndarray()
    data = data if frame.format.is_planar else data.reshape(-1, channels).T
    if data.dtype == np.uint8:  # unsigned 8-bit PCM is centred on 128
        data = (data.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float32) / float(-np.iinfo(data.dtype).min)
    return data.T.mean(axis=1, dtype=np.float32)


def read_utterance(
    path: str | Path,
    start_s: float | None = None,
    end_s: float | None = None,
    rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Mono float32 samples of `path` between `start_s` and `end_s` (None: file start / end)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    if is_container(path):
        mono, file_rate, _ = decode_container(path)
        first, last = _frame_range(path, len(mono), file_rate, start_s, end_s)
        return _resampled(mono[first:last], file_rate, rate)
    try:
        with sf.SoundFile(path) as f:
            first, last = _frame_range(path, f.frames, f.samplerate, start_s, end_s)
            f.seek(first)
            frames = f.read(last - first, dtype="float32", always_2d=True)
            file_rate = f.samplerate
    except sf.SoundFileError as e:
        raise AudioError(f"{path}: unreadable audio ({e})") from e
    if len(frames) < last - first:
        raise AudioError(f"{path}: truncated, got {len(frames)} of {last - first} frames")
    return _resampled(frames.mean(axis=1, dtype=np.float32), file_rate, rate)


def _resampled(signal: np.ndarray, file_rate: int, rate: int) -> np.ndarray:
    """Mono samples at `file_rate` resampled to `rate` (unchanged when they are equal)."""
    if file_rate != rate:
        # Imported here: importing it slowed every Snakemake start (BENCHMARKS.md, "Planning a
        # large grid").
        from scipy.signal import resample_poly

        g = math.gcd(rate, file_rate)
        signal = resample_poly(signal, rate // g, file_rate // g).astype(np.float32, copy=False)
    return signal


def segment_frames(
    n_frames: int, rate: int, start_s: float | None, end_s: float | None
) -> tuple[int, int]:
    """First and one-past-last frame of a segment (None: the file's start / end); an end past
    the file's by at most SEGMENT_END_TOLERANCE_S is cut at the file's end. Indexing and
    reading both use it, so a segment the index keeps is one reading can give."""
    first = 0 if start_s is None else round(start_s * rate)
    last = n_frames if end_s is None else round(end_s * rate)
    if n_frames < last <= n_frames + SEGMENT_END_TOLERANCE_S * rate:
        last = n_frames
    return first, last


def _frame_range(
    path: Path, n_frames: int, rate: int, start_s: float | None, end_s: float | None
) -> tuple[int, int]:
    """First and one-past-last frame of the segment, checked against the file's length."""
    for name, value in (("start", start_s), ("end", end_s)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise AudioError(f"{path}: segment {name} {value} s is not a time in the file")
    first, last = segment_frames(n_frames, rate, start_s, end_s)
    if max(first, last) > n_frames:
        raise AudioError(
            f"{path}: segment [{start_s}, {end_s}] s is past the end of the file "
            f"({n_frames / rate:.3f} s)"
        )
    if last <= first:
        raise AudioError(f"{path}: empty segment (frames {first}..{last} of {n_frames})")
    return first, last


def signal_hash(signal: np.ndarray) -> str:
    """blake2b (128-bit, hex) of the little-endian float32 samples: equal for equal decoded
    audio, whatever the file's name, path or lossless format."""
    return hashlib.blake2b(signal.astype("<f4", copy=False).tobytes(), digest_size=16).hexdigest()


def hash_utterances(index: pa.Table) -> pa.Table:
    """(utt_id, hash): signal_hash of each utterance of `index` as read_utterance decodes it.

    One utterance's samples are in memory at a time. The cost is one decoding of the corpus, what
    an extraction reads before its encoder runs (rates: BENCHMARKS.md, "Default workflow end to
    end"). An unreadable utterance is an AudioError naming it.
    """
    columns = [index.column(c).to_pylist() for c in ("utt_id", "audio_path", "start_s", "end_s")]
    hashes = []
    for utt_id, path, start_s, end_s in zip(*columns, strict=True):
        try:
            hashes.append(signal_hash(read_utterance(path, start_s, end_s)))
        except AudioError as e:
            raise AudioError(f"utterance {utt_id}: {e}") from e
    return pa.Table.from_arrays(
        [pa.array(columns[0], pa.string()), pa.array(hashes, pa.string())], schema=AUDIO_HASH_SCHEMA
    )

"""Audio checks at index time, so that no bad file reaches feature extraction or training.

A file that is missing, unreadable, empty, truncated, silent or too short would otherwise fail
hours later in extraction (and take its whole shard with it) or train silently on a degenerate
feature vector; here it becomes a reject with its reason, and every kept row gets the sample
rate and channel count the extractor will see.

Most checks read the header only (soundfile.info). Truncation is libsndfile's own finding in
that header read: its log says `data : 69120 (should be 34539)` when a WAV's data chunk claims
more bytes than the file holds, and it then reads only those. Silence needs the samples, but
reading stops at the first block with a non-zero sample, so a file with sound costs one block
of reading (see BENCHMARKS.md, "Indexing at MSP-PODCAST scale").

An MP4 clip (MELD) has no header that proves it decodes, so it is decoded whole, once, here:
a clip that fails is rejected now rather than in extraction, and its frame count, rate, channel
count (of the AAC stream, before downmixing) and silence come from the decoded samples.
"""

import os
import re
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from xcorpus.audio import AudioError, decode_container, is_container, segment_frames
from xcorpus.corpora.base import Loaded

# The shortest clip every audio backend can encode: the wav2vec2/emotion2vec convolutional
# front-end needs 400 samples at 16 kHz (25 ms) for one frame, and opensmile's eGeMAPS gives
# NaN on clips of a few samples.
MIN_DURATION_S = 0.025
# Frames read at a time when looking for a non-zero sample.
SILENCE_BLOCK_FRAMES = 16384
# libsndfile's log line for a data chunk whose declared size differs from what the file holds.
DATA_SIZE_RE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
# Declared sizes that mean "unknown" (writers streaming to a pipe), not a promise of more data.
UNKNOWN_SIZES = (0, 0xFFFFFFFF)


@dataclass(frozen=True)
class Header:
    """What the index needs from an audio header; `error` is set when it could not be read,
    `truncated` when the file holds less audio than its header declares."""

    sample_rate: int = 0
    channels: int = 0
    frames: int = 0
    error: str | None = None
    truncated: str | None = None
    # Whether the whole file is silent, where it was decoded to read its header (MP4).
    silent: bool | None = None


def read_header(path: str) -> Header:
    """The header of `path`, or a Header whose `error` says why it could not be read."""
    if is_container(path):
        return _decoded_header(path)
    try:
        info = sf.info(path)
    except (RuntimeError, OSError) as error:  # LibsndfileError is a RuntimeError
        if not os.path.isfile(path):
            return Header(error="missing")
        return Header(error=str(error).strip() or type(error).__name__)
    return Header(
        info.samplerate, info.channels, info.frames, truncated=_truncation(info.extra_info)
    )


def _decoded_header(path: str) -> Header:
    """What decoding a container file whole gives: its Header, or the decoder's error."""
    if not os.path.isfile(path):
        return Header(error="missing")
    try:
        mono, rate, channels = decode_container(path)
    except AudioError as error:
        return Header(error=str(error).removeprefix(f"{path}: "))
    return Header(rate, channels, len(mono), silent=not np.any(mono != 0))


def _truncation(log: str) -> str | None:
    """What libsndfile's header log says is missing from the data chunk; None when nothing."""
    match = DATA_SIZE_RE.search(log)
    if match is None:
        return None
    declared, held = int(match.group(1)), int(match.group(2))
    if declared in UNKNOWN_SIZES or declared <= held:
        return None
    return f"its header declares {declared} bytes of audio data, the file holds {held}"


def _span(row: dict, header: Header) -> tuple[int, int]:
    """First and one-past-last frame of the audio the row uses, as reading will cut it."""
    return segment_frames(header.frames, header.sample_rate, row.get("start_s"), row.get("end_s"))


def _problem(row: dict, header: Header) -> str | None:
    """The reject reason for `row` given its file's header, or None when the header shows no
    problem (silence is checked on the samples, by _silent)."""
    path = row["audio_path"]
    if header.error == "missing":
        return f"no audio file at {path}"
    if header.error is not None:
        return f"unreadable audio {path}: {header.error}"
    if header.frames <= 0:
        return f"empty audio {path}"
    if header.truncated is not None:
        return f"truncated audio {path}: {header.truncated}"
    duration = header.frames / header.sample_rate
    start, end = row.get("start_s"), row.get("end_s")
    if start is not None and start >= duration:
        return f"segment starts after the end of {path}"
    first, last = _span(row, header)
    # Past the end by more than audio.SEGMENT_END_TOLERANCE_S (only a given end can be).
    if end is not None and last > header.frames:
        return f"audio ends {end - duration:.3f} s before the segment's end ({end:g} s) in {path}"
    if (last - first) / header.sample_rate < MIN_DURATION_S:
        shown = 1000 * (last - first) / header.sample_rate
        return f"shorter than {MIN_DURATION_S * 1000:g} ms ({shown:.1f} ms): {path}"
    return None


def _silent(path: str, first: int, last: int, header: Header) -> bool:
    """Whether frames first..last of `path`, channels averaged as extraction averages them,
    are all zero; reading stops at the first block with a non-zero sample."""
    if is_container(path):
        if header.silent is not None and (first, last) == (0, header.frames):
            return header.silent
        mono, _, _ = decode_container(path)
        return not np.any(mono[first:last] != 0)
    with sf.SoundFile(path) as f:
        f.seek(first)
        for block in f.blocks(SILENCE_BLOCK_FRAMES, frames=last - first, dtype="float32"):
            mono = block.mean(axis=1) if block.ndim == 2 else block
            if np.any(mono != 0):
                return False
    return True


def _reason(row: dict, header: Header) -> str | None:
    """Why `row` cannot be used, from its header and then its samples; None when it can."""
    reason = _problem(row, header)
    if reason is not None:
        return reason
    try:
        silent = _silent(row["audio_path"], *_span(row, header), header)
    except (RuntimeError, OSError, AudioError) as error:
        return f"unreadable audio {row['audio_path']}: {str(error).strip()}"
    return f"silent audio {row['audio_path']}" if silent else None


def check_audio(loaded: Loaded) -> None:
    """Move rows whose audio is missing, unreadable, empty, truncated, too short (a segment:
    starting past the end of its file, or ending well after it), or silent to the rejects;
    record sample_rate and channels on the others.

    Each file's header is read once, however many segments point into it.
    """
    headers: dict[str, Header] = {}
    kept = []
    for row in loaded.rows:
        path = row["audio_path"]
        header = headers.get(path)
        if header is None:
            header = headers[path] = read_header(path)
        reason = _reason(row, header)
        if reason is None:
            row["sample_rate"] = header.sample_rate
            row["channels"] = header.channels
            kept.append(row)
        else:
            source = loaded.seen.get(row["utt_id"])
            loaded.reject(row["utt_id"], reason, row["raw_label"], source)
    loaded.rows = kept

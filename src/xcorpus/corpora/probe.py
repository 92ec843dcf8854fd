"""Audio checks at index time, from the file headers only.

A file that is missing, unreadable or empty would otherwise fail hours later in feature
extraction; here it becomes a reject with its reason, and every kept row gets the sample rate
and channel count the extractor will see. Only headers are read (soundfile.info), so indexing
a corpus of 250k files stays a matter of seconds.
"""

import os
from dataclasses import dataclass

import soundfile as sf

from xcorpus.corpora.base import Loaded


@dataclass(frozen=True)
class Header:
    """What the index needs from an audio header; `error` is set when it could not be read."""

    sample_rate: int = 0
    channels: int = 0
    frames: int = 0
    error: str | None = None


def read_header(path: str) -> Header:
    """The header of `path`, or a Header whose `error` says why it could not be read."""
    try:
        info = sf.info(path)
    except (RuntimeError, OSError) as error:  # LibsndfileError is a RuntimeError
        if not os.path.isfile(path):
            return Header(error="missing")
        return Header(error=str(error).strip() or type(error).__name__)
    return Header(info.samplerate, info.channels, info.frames)


def _problem(row: dict, header: Header) -> str | None:
    """The reject reason for `row` given its file's header, or None when it is usable."""
    path = row["audio_path"]
    if header.error == "missing":
        return f"no audio file at {path}"
    if header.error is not None:
        return f"unreadable audio {path}: {header.error}"
    if header.frames <= 0:
        return f"empty audio {path}"
    start = row.get("start_s")
    if start is not None and start >= header.frames / header.sample_rate:
        return f"segment starts after the end of {path}"
    return None


def check_audio(loaded: Loaded) -> None:
    """Move rows whose audio is missing, unreadable, empty, or (for a segment) starts past the
    end of its file to the rejects; record sample_rate and channels on the others.

    Each file's header is read once, however many segments point into it.
    """
    headers: dict[str, Header] = {}
    kept = []
    for row in loaded.rows:
        path = row["audio_path"]
        header = headers.get(path)
        if header is None:
            header = headers[path] = read_header(path)
        reason = _problem(row, header)
        if reason is None:
            row["sample_rate"] = header.sample_rate
            row["channels"] = header.channels
            kept.append(row)
        else:
            source = loaded.seen.get(row["utt_id"])
            loaded.reject(row["utt_id"], reason, row["raw_label"], source)
    loaded.rows = kept

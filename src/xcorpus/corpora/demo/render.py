"""Turn a planned corpus into audio: voices, then the corpus channel, then 16-bit samples.

Most corpora store one file per utterance, so the channel runs per utterance. CMU-MOSEI stores
one file per video holding all its segments, so its segments are laid out on one track with
short gaps and the channel (noise included) runs over the whole track; each segment's audio is
then cut from the finished track exactly as a loader cuts it from the label intervals.
"""

from dataclasses import dataclass, field

import numpy as np

from xcorpus.corpora.demo.channels import Mic, apply_channel
from xcorpus.corpora.demo.design import (
    PROFILES,
    DemoSettings,
    Speaker,
    Utterance,
    plan_corpus,
    rng_for,
)
from xcorpus.corpora.demo.voice import FS, synthesise


@dataclass
class Segment:
    """Where a CMU-MOSEI segment lies in its video: label interval (s) as published."""

    start_s: float  # may be slightly negative, as in the real label file
    end_s: float


@dataclass
class DemoCorpus:
    """A generated corpus in memory: what write_demo puts on disk, before native formatting."""

    name: str
    settings: DemoSettings
    utterances: list[Utterance]
    # CMU-MOSEI only: int16 track per video (speaker name) and each utterance's interval.
    tracks: dict[str, np.ndarray] = field(default_factory=dict)
    segments: dict[int, Segment] = field(default_factory=dict)

    @property
    def speakers(self) -> list[Speaker]:
        """Speakers in order of first appearance (never set order, which varies between runs)."""
        return list(dict.fromkeys(u.speaker for u in self.utterances))


def generate(corpus: str, settings: DemoSettings) -> DemoCorpus:
    """Plan and render one corpus; deterministic in (settings, corpus)."""
    channel = settings.channel or PROFILES[corpus].channel
    demo = DemoCorpus(corpus, settings, plan_corpus(corpus, settings))
    mics = _mics(demo)
    dry = [
        mics[u.speaker].apply(
            synthesise(u.voice, rng_for(settings.seed, corpus, "voice", u.index)),
            rng_for(settings.seed, corpus, "mic", u.index),
        )
        for u in demo.utterances
    ]
    if corpus == "CMUMOSEI":
        _render_videos(demo, dry, channel)
    else:
        for u, x in zip(demo.utterances, dry, strict=True):
            u.audio = to_pcm16(
                apply_channel(x, channel, rng_for(settings.seed, corpus, "channel", u.index))
            )
    return demo


def _mics(demo: DemoCorpus) -> dict[Speaker, Mic]:
    """The corpus's recording level for everyone, plus a chain per speaker where it has one."""
    profile = PROFILES[demo.name]
    rng = rng_for(demo.settings.seed, demo.name, "mics")
    mics = {}
    for speaker in demo.speakers:
        if profile.own_mics:  # some chains are phone- or laptop-like, some rooms are noisy
            band = (float(rng.uniform(50, 300)), float(rng.uniform(3500, 7900)))
            gain = profile.level_db + float(rng.normal(0, 2.5))
            rumble = float(rng.uniform(10, 35)) if rng.random() < 0.5 else None
            mics[speaker] = Mic(gain, float(rng.uniform(-0.8, 0.8)), band, rumble)
        else:
            mics[speaker] = Mic(profile.level_db)
    return mics


def to_pcm16(x: np.ndarray) -> np.ndarray:
    """Quantise to int16 without rescaling (channels keep |x| < 1, so nothing clips)."""
    return np.rint(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


def _render_videos(demo: DemoCorpus, dry: list[np.ndarray], channel: str) -> None:
    """Lay each video's segments on one track, run the channel over it, cut the segments."""
    rng = rng_for(demo.settings.seed, demo.name, "tracks")
    for v, speaker in enumerate(demo.speakers):  # one video per speaker
        members = [u.index for u in demo.utterances if u.speaker == speaker]
        # The first video's first segment starts before the audio, as a few real intervals do.
        negative = v == 0
        pos = 0 if negative else int(rng.uniform(0.3, 1.0) * FS)
        spans = []
        for i in members:
            spans.append((pos, pos + len(dry[i])))
            pos += len(dry[i]) + int(rng.uniform(0.15, 0.8) * FS)
        track = np.zeros(pos)
        for i, (a, b) in zip(members, spans, strict=True):
            track[a:b] = dry[i]
        ch_rng = rng_for(demo.settings.seed, demo.name, "channel", v)
        pcm = to_pcm16(apply_channel(track, channel, ch_rng))
        demo.tracks[speaker.name] = pcm
        for k, (i, (a, b)) in enumerate(zip(members, spans, strict=True)):
            if negative and k == 0:
                seg = Segment(-round(float(rng.uniform(0.05, 0.4)), 3), round(b / FS, 3))
            else:
                seg = Segment(round(a / FS, 3), round(b / FS, 3))
            demo.segments[i] = seg
            demo.utterances[i].audio = pcm[
                round(max(seg.start_s, 0.0) * FS) : round(seg.end_s * FS)
            ]

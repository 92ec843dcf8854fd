"""What the demo corpora say and how: emotion prototypes, corpus styles, speakers, utterances.

All corpora share one set of emotion prototypes (drawn from the seed alone) and differ
in speakers, expression style, small class-specific offsets and recording channel, the recipe
that gives a realistic cross-corpus picture: a
classifier learns inside a corpus and loses part of it in another, and pooling several source
corpora helps on an unseen one.

A voice parameter of an utterance is
    neutral + style * expression * (prototype - neutral)
            + expression * corpus class offset + speaker offset + within-class noise,
where an ambiguous utterance uses a mix of two classes' prototypes and offsets. Its V/A/D
ratings come from the same mix, so that distance from the class prototype in V/A/D space
measures acoustic ambiguity.

Two additions to the prototype's recipe, both measured with benchmarks/demo_separability.py
(BENCHMARKS.md, "Demo corpora"):
corpora are recorded at different levels, and the in-the-wild corpora (MSPP, CMUMOSEI,
SAMSEMO) give every podcast or video its own recording chain (level, tilt, pass band,
rumble). Without them a model pooled from IEMO+MSPI+MSPP did no better than IEMO alone on an
unseen corpus, because nothing in the pooled data varied along the directions in which the
unseen corpus's channel shifts the features. The podcast style is 0.8 (the prototype had 0.7)
to keep MSP-Podcast's in-corpus UAR above 0.6 with those chains.

The acted corpora (CREMAD, RAVDESS, SAVEE, TESS) are studio recordings in the acted style of
IEMOCAP, each with its own level and class offsets; their speakers are the real casts where
the file names fix them (RAVDESS actors 01-24, SAVEE's four men, TESS's two women), and every
speaker performs every class, as in the real recording scripts.
"""

import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

from xcorpus.corpora import emodb, esd
from xcorpus.corpora.demo.channels import CHANNELS
from xcorpus.corpora.demo.text import transcript
from xcorpus.corpora.demo.voice import VoiceParams
from xcorpus.labels import CLASSES

SEED_CORPORA = ("IEMO", "MSPI", "MSPP", "CMUMOSEI", "SAMSEMO")
# Acted studio corpora whose file names are their labels (layouts in acted.py).
ACTED = ("CREMAD", "RAVDESS", "SAVEE", "TESS")
# Corpora with label tables or video (layouts in more.py).
MORE = ("MELD", "EMODB", "ESD")
CORPORA = (*SEED_CORPORA, *ACTED, *MORE)


@dataclass(frozen=True)
class DemoSettings:
    """Knobs of the generator; identical settings give byte-identical corpora."""

    seed: int = 7
    utterances: int = 320  # labelled-class utterances per corpus; dropped-label extras on top
    expression: float = 1.0  # multiplies every corpus's expression style (0 = no audio cue)
    ambiguity: float = 0.16  # share of utterances mixed between two classes
    channel: str | None = None  # override the corpus's channel (see channels.CHANNELS)

    def __post_init__(self) -> None:
        if self.utterances < 12:
            raise ValueError("utterances must be at least 12 (every class and speaker needs some)")
        if self.expression < 0:
            raise ValueError("expression must be >= 0")
        if not 0.0 <= self.ambiguity <= 1.0:
            raise ValueError("ambiguity must lie in [0, 1]")
        if self.channel is not None and self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")


# Voice parameters that emotion moves, and their prototypes for neutral, happy, sad, angry.
PARAMS = (
    "f0_st",  # F0 shift from the speaker's base, semitones
    "accent_st",
    "rate",
    "energy_db",
    "jitter",
    "shimmer",
    "breathiness",
    "pause_s",
    "articulation",
    "f1_scale",
    "pressedness",
)
PROTOTYPES = np.array(
    [
        # f0   accent rate  energy jitter shimmer breath pause artic f1    pressed
        [0.0, 3.5, 4.3, 0.0, 0.010, 0.050, 0.12, 0.25, 0.75, 1.00, 0.00],  # neutral
        [3.0, 6.5, 4.7, 3.5, 0.011, 0.055, 0.12, 0.18, 0.85, 1.05, 0.25],  # happy
        [-1.5, 1.8, 3.5, -4.5, 0.016, 0.075, 0.35, 0.45, 0.55, 0.94, -0.60],  # sad
        [3.5, 5.0, 4.9, 7.0, 0.013, 0.065, 0.05, 0.15, 0.90, 1.10, 0.85],  # angry
    ]
)
# Within-class (utterance) spread and between-speaker spread of each parameter.
UTTERANCE_SD = np.array([1.0, 1.0, 0.35, 2.0, 0.002, 0.01, 0.06, 0.06, 0.06, 0.03, 0.18])
SPEAKER_SD = np.array([0.0, 0.6, 0.3, 2.0, 0.002, 0.008, 0.05, 0.04, 0.05, 0.02, 0.15])
# Corpus-specific class offsets, in units of UTTERANCE_SD: each corpus's own idea of how a
# class sounds (elicitation, annotation habits), which pooling several corpora averages out.
CORPUS_OFFSET = 0.6
# Bounds that keep every parameter physically plausible after noise is added.
LOWER = np.array([-12.0, 0.5, 2.5, -20.0, 0.003, 0.01, 0.0, 0.05, 0.3, 0.85, -1.0])
UPPER = np.array([12.0, 12.0, 7.0, 16.0, 0.04, 0.2, 0.8, 0.8, 1.0, 1.25, 1.0])

# V/A/D prototypes on 1-5 (valence, arousal, dominance).
VAD_PROTOTYPES = np.array([[3.0, 3.0, 3.0], [4.2, 3.8, 3.5], [1.8, 2.2, 2.5], [2.5, 4.0, 3.2]])
# Which class an ambiguous utterance leans towards: neutral-happy and happy-angry dominate,
# as in real corpora.
CONFUSION = np.array(
    [
        [0.0, 0.45, 0.35, 0.20],
        [0.45, 0.0, 0.15, 0.40],
        [0.60, 0.20, 0.0, 0.20],
        [0.35, 0.45, 0.20, 0.0],
    ]
)


@dataclass(frozen=True)
class Profile:
    """How one corpus differs from the others."""

    style: float  # expression style: acted 1.5 ... podcast 0.8
    channel: str
    # Class shares of the labelled utterances: the real corpora's order, less skewed, so that
    # a few hundred utterances still hold enough of every class.
    shares: tuple[float, float, float, float]
    dropped: tuple[str, ...]  # native codes of labels that the 4-class task drops
    dropped_weights: tuple[float, ...]
    vad_scale: tuple[int, int] | None = None  # native rating scale, None without V/A/D
    raters: tuple[int, int] = (0, 0)  # V/A/D raters per utterance (min, max)
    level_db: float = 0.0  # recording level relative to voice.NOMINAL_DBFS
    own_mics: bool = False  # every speaker (podcast, video) recorded through its own chain
    # Fixed speakers (name, gender) of corpora with a known cast; empty: drawn per corpus.
    roster: tuple[tuple[str, str], ...] = ()
    # Acted corpora: every speaker performs every class, so speakers are dealt round-robin
    # within each class (the file-name grammars hold a fixed number of takes per class).
    balanced: bool = False


# Corpora whose speakers are a fixed cast, (name, gender) as their loaders know them; the voices
# take those genders (MELD ships no gender: its characters' are used for the voices only).
ROSTERS: dict[str, tuple[tuple[str, str], ...]] = {
    "EMODB": tuple(emodb.GENDERS.items()),
    "ESD": tuple((speaker, gender) for speaker, (gender, _) in esd.SPEAKERS.items()),
    "MELD": (
        ("Rachel", "F"), ("Monica", "F"), ("Phoebe", "F"), ("Ross", "M"), ("Chandler", "M"),
        ("Joey", "M"), ("Janice", "F"), ("Gunther", "M"), ("Mr. Geller", "M"), ("Emily", "F"),
    ),
}  # fmt: skip

PROFILES = {
    "IEMO": Profile(
        style=1.5,  # acted
        channel="studio",
        shares=(0.31, 0.29, 0.20, 0.20),
        dropped=("fru", "xxx", "sur", "fea", "dis", "oth"),
        dropped_weights=(0.45, 0.35, 0.05, 0.05, 0.05, 0.05),
        vad_scale=(1, 5),
        raters=(2, 3),
        level_db=-2.0,
    ),
    "MSPI": Profile(
        style=1.1,  # improvised
        channel="room",
        shares=(0.35, 0.30, 0.17, 0.18),
        dropped=("O", "X"),
        dropped_weights=(0.4, 0.6),
        vad_scale=(1, 5),
        raters=(5, 7),
        level_db=3.0,
    ),
    "MSPP": Profile(
        style=0.8,  # natural podcast speech
        channel="podcast",
        shares=(0.35, 0.30, 0.15, 0.20),
        dropped=("U", "F", "D", "C", "O", "X"),
        dropped_weights=(0.1, 0.05, 0.1, 0.15, 0.2, 0.4),
        vad_scale=(1, 7),
        raters=(5, 8),
        level_db=-5.0,
        own_mics=True,
    ),
    "CMUMOSEI": Profile(
        style=1.1,  # opinion vlogs
        channel="telephone",
        shares=(0.30, 0.35, 0.18, 0.17),
        dropped=("surprise", "disgust", "fear", "tie"),
        dropped_weights=(0.3, 0.2, 0.15, 0.35),
        own_mics=True,
    ),
    "SAMSEMO": Profile(
        style=1.15,  # films, vlogs, debates
        channel="car",
        shares=(0.35, 0.30, 0.17, 0.18),
        dropped=(
            "",
            "happiness|surprise",
            "anger|disgust",
            "disgust",
            "surprise",
            "fear",
            "other emotions",
        ),
        dropped_weights=(0.35, 0.15, 0.1, 0.1, 0.1, 0.05, 0.15),
        level_db=-3.0,
        own_mics=True,
    ),
    # Acted corpora, recorded in studios: the shares follow the real class counts.
    "CREMAD": Profile(
        style=1.5,
        channel="studio",
        shares=(0.22, 0.26, 0.26, 0.26),
        dropped=("DIS", "FEA"),
        dropped_weights=(0.5, 0.5),
        level_db=-4.0,
        balanced=True,
    ),
    "RAVDESS": Profile(
        style=1.5,
        channel="studio",
        shares=(1 / 7, 2 / 7, 2 / 7, 2 / 7),  # neutral has half the takes (no strong intensity)
        dropped=("02", "06", "07", "08", "song"),
        dropped_weights=(0.25, 0.2, 0.2, 0.2, 0.15),
        level_db=1.0,
        roster=tuple((f"{a:02d}", "M" if a % 2 else "F") for a in range(1, 25)),
        balanced=True,
    ),
    "SAVEE": Profile(
        style=1.5,
        channel="studio",
        shares=(0.4, 0.2, 0.2, 0.2),  # 30 neutral sentences per speaker, 15 of the others
        dropped=("d", "f", "su"),
        dropped_weights=(1 / 3, 1 / 3, 1 / 3),
        level_db=2.0,
        roster=(("DC", "M"), ("JE", "M"), ("JK", "M"), ("KL", "M")),
        balanced=True,
    ),
    "TESS": Profile(
        style=1.5,
        channel="studio",
        shares=(0.25, 0.25, 0.25, 0.25),
        dropped=("disgust", "fear", "ps"),
        dropped_weights=(1 / 3, 1 / 3, 1 / 3),
        level_db=-1.0,
        roster=(("OAF", "F"), ("YAF", "F")),
        balanced=True,
    ),
    "MELD": Profile(
        style=1.2,  # sitcom acting
        channel="tv",
        shares=(0.42, 0.25, 0.13, 0.20),
        dropped=("surprise", "fear", "disgust"),
        dropped_weights=(0.7, 0.15, 0.15),
        level_db=-1.0,
        roster=ROSTERS["MELD"],
    ),
    "EMODB": Profile(
        style=1.6,  # acted, chosen for high recognition rates
        channel="studio",
        shares=(0.24, 0.22, 0.19, 0.35),
        dropped=("L", "E", "A"),
        dropped_weights=(0.41, 0.24, 0.35),
        level_db=2.0,
        roster=ROSTERS["EMODB"],
    ),
    "ESD": Profile(
        style=1.3,  # read parallel sentences, acted
        channel="studio",
        shares=(0.25, 0.25, 0.25, 0.25),
        dropped=("Surprise",),
        dropped_weights=(1.0,),
        level_db=-1.5,
        roster=ROSTERS["ESD"],
    ),
}


@dataclass(frozen=True)
class Speaker:
    """A synthetic talker; `name` is the id a loader derives, `known` False hides it."""

    name: str
    gender: str  # "F" or "M"
    group: int  # session (IEMO, MSPI) or a running index (podcast, video)
    f0_hz: float
    formant_scale: float
    offsets: tuple[float, ...]  # added to the PARAMS values
    known: bool = True


@dataclass
class Utterance:
    """One planned utterance; `audio` is filled in by the renderer (int16, as a loader reads it)."""

    index: int  # position in the corpus's utterance list
    speaker: Speaker
    label: str | None  # one of CLASSES, None when the native label is dropped
    raw: str  # native code of a dropped label, else the class name
    primary: int  # class whose parameters dominate
    second: int  # class mixed in (== primary when the utterance is clear)
    mix: float  # weight of `second`
    ratings: np.ndarray | None  # (raters, 3) integer V/A/D ratings on the native scale
    voice: VoiceParams
    text: str
    audio: np.ndarray | None = None

    @property
    def vad(self) -> np.ndarray | None:
        """Consensus V/A/D as the corpus publishes it: the mean over raters."""
        return None if self.ratings is None else self.consensus

    @property
    def pcm(self) -> np.ndarray:
        """The audio, for the layout writers, which run only after the renderer filled it."""
        if self.audio is None:
            raise ValueError(f"utterance {self.index} has no audio: render the corpus first")
        return self.audio

    @property
    def rated(self) -> np.ndarray:
        """The ratings, for the writers of rated corpora (whose utterances all have some)."""
        if self.ratings is None:
            raise ValueError(f"utterance {self.index} has no ratings")
        return self.ratings

    @property
    def consensus(self) -> np.ndarray:
        """vad of an utterance of a rated corpus."""
        return self.rated.mean(axis=0)


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator seeded from the seed and stable keys (never Python's salted hash())."""
    words = [seed] + [k if isinstance(k, int) else zlib.crc32(k.encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def shared_prototypes(seed: int) -> np.ndarray:
    """The emotion prototypes all corpora share: the table, each deviation jittered by 10 %."""
    rng = rng_for(seed, "prototypes")
    deviation = PROTOTYPES - PROTOTYPES[0]
    return PROTOTYPES[0] + deviation * (1.0 + 0.1 * rng.standard_normal(PROTOTYPES.shape))


def plan_corpus(corpus: str, settings: DemoSettings) -> list[Utterance]:
    """Speakers, labels, class mixes, voice parameters, ratings and text of every utterance."""
    profile = PROFILES[corpus]
    rng = rng_for(settings.seed, corpus, "plan")
    speakers, hidden = _speakers(corpus, settings.utterances, rng)
    protos = shared_prototypes(settings.seed)
    offsets = CORPUS_OFFSET * UTTERANCE_SD * rng.standard_normal((4, len(PARAMS)))
    text_rng = rng_for(settings.seed, corpus, "text")

    labels = _class_counts(profile.shares, settings.utterances)
    n_dropped = max(len(profile.dropped), round(0.1 * settings.utterances))
    extra = rng.choice(
        len(profile.dropped), n_dropped - len(profile.dropped), p=profile.dropped_weights
    )
    dropped = [*profile.dropped, *(profile.dropped[i] for i in extra)]
    items: list[tuple[str | None, str]] = [(CLASSES[c], CLASSES[c]) for c in labels]
    items += [(None, code) for code in dropped]
    order = rng.permutation(len(items))
    n_hidden = max(1, round(0.03 * len(items))) if hidden else 0
    if profile.balanced:
        assigned = _dealt([items[i][1] for i in order], speakers, rng)
    else:
        assigned = [speakers[i % len(speakers)] for i in rng.permutation(len(items) - n_hidden)]
    assigned += [hidden[i % len(hidden)] for i in range(n_hidden)]

    plan = []
    for index, (item, speaker) in enumerate(zip(order, assigned, strict=True)):
        label, raw = items[item]
        if label is not None:
            primary = CLASSES.index(label)
            ambiguous = rng.random() < settings.ambiguity
            second = int(rng.choice(4, p=CONFUSION[primary])) if ambiguous else primary
            mix = float(rng.uniform(0.3, 0.6)) if ambiguous else 0.0
        else:  # dropped labels have no prototype of their own: a blend of two classes
            primary, second = (int(c) for c in rng.choice(4, size=2, replace=False))
            mix = float(rng.uniform(0.3, 0.7))
        weights = np.zeros(4)
        weights[primary] += 1.0 - mix
        weights[second] += mix
        voice = _voice(weights, protos, offsets, profile, settings, speaker, rng)
        ratings = _ratings(weights, profile, rng)
        text = transcript(corpus, index, primary, text_rng)
        plan.append(
            Utterance(index, speaker, label, raw, primary, second, mix, ratings, voice, text)
        )
    return plan


def _class_counts(shares: tuple[float, ...], total: int) -> list[int]:
    """Exactly `total` class indices with the profile's shares (largest remainders)."""
    raw = np.asarray(shares) / sum(shares) * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(raw - counts)[::-1][: total - counts.sum()]:
        counts[i] += 1
    return [c for c, n in enumerate(counts) for _ in range(n)]


def _dealt(codes: list[str], speakers: list[Speaker], rng: np.random.Generator) -> list[Speaker]:
    """A speaker per utterance (in order of `codes`, its native code), dealt in turn within
    each code from a random first speaker, so no speaker gets more than its share of a code."""
    start = {code: int(rng.integers(len(speakers))) for code in sorted(set(codes))}
    dealt: Counter[str] = Counter()
    assigned = []
    for code in codes:
        assigned.append(speakers[(start[code] + dealt[code]) % len(speakers)])
        dealt[code] += 1
    return assigned


def _speakers(
    corpus: str, utterances: int, rng: np.random.Generator
) -> tuple[list[Speaker], list[Speaker]]:
    """The corpus's known speakers and, for MSP-Podcast, a few whose id is 'Unknown'."""
    roster = PROFILES[corpus].roster
    if roster:
        names = [(name, g, i) for i, (name, g) in enumerate(roster)]
    elif corpus in ("IEMO", "MSPI"):
        sessions = 5 if corpus == "IEMO" else 6
        names = [
            (f"Ses{s:02d}_{g}" if corpus == "IEMO" else f"{g}{s:02d}", g, s)
            for s in range(1, sessions + 1)
            for g in ("F", "M")
        ]
    else:
        n = max(4, round(utterances / 8))
        ids = _corpus_speaker_ids(corpus, n, rng)
        names = [(ids[i], "F" if rng.random() < 0.5 else "M", i) for i in range(n)]
    known = [_speaker(name, g, group, rng) for name, g, group in names]
    if corpus != "MSPP":
        return known, []
    hidden = [_speaker(f"unknown-{i}", g, -1, rng, known=False) for i, g in enumerate("FM")]
    return known, hidden


def _corpus_speaker_ids(corpus: str, n: int, rng: np.random.Generator) -> list[str]:
    """MSP-Podcast speaker numbers, YouTube-like video ids, SAMSEMO source-video ids."""
    if corpus == "MSPP":
        return [str(i) for i in sorted(rng.choice(np.arange(1, 1800), n, replace=False))]
    if corpus == "CREMAD":  # actors are numbered from 1001
        return [str(1001 + i) for i in range(n)]
    if corpus == "SAMSEMO":
        alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
        return ["".join(rng.choice(alphabet, 10)) for _ in range(n)]
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    ids = ["".join(rng.choice(alphabet, 11)) for _ in range(n)]
    ids[0] = "-" + ids[0][1:]  # YouTube ids may start with '-', which trips naive CLI parsing
    # Some MOSEI videos have numeric ids (real ones: 4-6 digits, up to 367576); 7 digits keep
    # the demo's out of the shipped standard folds, so its videos never get a real split.
    ids[1] = str(rng.integers(1_000_000, 10_000_000))
    return ids


def _speaker(
    name: str, gender: str, group: int, rng: np.random.Generator, known: bool = True
) -> Speaker:
    """Voice of one talker: F0 and vocal-tract length by gender, plus habitual offsets."""
    f0 = (200.0 if gender == "F" else 115.0) * float(np.exp(rng.normal(0, 0.11)))
    formant_scale = (1.15 if gender == "F" else 1.0) * float(1.0 + rng.normal(0, 0.03))
    offsets = tuple(float(x) for x in SPEAKER_SD * rng.standard_normal(len(PARAMS)))
    return Speaker(name, gender, group, f0, formant_scale, offsets, known)


def _voice(
    weights: np.ndarray,
    protos: np.ndarray,
    offsets: np.ndarray,
    profile: Profile,
    settings: DemoSettings,
    speaker: Speaker,
    rng: np.random.Generator,
) -> VoiceParams:
    """Mix the class prototypes, scale by style and expression, add speaker and noise."""
    gain = profile.style * settings.expression
    emotion = gain * (weights @ protos - protos[0]) + settings.expression * (weights @ offsets)
    values = protos[0] + emotion + np.asarray(speaker.offsets)
    values = np.clip(values + UTTERANCE_SD * rng.standard_normal(len(PARAMS)), LOWER, UPPER)
    v = dict(zip(PARAMS, values.tolist(), strict=True))
    return VoiceParams(
        f0_hz=speaker.f0_hz * 2.0 ** (v["f0_st"] / 12.0),
        accent_st=v["accent_st"],
        rate=v["rate"],
        gain_db=v["energy_db"],
        jitter=v["jitter"],
        shimmer=v["shimmer"],
        breathiness=v["breathiness"],
        pause_s=v["pause_s"],
        articulation=v["articulation"],
        f1_scale=v["f1_scale"],
        formant_scale=speaker.formant_scale,
        pressedness=v["pressedness"],
        duration_s=float(rng.uniform(1.0, 3.8)),
    )


def _ratings(weights: np.ndarray, profile: Profile, rng: np.random.Generator) -> np.ndarray | None:
    """Integer V/A/D ratings of several raters around the mixed V/A/D prototype."""
    if profile.vad_scale is None:
        return None
    low, high = profile.vad_scale
    centre = weights @ VAD_PROTOTYPES + rng.normal(0, 0.25, 3)
    centre = low + (centre - 1.0) * (high - low) / 4.0  # from 1-5 to the native scale
    n = int(rng.integers(profile.raters[0], profile.raters[1] + 1))
    spread = 0.6 * (high - low) / 4.0
    return np.clip(np.rint(centre + rng.normal(0, spread, (n, 3))), low, high).astype(int)

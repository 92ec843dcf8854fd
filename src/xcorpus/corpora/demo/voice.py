"""Speech-like synthesis: Rosenberg glottal source, time-varying formant cascade, prosody.

The demo corpora have to carry the cues that eGeMAPS measures (F0 level and range, loudness,
jitter, shimmer, HNR, alpha ratio, Hammarberg index, H1-H2, formants, speaking rate, pauses)
and nothing that a feature extractor would latch onto as an artefact. Hence:

- the glottal source follows a continuous phase with per-period jitter and shimmer, so that
  periods are not snapped to the sample grid (snapping alone adds about 1 % spurious jitter);
- one "pressedness" value moves open quotient, closure abruptness, spectral tilt and formant
  bandwidths together, as a real voice does between lax and pressed phonation;
- breathiness is aspiration noise gated by the glottal flow, which lowers HNR;
- four formants follow vowel targets interpolated between syllables (coarticulation), with
  fricative, stop and sonorant onsets, pauses, phrase declination and pitch accents.

Everything is vectorised per utterance except a block-wise formant filter (10 ms blocks), so
that generation stays fast (BENCHMARKS.md, "The speech synthesiser").
"""

from dataclasses import dataclass

import numpy as np
from scipy import signal

FS = 16_000
HOP = 160  # control and filter-block rate: 10 ms
# Level of a neutral utterance of an average speaker (RMS over voiced samples, dBFS). Low enough
# that the loudest angry speaker keeps headroom without any per-utterance peak normalisation.
NOMINAL_DBFS = -38.0

# Formant targets F1-F4 (Hz) of an adult male voice for a, i, u, e, o, ae, er.
VOWELS = np.array(
    [
        [730.0, 1090.0, 2440.0, 3400.0],
        [300.0, 2250.0, 3000.0, 3700.0],
        [320.0, 900.0, 2250.0, 3300.0],
        [530.0, 1840.0, 2480.0, 3500.0],
        [570.0, 860.0, 2410.0, 3300.0],
        [660.0, 1720.0, 2410.0, 3500.0],
        [490.0, 1350.0, 1700.0, 3300.0],
    ]
)
SCHWA = np.array([500.0, 1500.0, 2500.0, 3500.0])
BANDWIDTHS = np.array([70.0, 100.0, 140.0, 220.0])
# Consonant loci (F2 of the onset) for labial, alveolar and velar places.
LOCI_F2 = np.array([1000.0, 1750.0, 2200.0])
# Fricative noise bands (Hz): /s/, /sh/, /f/ (the broad one also serves stop bursts).
_FRICATIVE_BANDS = ((3800.0, 7200.0), (2000.0, 5000.0), (900.0, 7000.0))
_NFFT = 1024
_FRICATIVE_SOS = [
    signal.butter(2, band, "bandpass", fs=FS, output="sos") for band in _FRICATIVE_BANDS
]


@dataclass(frozen=True)
class VoiceParams:
    """Everything that shapes one utterance; emotion, speaker and corpus style are mixed in."""

    f0_hz: float  # mean F0 of the phrase before declination and accents
    accent_st: float  # height of pitch accents, semitones
    rate: float  # syllables per second
    gain_db: float  # level relative to NOMINAL_DBFS
    jitter: float  # relative s.d. of consecutive period lengths
    shimmer: float  # relative s.d. of consecutive period amplitudes
    breathiness: float  # aspiration noise relative to the voiced source
    pause_s: float  # mean length of a phrase-internal pause
    articulation: float  # 0 = every vowel is schwa, 1 = full vowel targets
    f1_scale: float  # jaw opening: raises F1 in loud, open speech
    formant_scale: float  # vocal tract length: about 1.15 for female speakers
    pressedness: float  # -1 lax/breathy ... +1 pressed
    duration_s: float  # intended length including leading and trailing silence


@dataclass
class _Controls:
    """Frame-rate (10 ms) control tracks of one utterance."""

    voice: np.ndarray  # voiced amplitude (linear)
    frication: np.ndarray  # (3, n) noise amplitude per fricative band
    f0_st: np.ndarray  # F0 relative to VoiceParams.f0_hz, semitones
    formants: np.ndarray  # (n, 4) Hz


def synthesise(p: VoiceParams, rng: np.random.Generator) -> np.ndarray:
    """One dry utterance (float64, 16 kHz) at the level NOMINAL_DBFS + p.gain_db."""
    controls = _controls(p, rng)
    n = len(controls.voice) * HOP
    frames_t = (np.arange(len(controls.voice)) + 0.5) * HOP
    samples = np.arange(n, dtype=np.float64)
    voice = np.interp(samples, frames_t, controls.voice)
    f0 = p.f0_hz * 2.0 ** (np.interp(samples, frames_t, controls.f0_st) / 12.0)

    flow = _glottal_flow(f0, p, rng)
    source = np.diff(flow, prepend=0.0)  # lip radiation
    tilt = float(np.clip(0.55 - 0.3 * p.pressedness, 0.1, 0.9))
    source = signal.lfilter([1.0 - tilt], [1.0, -tilt], source)
    voiced = voice > 0.05  # never empty: every utterance has at least three vowels
    src_rms = _rms(source[voiced])
    gate = 0.25 + flow / max(float(flow.max()), 1e-9)
    aspiration = 2.0 * p.breathiness * src_rms * gate * rng.standard_normal(n)
    excitation = (source + aspiration) * voice

    bw_scale = float(np.clip(1.0 - 0.3 * p.pressedness + 0.5 * p.breathiness, 0.5, 2.0))
    speech = _formant_filter(excitation, controls.formants, BANDWIDTHS * bw_scale)
    speech_rms = _rms(speech[voiced])
    for band, sos in enumerate(_FRICATIVE_SOS):
        amp = np.interp(samples, frames_t, controls.frication[band])
        if amp.any():
            speech += speech_rms * amp * signal.sosfilt(sos, rng.standard_normal(n))

    # Set the active speech level (not the peak): the level itself is an emotion cue.
    return speech * (10.0 ** ((NOMINAL_DBFS + p.gain_db) / 20.0) / _rms(speech[voiced]))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) + 1e-12


@dataclass
class _Timing:
    """Syllable durations and the pauses after them, in seconds."""

    lead: float
    trail: float
    durations: np.ndarray
    pauses: np.ndarray
    accented: np.ndarray

    @property
    def total(self) -> float:
        return self.lead + self.durations.sum() + self.pauses.sum() + self.trail


def _timing(p: VoiceParams, rng: np.random.Generator) -> _Timing:
    """As many syllables as the rate fits into the intended duration, with 0-2 pauses."""
    lead, trail = rng.uniform(0.06, 0.14), rng.uniform(0.08, 0.16)
    n_pauses = int(p.duration_s > 1.8) + int(p.duration_s > 3.2)
    pause_s = np.maximum(0.05, p.pause_s * rng.uniform(0.7, 1.3, n_pauses))
    n_syll = max(3, round(max(0.4, p.duration_s - lead - trail - pause_s.sum()) * p.rate))
    accented = rng.random(n_syll) < 0.35
    durations = rng.uniform(0.75, 1.25, n_syll) / p.rate * np.where(accented, 1.2, 1.0)
    pauses = np.zeros(n_syll)
    slots = rng.choice(np.arange(1, n_syll - 1), size=min(n_pauses, n_syll - 2), replace=False)
    pauses[slots] = pause_s[: len(slots)]
    while lead + trail + durations.sum() + pauses.sum() > 3.95 and len(durations) > 3:
        durations, pauses, accented = durations[:-1], pauses[:-1], accented[:-1]  # 0.8-4 s
    pauses[-1] = 0.0
    return _Timing(lead, trail, durations, pauses, accented)


def _controls(p: VoiceParams, rng: np.random.Generator) -> _Controls:
    """Lay out onsets, vowels, accents and formant targets of each syllable on the 10 ms grid."""
    timing = _timing(p, rng)
    n_frames = int(np.ceil(max(timing.total, 0.8) * 100))
    frame_idx = np.arange(n_frames)
    voice = np.zeros(n_frames)
    frication = np.zeros((3, n_frames))
    accents = np.zeros(n_frames)
    knots_t: list[float] = []
    knots_f: list[np.ndarray] = []
    scale = np.array([p.f1_scale, 1.0, 1.0, 1.0]) * p.formant_scale
    decl_db = -3.0 / max(timing.durations.sum(), 0.5)
    t = timing.lead
    for dur, pause, accented in zip(timing.durations, timing.pauses, timing.accented, strict=True):
        start, end = round(t * 100), round((t + dur) * 100)
        kind = rng.choice(4, p=[0.3, 0.25, 0.25, 0.2])  # fricative, stop, sonorant, none
        onset = 0 if kind == 3 else min(round(rng.uniform(5, 10)), max(1, (end - start) // 2))
        energy = 10.0 ** ((2.0 * accented + decl_db * (t - timing.lead) + rng.normal(0, 1)) / 20)
        v0 = start + onset
        voice[v0:end] = energy
        if kind == 0:
            frication[rng.integers(3), start:v0] = 0.25 * energy
        elif kind == 1:  # closure, then a 10 ms burst
            frication[2, max(start, v0 - 1) : v0] = 0.4 * energy
        elif kind == 2:
            voice[start:v0] = 0.35 * energy
        target = SCHWA + p.articulation * (VOWELS[rng.integers(len(VOWELS))] - SCHWA)
        if kind < 3:  # formant transition from the consonant's locus
            locus = target.copy()
            locus[:2] = 280.0, 0.5 * (LOCI_F2[rng.integers(3)] + target[1])
            knots_t.append(float(start))
            knots_f.append(locus * scale)
        knots_t.append(0.5 * (v0 + end))
        knots_f.append(target * scale)
        height = p.accent_st * (rng.uniform(0.6, 1.0) if accented else 0.15)
        centre, width = 0.5 * (v0 + end), max(0.35 * (end - start), 2.0)
        accents = np.maximum(accents, height * np.exp(-0.5 * ((frame_idx - centre) / width) ** 2))
        t += dur + pause

    f0_st = _intonation(frame_idx, round((timing.total - timing.trail) * 100), rng)
    order = np.argsort(knots_t, kind="stable")
    kt, kf = np.asarray(knots_t)[order], np.asarray(knots_f)[order]
    formants = np.stack([np.interp(frame_idx, kt, kf[:, j]) for j in range(4)], axis=1)
    frication = np.stack([_smooth(f) for f in frication])
    return _Controls(_smooth(voice), frication, f0_st + accents - 0.3 * p.accent_st, formants)


def _intonation(frame_idx: np.ndarray, end_frame: int, rng: np.random.Generator) -> np.ndarray:
    """Phrase declination, a final fall (or, one time in five, a rise) and slow drift, in st."""
    decline = 1.0 - 2.5 * frame_idx / max(end_frame, 1)
    tone = 3.0 if rng.random() < 0.2 else -1.5
    boundary = tone * np.clip((frame_idx - (end_frame - 25)) / 25.0, 0.0, 1.0)
    drift = np.convolve(rng.normal(0, 0.4, len(frame_idx)), np.ones(15) / np.sqrt(15), "same")
    return decline + boundary + drift


def _smooth(track: np.ndarray) -> np.ndarray:
    """Soften 10 ms steps into ramps so that onsets do not click."""
    return np.convolve(track, np.array([0.25, 0.5, 0.25]), "same")


def _glottal_flow(f0: np.ndarray, p: VoiceParams, rng: np.random.Generator) -> np.ndarray:
    """Rosenberg flow on a continuous phase; jitter and shimmer act per glottal period."""
    n = len(f0)
    phase = np.cumsum(f0) / FS
    k_max = int(phase[-1])
    if k_max < 2:
        return np.zeros(n)
    starts0 = np.interp(np.arange(k_max + 1), phase, np.arange(n, dtype=np.float64))
    periods = np.diff(starts0) * (1.0 + p.jitter * rng.standard_normal(k_max))
    starts = starts0[0] + np.concatenate([[0.0], np.cumsum(periods)])
    amps = np.clip(1.0 + p.shimmer * rng.standard_normal(k_max), 0.2, None)
    pos = np.arange(n, dtype=np.float64)
    k = np.clip(np.searchsorted(starts, pos, side="right") - 1, 0, k_max - 1)
    frac = (pos - starts[k]) / periods[k]
    inside = (frac >= 0.0) & (frac < 1.0)

    open_q = float(np.clip(0.6 - 0.15 * p.pressedness + 0.1 * p.breathiness, 0.35, 0.85))
    skew = float(np.clip(0.62 + 0.15 * p.pressedness, 0.5, 0.85))
    rise, fall = open_q * skew, open_q * (1.0 - skew)
    flow = np.where(
        frac < rise,
        0.5 * (1.0 - np.cos(np.pi * frac / rise)),
        np.cos(0.5 * np.pi * np.clip((frac - rise) / fall, 0.0, 1.0)),
    )
    flow[(frac >= open_q) | ~inside] = 0.0
    return flow * amps[k]


def _formant_filter(x: np.ndarray, formants: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """Cascade of four resonators whose frequencies change every 10 ms block.

    Each 10 ms block of excitation rings through its own block's cascade (overlap-add in the
    frequency domain, one batched FFT per utterance); the 1024-point frame holds the ringing of
    the narrowest bandwidths, and this is faster than switching IIR coefficients per block
    (both measured: BENCHMARKS.md, "The speech synthesiser").
    """
    n_blocks = len(formants)
    blocks = np.zeros((n_blocks, _NFFT))
    blocks[:, :HOP] = x[: n_blocks * HOP].reshape(n_blocks, HOP)
    freqs = np.clip(formants, 150.0, 0.45 * FS)
    r = np.exp(-np.pi * bandwidths / FS)
    c = 2.0 * r * np.cos(2.0 * np.pi * freqs / FS)  # (blocks, 4)
    # Multiply the four 1 - c z^-1 + r^2 z^-2 into one 8th-order denominator per block; its
    # spectrum is then a single rfft of the coefficients.
    denominator = np.zeros((n_blocks, 9))
    denominator[:, 0] = 1.0
    for k in range(4):
        section = (np.ones(n_blocks), -c[:, k], np.full(n_blocks, r[k] ** 2))
        product = np.zeros_like(denominator)
        for lag, coef in enumerate(section):
            product[:, lag:] += coef[:, None] * denominator[:, : 9 - lag]
        denominator = product
    gain = np.prod(1.0 - c + r**2, axis=1)  # unity gain at DC, as in a Klatt cascade
    response = gain[:, None] / np.fft.rfft(denominator, n=_NFFT, axis=1)
    rung = np.fft.irfft(np.fft.rfft(blocks, axis=1) * response, n=_NFFT, axis=1)
    taps = -(-_NFFT // HOP)
    rung = np.pad(rung, ((0, 0), (0, taps * HOP - _NFFT))).reshape(n_blocks, taps, HOP)
    out = np.zeros((n_blocks + taps, HOP))
    for j in range(taps):
        out[j : j + n_blocks] += rung[:, j]
    return out.reshape(-1)[: len(x)]

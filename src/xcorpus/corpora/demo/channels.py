"""Recording channels: what separates the demo corpora more than their expression styles.

The prototype found that channels, not speaking styles, carry most of the cross-corpus drop, so
each corpus records through its own chain. Noise levels are set against the nominal speech
level of voice.NOMINAL_DBFS, not against each utterance's own level: a quiet (sad) utterance
then has a worse SNR than a loud (angry) one, as in a real room, and the energy cue survives.
No channel peak-normalises an utterance; a soft limiter stands in for recorder headroom so that
loud speech never hard-clips.

Default channels (design.PROFILES): IEMO studio; MSPI room (a booth with the dyad partner's
crosstalk as babble); MSPP podcast (compressed, lightly reverberant); CMUMOSEI telephone
(web video at phone quality, automatic gain control: the hardest target); SAMSEMO car
(vlogs and films with low-frequency background noise); MELD tv (a sitcom soundtrack: set
reverberation, a background bed, a studio audience laughing over some lines); EMODB and ESD
studio.
"""

from dataclasses import dataclass

import numpy as np
from scipy import signal

from xcorpus.corpora.demo.voice import FS, NOMINAL_DBFS

CHANNELS = ("studio", "telephone", "podcast", "room", "car", "tv", "clean")

_NOMINAL_RMS = 10.0 ** (NOMINAL_DBFS / 20.0)
_STUDIO_SOS = signal.butter(2, (50.0, 7900.0), "bandpass", fs=FS, output="sos")
_CAR_MIC_SOS = signal.butter(2, (70.0, 7000.0), "bandpass", fs=FS, output="sos")
_BROWN_HP_SOS = signal.butter(1, 20.0, "highpass", fs=FS, output="sos")
_BABBLE_SOS = signal.butter(2, (150.0, 3500.0), "bandpass", fs=FS, output="sos")
_TILT_LOW_SOS = signal.butter(1, 1000.0, "lowpass", fs=FS, output="sos")
_ENVELOPE_SOS = signal.butter(1, 4.0, "lowpass", fs=100.0, output="sos")  # on a 10 ms grid


def apply_channel(x: np.ndarray, channel: str, rng: np.random.Generator) -> np.ndarray:
    """Pass one dry recording through `channel`; returns float64 within (-1, 1)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}")
    if channel == "studio":
        y = signal.sosfilt(_STUDIO_SOS, x) + _noise(len(x), rng.uniform(35, 45), rng)
    elif channel == "telephone":
        y = _telephone(x, rng)
    elif channel == "podcast":
        y = _reverb(_compress(x), rng.uniform(0.15, 0.3), rng.uniform(8, 14), rng)
        y = y + _noise(len(x), rng.uniform(30, 40), rng)
    elif channel == "room":
        y = _reverb(x, rng.uniform(0.3, 0.9), rng.uniform(0, 8), rng)
        y = y + _babble(len(x), rng.uniform(8, 22), rng)
    elif channel == "car":
        y = signal.sosfilt(_CAR_MIC_SOS, x + _brown(len(x), rng.uniform(3, 18), rng))
    elif channel == "tv":
        y = _tv(x, rng)
    else:
        y = x.copy()
    return soft_limit(y)


@dataclass(frozen=True)
class Mic:
    """A recording chain of its own: level, spectral tilt around 1 kHz, and pass band.

    Corpora are recorded at different levels, and in-the-wild corpora record every podcast or
    video through a different chain. A model trained on several such chains learns to lean
    less on absolute level and spectral balance, which is why pooling corpora helps.
    """

    gain_db: float = 0.0
    tilt: float = 0.0  # -1 dull ... +1 bright
    band: tuple[float, float] | None = None  # (high-pass, low-pass) Hz
    rumble_snr_db: float | None = None  # low-frequency background (traffic, HVAC)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Colour one dry recording."""
        low = signal.sosfilt(_TILT_LOW_SOS, x)
        y = (1.0 - 0.5 * self.tilt) * low + (1.0 + 0.5 * self.tilt) * (x - low)
        if self.rumble_snr_db is not None:
            y = y + _brown(len(x), self.rumble_snr_db, rng)
        if self.band is not None:
            y = signal.sosfilt(signal.butter(2, self.band, "bandpass", fs=FS, output="sos"), y)
        return 10.0 ** (self.gain_db / 20.0) * y


def soft_limit(x: np.ndarray, knee: float = 0.8) -> np.ndarray:
    """Identity below `knee`, a tanh shoulder above it that never reaches full scale."""
    mag = np.abs(x)
    over = mag > knee
    if not over.any():
        return x
    out = x.copy()
    head = 0.999 - knee
    out[over] = np.sign(x[over]) * (knee + head * np.tanh((mag[over] - knee) / head))
    return out


def _scaled(noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`noise` rescaled to sit `snr_db` below the nominal speech level."""
    rms = float(np.sqrt(np.mean(noise**2))) or 1.0
    return noise * (_NOMINAL_RMS * 10.0 ** (-snr_db / 20.0) / rms)


def _noise(n: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White self-noise of microphone and preamplifier."""
    return _scaled(rng.standard_normal(n), snr_db)


def _brown(n: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Brown (1/f^2) noise: engine and road rumble, traffic, air conditioning."""
    return _scaled(signal.sosfilt(_BROWN_HP_SOS, np.cumsum(rng.standard_normal(n))), snr_db)


def _babble(n: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Speech-shaped noise with syllable-rate modulation, standing in for distant talkers."""
    frames = np.arange(n // 160 + 2) * 160.0
    envelope = np.zeros(n)
    for _ in range(int(rng.integers(3, 6))):  # each talker: noise under a syllable-rate envelope
        syllables = np.abs(signal.sosfilt(_ENVELOPE_SOS, rng.standard_normal(len(frames))))
        envelope += np.interp(np.arange(n), frames, syllables) ** 2
    return _scaled(signal.sosfilt(_BABBLE_SOS, np.sqrt(envelope) * rng.standard_normal(n)), snr_db)


def _tv(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A sitcom soundtrack: the set's reverberation, a bed of distant talk and rumble under the
    dialogue, audience laughter over about a third of the lines, broadcast compression."""
    y = _reverb(x, rng.uniform(0.2, 0.5), rng.uniform(6, 12), rng)
    y = y + _babble(len(x), rng.uniform(20, 30), rng) + _brown(len(x), rng.uniform(22, 32), rng)
    if rng.random() < 0.35:
        y = y + _laughter(len(x), rng.uniform(4, 14), rng)
    return _compress(y)


def _laughter(n: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """An audience laughing: many voices' "ha" pulses (about 5 per second, breathy, in the
    speech band) swelling and fading over 0.5-1.5 s, from a random point of the line."""
    start = int(rng.uniform(0.0, 0.8) * n)
    length = min(n - start, int(rng.uniform(0.5, 1.5) * FS))
    t = np.arange(length) / FS
    crowd = np.zeros(length)
    for _ in range(int(rng.integers(4, 9))):  # each laugher pulses at their own rate and phase
        rate, phase = rng.uniform(4.0, 6.0), rng.uniform(0, 2 * np.pi)
        crowd += np.maximum(np.sin(2 * np.pi * rate * t + phase), 0.0) ** 2
    swell = np.sin(np.pi * t / max(t[-1], 1e-3)) if length > 1 else np.ones(length)
    burst = signal.sosfilt(_BABBLE_SOS, crowd * swell * rng.standard_normal(length))
    out = np.zeros(n)
    out[start : start + length] = _scaled(burst, snr_db) if length else 0.0
    return out


def _reverb(x: np.ndarray, rt60: float, drr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Exponentially decaying noise tail after a direct path, at direct-to-reverberant `drr_db`."""
    t = np.arange(int(rt60 * FS)) / FS
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    tail[: int(0.002 * FS)] = 0.0
    tail *= 10.0 ** (-drr_db / 20.0) / np.sqrt(np.sum(tail**2))
    tail[0] = 1.0
    return signal.fftconvolve(x, tail)[: len(x)]


def _compress(x: np.ndarray, ratio: float = 2.0) -> np.ndarray:
    """Podcast loudness processing: 2:1 compression above threshold on a 20 ms envelope.

    It halves level differences above the threshold (between speakers and between emotions)
    instead of erasing them, as per-utterance normalisation would.
    """
    env = _moving_rms(x, 320) + 1e-9
    level = 20.0 * np.log10(env)
    threshold_db = NOMINAL_DBFS - 4.0
    gain_db = np.where(level > threshold_db, (threshold_db - level) * (1.0 - 1.0 / ratio), 0.0)
    return x * 10.0 ** ((gain_db + 4.0) / 20.0)


def _telephone(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ambient noise, a narrow band (about 300-3400 Hz, edges vary with the handset and
    network), partial automatic gain control, 8-bit mu-law, then a line-noise floor."""
    band = (rng.uniform(200.0, 400.0), rng.uniform(3000.0, 3800.0))
    phone = signal.butter(3, band, "bandpass", fs=FS, output="sos")
    y = signal.sosfilt(phone, x + _noise(len(x), rng.uniform(15, 30), rng))
    env = _moving_rms(y, 8000) + 1e-6
    y = y * (_NOMINAL_RMS / env) ** 0.3  # AGC closes 30 % of the gap to the nominal level
    # The codec sees speech at the network's level (nominal speech at -20 dBFS), not ours.
    line = 10.0 ** ((-20.0 - NOMINAL_DBFS) / 20.0)
    mu = 255.0
    coded = np.sign(y) * np.log1p(mu * np.minimum(np.abs(y * line), 1.0)) / np.log1p(mu)
    coded = np.round(coded * 127.0) / 127.0
    y = np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu / line
    return y + _noise(len(y), rng.uniform(35.0, 50.0), rng)


def _moving_rms(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving RMS over `width` samples, by cumulative sums (O(n) for long windows)."""
    csum = np.concatenate([[0.0], np.cumsum(x**2)])
    half = width // 2
    hi = np.minimum(np.arange(len(x)) + half + 1, len(x))
    lo = np.maximum(np.arange(len(x)) - half, 0)
    return np.sqrt(np.maximum(csum[hi] - csum[lo], 0.0) / (hi - lo))

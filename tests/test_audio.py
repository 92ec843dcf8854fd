"""read_utterance: segments, down-mixing, resampling, and errors that name the file."""

import av
import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from xcorpus.audio import AudioError, decode_container, read_utterance


@pytest.fixture
def ramp_wav(tmp_path):
    """One second at 16 kHz whose sample i is distinguishable from every other sample."""
    path = tmp_path / "ramp.wav"
    samples = np.linspace(-0.9, 0.9, 16000, dtype=np.float32)
    sf.write(path, samples, 16000, subtype="FLOAT")
    return path, samples


def test_stereo_44k_becomes_16k_mono(tmp_path):
    path = tmp_path / "stereo.wav"
    t = np.arange(44100) / 44100
    left = 0.5 * np.sin(2 * np.pi * 220 * t)
    right = 0.2 * np.sin(2 * np.pi * 330 * t)
    sf.write(path, np.stack([left, right], axis=1).astype(np.float32), 44100, subtype="FLOAT")

    signal = read_utterance(path)

    assert signal.dtype == np.float32
    assert signal.shape == (16000,)
    expected = resample_poly(((left + right) / 2).astype(np.float32), 160, 441)
    np.testing.assert_allclose(signal, expected, atol=1e-5)


def test_segment_reads_exactly_its_samples(ramp_wav):
    path, samples = ramp_wav
    np.testing.assert_array_equal(read_utterance(path, 0.25, 0.5), samples[4000:8000])
    np.testing.assert_array_equal(read_utterance(path, start_s=0.75), samples[12000:])
    np.testing.assert_array_equal(read_utterance(path, end_s=0.1), samples[:1600])
    np.testing.assert_array_equal(read_utterance(path, 0.0, 1.0), samples)


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.wav"
    with pytest.raises(AudioError, match=r"nowhere\.wav"):
        read_utterance(path)


def test_unreadable_file_is_named(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio")
    with pytest.raises(AudioError, match=r"notes\.wav.*unreadable"):
        read_utterance(path)


def test_segment_past_end_is_an_error(ramp_wav):
    path, samples = ramp_wav
    with pytest.raises(AudioError, match=r"ramp\.wav.*past the end"):
        read_utterance(path, 0.5, 1.26)
    # Within SEGMENT_END_TOLERANCE_S of the end, the segment is cut at the end of the file.
    np.testing.assert_array_equal(read_utterance(path, 0.5, 1.25), samples[8000:])
    with pytest.raises(AudioError, match=r"ramp\.wav.*past the end"):
        read_utterance(path, start_s=1.5)


@pytest.mark.parametrize(("start_s", "end_s"), [(0.5, 0.5), (0.6, 0.4), (1.0, None)])
def test_empty_segment_is_an_error(ramp_wav, start_s, end_s):
    path, _ = ramp_wav
    with pytest.raises(AudioError, match=r"ramp\.wav.*empty segment"):
        read_utterance(path, start_s, end_s)


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match=r"empty\.wav.*empty segment"):
        read_utterance(path)


def test_negative_start_is_an_error(ramp_wav):
    path, _ = ramp_wav
    with pytest.raises(AudioError, match=r"ramp\.wav"):
        read_utterance(path, -0.1, 0.5)


# MP4 (MELD): the AAC stream decoded with PyAV, then averaged and resampled like a WAV.


def write_aac(path, channels: list[np.ndarray], layout: str) -> None:
    """An MP4 with one 48 kHz AAC stream holding `channels` (one array per channel)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000, layout=layout)
        frame = av.AudioFrame.from_ndarray(
            np.stack(channels).astype(np.float32), format="fltp", layout=layout
        )
        frame.sample_rate = 48000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)


def amplitude(signal: np.ndarray, freq: float, rate: int) -> float:
    """Amplitude of the `freq` sinusoid in `signal`, whatever its phase (AAC delays it)."""
    t = np.arange(len(signal)) / rate
    a, b = (
        2 * np.mean(signal * np.sin(2 * np.pi * freq * t)),
        2 * np.mean(signal * np.cos(2 * np.pi * freq * t)),
    )
    return float(np.hypot(a, b))


T48 = np.arange(48000) / 48000


@pytest.mark.parametrize(
    ("layout", "channels", "expected"),
    [
        # 5.1: a 0.6 sine in the centre channel only; the mean of six channels holds 0.1.
        (
            "5.1",
            [0.6 * np.sin(2 * np.pi * 440 * T48) if c == 2 else 0 * T48 for c in range(6)],
            0.1,
        ),
        # stereo: 0.4 and 0.2 in phase; the mean holds 0.3.
        ("stereo", [0.4 * np.sin(2 * np.pi * 440 * T48), 0.2 * np.sin(2 * np.pi * 440 * T48)], 0.3),
    ],
)
def test_mp4_is_downmixed_and_resampled_to_16k(tmp_path, layout, channels, expected):
    path = tmp_path / "clip.mp4"
    write_aac(path, channels, layout)
    mono, rate, n_channels = decode_container(path)
    assert (rate, n_channels) == (48000, len(channels))
    assert 48000 <= len(mono) <= 48000 + 3 * 1024  # AAC adds whole priming/padding frames
    with av.open(str(path)) as container:  # the decoder's planar channels, averaged by hand
        planar = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    np.testing.assert_allclose(mono, planar.mean(axis=0), atol=1e-7)

    signal = read_utterance(path)

    assert signal.dtype == np.float32 and len(signal) == len(mono) // 3
    np.testing.assert_allclose(signal, resample_poly(mono, 1, 3).astype(np.float32), atol=1e-6)
    middle = signal[3200:12800]  # clear of the encoder's onset and tail
    assert amplitude(middle, 440, 16000) == pytest.approx(expected, rel=0.03)
    assert amplitude(middle, 1000, 16000) < 0.01 * expected  # nothing else was added


def test_mp4_segment_and_errors_name_the_file(tmp_path):
    path = tmp_path / "clip.mp4"
    write_aac(path, [0.3 * np.sin(2 * np.pi * 440 * T48)] * 2, "stereo")
    mono, _, _ = decode_container(path)  # a segment is cut at 48 kHz, then resampled
    expected = resample_poly(mono[12000:24000], 1, 3).astype(np.float32)
    np.testing.assert_allclose(read_utterance(path, 0.25, 0.5), expected, atol=1e-6)
    broken = tmp_path / "dia125_utt3.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    with pytest.raises(AudioError, match=r"dia125_utt3\.mp4: does not decode \(Invalid data"):
        read_utterance(broken)
    with pytest.raises(AudioError, match=r"clip\.mp4.*past the end"):
        read_utterance(path, 0.5, 2.0)

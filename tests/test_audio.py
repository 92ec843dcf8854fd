"""read_utterance: segments, down-mixing, resampling, and errors that name the file."""

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from xcorpus.audio import AudioError, read_utterance


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

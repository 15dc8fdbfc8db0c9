"""Conversion to the 16 kHz mono input contract, with real WAV and OGG/Opus files."""

from __future__ import annotations

import itertools
import random
import re
import struct

import pytest
from voice_testkit import KOREAN_NUMBERS, espeak_wav, opus_ogg, tone

from voice.audio import (
    BYTES_PER_SECOND,
    check_pcm_frame,
    pcm_duration,
    read_wav,
    to_pcm16k,
    to_pcm16k_async,
    write_wav,
)
from voice.errors import AudioError, VoiceErrorCode

CJK = re.compile(r"[\u4e00-\u9fff]")


def zero_crossings(pcm: bytes) -> int:
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    return sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))


def test_wav_44k_stereo_becomes_16k_mono_of_the_same_length_and_pitch() -> None:
    wav = write_wav(tone(1.5, 44100, 2), sample_rate=44100, channels=2)
    pcm = to_pcm16k(wav, "audio/wav")
    assert pcm_duration(pcm) == pytest.approx(1.5, abs=0.01)
    # Still a 440 Hz tone (two zero crossings per period), so it was resampled, not cut.
    assert zero_crossings(pcm) == pytest.approx(2 * 440 * 1.5, rel=0.02)


def test_wav_8bit_8k_is_converted_too() -> None:
    pcm16 = tone(1.0, 8000, 1)
    samples = struct.unpack(f"<{len(pcm16) // 2}h", pcm16)
    pcm8 = bytes((s >> 8) + 128 for s in samples)  # WAV 8-bit is unsigned
    pcm = to_pcm16k(write_wav(pcm8, sample_rate=8000, sample_width=1))
    assert pcm_duration(pcm) == pytest.approx(1.0, abs=0.01)


def test_wav_already_in_contract_passes_through_unchanged() -> None:
    frames = tone(0.5, 16000, 1)
    assert to_pcm16k(write_wav(frames)) == frames


def test_ogg_opus_voice_note_converts_to_16k_mono_of_the_right_duration() -> None:
    speech = to_pcm16k(espeak_wav(KOREAN_NUMBERS))
    note = opus_ogg(speech)
    assert note[:4] == b"OggS"
    pcm = to_pcm16k(note, "audio/ogg")
    assert pcm_duration(pcm) == pytest.approx(pcm_duration(speech), abs=0.05)
    assert max(struct.unpack(f"<{len(pcm) // 2}h", pcm)) > 1000, "the voice survived"


def test_wrong_hint_falls_back_to_probing() -> None:
    wav = write_wav(tone(0.5, 22050, 1), sample_rate=22050)
    assert pcm_duration(to_pcm16k(opus_ogg(to_pcm16k(wav)), "wav")) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", VoiceErrorCode.AUDIO_EMPTY),
        (random.Random(1).randbytes(4000), VoiceErrorCode.AUDIO_UNREADABLE),
        (random.Random(2).randbytes(200_000), VoiceErrorCode.AUDIO_UNREADABLE),
        (b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk", VoiceErrorCode.AUDIO_UNREADABLE),
        ("你好".encode() * 100, VoiceErrorCode.AUDIO_UNREADABLE),
    ],
    ids=["empty", "random-small", "random-large", "riff-junk", "text"],
)
def test_garbage_raises_audio_error_with_a_chinese_message(
    data: bytes, code: VoiceErrorCode
) -> None:
    with pytest.raises(AudioError) as caught:
        to_pcm16k(data)
    assert caught.value.code is code
    assert CJK.search(caught.value.message)


def test_truncated_wav_is_refused() -> None:
    wav = write_wav(tone(1.0, 44100, 2), sample_rate=44100, channels=2)
    with pytest.raises(AudioError) as caught:
        to_pcm16k(wav[: len(wav) // 2])
    assert caught.value.code is VoiceErrorCode.AUDIO_TRUNCATED


def test_streaming_wav_header_is_accepted() -> None:
    """``espeak-ng --stdout`` writes a placeholder length; that is not truncation."""
    wav = espeak_wav("하나")
    assert read_wav(wav).sample_rate == 22050
    assert pcm_duration(to_pcm16k(wav)) > 0.2


@pytest.mark.parametrize("keep", [0.5, 0.9, 40], ids=["half", "most", "header-only"])
def test_truncated_ogg_is_refused(keep: float) -> None:
    note = opus_ogg(tone(2.0, 16000, 1))
    cut = int(len(note) * keep) if keep < 1 else int(keep)
    with pytest.raises(AudioError) as caught:
        to_pcm16k(note[:cut])
    assert caught.value.code is VoiceErrorCode.AUDIO_TRUNCATED


def test_too_long_audio_is_refused_by_the_configured_limit() -> None:
    wav = write_wav(tone(3.0, 22050, 1), sample_rate=22050)
    assert pcm_duration(to_pcm16k(wav, max_seconds=5)) == pytest.approx(3.0, abs=0.01)
    with pytest.raises(AudioError) as caught:
        to_pcm16k(wav, max_seconds=2)
    assert caught.value.code is VoiceErrorCode.AUDIO_TOO_LONG
    with pytest.raises(AudioError) as caught:
        to_pcm16k(opus_ogg(tone(3.0, 16000, 1)), max_seconds=2)
    assert caught.value.code is VoiceErrorCode.AUDIO_TOO_LONG


def test_oversized_input_is_refused_before_decoding() -> None:
    with pytest.raises(AudioError) as caught:
        to_pcm16k(b"\0" * 2000, max_bytes=1000)
    assert caught.value.code is VoiceErrorCode.AUDIO_TOO_LARGE


def test_raw_pcm_hint_checks_the_frame() -> None:
    assert to_pcm16k(b"\1\0" * 10, "pcm16k") == b"\1\0" * 10
    with pytest.raises(AudioError) as caught:
        to_pcm16k(b"\1\0\1", "pcm16k")
    assert caught.value.code is VoiceErrorCode.AUDIO_BAD_FRAME
    with pytest.raises(AudioError) as caught:
        to_pcm16k(b"\0" * (3 * BYTES_PER_SECOND), "pcm16k", max_seconds=2)
    assert caught.value.code is VoiceErrorCode.AUDIO_TOO_LONG


def test_frames_must_be_whole_16_bit_samples_of_bytes() -> None:
    assert check_pcm_frame(bytearray(b"\0\0")) == b"\0\0"
    for bad in (b"\0\0\0", "\0\0", 17, None):
        with pytest.raises(AudioError) as caught:
            check_pcm_frame(bad)
        assert caught.value.code is VoiceErrorCode.AUDIO_BAD_FRAME


def test_wav_round_trip() -> None:
    frames = tone(0.25, 8000, 2)
    info = read_wav(write_wav(frames, sample_rate=8000, channels=2))
    assert (info.frames, info.sample_rate, info.sample_width, info.channels) == (
        frames,
        8000,
        2,
        2,
    )
    assert info.duration == pytest.approx(0.25)


async def test_async_conversion_runs_off_the_loop() -> None:
    wav = write_wav(tone(0.5, 48000, 2), sample_rate=48000, channels=2)
    assert pcm_duration(await to_pcm16k_async(wav)) == pytest.approx(0.5, abs=0.01)

"""`voice.audio.wav_to_ogg_opus`: real espeak-ng speech encoded with libopus, decoded back
with PyAV, the way Telegram clients will play it."""

from __future__ import annotations

import io

import av
import pytest
from voice_testkit import espeak_wav, tone

from voice.audio import (
    SAMPLE_RATE,
    pcm_duration,
    to_pcm16k,
    wav_to_ogg_opus,
    wav_to_ogg_opus_async,
    write_wav,
)
from voice.errors import AudioError, VoiceErrorCode


def test_speech_becomes_an_ogg_opus_voice_note_of_the_same_length() -> None:
    wav = espeak_wav("하나 둘 셋")
    ogg = wav_to_ogg_opus(wav)

    assert ogg[:4] == b"OggS"
    with av.open(io.BytesIO(ogg)) as container:
        assert container.format.name == "ogg"
        (stream,) = container.streams.audio
        assert stream.codec_context.name == "opus"
        assert stream.codec_context.channels == 1
        assert stream.sample_rate == 48_000
    pcm = to_pcm16k(ogg, "ogg")
    expected = pcm_duration(to_pcm16k(wav, "wav"))
    assert abs(pcm_duration(pcm) - expected) < 0.1
    assert (
        max(
            abs(int.from_bytes(pcm[i : i + 2], "little", signed=True))
            for i in range(0, len(pcm), 2)
        )
        > 1000
    ), "still has sound"
    assert len(ogg) < len(wav) / 4, "compressed"


@pytest.mark.parametrize(("rate", "channels"), [(16_000, 1), (44_100, 2), (8_000, 1)])
def test_other_wav_formats_are_resampled_to_mono(rate: int, channels: int) -> None:
    wav = write_wav(tone(0.5, rate, channels), sample_rate=rate, channels=channels)
    ogg = wav_to_ogg_opus(wav)
    pcm = to_pcm16k(ogg, "audio/ogg")
    assert abs(pcm_duration(pcm, SAMPLE_RATE) - 0.5) < 0.05


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"not a wav at all", VoiceErrorCode.AUDIO_UNREADABLE),
        (write_wav(b""), VoiceErrorCode.AUDIO_NO_SOUND),
    ],
)
def test_bad_input_is_a_clear_audio_error(data: bytes, code: VoiceErrorCode) -> None:
    with pytest.raises(AudioError) as raised:
        wav_to_ogg_opus(data)
    assert raised.value.code is code
    assert raised.value.message  # a Chinese sentence for the user


async def test_async_variant_gives_the_same_result() -> None:
    wav = write_wav(tone(0.3, 16_000, 1))
    assert (await wav_to_ogg_opus_async(wav))[:4] == b"OggS"

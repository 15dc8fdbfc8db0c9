"""Speech synthesis with the real pyttsx3 + espeak-ng, in its real worker process."""

from __future__ import annotations

import io
import re
import subprocess
import time
import wave

import pytest

from voice import tts
from voice.audio import read_wav
from voice.errors import TTSError, TTSUnavailable, VoiceErrorCode
from voice.settings import VoiceSettings
from voice.tts import Synthesizer, TTSWorker, speakable_text, words_per_minute

ID_NUMBER = "110105194910010031"
CJK = re.compile(r"[\u4e00-\u9fff]")


def wav_frames(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes(), wav.getframerate(), wav.getsampwidth(), wav.getnchannels()


async def test_a_valid_wav_comes_out(synthesizer: Synthesizer) -> None:
    speech = await synthesizer.synthesize("您好，欢迎来到社区服务中心。")
    assert speech.wav[:4] == b"RIFF" and speech.wav[8:12] == b"WAVE"
    frames, rate, width, channels = wav_frames(speech.wav)
    assert frames > 0 and (rate, width, channels) == (22050, 2, 1)
    assert speech.duration == pytest.approx(frames / rate) and speech.duration > 1.0
    assert speech.sample_rate == rate and speech.speech_rate == 1.0


async def test_it_is_longer_at_rate_half_than_at_normal(synthesizer: Synthesizer) -> None:
    text = "请您慢慢说出身份证号码。"
    normal = await synthesizer.synthesize(text, 1.0)
    slow = await synthesizer.synthesize(text, 0.5)
    assert slow.duration > normal.duration * 1.4


async def test_second_and_third_calls_work_in_the_same_worker() -> None:
    synth = Synthesizer(VoiceSettings(tts_cache_size=0))
    try:
        durations = []
        for text in ("第一句。", "第二句话长一点。", "第三句话还要再长一些才行。"):
            speech = await synth.synthesize(text)
            assert wav_frames(speech.wav)[0] > 0
            durations.append(speech.duration)
        assert durations == sorted(durations), "each call spoke its own text"
        assert synth.worker.starts == 1, "no restart was needed"
        assert synth.cache_hits == 0
    finally:
        await synth.close()
    assert not synth.worker.running


def test_id_and_phone_numbers_are_spoken_digit_by_digit_in_groups() -> None:
    assert speakable_text(f"身份证号{ID_NUMBER}。") == (
        "身份证号，幺幺零幺零五，幺九四九幺零零幺，零零三幺。"
    )
    # The bot's own read-back, already grouped, and an X check digit.
    assert speakable_text("我听到的号码是：110105，19491001，003X。对吗？") == (
        "我听到的号码是：幺幺零幺零五，幺九四九幺零零幺，零零三叉。对吗？"
    )
    assert speakable_text("电话 138 0013 8000") == "电话，幺三八，零零幺三，八零零零"
    assert speakable_text("请拨13800138000") == "请拨，幺三八，零零幺三，八零零零"
    assert speakable_text("电话：１３８００１３８０００") == "电话：幺三八，零零幺三，八零零零"
    assert speakable_text("٣٨٠٠١٣٨٠٠٠١١") == "٣٨٠٠١٣٨٠٠٠١١"  # other scripts' digits: untouched
    # Other numbers are left to the voice: years, 17 or 19 digits, 12-digit runs.
    for text in ("2024年3月", "1101051949100100311", "11010519491001003", "138001380001"):
        assert speakable_text(text) == text


async def test_the_synthesizer_speaks_the_rewritten_digits(
    synthesizer: Synthesizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    real = synthesizer.worker.synthesize

    def recording(text: str, wpm: int, timeout_s: float) -> bytes:
        sent.append(text)
        return real(text, wpm, timeout_s)

    monkeypatch.setattr(synthesizer.worker, "synthesize", recording)
    said = await synthesizer.synthesize(f"号码{ID_NUMBER}")
    assert sent == ["号码，幺幺零幺零五，幺九四九幺零零幺，零零三幺"]
    # espeak-ng alone reads the digits in pairs ("yi yi, ling yi, ..."), audibly shorter.
    wpm = words_per_minute(1.0, synthesizer.settings.tts_base_wpm)
    raw = read_wav(real(f"号码{ID_NUMBER}", wpm, 20.0))
    assert said.duration > raw.duration * 1.05


async def test_a_repeated_prompt_is_served_from_the_cache(synthesizer: Synthesizer) -> None:
    prompt = "请问您要办理什么业务？"
    first = await synthesizer.synthesize(prompt)
    hits = synthesizer.cache_hits
    started = time.perf_counter()
    again = await synthesizer.synthesize(prompt)
    assert synthesizer.cache_hits == hits + 1 and again is first
    assert time.perf_counter() - started < 0.01
    slower = await synthesizer.synthesize(prompt, 0.5)  # the rate is part of the key
    assert slower is not first and synthesizer.cache_hits == hits + 1


async def test_text_with_personal_numbers_is_never_cached(synthesizer: Synthesizer) -> None:
    text = "您的电话是13800138000。"
    await synthesizer.synthesize(text)
    misses = synthesizer.cache_misses
    await synthesizer.synthesize(text)
    assert synthesizer.cache_misses == misses + 1


def test_a_timeout_restarts_the_worker() -> None:
    worker = TTSWorker(VoiceSettings().tts_voice)
    try:
        worker.start()
        first_pid = worker.pid
        with pytest.raises(TTSError) as caught:
            worker.synthesize("这一句要读很久很久很久很久很久很久很久。" * 5, 160, 0.001)
        assert caught.value.code is VoiceErrorCode.TTS_TIMEOUT
        assert not worker.running, "the stuck worker was killed"
        wav = worker.synthesize("又好了。", 160, 20.0)
        assert wav[:4] == b"RIFF" and wav_frames(wav)[0] > 0
        assert worker.starts == 2 and worker.pid != first_pid
    finally:
        worker.close()


async def test_a_missing_voice_is_tts_unavailable_with_a_reason() -> None:
    synth = Synthesizer(VoiceSettings(tts_voice="no-such-voice"))
    try:
        with pytest.raises(TTSUnavailable) as caught:
            await synth.synthesize("你好")
        assert caught.value.code is VoiceErrorCode.TTS_UNAVAILABLE
        assert caught.value.reason and "no-such-voice" in caught.value.reason
        assert CJK.search(caught.value.message)
        ok, reason = synth.availability()
        assert not ok and "no-such-voice" in reason
    finally:
        await synth.close()


def test_availability_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    ok, reason = tts.availability()
    assert ok and "espeak" in reason
    monkeypatch.setattr(tts, "find_espeak_library", lambda: None)
    ok, reason = tts.availability()
    assert not ok and "apt-get install espeak-ng" in reason


async def test_too_long_or_empty_text_is_refused(synthesizer: Synthesizer) -> None:
    with pytest.raises(TTSError) as caught:
        await synthesizer.synthesize("长" * (synthesizer.settings.tts_max_chars + 1))
    assert caught.value.code is VoiceErrorCode.TTS_TEXT_TOO_LONG
    with pytest.raises(TTSError):
        await synthesizer.synthesize("   ")


def test_speech_rate_maps_to_words_per_minute() -> None:
    assert words_per_minute(1.0, 160) == 160
    assert words_per_minute(0.8, 160) == 128
    assert words_per_minute(0.5, 160) == 80
    assert words_per_minute(0.1, 160) == 80  # clamped to the slowest step
    assert words_per_minute(5.0, 200) == 400


def test_the_default_voice_reads_chinese_as_mandarin() -> None:
    """With Debian's espeak-ng 1.51, plain ``cmn`` reads most characters as pinyin plus
    English tone digits ("ni three"); the default voice must not switch to English."""
    voice = VoiceSettings().tts_voice
    phonemes = subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", voice, "你好，请说身份证号码，幺三八"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert phonemes.strip() and "(en)" not in phonemes


async def test_reply_text_cannot_change_the_speed_with_control_characters(
    synthesizer: Synthesizer,
) -> None:
    text = "请您慢慢说出身份证号码。"
    plain = await synthesizer.synthesize("450S" + text)
    injected = await synthesizer.synthesize("\x01450S" + text)
    # Obeyed, the command would make it about three times faster; removed, "450S" is read.
    assert injected.duration == pytest.approx(plain.duration, rel=0.1)

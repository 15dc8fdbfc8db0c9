"""Voice notes in and out: download, PyAV decode, Vosk over the whole note; TTS to OGG/Opus.

- A note is refused *before* the download when Telegram's own numbers (``file_size``,
  ``duration``) exceed the limits, and again after it when the bytes do, so a huge file
  never fills memory; `voice.audio.to_pcm16k` then refuses anything that is not audio.
  Every refusal is an `AudioError` carrying the Chinese sentence to send back.
- `WholeNote` adapts a `RecognizerSession` to the pipeline's recogniser protocol so the
  whole note is recognised, not only the part before the first pause (a kiosk turn ends
  at the first pause; a voice note is finished when it arrives, and elderly speakers
  pause mid-sentence).
- `spoken_reply` is the reply as an OGG/Opus voice note, or None when speech output is
  unavailable or fails (the text was sent anyway).

Raw audio is never logged or stored; logs carry sizes, durations and error codes.
"""

from __future__ import annotations

import io
import logging
import math

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Voice

from voice.asr import RecognizerSession
from voice.audio import to_pcm16k_async, wav_to_ogg_opus_async
from voice.errors import AudioError, VoiceError, VoiceErrorCode
from voice.events import Transcript, WordInfo
from voice.tts import shared_synthesizer

logger = logging.getLogger(__name__)

DOWNLOAD_FAILED = "语音没有收到，请再发一次。"


def check_limits(voice: Voice, max_bytes: int, max_seconds: float) -> None:
    """Refuse a note by what Telegram says about it, before downloading anything."""
    if voice.file_size is not None and voice.file_size > max_bytes:
        raise AudioError(
            VoiceErrorCode.AUDIO_TOO_LARGE, reason=f"{voice.file_size} bytes > {max_bytes}"
        )
    if voice.duration > max_seconds:
        raise AudioError(
            VoiceErrorCode.AUDIO_TOO_LONG, reason=f"{voice.duration} s > {max_seconds:.0f} s"
        )


async def download(bot: Bot, file_id: str, max_bytes: int, timeout_s: int = 30) -> bytes:
    """The note's bytes (``getFile`` then the file URL); `AudioError` when it cannot be had."""
    try:
        file = await bot.get_file(file_id)
        if file.file_size is not None and file.file_size > max_bytes:
            raise AudioError(
                VoiceErrorCode.AUDIO_TOO_LARGE, reason=f"{file.file_size} bytes > {max_bytes}"
            )
        if not file.file_path:
            raise AudioError(
                VoiceErrorCode.AUDIO_UNREADABLE, DOWNLOAD_FAILED, reason="getFile gave no path"
            )
        buffer = io.BytesIO()
        await bot.download_file(file.file_path, destination=buffer, timeout=timeout_s)
    except AudioError:
        raise
    except (TelegramAPIError, aiohttp.ClientError, OSError, TimeoutError) as err:
        # Only the type: aiohttp's message holds the file URL, and that holds the token.
        raise AudioError(
            VoiceErrorCode.AUDIO_UNREADABLE, DOWNLOAD_FAILED, reason=type(err).__name__
        ) from None
    data = buffer.getvalue()
    if len(data) > max_bytes:
        raise AudioError(VoiceErrorCode.AUDIO_TOO_LARGE, reason=f"{len(data)} bytes > {max_bytes}")
    return data


async def note_to_pcm(data: bytes, max_bytes: int, max_seconds: float) -> bytes:
    """16 kHz mono PCM of an OGG/Opus note (other audio containers work too)."""
    return await to_pcm16k_async(data, "ogg", max_seconds=max_seconds, max_bytes=max_bytes)


class WholeNote:
    """A recogniser that keeps going over pauses and gives one final transcript at the end.

    Feeds pass partials through and keep Vosk's per-utterance finals to themselves;
    `finish` joins them, so the pipeline's ASR stage consumes the whole recording.
    """

    def __init__(self, session: RecognizerSession) -> None:
        self._session = session
        self._finals: list[Transcript] = []

    async def feed(self, pcm: bytes) -> list[Transcript]:
        partials = []
        for transcript in await self._session.feed(pcm):
            if transcript.is_final:
                if transcript.text:
                    self._finals.append(transcript)
            else:
                partials.append(transcript)
        return partials

    async def finish(self) -> Transcript:
        last = await self._session.finish()
        finals = [*self._finals, last] if last.text else list(self._finals)
        self._finals = []
        return join_transcripts(finals)


def join_transcripts(finals: list[Transcript]) -> Transcript:
    """One final transcript of several utterances; confidence weighted by word count."""
    text = " ".join(t.text for t in finals if t.text).strip()
    words: tuple[WordInfo, ...] = tuple(w for t in finals for w in t.words)
    scored = [(t.confidence, max(len(t.words), 1)) for t in finals if t.confidence is not None]
    confidence = sum(c * n for c, n in scored) / sum(n for _, n in scored) if scored else None
    return Transcript(text=text, is_final=True, confidence=confidence, words=words)


async def spoken_reply(text: str, speech_rate: float) -> tuple[bytes, int] | None:
    """The text as an OGG/Opus voice note and its whole seconds, or None (text only)."""
    if not text.strip():
        return None
    synthesizer = shared_synthesizer()
    if synthesizer is None:
        return None
    try:
        speech = await synthesizer.synthesize(text, speech_rate)
        ogg = await wav_to_ogg_opus_async(speech.wav)
    except VoiceError as err:
        logger.info("telegram: no voice reply: %s", err.code.value)
        return None
    except Exception as err:  # the text reply is already there; a voice note is extra
        logger.warning("telegram: no voice reply: %s", type(err).__name__)
        return None
    return ogg, max(1, math.ceil(speech.duration))

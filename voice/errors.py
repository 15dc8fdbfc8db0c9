"""The one error hierarchy of the voice layer: a stable ``code`` and a short Chinese ``message``.

Same shape as ``bot.errors.GatewayError`` (``code``, ``message``, ``status``) so a channel
can deliver either the same way, but independent of ``bot/``: voice is a lower layer and
imports nothing from the gateway. One subclass per stage (audio input, ASR, TTS, dialogue),
plus ``*Unavailable`` subclasses for "this part cannot run on this machine" so the health
page and the kiosk can say that voice is off while text keeps working.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class VoiceErrorCode(StrEnum):
    """Codes clients may branch on; renaming one is a breaking change."""

    AUDIO_EMPTY = "audio_empty"
    AUDIO_TOO_LARGE = "audio_too_large"
    AUDIO_TOO_LONG = "audio_too_long"
    AUDIO_UNREADABLE = "audio_unreadable"
    AUDIO_TRUNCATED = "audio_truncated"
    AUDIO_NO_SOUND = "audio_no_sound"
    AUDIO_BAD_FRAME = "audio_bad_frame"
    ASR_UNAVAILABLE = "asr_unavailable"
    ASR_FAILED = "asr_failed"
    TTS_UNAVAILABLE = "tts_unavailable"
    TTS_FAILED = "tts_failed"
    TTS_TIMEOUT = "tts_timeout"
    TTS_TEXT_TOO_LONG = "tts_text_too_long"
    DIALOGUE_FAILED = "dialogue_failed"
    INTERNAL_ERROR = "voice_internal_error"


# Short sentences, no jargon: a channel may show them or read them aloud as they are.
MESSAGES: dict[VoiceErrorCode, str] = {
    VoiceErrorCode.AUDIO_EMPTY: "没有收到声音，请再说一遍。",
    VoiceErrorCode.AUDIO_TOO_LARGE: "语音文件太大了，请说短一点。",
    VoiceErrorCode.AUDIO_TOO_LONG: "语音太长了，请分几次说。",
    VoiceErrorCode.AUDIO_UNREADABLE: "这段语音打不开，请重新录一次。",
    VoiceErrorCode.AUDIO_TRUNCATED: "这段语音不完整，请重新录一次。",
    VoiceErrorCode.AUDIO_NO_SOUND: "这段语音里没有声音，请再说一遍。",
    VoiceErrorCode.AUDIO_BAD_FRAME: "声音数据有问题，请再说一遍。",
    VoiceErrorCode.ASR_UNAVAILABLE: "语音识别暂时不能用，请打字或找工作人员。",
    VoiceErrorCode.ASR_FAILED: "没有听清楚，请再说一遍。",
    VoiceErrorCode.TTS_UNAVAILABLE: "语音播报暂时不能用，请看屏幕上的文字。",
    VoiceErrorCode.TTS_FAILED: "语音播报出了问题，请看屏幕上的文字。",
    VoiceErrorCode.TTS_TIMEOUT: "语音播报太慢了，请看屏幕上的文字。",
    VoiceErrorCode.TTS_TEXT_TOO_LONG: "要读的内容太长了，请看屏幕上的文字。",
    VoiceErrorCode.DIALOGUE_FAILED: "助手暂时不能回答，请稍后再试。",
    VoiceErrorCode.INTERNAL_ERROR: "出了点问题，请稍后再试。",
}


class VoiceError(Exception):
    """Base of every error the voice layer raises on purpose."""

    default_status: ClassVar[int] = 500
    default_code: ClassVar[VoiceErrorCode] = VoiceErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        code: VoiceErrorCode | None = None,
        message: str | None = None,
        *,
        reason: str | None = None,
        status: int | None = None,
    ) -> None:
        self.code: VoiceErrorCode = code if code is not None else self.default_code
        self.message: str = message if message is not None else MESSAGES[self.code]
        # For operators and logs (English, no user data): why, e.g. "no model in /srv/vosk".
        self.reason: str | None = reason
        self.status: int = status if status is not None else self.default_status
        # The exception text is the code and the reason, never user speech or text.
        super().__init__(f"{self.code.value}: {reason}" if reason else self.code.value)


class AudioError(VoiceError):
    """The audio given to us cannot be used: empty, garbage, truncated, too long, bad frame."""

    default_status = 400
    default_code = VoiceErrorCode.AUDIO_UNREADABLE


class ASRError(VoiceError):
    """Speech recognition failed while running."""

    default_code = VoiceErrorCode.ASR_FAILED


class ASRUnavailable(ASRError):
    """No usable Vosk model (or no vosk package): voice input is off, text still works."""

    default_status = 503
    default_code = VoiceErrorCode.ASR_UNAVAILABLE


class TTSError(VoiceError):
    """Speech synthesis failed for this text (the worker is restarted for the next one)."""

    default_code = VoiceErrorCode.TTS_FAILED


class TTSUnavailable(TTSError):
    """No espeak-ng / pyttsx3 / voice: spoken replies are off, text replies still work."""

    default_status = 503
    default_code = VoiceErrorCode.TTS_UNAVAILABLE


class DialogueError(VoiceError):
    """The injected dialogue (the hub) raised something that is not a ``VoiceError``."""

    default_status = 503
    default_code = VoiceErrorCode.DIALOGUE_FAILED

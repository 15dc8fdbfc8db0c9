"""Voice configuration, read from the environment when `get_voice_settings()` is called.

Environment variables (all optional; defaults in brackets):

- ``VOSK_MODEL_PATH``: a local Vosk model, either the model folder itself (it holds
  ``am/`` and ``conf/``) or a folder that holds ``<VOICE_VOSK_MODEL_NAME>/``. When set,
  nothing is downloaded. [unset]
- ``VOICE_VOSK_MODEL_NAME``: the model to use when ``VOSK_MODEL_PATH`` is unset, looked
  for in Vosk's cache folders (``/usr/share/vosk``, ``~/.cache/vosk``) and otherwise
  downloaded into ``~/.cache/vosk`` with Vosk's downloader (`voice.model_download`: by
  `make run` before the gateway starts, else on first use) where the internet is
  reachable. [vosk-model-small-cn-0.22]
- ``VOICE_VOSK_DOWNLOAD``: allow that download [true]
- ``VOICE_MAX_INPUT_BYTES``: largest audio file accepted for conversion [10 MiB]
- ``VOICE_MAX_AUDIO_S``: longest audio accepted for conversion, in seconds [120]
- ``VOICE_MAX_UTTERANCE_S``: a streamed utterance longer than this is ended (a final
  transcript is emitted) even without a pause [30]
- ``VOICE_ASR_CHUNK_MS``: largest piece of audio handed to Vosk at once; larger frames are
  split so endpoints are found in time [200]
- ``VOICE_ASR_THREADS``: worker threads for blocking Vosk calls (all sessions) [2]
- ``VOICE_ENDPOINTER_MODE``: ``default``, ``short``, ``long`` or ``very_long`` [default]
- ``VOICE_ENDPOINTER_DELAYS``: ``t_start_max,t_end,t_max`` in seconds, e.g. ``5,1.5,20``
  [unset: Vosk's own]. Both endpointer settings need a vosk that has
  ``SetEndpointerMode``/``SetEndpointerDelays`` (newer than 0.3.45, the one on PyPI); with
  an older vosk they are logged once and otherwise ignored.
- ``VOICE_TTS_VOICE``: espeak-ng voice [cmn-latn-pinyin]. Both ``cmn`` and
  ``cmn-latn-pinyin`` are the Mandarin voice; they differ only in how Latin letters are read.
  The default is ``cmn-latn-pinyin`` because with Debian's espeak-ng 1.51 the plain ``cmn``
  voice falls back to pinyin for most characters and then reads the tone digits in
  English ("你好" comes out as "ni three hao three"); ``cmn-latn-pinyin`` reads that pinyin
  as Mandarin. The cost: Latin letters in a reply are read as pinyin.
- ``VOICE_TTS_BASE_WPM``: espeak words per minute at ``speech_rate`` 1.0 [160]
- ``VOICE_TTS_TIMEOUT_S``: seconds one synthesis may take before the worker is restarted [20]
- ``VOICE_TTS_CACHE_SIZE``: fixed prompts kept as audio (LRU by text and rate) [128]
- ``VOICE_TTS_MAX_CHARS``: longest text synthesised in one call [600]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MODEL_NAME = "vosk-model-small-cn-0.22"

EndpointerMode = Literal["default", "short", "long", "very_long"]


class VoiceSettings(BaseSettings):
    """Everything the voice layer needs to know about its surroundings."""

    model_config = SettingsConfigDict(env_prefix="VOICE_", env_ignore_empty=True, extra="ignore")

    vosk_model_path: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("VOSK_MODEL_PATH", "vosk_model_path"),
    )
    vosk_model_name: str = DEFAULT_MODEL_NAME
    vosk_download: bool = True

    max_input_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_audio_s: float = Field(default=120.0, gt=0)
    max_utterance_s: float = Field(default=30.0, gt=0)
    asr_chunk_ms: int = Field(default=200, ge=20, le=5000)
    asr_threads: int = Field(default=2, ge=1, le=64)
    endpointer_mode: EndpointerMode = "default"
    endpointer_delays: Annotated[tuple[float, float, float] | None, NoDecode] = None

    tts_voice: str = "cmn-latn-pinyin"
    tts_base_wpm: int = Field(default=160, ge=80, le=450)
    tts_timeout_s: float = Field(default=20.0, gt=0)
    tts_cache_size: int = Field(default=128, ge=0)
    tts_max_chars: int = Field(default=600, gt=0)

    @field_validator("endpointer_delays", mode="before")
    @classmethod
    def _parse_delays(cls, value: object) -> object:
        """``"5,1.5,20"`` from the environment; a tuple or list from code."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if len(parts) != 3:
                raise ValueError("expected three numbers: t_start_max,t_end,t_max")
            return tuple(float(p) for p in parts)
        return value


def get_voice_settings() -> VoiceSettings:
    """Build settings from the environment now, so importing the package has no side effects."""
    return VoiceSettings()

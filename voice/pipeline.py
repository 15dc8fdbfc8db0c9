"""A voice turn as a pipeline of stages: ASR -> dialogue -> TTS (Home Assistant's assist
pipeline, small).

Each stage sends a `StageStart` and a stage-specific end event (`AsrEnd`, `DialogueEnd`,
`TtsEnd`), or an `ErrorEvent`, through the injected ``on_event`` callback, between a
`RunStart` and a `RunEnd`; ASR partials arrive as `TranscriptEvent`. A transport (the
kiosk WebSocket) only forwards these events; it holds no logic of its own.

- The dialogue stage is an injected async callable ``(text, metadata) -> list[str]`` (the
  gateway passes the hub). It may instead return a `DialogueReply` carrying a new
  ``speech_rate``, so that the answer to "慢一点" is already spoken slower.
- A run may start at ASR (`run_audio`: a stream of PCM frames, or a whole voice note
  already converted) or at the dialogue (`run_text`), and ends after TTS, or earlier when
  ``end_stage`` says so (ASR: transcription only; DIALOGUE: text-only replies, also the
  case when no synthesiser is given).
- Errors: `VoiceError`s are reported with their code; anything else is wrapped in the
  stage's error class. A failed TTS stage still leaves the reply texts delivered (the
  `DialogueEnd` event came first). Cancellation is never caught. A listener that raises
  is logged and ignored: the turn (and what the user said) is not lost because a
  WebSocket closed.
"""

from __future__ import annotations

import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from voice.errors import ASRError, DialogueError, TTSError, VoiceError, VoiceErrorCode
from voice.events import SpeechAudio, Transcript

logger = logging.getLogger(__name__)


class PipelineStage(StrEnum):
    ASR = "asr"
    DIALOGUE = "dialogue"
    TTS = "tts"


_ORDER = (PipelineStage.ASR, PipelineStage.DIALOGUE, PipelineStage.TTS)


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineEvent:
    """Base of every pipeline event; ``timestamp`` is `time.monotonic()` seconds."""

    type: ClassVar[str] = "event"

    run_id: str
    timestamp: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStart(PipelineEvent):
    type: ClassVar[str] = "run-start"

    start_stage: PipelineStage
    end_stage: PipelineStage


@dataclass(frozen=True, slots=True, kw_only=True)
class StageStart(PipelineEvent):
    type: ClassVar[str] = "stage-start"

    stage: PipelineStage


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptEvent(PipelineEvent):
    """A partial transcript while the person is still speaking."""

    type: ClassVar[str] = "transcript"

    transcript: Transcript


@dataclass(frozen=True, slots=True, kw_only=True)
class AsrEnd(PipelineEvent):
    """End of speech: the final transcript. Its timestamp is when the endpoint was found."""

    type: ClassVar[str] = "asr-end"
    stage: ClassVar[PipelineStage] = PipelineStage.ASR

    transcript: Transcript


@dataclass(frozen=True, slots=True)
class DialogueReply:
    """What the dialogue answered; ``speech_rate`` (if set) applies to this reply already.

    ``choices``, when given, holds for each text the answers it offers (button titles), so
    a screen can show them beside the spoken words.
    """

    texts: tuple[str, ...]
    speech_rate: float | None = None
    choices: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DialogueEnd(PipelineEvent):
    type: ClassVar[str] = "dialogue-end"
    stage: ClassVar[PipelineStage] = PipelineStage.DIALOGUE

    reply: DialogueReply


@dataclass(frozen=True, slots=True, kw_only=True)
class TtsEnd(PipelineEvent):
    """Reply audio ready: one WAV per reply text, in order."""

    type: ClassVar[str] = "tts-end"
    stage: ClassVar[PipelineStage] = PipelineStage.TTS

    speech: tuple[SpeechAudio, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorEvent(PipelineEvent):
    """A stage failed; ``message`` is the Chinese sentence to show or read to the user."""

    type: ClassVar[str] = "error"

    stage: PipelineStage
    code: VoiceErrorCode
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEnd(PipelineEvent):
    type: ClassVar[str] = "run-end"

    ok: bool


# ----------------------------------------------------------------------------- parts


class SpeechRecognizer(Protocol):
    """What the ASR stage needs (``voice.asr.RecognizerSession`` is one)."""

    async def feed(self, pcm: bytes) -> list[Transcript]: ...

    async def finish(self) -> Transcript: ...


class SpeechSynthesizer(Protocol):
    """What the TTS stage needs (``voice.tts.Synthesizer`` is one)."""

    async def synthesize(self, text: str, speech_rate: float = 1.0) -> SpeechAudio: ...


Dialogue = Callable[[str, Mapping[str, Any]], Awaitable[Sequence[str] | DialogueReply]]
EventCallback = Callable[[PipelineEvent], Awaitable[None] | None]
AudioInput = AsyncIterable[bytes] | Iterable[bytes]
WHOLE_AUDIO_CHUNK = 6400  # bytes: 0.2 s of 16 kHz 16-bit mono


@dataclass(slots=True)
class TurnResult:
    """Everything a run produced; ``error`` is set when a stage failed."""

    run_id: str
    transcript: Transcript | None = None
    reply: DialogueReply | None = None
    speech: tuple[SpeechAudio, ...] = ()
    error: VoiceError | None = None
    failed_stage: PipelineStage | None = None


class _StageFailed(Exception):
    def __init__(self, stage: PipelineStage, error: VoiceError) -> None:
        super().__init__(error.code.value)
        self.stage = stage
        self.error = error


_STAGE_ERRORS: dict[PipelineStage, type[VoiceError]] = {
    PipelineStage.ASR: ASRError,
    PipelineStage.DIALOGUE: DialogueError,
    PipelineStage.TTS: TTSError,
}


# ----------------------------------------------------------------------------- pipeline


class VoicePipeline:
    """Runs voice turns; one instance can serve many sessions (it keeps no per-turn state)."""

    def __init__(
        self,
        *,
        dialogue: Dialogue,
        on_event: EventCallback,
        synthesizer: SpeechSynthesizer | None = None,
    ) -> None:
        self._dialogue = dialogue
        self._on_event = on_event
        self._synthesizer = synthesizer

    async def run_audio(
        self,
        audio: AudioInput | bytes,
        recognizer: SpeechRecognizer,
        *,
        metadata: Mapping[str, Any] | None = None,
        speech_rate: float = 1.0,
        end_stage: PipelineStage = PipelineStage.TTS,
    ) -> TurnResult:
        """One spoken turn: frames until the first final transcript (end of speech), or until
        the frames run out (then the recogniser is finished), then dialogue and TTS.

        ``audio`` is a (sync or async) iterable of 16 kHz mono PCM frames, or one bytes
        object holding a whole recording (a voice note after ``voice.audio.to_pcm16k``).
        """
        return await self._run(
            PipelineStage.ASR, end_stage, audio, recognizer, None, metadata, speech_rate
        )

    async def run_text(
        self,
        text: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        speech_rate: float = 1.0,
        end_stage: PipelineStage = PipelineStage.TTS,
    ) -> TurnResult:
        """A typed (or already recognised) turn: dialogue, then TTS."""
        return await self._run(
            PipelineStage.DIALOGUE, end_stage, None, None, text, metadata, speech_rate
        )

    # -- the run

    async def _run(
        self,
        start: PipelineStage,
        end: PipelineStage,
        audio: AudioInput | bytes | None,
        recognizer: SpeechRecognizer | None,
        text: str | None,
        metadata: Mapping[str, Any] | None,
        speech_rate: float,
    ) -> TurnResult:
        if self._synthesizer is None and end is PipelineStage.TTS:
            end = PipelineStage.DIALOGUE  # text-only replies
        if _ORDER.index(end) < _ORDER.index(start):
            raise ValueError(f"end stage {end} comes before start stage {start}")
        run_id = uuid.uuid4().hex
        result = TurnResult(run_id)
        await self._emit(RunStart(run_id=run_id, start_stage=start, end_stage=end))
        try:
            if start is PipelineStage.ASR:
                assert audio is not None and recognizer is not None
                result.transcript = await self._stage(
                    run_id, PipelineStage.ASR, self._asr(run_id, audio, recognizer)
                )
                text = result.transcript.text
                metadata = {**(metadata or {}), "asr_confidence": result.transcript.confidence}
            if end is not PipelineStage.ASR:  # ASR as the end stage: transcription only
                assert text is not None
                result.reply = await self._stage(
                    run_id, PipelineStage.DIALOGUE, self._dialogue_stage(run_id, text, metadata)
                )
            if end is PipelineStage.TTS and result.reply and result.reply.texts:
                rate = result.reply.speech_rate or speech_rate
                result.speech = await self._stage(
                    run_id, PipelineStage.TTS, self._tts(run_id, result.reply.texts, rate)
                )
        except _StageFailed as failed:
            result.error, result.failed_stage = failed.error, failed.stage
            await self._emit(
                ErrorEvent(
                    run_id=run_id,
                    stage=failed.stage,
                    code=failed.error.code,
                    message=failed.error.message,
                )
            )
        await self._emit(RunEnd(run_id=run_id, ok=result.error is None))
        return result

    async def _stage(self, run_id: str, stage: PipelineStage, work: Awaitable[Any]) -> Any:
        await self._emit(StageStart(run_id=run_id, stage=stage))
        try:
            return await work
        except VoiceError as err:
            logger.warning("voice %s stage failed: %s", stage, err)
            raise _StageFailed(stage, err) from err
        except Exception as err:
            logger.exception("voice %s stage failed unexpectedly", stage)
            wrapped = _STAGE_ERRORS[stage](reason=f"{type(err).__name__}: {err}")
            wrapped.__cause__ = err
            raise _StageFailed(stage, wrapped) from err

    async def _asr(
        self, run_id: str, audio: AudioInput | bytes, recognizer: SpeechRecognizer
    ) -> Transcript:
        final: Transcript | None = None
        async for chunk in _iterate(audio):
            for transcript in await recognizer.feed(chunk):
                if transcript.is_final:
                    final = transcript
                    break
                await self._emit(TranscriptEvent(run_id=run_id, transcript=transcript))
            if final is not None:
                break
        if final is None:
            final = await recognizer.finish()
        if not final.text:
            raise ASRError(reason="no speech recognised")
        await self._emit(AsrEnd(run_id=run_id, transcript=final))
        return final

    async def _dialogue_stage(
        self, run_id: str, text: str, metadata: Mapping[str, Any] | None
    ) -> DialogueReply:
        answer = await self._dialogue(text, dict(metadata or {}))
        if isinstance(answer, DialogueReply):
            reply = answer
        else:
            reply = DialogueReply(tuple(t for t in answer if t and t.strip()))
        await self._emit(DialogueEnd(run_id=run_id, reply=reply))
        return reply

    async def _tts(self, run_id: str, texts: Sequence[str], rate: float) -> tuple[SpeechAudio, ...]:
        assert self._synthesizer is not None
        speech = tuple([await self._synthesizer.synthesize(t, rate) for t in texts])
        await self._emit(TtsEnd(run_id=run_id, speech=speech))
        return speech

    async def _emit(self, event: PipelineEvent) -> None:
        try:
            outcome = self._on_event(event)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            logger.exception("voice pipeline listener failed on %s; turn goes on", event.type)


async def _iterate(audio: AudioInput | bytes) -> AsyncIterable[bytes]:
    if isinstance(audio, bytes | bytearray | memoryview):  # a whole recording
        data = bytes(audio)
        for start in range(0, len(data), WHOLE_AUDIO_CHUNK):
            yield data[start : start + WHOLE_AUDIO_CHUNK]
    elif isinstance(audio, AsyncIterable):
        async for chunk in audio:
            yield chunk
    else:
        for chunk in audio:
            yield chunk

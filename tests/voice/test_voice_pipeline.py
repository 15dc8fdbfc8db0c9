"""A voice turn through the pipeline: real Vosk, real pyttsx3, a simple fake dialogue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from voice_testkit import chunks, silence

from voice.asr import ModelStore, RecognizerSession
from voice.errors import ASRError, DialogueError, VoiceErrorCode
from voice.pipeline import (
    AsrEnd,
    DialogueEnd,
    DialogueReply,
    ErrorEvent,
    PipelineEvent,
    PipelineStage,
    RunEnd,
    RunStart,
    StageStart,
    TranscriptEvent,
    TtsEnd,
    VoicePipeline,
)
from voice.settings import VoiceSettings
from voice.tts import Synthesizer

REPLY = "好的，您说的是：{text}。"


class FakeDialogue:
    """Echoes what it heard; records every call (the gateway passes the hub instead)."""

    def __init__(self, reply: Sequence[str] | DialogueReply | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.reply = reply

    async def __call__(
        self, text: str, metadata: Mapping[str, Any]
    ) -> Sequence[str] | DialogueReply:
        self.calls.append((text, dict(metadata)))
        return self.reply if self.reply is not None else [REPLY.format(text=text), "还有别的吗？"]


class Recorder:
    def __init__(self) -> None:
        self.events: list[PipelineEvent] = []

    async def __call__(self, event: PipelineEvent) -> None:
        self.events.append(event)

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]


async def stream(frames: list[bytes]) -> AsyncIterator[bytes]:
    for frame in frames:
        await asyncio.sleep(0)  # like frames arriving over a WebSocket
        yield frame


def collapse(types: list[str]) -> list[str]:
    return [t for i, t in enumerate(types) if i == 0 or t != types[i - 1]]


async def test_a_spoken_turn_goes_through_every_stage_in_order(
    ko_settings: VoiceSettings,
    model_store: ModelStore,
    ko_pcm: bytes,
    synthesizer: Synthesizer,
) -> None:
    dialogue, recorder = FakeDialogue(), Recorder()
    pipeline = VoicePipeline(dialogue=dialogue, on_event=recorder, synthesizer=synthesizer)
    recognizer = RecognizerSession(ko_settings, store=model_store)

    result = await pipeline.run_audio(
        stream(chunks(ko_pcm)), recognizer, metadata={"sender_id": "kiosk-1"}
    )

    assert result.error is None
    assert collapse(recorder.types) == [
        "run-start",
        "stage-start",
        "transcript",
        "asr-end",
        "stage-start",
        "dialogue-end",
        "stage-start",
        "tts-end",
        "run-end",
    ]
    starts = [e.stage for e in recorder.events if isinstance(e, StageStart)]
    assert starts == [PipelineStage.ASR, PipelineStage.DIALOGUE, PipelineStage.TTS]
    assert {e.run_id for e in recorder.events} == {result.run_id}
    times = [e.timestamp for e in recorder.events]
    assert times == sorted(times)

    partials = [e.transcript for e in recorder.events if isinstance(e, TranscriptEvent)]
    assert partials and all(not t.is_final and t.text for t in partials)
    final = next(e.transcript for e in recorder.events if isinstance(e, AsrEnd))
    assert final.is_final and final.text and final == result.transcript

    assert dialogue.calls == [
        (final.text, {"sender_id": "kiosk-1", "asr_confidence": final.confidence})
    ]
    assert result.reply is not None
    assert result.reply.texts == (REPLY.format(text=final.text), "还有别的吗？")
    tts_end = next(e for e in recorder.events if isinstance(e, TtsEnd))
    assert [s.text for s in tts_end.speech] == list(result.reply.texts)
    assert all(s.wav[:4] == b"RIFF" and s.duration > 0.5 for s in tts_end.speech)
    assert recorder.events[-1] == RunEnd(
        run_id=result.run_id, ok=True, timestamp=recorder.events[-1].timestamp
    )


async def test_a_whole_voice_note_can_be_given_at_once(
    ko_settings: VoiceSettings, model_store: ModelStore, ko_pcm: bytes
) -> None:
    recorder = Recorder()
    pipeline = VoicePipeline(dialogue=FakeDialogue(["收到"]), on_event=recorder)
    result = await pipeline.run_audio(ko_pcm, RecognizerSession(ko_settings, store=model_store))
    assert result.error is None and result.transcript and result.transcript.text
    assert result.speech == () and "tts-end" not in recorder.types  # no synthesizer: text only


async def test_the_dialogue_can_slow_its_own_reply_down(synthesizer: Synthesizer) -> None:
    dialogue = FakeDialogue(DialogueReply(("好的，我说慢一点。",), speech_rate=0.5))
    pipeline = VoicePipeline(dialogue=dialogue, on_event=Recorder(), synthesizer=synthesizer)
    normal = await synthesizer.synthesize("好的，我说慢一点。", 1.0)
    result = await pipeline.run_text("慢一点", speech_rate=1.0)
    assert result.speech[0].speech_rate == 0.5
    assert result.speech[0].duration > normal.duration * 1.4


async def test_a_failing_dialogue_is_an_error_event_with_its_code() -> None:
    class Broken:
        async def __call__(self, text: str, metadata: Mapping[str, Any]) -> list[str]:
            raise RuntimeError("hub exploded")

    recorder = Recorder()
    result = await VoicePipeline(dialogue=Broken(), on_event=recorder).run_text("你好")
    assert isinstance(result.error, DialogueError)
    assert isinstance(result.error.__cause__, RuntimeError)
    assert result.failed_stage is PipelineStage.DIALOGUE
    error = next(e for e in recorder.events if isinstance(e, ErrorEvent))
    assert (error.stage, error.code) == (PipelineStage.DIALOGUE, VoiceErrorCode.DIALOGUE_FAILED)
    assert error.message == DialogueError().message
    assert recorder.types[-2:] == ["error", "run-end"]
    assert isinstance(recorder.events[-1], RunEnd) and not recorder.events[-1].ok


async def test_silence_is_an_asr_error_and_the_dialogue_is_not_called(
    ko_settings: VoiceSettings, model_store: ModelStore
) -> None:
    dialogue, recorder = FakeDialogue(), Recorder()
    pipeline = VoicePipeline(dialogue=dialogue, on_event=recorder)
    result = await pipeline.run_audio(
        chunks(silence(1.5)), RecognizerSession(ko_settings, store=model_store)
    )
    assert isinstance(result.error, ASRError) and result.failed_stage is PipelineStage.ASR
    assert result.error.code is VoiceErrorCode.ASR_FAILED
    assert dialogue.calls == []


async def test_no_model_is_reported_as_asr_unavailable(tmp_path: Path) -> None:
    recorder = Recorder()
    pipeline = VoicePipeline(dialogue=FakeDialogue(), on_event=recorder)
    recognizer = RecognizerSession(VoiceSettings(vosk_model_path=tmp_path), store=ModelStore())
    result = await pipeline.run_audio([silence(0.1)], recognizer)
    error = next(e for e in recorder.events if isinstance(e, ErrorEvent))
    assert error.code is VoiceErrorCode.ASR_UNAVAILABLE and error.stage is PipelineStage.ASR
    assert result.error is not None and str(tmp_path) in (result.error.reason or "")


async def test_when_speech_output_fails_the_reply_text_is_still_delivered() -> None:
    synth = Synthesizer(VoiceSettings(tts_voice="no-such-voice"))
    recorder = Recorder()
    try:
        pipeline = VoicePipeline(dialogue=FakeDialogue(), on_event=recorder, synthesizer=synth)
        result = await pipeline.run_text("你好")
    finally:
        await synth.close()
    assert result.reply is not None and result.reply.texts
    assert recorder.types.index("dialogue-end") < recorder.types.index("error")
    error = next(e for e in recorder.events if isinstance(e, ErrorEvent))
    assert (error.stage, error.code) == (PipelineStage.TTS, VoiceErrorCode.TTS_UNAVAILABLE)


async def test_a_broken_listener_does_not_lose_the_turn() -> None:
    def explode(event: PipelineEvent) -> None:
        raise ConnectionError("websocket closed")

    dialogue = FakeDialogue()
    result = await VoicePipeline(dialogue=dialogue, on_event=explode).run_text("你好")
    assert result.error is None and dialogue.calls == [("你好", {})]


async def test_cancellation_is_not_swallowed() -> None:
    entered = asyncio.Event()

    class Slow:
        async def __call__(self, text: str, metadata: Mapping[str, Any]) -> list[str]:
            entered.set()
            await asyncio.sleep(3600)
            return []

    recorder = Recorder()
    task = asyncio.create_task(VoicePipeline(dialogue=Slow(), on_event=recorder).run_text("你好"))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "error" not in recorder.types and "run-end" not in recorder.types


async def test_run_start_names_the_stages() -> None:
    recorder = Recorder()
    await VoicePipeline(dialogue=FakeDialogue(), on_event=recorder).run_text(
        "你好", end_stage=PipelineStage.DIALOGUE
    )
    start = recorder.events[0]
    assert isinstance(start, RunStart)
    assert (start.start_stage, start.end_stage) == (PipelineStage.DIALOGUE, PipelineStage.DIALOGUE)
    assert any(isinstance(e, DialogueEnd) for e in recorder.events)
    with pytest.raises(ValueError):
        await VoicePipeline(dialogue=FakeDialogue(), on_event=recorder).run_text(
            "你好", end_stage=PipelineStage.ASR
        )


async def test_asr_as_end_stage_only_transcribes(
    ko_settings: VoiceSettings, model_store: ModelStore, ko_pcm: bytes
) -> None:
    dialogue, recorder = FakeDialogue(), Recorder()
    result = await VoicePipeline(dialogue=dialogue, on_event=recorder).run_audio(
        chunks(ko_pcm),
        RecognizerSession(ko_settings, store=model_store),
        end_stage=PipelineStage.ASR,
    )
    assert result.transcript and result.transcript.text and result.reply is None
    assert dialogue.calls == [] and "dialogue-end" not in recorder.types

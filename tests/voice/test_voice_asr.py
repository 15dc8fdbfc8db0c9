"""Streaming recognition with a real Vosk model (Korean, from PyPI) on espeak-ng speech."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest
from voice_testkit import KOREAN_GRAMMAR, chunks, silence

from voice import asr
from voice.asr import UNK, Grammar, ModelStore, RecognizerSession, filter_grammar
from voice.errors import ASRUnavailable, AudioError, VoiceErrorCode
from voice.events import Transcript, WordInfo
from voice.settings import VoiceSettings, get_voice_settings

CJK = re.compile(r"[\u4e00-\u9fff]")


async def feed_all(session: RecognizerSession, frames: list[bytes]) -> list[Transcript]:
    events: list[Transcript] = []
    for frame in frames:
        events += await session.feed(frame)
    return events


async def test_partials_then_a_final_arrive_in_order(
    ko_settings: VoiceSettings, model_store: ModelStore, ko_pcm: bytes
) -> None:
    session = RecognizerSession(ko_settings, store=model_store)
    events = await feed_all(session, chunks(ko_pcm, 0.1))
    events.append(await session.finish())

    finals = [i for i, e in enumerate(events) if e.is_final and e.text]
    partials = [i for i, e in enumerate(events) if not e.is_final]
    assert finals, f"no final transcript in {events}"
    assert partials and partials[0] < finals[0], "partials come while speaking, before the final"
    assert all(e.text for e in events[: finals[0] + 1]), "no empty partial or final is sent"
    first = events[finals[0]]
    assert first.confidence is not None and 0 < first.confidence <= 1
    assert first.words and all(w.start <= w.end for w in first.words)
    assert first.confidence == pytest.approx(sum(w.conf for w in first.words) / len(first.words))
    assert [w.start for w in first.words] == sorted(w.start for w in first.words)
    # A partial is only sent when its text changed.
    texts = [e.text for e in events[: finals[0]]]
    assert all(a != b for a, b in itertools.pairwise(texts))


async def test_vosk_env_path_is_read_when_called(
    monkeypatch: pytest.MonkeyPatch, ko_model: Path, model_store: ModelStore, ko_pcm: bytes
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(ko_model))
    settings = get_voice_settings()
    assert settings.vosk_model_path == ko_model
    session = RecognizerSession(settings, store=model_store)
    events = await feed_all(session, chunks(ko_pcm, 0.5))
    assert any(e.is_final and e.text for e in events)


def test_model_path_may_be_a_folder_holding_the_named_model(ko_model: Path) -> None:
    settings = VoiceSettings(vosk_model_path=ko_model.parent, vosk_model_name=ko_model.name)
    assert asr.locate_model(settings) == ko_model


async def test_a_malformed_frame_is_refused_and_the_next_frames_still_decode(
    ko_settings: VoiceSettings, model_store: ModelStore, ko_pcm: bytes
) -> None:
    frames = chunks(ko_pcm, 0.1)
    session = RecognizerSession(ko_settings, store=model_store)
    half = len(frames) // 2
    events = await feed_all(session, frames[:half])
    for bad in (b"\x01\x02\x03", "하나", 12345):
        with pytest.raises(AudioError) as caught:
            await session.feed(bad)  # type: ignore[arg-type]
        assert caught.value.code is VoiceErrorCode.AUDIO_BAD_FRAME
        assert CJK.search(caught.value.message)
    events += await feed_all(session, frames[half:])
    finals = [e for e in events if e.is_final]
    assert finals and finals[0].text
    # (Not compared with a clean run: vosk 0.3.45 does not give the same words twice for
    # the same audio, even in one process.)


async def test_feeding_does_not_block_the_event_loop(
    ko_settings: VoiceSettings, model_store: ModelStore, ko_pcm: bytes
) -> None:
    session = RecognizerSession(ko_settings, store=model_store)
    await session.start()
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    await session.feed(ko_pcm * 2)  # one big frame: several seconds of Vosk work
    busy = time.perf_counter() - started
    done.set()
    await tick
    assert busy > 0.3, "the frame should keep Vosk busy for a while"
    # Run on the loop, the call would show up as one gap as long as the whole call. The
    # bound is loose because other processes on a 2-core machine also delay the loop.
    assert len(gaps) > 10 and max(gaps) < busy / 3, f"loop stalled {max(gaps):.3f} s of {busy:.3f}"


async def test_grammar_mode_keeps_to_the_grammar_and_drops_unknown_words(
    ko_settings: VoiceSettings,
    model_store: ModelStore,
    ko_pcm: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    free = RecognizerSession(ko_settings, store=model_store)
    free_words = {w.word for e in await feed_all(free, chunks(ko_pcm)) for w in e.words}

    session = RecognizerSession(
        ko_settings,
        store=model_store,
        grammar=Grammar.choice([*KOREAN_GRAMMAR, "xyzzy"]),
        require_unk=False,  # the Korean model has no [unk]: see the test below
    )
    with caplog.at_level(logging.WARNING, logger="voice.asr"):
        events = await feed_all(session, chunks(ko_pcm))
    events.append(await session.finish())

    assert session.active_grammar == [*KOREAN_GRAMMAR, UNK]
    assert any("xyzzy" in r.getMessage() for r in caplog.records), "unknown word is warned"
    allowed = set(KOREAN_GRAMMAR) | {UNK}
    heard = [w for e in events for w in e.text.split()]
    assert heard, "something in the grammar was recognised"
    assert set(heard) <= allowed
    assert {w.word for e in events for w in e.words} <= allowed
    assert free_words - allowed, "free mode hears other words, so the grammar did restrict"


async def test_grammar_can_be_switched_off_again(
    ko_settings: VoiceSettings, model_store: ModelStore, ko_pcm: bytes
) -> None:
    session = RecognizerSession(
        ko_settings, store=model_store, grammar=list(KOREAN_GRAMMAR), require_unk=False
    )
    await session.start()
    assert session.active_grammar is not None
    session.set_grammar(None)
    await session.start()
    assert session.active_grammar is None
    events = await feed_all(session, chunks(ko_pcm))
    assert any(e.is_final and e.text for e in events)


async def test_grammar_phrases_are_split_into_known_words(
    ko_settings: VoiceSettings, model_store: ModelStore
) -> None:
    model = await model_store.get(ko_settings)
    assert filter_grammar(model, ["하나다섯", "  둘   셋 ", "xyzzy", UNK]) == [
        "하나 다섯",
        "둘 셋",
        UNK,
    ]
    assert filter_grammar(model, []) == [UNK]


async def test_a_grammar_with_no_known_phrase_falls_back_to_free_speech(
    ko_settings: VoiceSettings, model_store: ModelStore, ko_pcm: bytes
) -> None:
    session = RecognizerSession(ko_settings, store=model_store, grammar="xyzzy")
    events = await feed_all(session, chunks(ko_pcm))
    assert session.active_grammar is None
    assert any(e.is_final and e.text for e in events)


def test_chinese_grammar_presets() -> None:
    assert "是" in Grammar.yes_no().phrases and "不对" in Grammar.yes_no().phrases
    assert {"幺", "零", "叉"} <= set(Grammar.numbers().phrases)


async def test_an_utterance_without_a_pause_is_ended_at_the_configured_limit(
    ko_model: Path, model_store: ModelStore, ko_pcm: bytes
) -> None:
    speech = ko_pcm[len(silence(0.5)) : -len(silence(1.0))]  # no silence at either end
    limited = RecognizerSession(
        VoiceSettings(vosk_model_path=ko_model, max_utterance_s=0.6), store=model_store
    )
    events = await feed_all(limited, chunks(speech))
    assert any(e.is_final for e in events), "a final came during feeding, without finish()"
    assert all(e.text for e in events)


async def test_finish_without_audio_is_an_empty_final(
    ko_settings: VoiceSettings, model_store: ModelStore
) -> None:
    session = RecognizerSession(ko_settings, store=model_store)
    assert await session.finish() == Transcript("", True)
    assert await session.feed(b"") == []


async def test_no_model_means_asr_unavailable_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path))
    store = ModelStore()
    ok, reason = asr.availability(store=store)
    assert not ok and str(tmp_path) in reason and "no Vosk model" in reason

    session = RecognizerSession(store=store)
    with pytest.raises(ASRUnavailable) as caught:
        await session.feed(silence(0.1))
    assert caught.value.code is VoiceErrorCode.ASR_UNAVAILABLE
    assert caught.value.reason and str(tmp_path) in caught.value.reason
    assert CJK.search(caught.value.message)
    ok, reason = asr.availability(store=store)
    assert not ok and str(tmp_path) in reason


async def test_a_named_model_that_is_not_here_is_unavailable_without_the_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.cache/vosk
    monkeypatch.setattr(asr, "_VOSK_CACHE_DIRS", (tmp_path / "share", tmp_path / "cache"))
    monkeypatch.setenv("VOICE_VOSK_DOWNLOAD", "false")
    settings = get_voice_settings()
    assert settings.vosk_model_path is None
    ok, reason = asr.availability(settings, ModelStore())
    assert not ok and "vosk-model-small-cn-0.22" in reason
    with pytest.raises(ASRUnavailable) as caught:
        await asr.preload(settings, ModelStore())
    assert caught.value.reason and "VOSK_MODEL_PATH" in caught.value.reason


async def test_the_model_is_loaded_once_for_concurrent_sessions(
    ko_settings: VoiceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ModelStore()
    loads: list[Any] = []
    real_load = ModelStore._load_model

    def counting_load(settings: VoiceSettings) -> Any:
        loads.append(settings)
        return real_load(settings)

    monkeypatch.setattr(ModelStore, "_load_model", staticmethod(counting_load))
    sessions = [RecognizerSession(ko_settings, store=store) for _ in range(3)]
    await asyncio.gather(*(s.start() for s in sessions))
    assert len(loads) == 1
    assert asr.availability(ko_settings, store)[0]
    assert store.loaded(ko_settings) is not None


async def test_endpointer_settings_apply_where_vosk_has_them_else_a_logged_no_op(
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    ko_settings: VoiceSettings,
    model_store: ModelStore,
) -> None:
    import vosk  # type: ignore[import-untyped]

    real = vosk.KaldiRecognizer(await model_store.get(ko_settings), 16000)
    has_endpointer = hasattr(real, "SetEndpointerMode")

    class NewRecognizer:  # the API of vosk releases newer than the one on PyPI
        def __init__(self) -> None:
            self.calls: list[tuple[str, tuple[float, ...]]] = []

        def SetEndpointerMode(self, mode: int) -> None:
            self.calls.append(("mode", (mode,)))

        def SetEndpointerDelays(self, *delays: float) -> None:
            self.calls.append(("delays", delays))

    monkeypatch.setenv("VOICE_ENDPOINTER_MODE", "long")
    monkeypatch.setenv("VOICE_ENDPOINTER_DELAYS", "5, 1.5, 20")
    settings = get_voice_settings()
    monkeypatch.setattr(asr, "_endpointer_warned", False)
    with caplog.at_level(logging.WARNING, logger="voice.asr"):
        assert asr.apply_endpointer(real, settings) is has_endpointer
    assert has_endpointer or any("endpointer" in r.getMessage() for r in caplog.records)
    new = NewRecognizer()
    assert asr.apply_endpointer(new, settings) is True
    assert new.calls == [("mode", (2,)), ("delays", (5.0, 1.5, 20.0))]


async def test_a_failed_load_is_not_retried_by_every_session_until_forgotten(
    tmp_path: Path, ko_model: Path
) -> None:
    settings = VoiceSettings(vosk_model_path=tmp_path)
    store = ModelStore()
    with pytest.raises(ASRUnavailable):
        await store.get(settings)
    (tmp_path / settings.vosk_model_name).symlink_to(ko_model)  # the operator fixes it
    with pytest.raises(ASRUnavailable):
        await store.get(settings)  # remembered failure: no new load for a while
    store.forget_failure(settings)
    assert await store.get(settings) is not None
    assert store.availability(settings)[0]


async def test_a_grammar_without_unk_in_the_model_falls_back_to_free_speech(
    ko_settings: VoiceSettings,
    model_store: ModelStore,
    ko_pcm: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without [unk] the Korean model turns any speech into grammar words ("사과 사과 사과"
    for "하나 둘 셋 넷 다섯"): a grammar must never do that, so free speech it is."""
    model = await model_store.get(ko_settings)
    assert not asr.model_knows_unk(model)
    forced = RecognizerSession(ko_settings, store=model_store, grammar=["사과"], require_unk=False)
    forced_words = {w for e in await feed_all(forced, chunks(ko_pcm)) for w in e.text.split()}
    assert forced_words == {"사과"}, "what a grammar without a fallback does"

    session = RecognizerSession(ko_settings, store=model_store, grammar=["사과"])
    with caplog.at_level(logging.WARNING, logger="voice.asr"):
        events = await feed_all(session, chunks(ko_pcm))
    assert session.active_grammar is None
    assert any(UNK in r.getMessage() for r in caplog.records)
    heard = {w for e in events if e.is_final for w in e.text.split()}
    assert heard and "사과" not in heard


async def test_an_all_unk_utterance_is_decoded_again_without_the_grammar(
    ko_settings: VoiceSettings, model_store: ModelStore, ko_pcm: bytes
) -> None:
    """With a model that has [unk], speech outside the grammar comes out as [unk] only; the
    session then decodes the kept audio freely. (No model with [unk] is installed, so the
    [unk] result is given; the audio and the free decoding are real.)"""
    free = RecognizerSession(ko_settings, store=model_store)
    events = await feed_all(free, chunks(ko_pcm))
    events.append(await free.finish())
    expected = {w for e in events if e.is_final for w in e.text.split()}
    session = RecognizerSession(ko_settings, store=model_store, grammar=["사과"], require_unk=False)
    await session.start()
    session._pcm += ko_pcm  # what feed keeps while a grammar is on
    unk_only = Transcript("", True, 0.5, (WordInfo(UNK, 0.5, 0.6, 1.9),))
    again = session._out_of_grammar(unk_only)
    heard = set(again.text.split())
    assert again.is_final and "사과" not in heard
    # The same words as free streaming (chunking may move a word across an endpoint).
    assert len(heard & expected) >= len(expected) // 2 + 1, (heard, expected)
    assert again.confidence is not None and again.words
    assert not session._pcm, "the utterance's audio is let go"

    session._pcm += ko_pcm
    session.free_fallback = False
    assert session._out_of_grammar(unk_only) is unk_only
    session.free_fallback = True
    session._pcm += ko_pcm
    in_grammar = Transcript("사과", True, 0.9, (WordInfo("사과", 0.9, 0.6, 1.0),))
    assert session._out_of_grammar(in_grammar) is in_grammar, "a grammar word is kept"

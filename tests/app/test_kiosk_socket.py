"""``WS /ws/kiosk`` against the real gateway (fake Rasa over HTTP), real Vosk and espeak-ng."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from bot.handoff import texts as handoff_texts
from tests.voice.voice_testkit import chunks, korean_model_path, korean_speech
from voice import tts

from .conftest import Gateways
from .fake_rasa import FakeRasaState
from .handoff_kit import AgentApi, add_agent

WS = "/ws/kiosk"


def receive_until_bot(ws: WebSocketTestSession, limit: int = 50) -> list[dict[str, Any]]:
    """Messages up to and including the first ``bot`` message."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        message: dict[str, Any] = ws.receive_json()
        seen.append(message)
        if message["type"] == "bot":
            return seen
    raise AssertionError(f"no bot message in {seen}")


def test_text_turn_gets_a_bot_reply(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "text", "text": "你好"})
        seen = receive_until_bot(ws)
    bot = seen[-1]
    assert "你好" in bot["text"]
    if tts.availability()[0]:  # spoken too: a whole WAV file
        assert base64.b64decode(bot["audio"])[:4] == b"RIFF"
    else:
        assert bot["audio"] is None


def test_a_reply_with_buttons_carries_them_as_choices(client: TestClient) -> None:
    """The fake Rasa answers every text with an echo, then "请选择服务：" and two buttons."""
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "text", "text": "你好"})
        first = receive_until_bot(ws)[-1]
        second = receive_until_bot(ws)[-1]
    assert "choices" not in first, "a reply without buttons offers no choices"
    assert second["text"] == "请选择服务："
    assert second["choices"] == ["助餐服务", "转人工"]


@pytest.mark.parametrize(
    "bad",
    [
        b"\x01\x02\x03",  # odd byte count
        "not json",
        '{"type": "dance"}',
        '{"type": "command", "name": "fly"}',
        '{"type": "text", "text": 5}',
        b"\0" * (64 * 1024 + 2),  # oversized
    ],
)
def test_bad_frame_gets_an_error_and_the_session_goes_on(
    client: TestClient, bad: bytes | str
) -> None:
    with client.websocket_connect(WS) as ws:
        if isinstance(bad, bytes):
            ws.send_bytes(bad)
        else:
            ws.send_text(bad)
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] and error["message"]
        ws.send_json({"type": "text", "text": "你好"})
        assert "你好" in receive_until_bot(ws)[-1]["text"]


def test_command_repeat_reaches_the_hub_as_chinese(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.hub import ConversationHub

    sent: list[tuple[str, str, dict[str, Any]]] = []
    original = ConversationHub.handle

    async def spy(self: ConversationHub, message: Any) -> Any:
        sent.append((message.text, message.sender_id, dict(message.metadata)))
        return await original(self, message)

    monkeypatch.setattr(ConversationHub, "handle", spy)
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "command", "name": "repeat"})
        receive_until_bot(ws)
    text, sender, metadata = sent[0]
    assert text == "再说一遍"
    assert sender.startswith("kiosk-")
    assert metadata["kiosk"] is True


def test_voice_unavailable_keeps_text_working(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path / "no_model_here"))
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "start"})
        assert ws.receive_json()["code"] == "voice_unavailable"
        ws.send_bytes(b"\0" * 3200)
        ws.send_json({"type": "stop"})
        ws.send_json({"type": "text", "text": "你好"})
        assert receive_until_bot(ws)[-1]["type"] == "bot"


def test_korean_speech_gives_partials_then_final_then_bot(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))
    monkeypatch.setenv("VOICE_VOSK_DOWNLOAD", "false")
    with client.websocket_connect(WS) as ws:
        say_korean_numbers(ws)
        seen = receive_until_bot(ws, limit=200)
    types = [m["type"] for m in seen]
    assert "error" not in types, seen
    assert types.count("final") == 1, types
    final_at = types.index("final")
    assert final_at > 0 and set(types[:final_at]) == {"partial"}, types
    assert types[final_at + 1 :] == ["bot"], types
    final = seen[final_at]
    assert final["text"] and isinstance(final["confidence"], float)
    assert final["text"].replace(" ", "") in seen[-1]["text"].replace(" ", "")


def test_a_malformed_frame_mid_speech_is_reported_and_the_rest_still_decodes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))
    monkeypatch.setenv("VOICE_VOSK_DOWNLOAD", "false")
    frames = chunks(korean_speech(), 0.15)
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "start"})
        for i, frame in enumerate(frames):
            if i == 2:
                ws.send_bytes(b"\x01\x02\x03")  # odd byte count: not 16-bit PCM
            ws.send_bytes(frame)
        ws.send_json({"type": "stop"})
        seen = receive_until_bot(ws, limit=200)
    types = [m["type"] for m in seen]
    assert types.count("error") == 1, types
    assert seen[types.index("error")]["code"] == "bad_frame"
    assert types.count("final") == 1 and types[-1] == "bot", types
    assert seen[types.index("final")]["text"], seen


def test_queue_news_and_agent_replies_are_pushed(
    gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    client = gateways.start()
    add_agent(gateways.database_url, "wangfang")
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "text", "text": "转人工"})
        seen = receive_until_bot(ws)
        while not any("排在第1位" in (m.get("text") or "") for m in seen):
            seen.append(ws.receive_json())
        agent = AgentApi(client, "wangfang")
        conversation_id = agent.waiting_ids()[0]
        if not any(m["type"] == "queue" for m in seen):  # the queue push may come a bit later
            seen.append(ws.receive_json())
        queue = next(m for m in seen if m["type"] == "queue")
        assert queue["position"] == 1 and queue["eta_s"] > 0
        agent.ok("post", f"/conversations/{conversation_id}/claim")
        agent.ok("post", f"/conversations/{conversation_id}/messages", {"text": "在的，我帮您查。"})
        pushed: list[dict[str, Any]] = []
        while not pushed or pushed[-1].get("from") != "agent":
            pushed.append(ws.receive_json())
    assert pushed[-1]["type"] == "bot" and pushed[-1]["text"] == "在的，我帮您查。"
    assert [m["text"] for m in pushed[:-1] if m["type"] == "bot"] == [handoff_texts.AGENT_JOINED], (
        pushed
    )
    if tts.availability()[0]:
        assert base64.b64decode(pushed[-1]["audio"])[:4] == b"RIFF"
    texts = [m.get("text") for m in seen + pushed if m["type"] == "bot"]
    assert len(texts) == len(set(texts)), "no reply is sent twice"


# ----------------------------------------------------------------------------- hands-free


def _voice_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))
    monkeypatch.setenv("VOICE_VOSK_DOWNLOAD", "false")


def say_korean_numbers(ws: WebSocketTestSession) -> None:
    """Push-to-talk: start, the Korean test sentence in 0.15 s frames, stop."""
    ws.send_json({"type": "start"})
    for frame in chunks(korean_speech(), 0.15):
        ws.send_bytes(frame)
    ws.send_json({"type": "stop"})


def receive_until(
    ws: WebSocketTestSession, kind: str, count: int = 1, limit: int = 400
) -> list[dict[str, Any]]:
    """Messages up to and including the ``count``-th of type ``kind``."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        message: dict[str, Any] = ws.receive_json()
        seen.append(message)
        if sum(m["type"] == kind for m in seen) == count:
            return seen
    raise AssertionError(f"not {count} {kind} messages in {seen}")


def assert_same_speech(finals: list[str]) -> None:
    """Both utterances were the same audio: both heard, with words in common (espeak's
    Korean is hard for this model and it adapts to the speaker across utterances, so
    the words vary from run to run)."""
    first, second = (set(text.split()) for text in finals)
    assert first and second and first & second, finals


def _finals_and_bots(seen: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in seen if m["type"] in {"final", "bot", "error"}]


@pytest.mark.timeout(120)
def test_hands_free_listens_again_after_each_endpoint(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One ``start``; two utterances, each with its final and its reply."""
    _voice_env(monkeypatch)
    speech = chunks(korean_speech(), 0.15)
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "start", "mode": "hands_free"})
        for frame in speech:
            ws.send_bytes(frame)
        seen = receive_until(ws, "bot", 2)  # the echo and the buttons of the fake bot
        for frame in speech:  # the next utterance, no "start" in between
            ws.send_bytes(frame)
        seen += receive_until(ws, "bot", 2)
        ws.send_json({"type": "stop"})
    assert _finals_and_bots(seen) == ["final", "bot", "bot", "final", "bot", "bot"], seen
    assert_same_speech([m["text"] for m in seen if m["type"] == "final"])


@pytest.mark.timeout(120)
def test_hands_free_speech_during_the_reply_is_recognised_next(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second utterance is sent right after the first final, while the dialogue is
    still answering: it is held and recognised as the next utterance, not lost."""
    import threading

    from bot.hub import ConversationHub

    _voice_env(monkeypatch)
    gate = threading.Event()
    original = ConversationHub.handle
    calls: list[str] = []

    async def slow_first_turn(self: ConversationHub, message: Any) -> Any:
        calls.append(message.text)
        if len(calls) == 1:  # the first reply waits until the test has sent more speech
            import asyncio

            await asyncio.to_thread(gate.wait, 30)
        return await original(self, message)

    monkeypatch.setattr(ConversationHub, "handle", slow_first_turn)
    speech = chunks(korean_speech(), 0.15)
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "start", "mode": "hands_free"})
        for frame in speech:
            ws.send_bytes(frame)
        seen = receive_until(ws, "final")  # end of speech found; the reply is being made
        assert not calls or not gate.is_set()
        for frame in speech:
            ws.send_bytes(frame)
        gate.set()
        seen += receive_until(ws, "bot", 4)
        ws.send_json({"type": "stop"})
    assert _finals_and_bots(seen) == ["final", "bot", "bot", "final", "bot", "bot"], seen
    assert_same_speech([m["text"] for m in seen if m["type"] == "final"])
    assert len(calls) == 2, calls


# ----------------------------------------------------------------------------- grammar


def _reply_with(custom: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the bot's first reply carry ``custom`` (as Rasa sends it: its own element)."""
    from bot.hub import ConversationHub
    from bot.messages import BotReply

    original = ConversationHub.handle
    said: list[str] = []

    async def with_custom(self: ConversationHub, message: Any) -> Any:
        said.append(message.text)
        replies = list(await original(self, message))
        if len(said) == 1:
            replies = [replies[0], BotReply(recipient_id=message.sender_id, custom=custom)]
        return replies

    monkeypatch.setattr(ConversationHub, "handle", with_custom)
    return said


def _record_recognisers(monkeypatch: pytest.MonkeyPatch, **options: Any) -> list[Any]:
    from channels import kiosk
    from voice.asr import RecognizerSession

    made: list[RecognizerSession] = []

    def make(*args: Any, **kwargs: Any) -> RecognizerSession:
        session = RecognizerSession(*args, **{**kwargs, **options})
        made.append(session)
        return session

    monkeypatch.setattr(kiosk, "RecognizerSession", make)
    return made


@pytest.mark.timeout(120)
def test_the_next_utterance_is_heard_with_the_grammar_the_bot_expects(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply expecting a choice (Korean options, for the Korean model) restricts the next
    utterance to them; Chinese ordinals and commands are not in that model and dropped."""
    _voice_env(monkeypatch)
    said = _reply_with({"expect": {"kind": "choice", "options": ["하나", "둘"]}}, monkeypatch)
    made = _record_recognisers(monkeypatch, require_unk=False)  # this model has no [unk]
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "text", "text": "你好"})
        receive_until_bot(ws)
        say_korean_numbers(ws)
        seen = receive_until(ws, "bot")
    (recogniser,) = made
    assert recogniser.active_grammar == ["하나", "둘", "[unk]"]
    final = next(m for m in seen if m["type"] == "final")
    assert final["text"] and set(final["text"].split()) <= {"하나", "둘"}, final
    assert said[1] == final["text"]


@pytest.mark.timeout(120)
def test_an_expected_answer_the_model_cannot_restrict_is_heard_freely(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """yes/no words are Chinese, the test model Korean: all dropped with a warning, and the
    person is still heard (free speech); then a reply without ``expect`` means free again."""
    import logging

    _voice_env(monkeypatch)
    _reply_with({"expect": {"kind": "yes_no"}}, monkeypatch)
    made = _record_recognisers(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="voice.asr"), client.websocket_connect(WS) as ws:
        ws.send_json({"type": "text", "text": "你好"})
        receive_until_bot(ws)
        say_korean_numbers(ws)
        seen = receive_until(ws, "bot")
    assert "error" not in [m["type"] for m in seen], seen
    assert next(m for m in seen if m["type"] == "final")["text"]
    assert made[0].active_grammar is None
    assert any("not in the model's vocabulary" in r.getMessage() for r in caplog.records)

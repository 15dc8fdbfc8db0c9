"""The web chat's HTTP side: the page and its CSP, sending on channel "web" with the REST
channel's validation, accessibility flags reaching the agent's queue, and the speech
endpoint behind the 朗读 button (404 for what is not this sender's bot/agent message,
503 in the common error shape when speech output is off)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from bot.errors import GatewayError
from bot.hub import ConversationHub
from bot.views import UserMessages, UserMessageView
from channels import webchat
from voice.errors import TTSError, VoiceErrorCode
from voice.events import SpeechAudio

from .handoff_kit import AgentApi, add_agent, say, user_messages

SEND = "/api/webchat/messages"
SENDER = "web-0123456789abcdef"


def send(client: TestClient, message: Any, sender: str = SENDER, **extra: Any) -> Any:
    return client.post(SEND, json={"sender": sender, "message": message, **extra})


class FakeSynthesizer:
    """Records what it was asked to say; answers with a tiny WAV-looking body."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, float]] = []
        self.error = error

    async def synthesize(self, text: str, speech_rate: float = 1.0) -> SpeechAudio:
        self.calls.append((text, speech_rate))
        if self.error is not None:
            raise self.error
        return SpeechAudio(
            text=text, wav=b"RIFF0000WAVE", sample_rate=16000, duration=0.1, speech_rate=1.0
        )


def test_page_is_served_with_a_strict_csp(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in page.text
    assert 'role="log"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "media-src 'self' blob:" in csp
    for name, kind in (("chat.js", "text/javascript"), ("chat.css", "text/css")):
        response = client.get(f"/static/chat/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
    missing = client.get("/static/chat/../../webchat.py")
    assert missing.status_code == 404


def test_send_records_a_web_turn_and_the_replies(client: TestClient) -> None:
    response = send(client, "  你好  ")
    assert response.status_code == 200, response.text
    assert response.json()[0]["text"] == "您说的是：你好"
    messages = user_messages(client, SENDER)["messages"]
    assert [(m["role"], m.get("text")) for m in messages][:2] == [
        ("user", "你好"),
        ("bot", "您说的是：你好"),
    ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"sender": SENDER, "message": "　\u200b "}, 400, "empty_message"),
        ({"sender": SENDER, "message": "好" * 2001}, 400, "message_too_long"),
        ({"sender": SENDER, "message": 5}, 422, "invalid_message"),
        ({"sender": "bad id", "message": "你好"}, 422, "invalid_sender"),
        ({"sender": "kiosk-1234", "message": "你好"}, 422, "invalid_sender"),
        ({"sender": SENDER, "message": "你好", "metadata": []}, 422, "invalid_metadata"),
    ],
)
def test_send_validates_like_the_rest_channel(
    client: TestClient, body: dict[str, Any], status: int, code: str
) -> None:
    response = client.post(SEND, json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_bad_json_gets_the_common_error(client: TestClient) -> None:
    response = client.post(SEND, content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_flags_reach_the_agents_queue(gateway: TestClient, gateways: Any) -> None:
    add_agent(gateways.database_url, "wang")
    metadata = {"web": True, "screen_reader": True, "elder_mode": False}
    assert send(gateway, "转人工", metadata=metadata).status_code == 200
    (item,) = AgentApi(gateway, "wang").queue()["items"]
    assert item["channel"] == "web"
    assert item["profile"]["screen_reader"] is True
    assert item["profile"]["elder_mode"] is False


# ---------------------------------------------------------------------------- speech


def bot_message_id(client: TestClient, sender: str = SENDER) -> int:
    messages = user_messages(client, sender)["messages"]
    return int(next(m["id"] for m in messages if m["role"] == "bot" and m.get("text")))


def test_speech_of_a_bot_message(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    synthesizer = FakeSynthesizer()
    monkeypatch.setattr(webchat, "shared_synthesizer", lambda: synthesizer)
    send(client, "你好")
    message_id = bot_message_id(client)
    response = client.get(f"/api/conversations/{SENDER}/messages/{message_id}/speech")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == "no-store"
    assert response.content == b"RIFF0000WAVE"
    assert synthesizer.calls == [("您说的是：你好", 1.0)]


def test_speech_only_for_this_senders_bot_messages(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    synthesizer = FakeSynthesizer()
    monkeypatch.setattr(webchat, "shared_synthesizer", lambda: synthesizer)
    send(client, "你好")
    say(client, "someone-else", "我的秘密")
    own = user_messages(client, SENDER)["messages"]
    user_turn = next(m["id"] for m in own if m["role"] == "user")
    other_bot = bot_message_id(client, "someone-else")
    for sender, message_id in (
        (SENDER, user_turn),  # the user's own words are not the bot's to speak
        (SENDER, other_bot),  # another user's conversation
        (SENDER, 999_999),
        ("web-nobody-at-all", 1),
    ):
        response = client.get(f"/api/conversations/{sender}/messages/{message_id}/speech")
        assert response.status_code == 404, (sender, message_id)
        assert set(response.json()["error"]) == {"code", "message"}
    assert synthesizer.calls == []


def test_speech_unavailable_is_503_in_the_common_shape(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webchat, "shared_synthesizer", lambda: None)
    send(client, "你好")
    url = f"/api/conversations/{SENDER}/messages/{bot_message_id(client)}/speech"
    response = client.get(url)
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "tts_unavailable", "message": "语音播报暂时不能用，请看屏幕上的文字。"}
    }

    failing = FakeSynthesizer(error=TTSError(reason="worker died"))
    monkeypatch.setattr(webchat, "shared_synthesizer", lambda: failing)
    response = client.get(url)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == VoiceErrorCode.TTS_FAILED.value


class PagedHub:
    """Just `messages_for`, over a fixed transcript, in small pages (tests paging too)."""

    def __init__(self, messages: list[UserMessageView]) -> None:
        self.messages = messages

    async def messages_for(self, sender_id: str, after: int, limit: int) -> UserMessages:
        newer = [m for m in self.messages if m.id > after][:2]
        return UserMessages(messages=newer, cursor=newer[-1].id if newer else after)


def view(id_: int, role: Any, text: str | None, custom: dict[str, Any] | None = None) -> Any:
    now = datetime.now(UTC)
    return UserMessageView(id=id_, role=role, text=text, custom=custom, created_at=now)


def test_speech_rate_is_the_last_one_the_bot_asked_for() -> None:
    hub = cast(
        ConversationHub,
        PagedHub(
            [
                view(1, "user", "慢一点"),
                view(2, "bot", "好的，我说慢一点。", {"speech_rate": 0.7}),
                view(3, "user", "我要认证"),
                view(4, "bot", "请说您的姓名。"),
                view(5, "bot", "快一点了", {"speech_rate": True}),  # not a rate
                view(6, "bot", "", None),
            ]
        ),
    )

    def find(message_id: int) -> tuple[str | None, float]:
        message, rate = asyncio.run(webchat.find_spoken_message(hub, "web-x", message_id))
        return message.text, rate

    assert find(2) == ("好的，我说慢一点。", 0.7)
    assert find(4) == ("请说您的姓名。", 0.7)
    assert find(5) == ("快一点了", 0.7)
    for missing in (1, 6, 7):
        with pytest.raises(GatewayError):
            find(missing)

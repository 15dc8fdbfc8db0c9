"""The Telegram channel end to end: aiogram's real client and dispatcher against a local
fake Bot API server (`fake_telegram`), the real gateway, hub and SQLite database, a fake
Rasa over HTTP, real Vosk (the Korean model from PyPI) and real espeak-ng/pyttsx3 TTS."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import av
import pytest
from fastapi.testclient import TestClient

from bot.handoff import texts as handoff_texts
from bot.settings import Settings
from channels.app import create_app
from channels.telegram import conversation as tg
from tests.voice.voice_testkit import korean_model_path, korean_speech, opus_ogg
from voice import tts

from .conftest import Gateways
from .fake_rasa import HANDOFF_TEXT, FakeRasaState
from .fake_telegram import TOKEN, FakeTelegram
from .handoff_kit import AgentApi, add_agent, wait_for

pytestmark = pytest.mark.timeout(90)

CHAT = 777001
TELEGRAM = {"telegram_token": TOKEN, "telegram_polling_timeout_s": 1}


@pytest.fixture(scope="module")
def fake_telegram_server() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def telegram(fake_telegram_server: FakeTelegram) -> FakeTelegram:
    fake_telegram_server.reset()
    return fake_telegram_server


@pytest.fixture
def bot_gateway(
    make_settings: Callable[..., Settings], telegram: FakeTelegram, fake_rasa: FakeRasaState
) -> Iterator[TestClient]:
    """A gateway whose Telegram channel long-polls the fake server."""
    settings = make_settings(telegram_api_url=telegram.url, **TELEGRAM)
    with TestClient(create_app(settings)) as client:
        yield client


def wait_texts(telegram: FakeTelegram, chat: int, count: int, timeout_s: float = 10) -> list[str]:
    """The chat's texts once there are at least `count` of them."""

    def enough() -> list[str] | None:
        texts = telegram.texts(chat)
        return texts if len(texts) >= count else None

    return wait_for(enough, timeout_s, what=f"{count} texts in chat {chat}")


def ogg_opus_info(data: bytes) -> tuple[str, str, float]:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.audio[0]
        duration = float(container.duration or 0) / 1_000_000
        return container.format.name, stream.codec_context.name, duration


# ----------------------------------------------------------------------------- text


def test_text_conversation_with_quick_replies(
    bot_gateway: TestClient, telegram: FakeTelegram, fake_rasa: FakeRasaState
) -> None:
    wait_for(lambda: telegram.calls_of("getUpdates"), what="polling")
    assert telegram.calls_of("deleteWebhook"), "a webhook left over would block polling"
    telegram.user_says(CHAT, "你好")

    assert wait_texts(telegram, CHAT, 2) == ["您说的是：你好", "请选择服务："]
    assert fake_rasa.webhook_calls[0]["sender"] == f"tg-{CHAT}"
    assert fake_rasa.webhook_calls[0]["metadata"]["telegram"] is True
    keyboard = telegram.calls_of("sendMessage", CHAT)[-1].params["reply_markup"]
    assert keyboard == {
        "inline_keyboard": [
            [{"text": "助餐服务", "callback_data": "/ask_meal_service"}],
            [{"text": "转人工", "callback_data": "/request_human"}],
        ]
    }
    assert not telegram.calls_of("sendVoice"), "typed text gets text replies only"

    telegram.user_presses(CHAT, "/ask_meal_service", keyboard)
    wait_texts(telegram, CHAT, 4)
    assert telegram.calls_of("answerCallbackQuery"), "the button's spinner is stopped"
    (removed,) = telegram.calls_of("editMessageReplyMarkup", CHAT)
    assert "reply_markup" not in removed.params, "the answered question's keys are removed"
    assert fake_rasa.webhook_calls[-1]["message"] == "/ask_meal_service"
    assert telegram.texts(CHAT)[2] == "您说的是：/ask_meal_service"


def test_commands(
    bot_gateway: TestClient, telegram: FakeTelegram, fake_rasa: FakeRasaState
) -> None:
    telegram.user_says(CHAT, "/start")
    assert wait_texts(telegram, CHAT, 1) == [tg.WELCOME]
    assert fake_rasa.webhook_calls == [], "the welcome is the channel's own"

    telegram.user_says(CHAT, "/help")
    wait_texts(telegram, CHAT, 3)
    assert fake_rasa.webhook_calls[-1]["message"] == "帮助"

    telegram.user_says(CHAT, "/voice")
    assert wait_texts(telegram, CHAT, 4)[-1] == tg.VOICE_ON
    telegram.user_says(CHAT, "/voice")
    assert wait_texts(telegram, CHAT, 5)[-1] == tg.VOICE_OFF

    telegram.user_says(CHAT, "/slower")
    wait_texts(telegram, CHAT, 7)
    assert fake_rasa.webhook_calls[-1]["message"] == "慢一点"
    if tts.availability()[0]:  # asking to speak slower turns voice replies on
        (voice,) = wait_for(lambda: telegram.calls_of("sendVoice", CHAT), what="voice")
        assert ogg_opus_info(voice.files["voice"])[:2] == ("ogg", "opus")


def test_too_long_text_and_unsupported_messages_get_a_chinese_answer(
    bot_gateway: TestClient, telegram: FakeTelegram, fake_rasa: FakeRasaState
) -> None:
    telegram.user_says(CHAT, "长" * 2001)
    assert wait_texts(telegram, CHAT, 1) == [tg.TEXT_TOO_LONG]
    sticker = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1, "height": 1}
    telegram.push(
        {
            "message": telegram.message(
                CHAT, sticker={**sticker, "is_animated": False, "is_video": False}
            )
        }
    )
    assert wait_texts(telegram, CHAT, 2)[-1] == tg.UNSUPPORTED
    assert fake_rasa.webhook_calls == []


def test_engine_failure_gets_the_gateway_message_and_the_chat_goes_on(
    bot_gateway: TestClient, telegram: FakeTelegram
) -> None:
    telegram.user_says(CHAT, "boom")  # the fake Rasa answers HTTP 500
    (sorry,) = wait_texts(telegram, CHAT, 1)
    assert sorry and "您说的是" not in sorry
    telegram.user_says(CHAT, "你好")
    assert wait_texts(telegram, CHAT, 3)[1:] == ["您说的是：你好", "请选择服务："]


# ----------------------------------------------------------------------------- voice


def test_voice_note_is_recognised_answered_and_spoken(
    bot_gateway: TestClient,
    telegram: FakeTelegram,
    fake_rasa: FakeRasaState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))
    monkeypatch.setenv("VOICE_VOSK_DOWNLOAD", "false")
    note = opus_ogg(korean_speech())
    file_id = telegram.user_sends_voice(CHAT, note, duration=4)

    texts = wait_texts(telegram, CHAT, 3, timeout_s=60)
    heard = fake_rasa.webhook_calls[0]["message"]
    assert heard.strip() and any("\uac00" <= ch <= "\ud7a3" for ch in heard), heard
    assert texts[0].startswith("🎤 我听到：")
    assert texts[1:] == [f"您说的是：{heard}", "请选择服务："]
    confidence = fake_rasa.webhook_calls[0]["metadata"]["asr_confidence"]
    assert isinstance(confidence, float) and 0 < confidence <= 1
    assert [c.params["file_id"] for c in telegram.calls_of("getFile")] == [file_id]
    if tts.availability()[0]:
        (voice,) = wait_for(lambda: telegram.calls_of("sendVoice", CHAT), 30, what="voice")
        kind, codec, duration = ogg_opus_info(voice.files["voice"])
        assert (kind, codec) == ("ogg", "opus") and duration > 0.5
        assert voice.params["duration"] >= 1
    else:
        assert not telegram.calls_of("sendVoice")


@pytest.mark.parametrize(
    ("data", "duration", "claimed_size", "answer", "downloaded"),
    [
        (b"OggS" + b"\0" * 100, 3, 5 * 1024 * 1024, "语音文件太大了，请说短一点。", False),
        (b"OggS" + b"\0" * 100, 600, None, "语音太长了，请分几次说。", False),
        (b"%PDF-1.4\n" + bytes(range(256)) * 8, 2, None, "这段语音打不开，请重新录一次。", True),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 400, 2, None, "这段语音打不开，请重新录一次。", True),
    ],
    ids=["oversized", "too-long", "pdf-as-voice", "png-as-voice"],
)
def test_bad_voice_notes_get_a_clear_chinese_message_and_the_chat_goes_on(
    bot_gateway: TestClient,
    telegram: FakeTelegram,
    fake_rasa: FakeRasaState,
    data: bytes,
    duration: int,
    claimed_size: int | None,
    answer: str,
    downloaded: bool,
) -> None:
    telegram.user_sends_voice(CHAT, data, duration=duration, claimed_size=claimed_size)
    assert wait_texts(telegram, CHAT, 1) == [answer]
    assert bool(telegram.calls_of("download")) is downloaded
    assert fake_rasa.webhook_calls == []

    telegram.user_says(CHAT, "你好")
    assert wait_texts(telegram, CHAT, 3)[1:] == ["您说的是：你好", "请选择服务："]


def test_a_cut_off_voice_note_is_reported_as_incomplete(
    bot_gateway: TestClient, telegram: FakeTelegram
) -> None:
    note = opus_ogg(korean_speech())
    telegram.user_sends_voice(CHAT, note[: len(note) // 2], duration=4)
    assert wait_texts(telegram, CHAT, 1) == ["这段语音不完整，请重新录一次。"]


# ----------------------------------------------------------------------------- flood


def test_flood_control_retry_after_is_honoured(
    bot_gateway: TestClient, telegram: FakeTelegram
) -> None:
    telegram.flood("sendMessage", times=1, retry_after=1)
    telegram.user_says(CHAT, "你好")

    assert wait_texts(telegram, CHAT, 2) == ["您说的是：你好", "请选择服务："]
    first, second, *_ = telegram.calls_of("sendMessage", CHAT)
    assert first.params["_429"] and not second.params["_429"]
    assert first.params["text"] == second.params["text"] == "您说的是：你好"
    assert second.at - first.at >= 0.95, "waited retry_after before trying again"


def test_flood_control_gives_up_after_the_retry_limit(
    make_settings: Callable[..., Settings], telegram: FakeTelegram, fake_rasa: FakeRasaState
) -> None:
    settings = make_settings(telegram_api_url=telegram.url, telegram_retry_limit=1, **TELEGRAM)
    with TestClient(create_app(settings)):
        telegram.flood("sendMessage", times=2, retry_after=1)
        telegram.user_says(CHAT, "你好")
        # The first reply is dropped after one retry; the second still arrives.
        assert wait_texts(telegram, CHAT, 1) == ["请选择服务："]
        assert len(telegram.calls_of("sendMessage", CHAT)) == 3


# ----------------------------------------------------------------------------- handoff


def test_handoff_queue_news_and_agent_reply_reach_the_chat(
    gateways: Gateways, telegram: FakeTelegram
) -> None:
    client = gateways.start(telegram_api_url=telegram.url, **TELEGRAM)
    add_agent(gateways.database_url, "wangfang")
    telegram.user_says(CHAT, "/human")
    texts = wait_texts(telegram, CHAT, 2)
    assert texts[0] == HANDOFF_TEXT
    assert texts[1].startswith("您排在第1位")

    agent = AgentApi(client, "wangfang")
    (conversation_id,) = agent.waiting_ids()
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    agent.ok("post", f"/conversations/{conversation_id}/messages", {"text": "在的，我帮您查。"})
    texts = wait_texts(telegram, CHAT, 4)
    assert texts[2:] == [handoff_texts.AGENT_JOINED, "在的，我帮您查。"]

    telegram.user_says(CHAT, "我的认证办好了吗")

    def user_words_arrived() -> dict[str, Any] | None:
        view: dict[str, Any] = agent.ok("get", f"/conversations/{conversation_id}")
        return view if view["messages"][-1]["text"] == "我的认证办好了吗" else None

    view = wait_for(user_words_arrived, what="the user's words at the agent")
    assert view["messages"][-1]["channel"] == "telegram"
    assert len(telegram.texts(CHAT)) == 4, "said to the agent: no bot answer"
    assert len(set(telegram.texts(CHAT))) == 4, "nothing is sent twice"


# ----------------------------------------------------------------------------- modes


def test_without_token_no_telegram_runs(client: TestClient, telegram: FakeTelegram) -> None:
    assert client.app.state.telegram is None  # type: ignore[attr-defined]
    assert client.get("/health").json()["telegram"] is None
    assert client.post("/telegram/webhook", json={"update_id": 1}).status_code == 404
    assert telegram.calls == []


def test_health_reports_polling(bot_gateway: TestClient, telegram: FakeTelegram) -> None:
    status = bot_gateway.get("/health").json()["telegram"]
    assert status["ok"] is True and status["detail"].startswith("polling")
    assert TOKEN not in bot_gateway.get("/health").text


def test_webhook_mode_sets_the_webhook_and_checks_the_secret(
    make_settings: Callable[..., Settings], telegram: FakeTelegram, fake_rasa: FakeRasaState
) -> None:
    settings = make_settings(
        telegram_api_url=telegram.url,
        telegram_mode="webhook",
        telegram_webhook_url="https://assistant.example.org/telegram/webhook",
        telegram_webhook_secret="s3cret_Value-1",
        **TELEGRAM,
    )
    with TestClient(create_app(settings)) as client:
        (set_webhook,) = wait_for(lambda: telegram.calls_of("setWebhook"), what="setWebhook")
        assert set_webhook.params["url"] == "https://assistant.example.org/telegram/webhook"
        assert set_webhook.params["secret_token"] == "s3cret_Value-1"
        wait_for(lambda: client.get("/health").json()["telegram"]["ok"], what="webhook set")

        update = telegram.update(message=telegram.message(CHAT, text="你好"))
        no_secret = client.post("/telegram/webhook", json=update)
        wrong = client.post(
            "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
        )
        assert (no_secret.status_code, wrong.status_code) == (403, 403)
        assert fake_rasa.webhook_calls == []

        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_Value-1"}
        assert client.post("/telegram/webhook", json=update, headers=headers).status_code == 200
        assert wait_texts(telegram, CHAT, 2) == ["您说的是：你好", "请选择服务："]
        bad = client.post("/telegram/webhook", json=[1, 2], headers=headers)
        assert bad.status_code == 400
    assert not telegram.calls_of("getUpdates"), "webhook mode does not poll"

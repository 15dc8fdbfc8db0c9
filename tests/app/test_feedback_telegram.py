"""好差评 in Telegram: the rating as inline keys, a 差评's reason, the case result sent to
the chat through the user feed with keys for the 追评, and /rate to rate later. aiogram's
real client against the fake Bot API server; fake Rasa; the real gateway and SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.feedback import texts as feedback_texts

from .conftest import Gateways
from .fake_telegram import TOKEN, FakeTelegram
from .handoff_kit import AgentApi, add_agent, wait_for

pytestmark = pytest.mark.timeout(90)

CHAT = 777120
TELEGRAM = {"telegram_token": TOKEN, "telegram_polling_timeout_s": 1}
LEVELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


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


def wait_text(telegram: FakeTelegram, chat: int, text: str) -> list[str]:
    return wait_for(
        lambda: (
            telegram.texts(chat) if any(t.startswith(text) for t in telegram.texts(chat)) else None
        ),
        10,
        what=f"{text!r} in chat {chat}",
    )


def keys(telegram: FakeTelegram, chat: int) -> list[str]:
    markup = telegram.calls_of("sendMessage", chat)[-1].params["reply_markup"]
    return [row[0]["text"] for row in markup["inline_keyboard"]]


def test_rating_by_inline_keys_then_the_fix_reaches_the_chat(
    gateways: Gateways, telegram: FakeTelegram
) -> None:
    client: TestClient = gateways.start(telegram_api_url=telegram.url, **TELEGRAM)
    add_agent(gateways.database_url, "wangfang")
    wait_for(lambda: telegram.calls_of("getUpdates"), what="polling")
    telegram.user_says(CHAT, "查认证")
    wait_text(telegram, CHAT, feedback_texts.ASK_RATING)
    assert keys(telegram, CHAT) == LEVELS
    markup = telegram.calls_of("sendMessage", CHAT)[-1].params["reply_markup"]
    data = {row[0]["text"]: row[0]["callback_data"] for row in markup["inline_keyboard"]}
    telegram.user_presses(CHAT, data["不满意"], markup)
    wait_text(telegram, CHAT, feedback_texts.ASK_REASON)
    telegram.user_says(CHAT, "等太久了")
    wait_text(telegram, CHAT, feedback_texts.THANKS_BAD)

    agent = AgentApi(client, "wangfang")
    case_id = agent.ok("get", "/cases")["unassigned"][0]["id"]
    agent.ok("post", f"/cases/{case_id}/take")
    assert agent.ok("get", f"/cases/{case_id}")["reason"] == "等太久了"
    agent.ok("post", f"/cases/{case_id}/steps", json={"to": "called_back"})
    agent.ok("post", f"/cases/{case_id}/steps", json={"to": "fixed", "note": "已经改好了。"})
    wait_text(telegram, CHAT, "您上次的意见我们处理好了：已经改好了。")
    assert keys(telegram, CHAT) == LEVELS
    markup = telegram.calls_of("sendMessage", CHAT)[-1].params["reply_markup"]
    data = {row[0]["text"]: row[0]["callback_data"] for row in markup["inline_keyboard"]}
    before = len(telegram.texts(CHAT))
    telegram.user_presses(CHAT, data["满意"], markup)
    wait_for(lambda: len(telegram.texts(CHAT)) > before, what="the thanks")
    assert telegram.texts(CHAT)[-1] == feedback_texts.THANKS
    assert agent.ok("get", f"/cases/{case_id}")["case"]["followup_level"] == 4


def test_rate_later_with_the_rate_command(gateways: Gateways, telegram: FakeTelegram) -> None:
    gateways.start(telegram_api_url=telegram.url, **TELEGRAM)
    wait_for(lambda: telegram.calls_of("getUpdates"), what="polling")
    chat = CHAT + 1
    telegram.user_says(chat, "查认证")
    wait_text(telegram, chat, feedback_texts.ASK_RATING)
    telegram.user_says(chat, "跳过")
    wait_text(telegram, chat, feedback_texts.SKIPPED)
    before = telegram.texts(chat).count(feedback_texts.ASK_RATING)
    telegram.user_says(chat, "/rate")
    wait_for(
        lambda: telegram.texts(chat).count(feedback_texts.ASK_RATING) > before,
        what="the rating asked again on request",
    )
    telegram.user_says(chat, "满意")
    wait_text(telegram, chat, feedback_texts.THANKS)

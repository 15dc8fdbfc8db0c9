"""A reminder reaches a Telegram chat: aiogram's real client against the local fake Bot
API server (`fake_telegram`), the real gateway and database, a fake Rasa over HTTP
scripted with the dialogue's ``custom`` parts. Once, not twice, not in quiet hours; its
button starts the task; 不要再提醒我了 stops the next one at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from channels.app import create_app

from .fake_rasa import FakeRasaState
from .fake_telegram import TOKEN, FakeTelegram
from .handoff_kit import wait_for
from .reminders_kit import (
    AUTHENTICATE,
    CONSENT,
    OPT_OUT,
    due_in,
    local,
    ref_of,
    run_reminders,
    script_dialogue_parts,
    script_identified,
)

pytestmark = pytest.mark.timeout(90)

CHAT = 778001
OTHER_CHAT = 778002


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
    settings = make_settings(
        telegram_api_url=telegram.url, telegram_token=TOKEN, telegram_polling_timeout_s=1
    )
    with TestClient(create_app(settings)) as client:
        yield client


def wait_texts(telegram: FakeTelegram, chat: int, count: int) -> list[str]:
    def enough() -> list[str] | None:
        texts = telegram.texts(chat)
        return texts if len(texts) >= count else None

    return wait_for(enough, 10, what=f"{count} texts in chat {chat}")


def test_a_reminder_reaches_the_chat_once_outside_quiet_hours_and_starts_the_task(
    bot_gateway: TestClient, telegram: FakeTelegram, fake_rasa: FakeRasaState
) -> None:
    script_dialogue_parts(fake_rasa)
    due = due_in(200)
    script_identified(fake_rasa, AUTHENTICATE, ref_of("chen"), due)
    wait_for(lambda: telegram.calls_of("getUpdates"), what="polling")
    telegram.user_says(CHAT, AUTHENTICATE)
    wait_texts(telegram, CHAT, 2)
    telegram.user_says(CHAT, CONSENT)
    before = len(wait_texts(telegram, CHAT, 3))

    window = due - timedelta(days=29)
    assert run_reminders(bot_gateway, local(window, 21, 0)).deferred
    assert run_reminders(bot_gateway, local(window + timedelta(days=1), 6, 30)).deferred
    assert len(telegram.texts(CHAT)) == before, "nothing in quiet hours"

    report = run_reminders(bot_gateway, local(window + timedelta(days=1), 8, 0))
    assert report.telegram == 1
    (reminder,) = telegram.calls_of("sendMessage", CHAT)[before:]
    assert reminder.params["text"] == (
        f"您的养老金资格认证将于{due.year}年{due.month}月{due.day}日到期，点下面的按钮就能办。"
    )
    keyboard = reminder.params["reply_markup"]
    assert keyboard == {
        "inline_keyboard": [[{"text": "我要认证", "callback_data": "/social_security_auth"}]]
    }
    assert run_reminders(bot_gateway, local(window + timedelta(days=2), 10)).telegram == 0
    assert len(telegram.texts(CHAT)) == before + 1, "once, not twice"

    telegram.user_presses(CHAT, "/social_security_auth", keyboard)
    wait_for(
        lambda: fake_rasa.webhook_calls[-1]["message"] == "/social_security_auth",
        what="the button's turn",
    )
    assert fake_rasa.webhook_calls[-1]["sender"] == f"tg-{CHAT}"


def test_opt_out_stops_the_reminder_at_once(
    bot_gateway: TestClient, telegram: FakeTelegram, fake_rasa: FakeRasaState
) -> None:
    script_dialogue_parts(fake_rasa)
    due = due_in(200)
    script_identified(fake_rasa, AUTHENTICATE, ref_of("sun"), due)
    wait_for(lambda: telegram.calls_of("getUpdates"), what="polling")
    telegram.user_says(OTHER_CHAT, AUTHENTICATE)
    telegram.user_says(OTHER_CHAT, CONSENT)
    telegram.user_says(OTHER_CHAT, OPT_OUT)
    texts = wait_texts(telegram, OTHER_CHAT, 4)
    assert texts[-1] == "好的，以后不再提醒您。"

    report = run_reminders(bot_gateway, local(due - timedelta(days=10), 10))
    assert report.telegram == 0 and not report.deferred
    assert len(telegram.texts(OTHER_CHAT)) == 4


def test_an_undeliverable_reminder_is_tried_three_times_then_recorded_as_failed(
    make_settings: Callable[..., Settings], telegram: FakeTelegram, fake_rasa: FakeRasaState
) -> None:
    settings = make_settings(
        telegram_api_url=telegram.url,
        telegram_token=TOKEN,
        telegram_polling_timeout_s=1,
        telegram_retry_limit=0,  # a 429 drops the message at once, like a blocked chat
    )
    script_dialogue_parts(fake_rasa)
    due = due_in(200)
    script_identified(fake_rasa, AUTHENTICATE, ref_of("he"), due)
    with TestClient(create_app(settings)) as client:
        wait_for(lambda: telegram.calls_of("getUpdates"), what="polling")
        telegram.user_says(CHAT, AUTHENTICATE)
        telegram.user_says(CHAT, CONSENT)
        wait_texts(telegram, CHAT, 3)
        telegram.flood("sendMessage", times=10)
        day = local(due - timedelta(days=10), 10)
        reports = [run_reminders(client, day + timedelta(minutes=10 * i)) for i in range(4)]
        assert [(r.telegram, r.failed) for r in reports] == [(0, 1), (0, 1), (0, 1), (0, 0)]
        attempts = [c for c in telegram.calls_of("sendMessage", CHAT) if c.params["_429"]]
        assert len(attempts) == 3, "not for ever"

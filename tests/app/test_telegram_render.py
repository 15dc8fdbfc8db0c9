"""`channels.telegram.render` and the token redaction: pure functions, no network."""

from __future__ import annotations

import logging

import pytest

from bot.messages import BotReply, Button
from bot.privacy.log_redaction import TELEGRAM_LOGGERS, redact, redact_tokens
from bot.reply_custom import speech_rate_of
from channels.telegram.conversation import chat_of, sender_for
from channels.telegram.render import (
    MAX_CALLBACK_BYTES,
    PayloadBook,
    button_title,
    keyboard,
    payload_of,
    render_replies,
    split_text,
    spoken_text,
)


def reply(**fields: object) -> BotReply:
    return BotReply.model_validate({"recipient_id": "tg-1", **fields})


def test_buttons_become_one_row_each_with_their_payloads() -> None:
    book = PayloadBook()
    (message,) = render_replies(
        [
            reply(
                text="请选择服务：",
                buttons=[
                    {"title": "助餐服务", "payload": "/ask_meal_service"},
                    {"title": "转人工", "payload": "/request_human"},
                ],
            )
        ],
        book,
    )
    assert message.text == "请选择服务："
    assert message.keyboard is not None
    rows = message.keyboard.inline_keyboard
    assert [[(b.text, b.callback_data) for b in row] for row in rows] == [
        [("助餐服务", "/ask_meal_service")],
        [("转人工", "/request_human")],
    ]


def test_a_payload_longer_than_64_bytes_travels_by_key() -> None:
    book = PayloadBook()
    long_payload = '/inform{"service": "' + "养老服务补贴申请" * 4 + '"}'
    markup = keyboard([Button(title="补贴", payload=long_payload)], book)
    assert markup is not None
    data = markup.inline_keyboard[0][0].callback_data
    assert data is not None and len(data.encode()) <= MAX_CALLBACK_BYTES
    assert payload_of(data, book) == long_payload
    # A key this process does not know (e.g. after a restart): the title is said instead.
    assert payload_of(data, PayloadBook(), button_title(markup, data)) == "补贴"


def test_a_button_without_payload_sends_its_title() -> None:
    book = PayloadBook()
    markup = keyboard([Button(title="不用回电话")], book)
    assert markup is not None
    data = markup.inline_keyboard[0][0].callback_data
    assert data is not None
    assert payload_of(data, book) == "不用回电话"


def test_payload_that_looks_like_our_prefix_is_not_misread() -> None:
    book = PayloadBook()
    data = keyboard([Button(title="x", payload="k:abc")], book)
    assert data is not None
    callback = data.inline_keyboard[0][0].callback_data
    assert callback is not None and callback != "k:abc"
    assert payload_of(callback, book) == "k:abc"


def test_long_text_is_split_at_sentence_ends_and_keyboard_goes_last() -> None:
    text = "这是一句话。" * 1000  # 6000 characters
    pieces = split_text(text)
    assert len(pieces) == 2 and all(len(p) <= 4096 for p in pieces)
    assert pieces[0].endswith("。")
    assert "".join(pieces) == text
    messages = render_replies(
        [reply(text=text, buttons=[{"title": "好", "payload": "/affirm"}])], PayloadBook()
    )
    assert [m.keyboard is not None for m in messages] == [False, True]


def test_custom_only_replies_render_nothing_and_buttons_alone_get_a_prompt() -> None:
    book = PayloadBook()
    assert render_replies([reply(custom={"handoff": {"reason": "x"}})], book) == []
    (only_buttons,) = render_replies([reply(buttons=[{"title": "是", "payload": "/affirm"}])], book)
    assert only_buttons.text and only_buttons.keyboard is not None


def test_speech_rate_and_spoken_text() -> None:
    replies = [
        reply(text="好的，我说慢一点。"),
        reply(custom={"speech_rate": 0.7}),
        reply(text=" 还有什么要帮忙的？ "),
    ]
    assert speech_rate_of(replies) == 0.7
    assert speech_rate_of([reply(custom={"speech_rate": True})]) is None
    assert spoken_text(replies) == "好的，我说慢一点。\n还有什么要帮忙的？"


def test_sender_ids_round_trip() -> None:
    assert chat_of(sender_for(42)) == 42
    assert chat_of(sender_for(-100123)) == -100123
    assert chat_of("kiosk-abc") is None
    assert chat_of("tg-abc") is None


def test_bot_token_in_urls_and_tracebacks_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "123456:AAH-secret_part"
    url = f"http://127.0.0.1:1/file/bot{token}/voice/1.oga"
    assert token not in redact(f"404, message='Not Found', url='{url}'")
    assert "/bot***/" in redact(url)
    redact_tokens(*TELEGRAM_LOGGERS)
    logger = logging.getLogger("aiogram.dispatcher")
    with caplog.at_level(logging.INFO, logger="aiogram.dispatcher"):
        logger.error("Failed to fetch updates - %s", url)
        try:
            raise RuntimeError(url)
        except RuntimeError:
            logger.exception("boom")
    assert caplog.records
    assert token not in caplog.text
    assert "/bot***/" in caplog.text

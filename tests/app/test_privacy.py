"""ID and phone numbers are masked in every log line; raw numbers never reach a log."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from bot.privacy.masking import mask_pii

# Valid GB 11643 numbers made with scripts/make_ids.py (checksums correct).
ID_NUMBER = "310101193610074057"
ID_NUMBER_X = "11010219620108672X"
PHONE = "13812345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ID_NUMBER, "310101********4057"),
        (ID_NUMBER_X, "110102********672X"),
        ("11010219620108672x", "110102********672x"),
        (f"身份证{ID_NUMBER}，谢谢", "身份证310101********4057，谢谢"),
        ("310101 19361007 4057", "310101********4057"),
        # The bot's read-back, in the console's transcript and the logs.
        (
            "我听到的号码是：110105，19491001，0031。对吗？",
            "我听到的号码是：110105********0031。对吗？",
        ),
        # Groupings the ID and phone patterns do not expect (users type IDs in fours).
        ("身份证是 440106 1957 0813 9875", "身份证是 440106********9875"),
        ("电话 138，0013，8000", "电话 138****8000"),
        ("卡号 6222 0212 3456 7890", "卡号 622202******7890"),
        (PHONE, "138****5678"),
        (f"电话是{PHONE}。", "电话是138****5678。"),
        ("138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+8613812345678", "138****5678"),
        (f"{ID_NUMBER} {PHONE}", "310101********4057 138****5678"),
        (f"abc{PHONE}def", "abc138****5678def"),
        ("幺幺零幺零五 嗯 一九四九一零零一 零零三幺", "110105********0031"),
        ("我电话是幺三八幺二三四五六七八", "我电话是138****5678"),
        ("慢一点 我今年八十二了", "慢一点 我今年八十二了"),
    ],
)
def test_numbers_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "我今年78岁，住3号楼502室",
        "1234567890",  # 10 digits: not a phone
        "123456789012",  # 12 digits: not a phone
        "1234567890123456789",  # 19 digits: not an ID (some other number)
        "预约2024年10月1日上午9点",
        "下次请在2027年12月1日前认证",
        "2024-10-01 上午",  # grouped, but too short to be an ID or a phone
    ],
)
def test_other_text_is_left_alone(text: str) -> None:
    assert mask_pii(text) == text


def test_turn_log_masks_user_and_bot_text(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    message = f"我的身份证是{ID_NUMBER}，电话{PHONE}"

    response = client.post("/webhooks/rest/webhook", json={"sender": "u1", "message": message})

    assert response.status_code == 200
    # The fake Rasa echoes the text, so the reply carries the numbers too.
    assert ID_NUMBER in response.json()[0]["text"]
    turn_logs = [r for r in caplog.records if r.name == "bot.hub"]
    assert [r.levelno for r in turn_logs] == [logging.INFO, logging.DEBUG]
    assert "身份证" not in turn_logs[0].getMessage(), "INFO lines carry no words"
    assert "310101********4057" in turn_logs[1].getMessage()
    assert "138****5678" in turn_logs[1].getMessage()
    for record in caplog.records:
        text = record.getMessage()
        assert ID_NUMBER not in text, record.name
        assert PHONE not in text, record.name


def test_failed_turn_log_is_masked_too(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # "boom" makes the fake fail; the phone number is in the sender ID this time.
    response = client.post("/webhooks/rest/webhook", json={"sender": PHONE, "message": "boom"})

    assert response.status_code == 503
    assert any(r.name == "bot.hub" and r.levelno == logging.WARNING for r in caplog.records)
    assert "138****5678" in caplog.text
    assert PHONE not in caplog.text


def test_rejected_input_is_not_logged_raw(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post(
        "/webhooks/rest/webhook", json={"sender": f"bad sender {ID_NUMBER}", "message": "hi"}
    )
    assert response.status_code == 422
    assert ID_NUMBER not in caplog.text

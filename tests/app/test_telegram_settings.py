"""Telegram settings: off without a token, webhook mode refused when incomplete, secrets hidden."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings


def test_no_token_means_no_telegram(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().telegram_token is None
    monkeypatch.setenv("GATEWAY_TELEGRAM_TOKEN", "   ")
    assert Settings().telegram_token_value() is None


def test_environment_configures_polling_by_default(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_TELEGRAM_TOKEN", "123:secret-part")
    monkeypatch.setenv("GATEWAY_TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    settings = Settings()
    assert settings.telegram_mode == "polling"
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.telegram_token_value() == "123:secret-part"
    assert "secret-part" not in repr(settings)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"telegram_webhook_url": "http://insecure.example.org/telegram/webhook"},
        {"telegram_webhook_url": "https://a.example.org/telegram/webhook"},
        {
            "telegram_webhook_url": "https://a.example.org/telegram/webhook",
            "telegram_webhook_secret": "has spaces!",
        },
    ],
)
def test_webhook_mode_needs_an_https_url_and_a_valid_secret(
    clean_env: None, overrides: dict[str, str]
) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"telegram_token": "1:a", "telegram_mode": "webhook", **overrides})


def test_complete_webhook_settings_and_bad_api_url(clean_env: None) -> None:
    settings = Settings.model_validate(
        {
            "telegram_token": "1:a",
            "telegram_mode": "webhook",
            "telegram_webhook_url": "https://a.example.org/telegram/webhook",
            "telegram_webhook_secret": "Abc_123-x",
        }
    )
    assert "Abc_123-x" not in repr(settings)
    with pytest.raises(ValidationError):
        Settings(telegram_api_url="ftp://example.org")

"""Keeping tokens that travel in URLs out of the logs.

Two tokens only work in a query string: Rasa's HTTP API token (``?token=``, logged by
httpx at INFO for every request) and the agent token of ``/ws/agent?token=`` (browsers
cannot set headers on a WebSocket; uvicorn logs the path of each connection). A filter
on those loggers rewrites ``token=<anything>`` to ``token=***``.

The Telegram bot token is part of every Bot API URL (``/bot<token>/sendMessage``,
``/file/bot<token>/voice/1.oga``); aiohttp puts the URL into its error messages, and
aiogram logs those (``Failed to fetch updates - ...``) and tracebacks of failed
handlers. The same filter rewrites ``/bot<token>`` to ``/bot***``, in the message and in
the formatted traceback, on aiogram's loggers (`TELEGRAM_LOGGERS`).
"""

from __future__ import annotations

import logging
import re

_TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s\"]*")
# A Bot API token: the bot's numeric id, a colon, then the secret part.
_BOT_TOKEN_IN_URL = re.compile(r"(/bot)[0-9]+:[A-Za-z0-9_-]+")
# aiogram's own loggers (aiogram.loggers); a filter does not see records of child loggers,
# so each is named.
TELEGRAM_LOGGERS = (
    "aiogram.dispatcher",
    "aiogram.event",
    "aiogram.middlewares",
    "aiogram.webhook",
    "aiogram.scene",
    "aiohttp.client",
    "channels.telegram",
)


def redact(text: str) -> str:
    """`text` with tokens in URLs replaced by ``***`` (both kinds)."""
    if "token=" in text:
        text = _TOKEN_IN_URL.sub(r"\1***", text)
    if "/bot" in text:
        text = _BOT_TOKEN_IN_URL.sub(r"\1***", text)
    return text


class RedactTokenFilter(logging.Filter):
    """Rewrites the formatted message (and traceback) when it contains a token in a URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is written redacted.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def redact_tokens(*logger_names: str) -> None:
    """Install the filter on each logger once (idempotent: apps and tests build many)."""
    for name in logger_names:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactTokenFilter) for f in target.filters):
            target.addFilter(RedactTokenFilter())


# Loggers that write what users said, unmasked, at DEBUG: aiosqlite logs every SQL call
# with its parameters; nlu.numbers logs each transcript it scans for digits (the gateway
# scans raw user text for call-back numbers). Held at INFO in the gateway process.
CHATTY_LOGGERS = ("aiosqlite", "nlu.numbers")


def quiet_user_text_loggers() -> None:
    """Raise the chatty loggers to INFO (idempotent; a level already above INFO stays)."""
    for name in CHATTY_LOGGERS:
        target = logging.getLogger(name)
        target.setLevel(max(logging.INFO, target.level))

"""Keeping tokens that travel in URLs out of the logs.

Two tokens only work in a query string: Rasa's HTTP API token (``?token=``, logged by
httpx at INFO for every request) and the agent token of ``/ws/agent?token=`` (browsers
cannot set headers on a WebSocket; uvicorn logs the path of each connection). A filter
on those loggers rewrites ``token=<anything>`` to ``token=***``.
"""

from __future__ import annotations

import logging
import re

_TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s\"]*")


class RedactTokenFilter(logging.Filter):
    """Rewrites the formatted message when it contains ``token=``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg = _TOKEN_IN_URL.sub(r"\1***", message)
            record.args = None
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

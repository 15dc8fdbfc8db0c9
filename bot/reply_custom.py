"""What the ``custom`` payloads of bot replies mean to the channels that act on them.

Rasa's replies (and the gateway's own queue notices) carry machine-readable parts next
to the sentence: ``speech_rate`` (the answer to 慢一点) and ``queue`` (a waiting user's
place and wait). Every channel reads them through these functions, so a malformed
payload is ignored the same way everywhere instead of each channel guessing its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.messages import BotReply


@dataclass(frozen=True)
class QueuePlace:
    """A waiting user's place, as the queue notices carry it in ``custom["queue"]``."""

    position: int
    eta_s: float


def queue_place(custom: dict[str, Any] | None) -> QueuePlace | None:
    """The place a queue notice announces, if `custom` is one (bot replies and pushes)."""
    queue = (custom or {}).get("queue")
    if not isinstance(queue, dict):
        return None
    position, eta_s = queue.get("position"), queue.get("eta_s")
    if not isinstance(position, int) or not isinstance(eta_s, int | float):
        return None
    return QueuePlace(position=position, eta_s=float(eta_s))


def speech_rate_in(custom: dict[str, Any] | None) -> float | None:
    """The speech rate `custom` sets (a number, not a bool), if it sets one."""
    value = (custom or {}).get("speech_rate")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def speech_rate_of(replies: Iterable[BotReply]) -> float | None:
    """The rate a turn's replies set: the last ``custom.speech_rate`` among them, if any."""
    rate: float | None = None
    for reply in replies:
        value = speech_rate_in(reply.custom)
        if value is not None:
            rate = value
    return rate

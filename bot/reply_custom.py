"""What the ``custom`` payloads of bot replies mean to the channels that act on them.

Rasa's replies (and the gateway's own queue notices) carry machine-readable parts next
to the sentence: ``speech_rate`` (the answer to 慢一点) and ``queue`` (a waiting user's
place and wait). Every channel reads them through these functions, so a malformed
payload is ignored the same way everywhere instead of each channel guessing its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
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


@dataclass(frozen=True)
class TaskDone:
    """A resident's task ended successfully in this reply (``custom.task_done``)."""

    task: str
    service: str | None


def task_done_in(custom: dict[str, Any] | None) -> TaskDone | None:
    """The task `custom` says just ended, if it says so in the agreed shape.

    Contract with the dialogue: ``{"task": "pension_auth" | "auth_status" |
    "service_lookup", "service": "<service id>" | null}``; any other shape is ignored.
    """
    done = (custom or {}).get("task_done")
    if not isinstance(done, dict):
        return None
    task, service = done.get("task"), done.get("service")
    if not isinstance(task, str) or not task or len(task) > 32:
        return None
    if not isinstance(service, str) or not service or len(service) > 64:
        service = None
    return TaskDone(task=task, service=service)


def handoff_reason_in(custom: dict[str, Any] | None) -> str | None:
    """The reason of the handoff `custom` asks for (``custom.handoff.reason``), if any."""
    handoff = (custom or {}).get("handoff")
    if not isinstance(handoff, dict):
        return None
    reason = handoff.get("reason")
    return reason if isinstance(reason, str) and reason else None


def not_understood_in(custom: dict[str, Any] | None) -> bool:
    """Whether the dialogue marked this reply as a "not understood" answer.

    ``custom.not_understood = true`` is an optional part of the contract; the gateway also
    recognises the fallback replies by their text (`bot.reports.domain_info`).
    """
    return (custom or {}).get("not_understood") is True


@dataclass(frozen=True)
class ResidentInfo:
    """Who the registry identified in this turn (``custom.resident``), by opaque ref only."""

    ref: str
    next_due: date | None
    suspended: bool


_REF = re.compile(r"[0-9a-f]{64}")


def resident_in(custom: dict[str, Any] | None) -> ResidentInfo | None:
    """The resident `custom` names, if in the agreed shape (64 hex chars, ISO date or null)."""
    resident = (custom or {}).get("resident")
    if not isinstance(resident, dict):
        return None
    ref, due, suspended = resident.get("ref"), resident.get("next_due"), resident.get("suspended")
    if not isinstance(ref, str) or not _REF.fullmatch(ref):
        return None
    next_due: date | None = None
    if isinstance(due, str):
        try:
            next_due = date.fromisoformat(due)
        except ValueError:
            return None
    elif due is not None:
        return None
    return ResidentInfo(ref=ref, next_due=next_due, suspended=suspended is True)


def reminders_consent_in(custom: dict[str, Any] | None) -> bool | None:
    """``custom.reminders.consent``: True (yes to 到期前要提醒您吗？), False (不要再提醒我了)."""
    reminders = (custom or {}).get("reminders")
    if not isinstance(reminders, dict):
        return None
    consent = reminders.get("consent")
    return consent if isinstance(consent, bool) else None


def forget_me_in(custom: dict[str, Any] | None) -> bool:
    """Whether the resident confirmed 删除我的记录 (``custom.forget_me = true``)."""
    return (custom or {}).get("forget_me") is True


def open_question_in(custom: dict[str, Any] | None) -> bool:
    """Whether the reply leaves a question open: ``custom.expect`` = ``{"kind": "yes_no" |
    "digits" | "choice", ...}`` (a bare kind string is read the same way)."""
    expect = (custom or {}).get("expect")
    if isinstance(expect, dict):
        expect = expect.get("kind")
    return isinstance(expect, str) and bool(expect)


def resident_ref_in(custom: dict[str, Any] | None) -> str | None:
    """The registry's opaque resident reference (``custom.resident.ref``: 64 hex), if any."""
    resident = (custom or {}).get("resident")
    if not isinstance(resident, dict):
        return None
    ref = resident.get("ref")
    if not isinstance(ref, str) or len(ref) != 64:
        return None
    try:
        int(ref, 16)
    except ValueError:
        return None
    return ref.lower()

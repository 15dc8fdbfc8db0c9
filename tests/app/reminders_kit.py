"""Helpers of the reminder and retention tests: scripted bot replies carrying the
``custom`` parts of the dialogue contract, times in Asia/Shanghai, direct database reads."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from bot.residents.service import ResidentServices
from bot.store.db import Database

from .fake_rasa import FakeRasaState

T = TypeVar("T")
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()
AUTHENTICATE = "我要认证"
CONSENT = "好的提醒我"
OPT_OUT = "不要再提醒我了"
FORGET = "删除我的记录"
FORGOTTEN = "您的记录已经删除了。"


def ref_of(name: str) -> str:
    """A ref shaped like the registry's (64 hex characters), made from a test name."""
    return hashlib.sha256(name.encode()).hexdigest()


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware time on `day` at `hour`:`minute` in Shanghai, for the jobs' clocks."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def due_in(days: int) -> date:
    return TODAY + timedelta(days=days)


def script_identified(fake_rasa: FakeRasaState, text: str, ref: str, next_due: date) -> None:
    """`text` is answered like a finished authentication: words, then the resident part.

    Without ``task_done``, so the rating question (`bot.feedback`) stays out of these tests.
    """
    fake_rasa.scripted[text] = [
        {"text": f"认证成功了！下次请在{next_due:%Y年%m月%d日}前认证。"},
        {
            "custom": {
                "resident": {"ref": ref, "next_due": next_due.isoformat(), "suspended": False},
            }
        },
        {"text": "到期前要提醒您吗？", "custom": {"expect": {"kind": "yes_no"}}},
    ]


def script_dialogue_parts(fake_rasa: FakeRasaState) -> None:
    """Consent, opt-out and 删除我的记录 as the lead's domain answers them."""
    fake_rasa.scripted[CONSENT] = [
        {"text": "好的，到期前会提醒您。还有别的事吗？", "custom": {"reminders": {"consent": True}}}
    ]
    fake_rasa.scripted[OPT_OUT] = [
        {"text": "好的，以后不再提醒您。", "custom": {"reminders": {"consent": False}}}
    ]
    fake_rasa.scripted[FORGET] = [{"text": FORGOTTEN}, {"custom": {"forget_me": True}}]


def residents_of(client: TestClient) -> ResidentServices:
    services: ResidentServices = client.app.state.residents  # type: ignore[attr-defined]
    return services


def run_reminders(client: TestClient, now: datetime) -> Any:
    """One tick of the reminder job at `now`, in the gateway's own event loop."""
    services = residents_of(client)
    assert client.portal is not None
    assert client.portal.call(services.reminders.run_once, now)
    return services.reminder_job.last_report


def run_retention(client: TestClient, now: datetime) -> None:
    services = residents_of(client)
    assert client.portal is not None
    assert client.portal.call(services.retention.run_once, now)


def in_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` on a database of its own (as another process would see the data)."""

    async def run() -> T:
        database = Database(url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())

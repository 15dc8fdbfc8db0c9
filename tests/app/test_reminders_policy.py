"""The reminder policy and its settings: quiet hours (wrapping midnight or not), the due
window, the reminder's words; and the lease under a real race between two engines."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.residents import lease
from bot.residents.reminders import ReminderPolicy, reminder_text
from bot.settings import Settings
from bot.store.db import Database

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.usefixtures("clean_env")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 9, 20, hour, minute, tzinfo=SHANGHAI)


def test_default_quiet_hours_wrap_midnight_in_beijing_time() -> None:
    policy = ReminderPolicy.from_settings(Settings())
    assert [policy.is_quiet(at(h, m)) for h, m in [(20, 59), (21, 0), (0, 0), (7, 59), (8, 0)]] == [
        False,
        True,
        True,
        True,
        False,
    ]
    # 13:00 UTC is 21:00 in Shanghai: the zone counts, not the server's clock.
    assert policy.is_quiet(datetime(2027, 9, 20, 13, 0, tzinfo=UTC))
    assert not policy.is_quiet(datetime(2027, 9, 20, 3, 0, tzinfo=UTC))


def test_quiet_hours_within_one_day_and_none() -> None:
    lunch = ReminderPolicy(quiet_start=time(12), quiet_end=time(14))
    assert lunch.is_quiet(at(12, 30)) and not lunch.is_quiet(at(14)) and not lunch.is_quiet(at(9))
    never = ReminderPolicy.from_settings(Settings(reminder_quiet_hours=""))
    assert not never.is_quiet(at(3))


@pytest.mark.parametrize("bad", ["21-08", "25:00-08:00", "21:00", "21:00-8:00"])
def test_malformed_quiet_hours_stop_the_start(bad: str) -> None:
    with pytest.raises(ValidationError):
        Settings(reminder_quiet_hours=bad)


def test_unknown_time_zone_stops_the_start() -> None:
    with pytest.raises(ValidationError):
        Settings(reminder_timezone="Mars/Olympus")


def test_due_window_and_words() -> None:
    policy = ReminderPolicy(days=30)
    now = at(10)
    assert policy.is_due(date(2027, 10, 20), now) and not policy.is_due(date(2027, 10, 21), now)
    assert policy.is_due(date(2027, 9, 1), now), "overdue residents are reminded too"
    assert not policy.is_due(None, now)
    assert reminder_text(date(2027, 10, 8), date(2027, 9, 20)) == (
        "您的养老金资格认证将于2027年10月8日到期，点下面的按钮就能办。"
    )
    assert reminder_text(date(2027, 9, 1), date(2027, 9, 20)).startswith(
        "您的养老金资格认证已于2027年9月1日到期"
    )


def test_two_replicas_racing_for_the_lease_never_both_win(database_url: str) -> None:
    async def race() -> list[int]:
        first, second = Database(database_url), Database(database_url)
        try:
            await first.upgrade()
            winners = []
            start = datetime.now(UTC)
            for round_ in range(10):
                now = start + timedelta(seconds=1000 * round_)  # each round: the lease expired
                won = await asyncio.gather(
                    lease.acquire(first, "race", "a", 100, now),
                    lease.acquire(second, "race", "b", 100, now),
                )
                winners.append(sum(won))
            return winners
        finally:
            await first.dispose()
            await second.dispose()

    assert asyncio.run(race()) == [1] * 10

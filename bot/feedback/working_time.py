"""Working time for 差评必改 deadlines: weekends, public holidays and 调休 working days.

Local rules count the call-back in working days (1 by default) and the fix in hours
(24 simple / 72 complex) of working days: a 差评 given on Friday evening is called back
on Monday, and one given on 30 September waits for the National Day week to end. China
moves work days around holidays (调休: a Saturday can be a working day), so the week
alone is not enough: a calendar file lists the exceptions (`calendar_cn.txt`, committed
for 2026 and, provisionally, 2027; replaceable by a setting).

Times are aware datetimes; the day boundaries are those of the service's time zone
(Asia/Shanghai by default), whatever zone the datetime is given in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_CALENDAR_FILE = Path(__file__).with_name("calendar_cn.txt")


class CalendarError(ValueError):
    """The calendar file has a line that is not ``YYYY-MM-DD holiday|workday [note]``."""


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are worked: Monday-Friday unless listed as a holiday, plus listed workdays."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def is_working_day(self, day: date) -> bool:
        """A listed holiday is off, a listed 调休 day is on, otherwise Monday to Friday."""
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return day.weekday() < 5

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """`start` plus `duration` of working-day time (non-working days do not count).

        Started on a non-working day, the clock begins at the next working day's start.
        The result is in UTC.
        """
        if start.tzinfo is None:
            raise ValueError("naive datetime: pass an aware time")
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        current = start.astimezone(self.zone)
        remaining = duration
        while True:
            midnight = datetime.combine(current.date() + timedelta(days=1), time(), self.zone)
            if self.is_working_day(current.date()):
                available = midnight - current
                if remaining <= available:
                    # Arithmetic on wall time inside one day; the zone has no DST today.
                    return (current + remaining).astimezone(ZoneInfo("UTC"))
                remaining -= available
            current = midnight

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """`days` whole working days after `start` (same time of day, skipping days off)."""
        return self.add(start, timedelta(days=days))


def load_calendar(path: Path = DEFAULT_CALENDAR_FILE, zone: str = "Asia/Shanghai") -> WorkCalendar:
    """Read a calendar file; a malformed line stops the gateway at start with its number."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(maxsplit=2)
        try:
            day = date.fromisoformat(parts[0])
            kind = parts[1]
        except (ValueError, IndexError) as err:
            raise CalendarError(f"{path}:{number}: expected 'YYYY-MM-DD holiday|workday'") from err
        if kind == "holiday":
            holidays.add(day)
        elif kind == "workday":
            workdays.add(day)
        else:
            raise CalendarError(f"{path}:{number}: {kind!r} is neither holiday nor workday")
    clash = holidays & workdays
    if clash:
        raise CalendarError(f"{path}: listed as both holiday and workday: {min(clash)}")
    return WorkCalendar(frozenset(holidays), frozenset(workdays), ZoneInfo(zone))

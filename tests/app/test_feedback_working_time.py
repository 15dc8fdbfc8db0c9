"""差评必改 deadlines in working time: weekends, holidays, 调休 Saturdays (working_time)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.feedback.cases import CaseRules
from bot.feedback.working_time import CalendarError, load_calendar

CN = ZoneInfo("Asia/Shanghai")
CALENDAR = load_calendar()
RULES = CaseRules(calendar=CALENDAR)


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CN)


def local(value: datetime) -> datetime:
    return value.astimezone(CN)


def test_days_off_and_make_up_days_of_2026() -> None:
    assert not CALENDAR.is_working_day(date(2026, 10, 1))  # National Day, a Thursday
    assert CALENDAR.is_working_day(date(2026, 10, 10))  # 调休 Saturday
    assert CALENDAR.is_working_day(date(2026, 2, 14))  # Spring Festival 调休 Saturday
    assert not CALENDAR.is_working_day(date(2026, 12, 5))  # an ordinary Saturday
    assert CALENDAR.is_working_day(date(2026, 12, 7))  # an ordinary Monday
    assert not CALENDAR.is_working_day(date(2027, 2, 8))  # 2027 statutory 春节 day


@pytest.mark.parametrize(
    ("opened", "callback_due"),
    [
        (at(2026, 12, 2, 10, 0), at(2026, 12, 3, 10, 0)),  # Wednesday -> Thursday
        (at(2026, 12, 4, 18, 0), at(2026, 12, 7, 18, 0)),  # Friday evening -> Monday
        (at(2026, 12, 5, 11, 0), at(2026, 12, 8, 0, 0)),  # Saturday: all of Monday
        (at(2026, 9, 30, 15, 0), at(2026, 10, 8, 15, 0)),  # over the National Day week
        (at(2026, 10, 9, 9, 0), at(2026, 10, 10, 9, 0)),  # Friday -> 调休 Saturday
        (at(2026, 12, 31, 12, 0), at(2027, 1, 4, 12, 0)),  # 元旦 and the weekend
    ],
)
def test_call_back_in_one_working_day(opened: datetime, callback_due: datetime) -> None:
    assert local(RULES.callback_due(opened)) == callback_due


def test_fix_deadlines_count_hours_of_working_days() -> None:
    friday_evening = at(2026, 12, 4, 18, 0)
    assert local(RULES.fix_due(friday_evening, "simple")) == at(2026, 12, 7, 18, 0)
    assert local(RULES.fix_due(friday_evening, "complex")) == at(2026, 12, 9, 18, 0)
    # Spring Festival 2026: 15-23 February off, 14 and 28 February (Saturdays) worked.
    before_festival = at(2026, 2, 13, 12, 0)
    assert local(RULES.fix_due(before_festival, "simple")) == at(2026, 2, 14, 12, 0)
    assert local(RULES.fix_due(before_festival, "complex")) == at(2026, 2, 25, 12, 0)


def test_results_are_utc_and_naive_times_are_refused() -> None:
    due = CALENDAR.add(at(2026, 12, 2, 10, 0), timedelta(hours=1))
    assert due.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="naive"):
        CALENDAR.add(datetime(2026, 12, 2, 10, 0), timedelta(hours=1))


def test_a_malformed_calendar_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "calendar.txt"
    bad.write_text("# ok\n2026-01-01 holiday 元旦\n2026-13-01 holiday\n", encoding="utf-8")
    with pytest.raises(CalendarError, match=":3:"):
        load_calendar(bad)
    bad.write_text("2026-01-01 holiday\n2026-01-01 workday\n", encoding="utf-8")
    with pytest.raises(CalendarError, match="both"):
        load_calendar(bad)

"""The authentication cycle: rolling 12 months or calendar year, per district."""

from __future__ import annotations

from datetime import date

import pytest

from actions.cycle import (
    Cycle,
    CycleRule,
    CycleSettings,
    CycleState,
    cycle_of,
    next_due,
    opens_on,
)
from actions.settings import ActionSettings

ROLLING = CycleRule.ROLLING_12_MONTHS
CALENDAR = CycleRule.CALENDAR_YEAR


def test_rolling_due_date_is_twelve_months_after_the_last_authentication() -> None:
    assert next_due(date(2026, 10, 8), ROLLING) == date(2027, 10, 8)
    assert next_due(date(2026, 12, 31), ROLLING) == date(2027, 12, 31)


def test_rolling_from_29_february_is_due_on_28_february() -> None:
    assert next_due(date(2024, 2, 29), ROLLING) == date(2025, 2, 28)
    assert next_due(date(2028, 2, 29), ROLLING) == date(2029, 2, 28)


def test_calendar_year_is_due_by_the_end_of_the_next_year() -> None:
    assert next_due(date(2026, 1, 2), CALENDAR) == date(2027, 12, 31)
    assert next_due(date(2026, 12, 31), CALENDAR) == date(2027, 12, 31)
    assert next_due(date(2024, 2, 29), CALENDAR) == date(2025, 12, 31)


def test_rolling_states_through_a_cycle() -> None:
    last = date(2026, 3, 15)
    assert opens_on(last, ROLLING, 60) == date(2027, 1, 14)
    due = date(2027, 3, 15)
    assert cycle_of(last, date(2026, 3, 15), ROLLING, 60) == Cycle(CycleState.DONE, due)
    assert cycle_of(last, date(2027, 1, 13), ROLLING, 60).state is CycleState.DONE
    assert cycle_of(last, date(2027, 1, 14), ROLLING, 60).state is CycleState.DUE
    assert cycle_of(last, due, ROLLING, 60) == Cycle(CycleState.DUE, due)
    assert cycle_of(last, date(2027, 3, 16), ROLLING, 60) == Cycle(CycleState.EXPIRED, due)


def test_rolling_across_29_february() -> None:
    last = date(2024, 2, 29)
    assert cycle_of(last, date(2025, 2, 28), ROLLING, 0).state is CycleState.DUE
    assert cycle_of(last, date(2025, 2, 27), ROLLING, 0).state is CycleState.DONE
    assert cycle_of(last, date(2025, 3, 1), ROLLING, 0).state is CycleState.EXPIRED


def test_calendar_year_states() -> None:
    last = date(2025, 9, 21)
    due = date(2026, 12, 31)
    assert cycle_of(last, date(2025, 12, 31), CALENDAR, 60).state is CycleState.DONE
    assert cycle_of(last, date(2026, 1, 1), CALENDAR, 60) == Cycle(CycleState.DUE, due)
    assert cycle_of(last, date(2026, 12, 31), CALENDAR, 60).state is CycleState.DUE
    assert cycle_of(last, date(2027, 1, 1), CALENDAR, 60) == Cycle(CycleState.EXPIRED, due)


def test_never_authenticated_may_authenticate_now() -> None:
    cycle = cycle_of(None, date(2026, 12, 1), ROLLING, 60)
    assert cycle == Cycle(CycleState.NEVER, None) and cycle.may_authenticate
    assert not cycle_of(date(2026, 12, 1), date(2026, 12, 1), ROLLING, 60).may_authenticate


def test_a_district_overrides_the_default_rule() -> None:
    settings = CycleSettings.parse("", "武侯区=calendar_year, 青羊区 = calendar_year")
    assert settings.rule_for("武侯区") is CALENDAR
    assert settings.rule_for("青羊区") is CALENDAR
    assert settings.rule_for("朝阳区") is ROLLING
    assert settings.next_due(date(2026, 5, 1), "武侯区") == date(2027, 12, 31)
    assert settings.next_due(date(2026, 5, 1), "朝阳区") == date(2027, 5, 1)
    everywhere = CycleSettings.parse("calendar_year", "", "30")
    assert everywhere.rule_for("朝阳区") is CALENDAR and everywhere.early_days == 30


def test_an_unknown_rule_name_stops_the_start() -> None:
    with pytest.raises(ValueError, match="calender_year"):
        CycleSettings.parse("", "武侯区=calender_year")
    with pytest.raises(ValueError):
        CycleSettings(early_days=400)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTH_CYCLE_DISTRICTS", raising=False)
    demo = ActionSettings.from_env().auth_cycle
    assert demo.rule_for("武侯区") is CALENDAR and demo.rule_for("朝阳区") is ROLLING
    monkeypatch.setenv("AUTH_CYCLE_DISTRICTS", "朝阳区=calendar_year")
    monkeypatch.setenv("AUTH_CYCLE_EARLY_DAYS", "90")
    chosen = ActionSettings.from_env().auth_cycle
    assert chosen.rule_for("朝阳区") is CALENDAR and chosen.rule_for("武侯区") is ROLLING
    assert chosen.early_days == 90

"""The authentication cycle: when a pensioner must authenticate again.

人社厅发[2018]54号: at least once every 12 months, counted from the last authentication
(``rolling_12_months``); some regions count calendar years instead (``calendar_year``: once
in each year, by 31 December). Once the cycle has run out, payment is suspended (暂停发放);
after the next authentication it resumes from the following month and the missed months
are paid (补发, 人社部发[2015]32号 第四十九条) — the registry does that, not this module.

An authentication is accepted from ``early_days`` before the due date (rolling rule) or from
1 January of the due year (calendar year); before that it is not needed yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum


class CycleRule(str, Enum):
    ROLLING_12_MONTHS = "rolling_12_months"
    CALENDAR_YEAR = "calendar_year"


class CycleState(str, Enum):
    NEVER = "never"  # no authentication on record: due now
    DONE = "done"  # within the cycle, too early to authenticate again
    DUE = "due"  # may (and should) authenticate now; not overdue yet
    EXPIRED = "expired"  # the due date has passed: payment is suspended


@dataclass(frozen=True)
class Cycle:
    """Where a resident stands: ``due`` is the last day to authenticate (None: never did)."""

    state: CycleState
    due: date | None

    @property
    def may_authenticate(self) -> bool:
        return self.state is not CycleState.DONE


def one_year_after(day: date) -> date:
    """The same day a year later; 29 February gives 28 February."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def next_due(last: date, rule: CycleRule) -> date:
    """The last day to authenticate again after authenticating on ``last``."""
    if rule is CycleRule.CALENDAR_YEAR:
        return date(last.year + 1, 12, 31)
    return one_year_after(last)


def opens_on(last: date, rule: CycleRule, early_days: int) -> date:
    """The first day the next authentication is accepted."""
    if rule is CycleRule.CALENDAR_YEAR:
        return date(last.year + 1, 1, 1)
    return next_due(last, rule) - timedelta(days=early_days)


def cycle_of(last: date | None, today: date, rule: CycleRule, early_days: int) -> Cycle:
    """The state of the cycle on ``today`` for a resident last authenticated on ``last``."""
    if last is None:
        return Cycle(CycleState.NEVER, None)
    due = next_due(last, rule)
    if today > due:
        return Cycle(CycleState.EXPIRED, due)
    if today >= opens_on(last, rule, early_days):
        return Cycle(CycleState.DUE, due)
    return Cycle(CycleState.DONE, due)


@dataclass(frozen=True)
class CycleSettings:
    """The rule of each district (the registry's ``district``), else ``default``."""

    default: CycleRule = CycleRule.ROLLING_12_MONTHS
    by_district: Mapping[str, CycleRule] = field(default_factory=dict)
    early_days: int = 60

    def __post_init__(self) -> None:
        if not 0 <= self.early_days < 365:
            raise ValueError("early_days must be between 0 and 364")

    def rule_for(self, district: str) -> CycleRule:
        return self.by_district.get(district, self.default)

    def cycle(self, last: date | None, district: str, today: date) -> Cycle:
        return cycle_of(last, today, self.rule_for(district), self.early_days)

    def next_due(self, last: date, district: str) -> date:
        return next_due(last, self.rule_for(district))

    @classmethod
    def parse(cls, default: str, districts: str, early_days: str = "") -> CycleSettings:
        """From settings text: ``"rolling_12_months"``, ``"锦江区=calendar_year,…"``, ``"60"``.

        An unknown rule name raises ``ValueError`` naming it, so a typo stops the start.
        """
        by_district: dict[str, CycleRule] = {}
        for item in filter(None, (part.strip() for part in districts.split(","))):
            district, _, rule = item.partition("=")
            by_district[district.strip()] = CycleRule(rule.strip())
        return cls(
            default=CycleRule(default.strip()) if default.strip() else CycleRule.ROLLING_12_MONTHS,
            by_district=by_district,
            early_days=int(early_days) if early_days.strip() else 60,
        )

"""The dashboard's figures: pure functions of the database and a `ReportFilter`.

Every figure is counted per bucket (a local day, or a week starting on Monday, in the
report's time zone: a community centre's "Tuesday" is Beijing's, not UTC's) and once over
the whole period, optionally for one channel. Rows are read for the period and counted
here in Python: a few thousand rows a day at most, and one code path for SQLite and
PostgreSQL instead of two dialects of date arithmetic.

Definitions (the tests check them against numbers worked out by hand):

- **问题解决率**: conversations with at least one user turn in the bucket (the
  denominator) and, among them, those where a bot reply said a task ended
  (``task_outcomes``, from ``custom.task_done``). *By the bot alone* if the conversation
  had no handoff queued before that reply, *with an agent* otherwise.
- **好评率**: ratings answered with 非常满意 or 满意 (level >= 4) ÷ ratings answered, by the
  day they were asked; ratings a supervisor marked abusive (申诉复核) are left out.
- **未评价率**: ratings asked but not answered (skipped, or still open) ÷ ratings asked
  (abusive ones left out).
- **差评整改率**: cases (差评, abusive ones left out) by the day they were opened: fixed or
  explained by the fix deadline (on time), after it (late), still open past it (overdue),
  still open within it (open). The rate is (on time + late) ÷ cases.
- **转人工原因**: handoffs by reason, by the day they were queued.
- **等待时间** (queued → an agent claimed it) and **首次响应时间** (queued → the first agent
  message of that handoff): p50 and p90, nearest rank, in seconds, of the handoffs queued
  in the bucket that got a claim / an agent message.
- **差评必改 cases by state**: the current state of the cases opened in the period.
- **最没听懂的话**: the pending and reviewed training candidates of the period (already
  masked), the same words counted together, most frequent first.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import (
    Case,
    CaseState,
    Handoff,
    Message,
    Rating,
    Role,
    TaskOutcome,
    TrainingCandidate,
)

T = TypeVar("T")
CHINA = ZoneInfo("Asia/Shanghai")
GOOD_LEVEL = 4  # 满意 and 非常满意
RESOLVED_STATES = frozenset({CaseState.FIXED, CaseState.EXPLAINED, CaseState.CLOSED})
LEAST_UNDERSTOOD_LIMIT = 10
MAX_PERIOD_DAYS = 366


class Granularity(StrEnum):
    """How the period is cut into buckets."""

    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True)
class ReportFilter:
    """Which period (local dates, both included), how to bucket it, which channel."""

    start: date
    end: date
    granularity: Granularity = Granularity.DAY
    channel: str | None = None
    tz: tzinfo = CHINA

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        if (self.end - self.start).days >= MAX_PERIOD_DAYS:
            raise ValueError(f"at most {MAX_PERIOD_DAYS} days at once")

    @property
    def since(self) -> datetime:
        """The period's first instant, in UTC."""
        return datetime.combine(self.start, time(), self.tz).astimezone(UTC)

    @property
    def until(self) -> datetime:
        """The instant after the period, in UTC."""
        return datetime.combine(self.end + timedelta(days=1), time(), self.tz).astimezone(UTC)

    def bucket_of(self, moment: datetime) -> date:
        """The bucket (its first local day) an aware instant falls in."""
        day = moment.astimezone(self.tz).date()
        if self.granularity is Granularity.WEEK:
            return day - timedelta(days=day.weekday())
        return day

    def buckets(self) -> list[date]:
        """Every bucket of the period, in order, empty ones included."""
        first = self.bucket_of(self.since)
        step = timedelta(days=7 if self.granularity is Granularity.WEEK else 1)
        found: list[date] = []
        current = first
        while current <= self.end:
            found.append(current)
            current += step
        return found


@dataclass(frozen=True)
class Resolution:
    """问题解决率 of one bucket (or the whole period)."""

    conversations: int
    solved_by_bot: int
    solved_with_agent: int

    @property
    def solved(self) -> int:
        return self.solved_by_bot + self.solved_with_agent

    @property
    def rate(self) -> float | None:
        return ratio(self.solved, self.conversations)


@dataclass(frozen=True)
class Ratings:
    """好评率 and 未评价率 of one bucket."""

    asked: int
    answered: int
    good: int

    @property
    def good_rate(self) -> float | None:
        return ratio(self.good, self.answered)

    @property
    def unrated_rate(self) -> float | None:
        return ratio(self.asked - self.answered, self.asked)


@dataclass(frozen=True)
class Rectification:
    """差评整改率 of one bucket: the cases opened in it, by how they stand."""

    cases: int
    on_time: int
    late: int
    overdue: int

    @property
    def open(self) -> int:
        return self.cases - self.on_time - self.late - self.overdue

    @property
    def rate(self) -> float | None:
        return ratio(self.on_time + self.late, self.cases)

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.on_time, self.cases)


@dataclass(frozen=True)
class Waits:
    """Waiting and first-response times (seconds) of the handoffs of one bucket."""

    wait_p50: float | None
    wait_p90: float | None
    first_response_p50: float | None
    first_response_p90: float | None
    waited: int
    answered: int


@dataclass(frozen=True)
class Bucketed(Generic[T]):
    """One figure per bucket plus the whole period."""

    by_bucket: dict[date, T]
    total: T


@dataclass(frozen=True)
class MissedWords:
    """One of the utterances the bot understood least (masked), and how often."""

    text: str
    count: int
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Dashboard:
    """Everything ``/admin`` shows for one filter."""

    filter: ReportFilter
    buckets: list[date]
    resolution: Bucketed[Resolution]
    ratings: Bucketed[Ratings]
    rectification: Bucketed[Rectification]
    handoff_reasons: Bucketed[dict[str, int]]
    waits: Bucketed[Waits]
    cases_by_state: dict[str, int]
    least_understood: list[MissedWords]
    channels: list[str] = field(default_factory=list)


def ratio(part: int, whole: int) -> float | None:
    """part ÷ whole, or None when there is nothing to divide (shown as "—", not 0 %)."""
    return part / whole if whole else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (the smallest value with p % of values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


async def resolution(session: AsyncSession, flt: ReportFilter) -> Bucketed[Resolution]:
    """问题解决率 per bucket and for the period (see the module docstring)."""
    turns = select(Message.conversation_id, Message.created_at).where(
        Message.role == Role.USER.value,
        Message.created_at >= flt.since,
        Message.created_at < flt.until,
    )
    outcomes = select(TaskOutcome.conversation_id, TaskOutcome.created_at).where(
        TaskOutcome.created_at >= flt.since, TaskOutcome.created_at < flt.until
    )
    if flt.channel is not None:
        turns = turns.where(Message.channel == flt.channel)
        outcomes = outcomes.where(TaskOutcome.channel == flt.channel)
    active: dict[date, set[int]] = defaultdict(set)
    for conversation_id, created_at in await session.execute(turns):
        active[flt.bucket_of(created_at)].add(conversation_id)
    outcome_rows = list(await session.execute(outcomes))
    first_handoff: dict[int, datetime] = {}
    conversation_ids = {row[0] for row in outcome_rows}
    if conversation_ids:
        handoffs = select(Handoff.conversation_id, Handoff.queued_at).where(
            Handoff.conversation_id.in_(conversation_ids)
        )
        for conversation_id, queued_at in await session.execute(handoffs):
            known = first_handoff.get(conversation_id)
            first_handoff[conversation_id] = queued_at if known is None else min(known, queued_at)
    # A conversation counts as solved with an agent if any of its task ends followed a handoff.
    solved: dict[date, dict[int, bool]] = defaultdict(dict)
    for conversation_id, created_at in outcome_rows:
        handed = first_handoff.get(conversation_id)
        with_agent = handed is not None and handed <= created_at
        bucket = solved[flt.bucket_of(created_at)]
        bucket[conversation_id] = bucket.get(conversation_id, False) or with_agent

    def count(conversations: set[int], done: dict[int, bool]) -> Resolution:
        done = {cid: agent for cid, agent in done.items() if cid in conversations}
        with_agent = sum(1 for agent in done.values() if agent)
        return Resolution(len(conversations), len(done) - with_agent, with_agent)

    by_bucket = {b: count(active.get(b, set()), solved.get(b, {})) for b in flt.buckets()}
    everyone: set[int] = set().union(*active.values()) if active else set()
    overall: dict[int, bool] = {}
    for done in solved.values():
        for cid, agent in done.items():
            overall[cid] = overall.get(cid, False) or agent
    return Bucketed(by_bucket, count(everyone, overall))


async def ratings(session: AsyncSession, flt: ReportFilter) -> Bucketed[Ratings]:
    """好评率 and 未评价率 per bucket, by the day the rating was asked; abusive ones left out."""
    statement = select(Rating.asked_at, Rating.level).where(
        Rating.asked_at.is_not(None),
        Rating.asked_at >= flt.since,
        Rating.asked_at < flt.until,
        Rating.abusive.is_(False),
    )
    if flt.channel is not None:
        statement = statement.where(Rating.channel == flt.channel)
    rows: list[tuple[date, int | None]] = [
        (flt.bucket_of(asked_at), level)
        for asked_at, level in await session.execute(statement)
        if asked_at is not None
    ]

    def count(levels: list[int | None]) -> Ratings:
        answered = [level for level in levels if level is not None]
        return Ratings(len(levels), len(answered), sum(1 for lv in answered if lv >= GOOD_LEVEL))

    by_bucket = {b: count([lv for bk, lv in rows if bk == b]) for b in flt.buckets()}
    return Bucketed(by_bucket, count([lv for _, lv in rows]))


async def _cases(session: AsyncSession, flt: ReportFilter) -> list[Case]:
    """The cases opened in the period whose rating still counts (not abusive)."""
    statement = (
        select(Case)
        .join(Rating, Rating.id == Case.rating_id)
        .where(
            Case.opened_at >= flt.since,
            Case.opened_at < flt.until,
            Rating.abusive.is_(False),
        )
    )
    if flt.channel is not None:
        statement = statement.where(Case.channel == flt.channel)
    return list(await session.scalars(statement))


def _rectification(cases: Iterable[Case], now: datetime) -> Rectification:
    on_time = late = overdue = total = 0
    for case in cases:
        total += 1
        if case.resolved_at is not None:
            if case.resolved_at <= case.fix_due_at:
                on_time += 1
            else:
                late += 1
        elif now > case.fix_due_at:
            overdue += 1
    return Rectification(total, on_time, late, overdue)


async def rectification(
    session: AsyncSession, flt: ReportFilter, now: datetime
) -> tuple[Bucketed[Rectification], dict[str, int]]:
    """差评整改率 per bucket (by the day the case opened) and the cases by state."""
    cases = await _cases(session, flt)
    by_bucket = {
        b: _rectification((c for c in cases if flt.bucket_of(c.opened_at) == b), now)
        for b in flt.buckets()
    }
    states = Counter(case.state for case in cases)
    by_state = {state.value: states.get(state.value, 0) for state in CaseState}
    return Bucketed(by_bucket, _rectification(cases, now)), by_state


async def _handoffs(session: AsyncSession, flt: ReportFilter) -> list[Handoff]:
    statement = select(Handoff).where(Handoff.queued_at >= flt.since, Handoff.queued_at < flt.until)
    if flt.channel is not None:
        statement = statement.where(Handoff.channel == flt.channel)
    return list(await session.scalars(statement))


async def handoffs_and_waits(
    session: AsyncSession, flt: ReportFilter
) -> tuple[Bucketed[dict[str, int]], Bucketed[Waits]]:
    """Handoffs by reason, and waiting / first-response percentiles, per bucket."""
    handoffs = await _handoffs(session, flt)
    first_reply: dict[int, float] = {}
    if handoffs:
        replies = select(Message.conversation_id, Message.created_at).where(
            Message.role == Role.AGENT.value,
            Message.conversation_id.in_({h.conversation_id for h in handoffs}),
            Message.created_at >= flt.since,
        )
        agent_turns: dict[int, list[datetime]] = defaultdict(list)
        for conversation_id, created_at in await session.execute(replies):
            agent_turns[conversation_id].append(created_at)
        for handoff in handoffs:
            after = [
                t
                for t in agent_turns.get(handoff.conversation_id, [])
                if t >= handoff.queued_at and (handoff.ended_at is None or t <= handoff.ended_at)
            ]
            if after:
                first_reply[handoff.id] = (min(after) - handoff.queued_at).total_seconds()

    def reasons(group: list[Handoff]) -> dict[str, int]:
        return dict(sorted(Counter(h.reason for h in group).items()))

    def waits(group: list[Handoff]) -> Waits:
        waited = [
            (h.claimed_at - h.queued_at).total_seconds() for h in group if h.claimed_at is not None
        ]
        answered = [first_reply[h.id] for h in group if h.id in first_reply]
        return Waits(
            percentile(waited, 50),
            percentile(waited, 90),
            percentile(answered, 50),
            percentile(answered, 90),
            len(waited),
            len(answered),
        )

    grouped = {b: [h for h in handoffs if flt.bucket_of(h.queued_at) == b] for b in flt.buckets()}
    return (
        Bucketed({b: reasons(g) for b, g in grouped.items()}, reasons(handoffs)),
        Bucketed({b: waits(g) for b, g in grouped.items()}, waits(handoffs)),
    )


async def least_understood(
    session: AsyncSession, flt: ReportFilter, limit: int = LEAST_UNDERSTOOD_LIMIT
) -> list[MissedWords]:
    """The missed utterances of the period (masked when recorded), most frequent first."""
    statement = select(TrainingCandidate.text, TrainingCandidate.kind).where(
        TrainingCandidate.created_at >= flt.since, TrainingCandidate.created_at < flt.until
    )
    if flt.channel is not None:
        statement = statement.where(TrainingCandidate.channel == flt.channel)
    counts: Counter[str] = Counter()
    kinds: dict[str, set[str]] = defaultdict(set)
    for text, kind in await session.execute(statement):
        counts[text] += 1
        kinds[text].add(kind)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [MissedWords(text, count, tuple(sorted(kinds[text]))) for text, count in ranked]


async def channels_seen(session: AsyncSession) -> list[str]:
    """The channels the filter may choose from: those that ever had a conversation turn."""
    rows = await session.scalars(select(Message.channel).distinct().order_by(Message.channel))
    return list(rows)


async def dashboard(session: AsyncSession, flt: ReportFilter, now: datetime) -> Dashboard:
    """Every figure of ``/admin`` for `flt`; `now` decides which open cases are overdue."""
    rectified, by_state = await rectification(session, flt, now)
    reasons, waits = await handoffs_and_waits(session, flt)
    return Dashboard(
        filter=flt,
        buckets=flt.buckets(),
        resolution=await resolution(session, flt),
        ratings=await ratings(session, flt),
        rectification=rectified,
        handoff_reasons=reasons,
        waits=waits,
        cases_by_state=by_state,
        least_understood=await least_understood(session, flt),
        channels=await channels_seen(session),
    )

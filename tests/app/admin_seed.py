"""A small, fixed history for the dashboard tests: 3 days (Mon 23 - Wed 25 November 2026,
Beijing time) plus rows just outside, written straight into the gateway's tables.

Every number the tests expect is worked out by hand in `EXPECTED` from the rows below
(the comments say which rows make each number), so a figure that changes meaning fails.

    conv  channel   user turns (local)        task_done        handoff (queued/claimed/1st reply)
    c1    web       11-23 10:00, 11-25 09:00  11-23 10:01
    c2    web       11-23 11:00               11-23 11:10      not_understood 11:01 / 11:03 / 11:04
    c3    kiosk     11-23 12:00                                no_progress 12:05 / 12:25 / —
    c4    kiosk     11-24 00:30 (= 11-23 UTC) 11-24 00:32
    c5    telegram  11-24 10:00                                complaint 10:00 / 10:10 / 10:15
    c6    web       11-25 14:00                                user_request 14:00 / 14:01 / 14:02
    c7    web       11-25 16:00                                emergency 16:00 / — / —
    c8    web       11-22 23:59 (outside)     11-22 23:59
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import AgentRole, set_role
from bot.reports.figures import CHINA
from bot.store.db import Database
from bot.store.models import (
    Case,
    Conversation,
    Handoff,
    Message,
    Rating,
    TaskOutcome,
    TrainingCandidate,
)
from tests.app.handoff_kit import add_agent

SUPERVISOR = "zhuguan"
START = date(2026, 11, 23)
END = date(2026, 11, 25)
# "Now" for the overdue rule: after every deadline of the seed.
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=CHINA).astimezone(UTC)
DAYS = ["11-23", "11-24", "11-25"]


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Beijing wall-clock time of 2026 as an aware UTC datetime."""
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA).astimezone(UTC)


CONVERSATIONS = {
    "c1": "web",
    "c2": "web",
    "c3": "kiosk",
    "c4": "kiosk",
    "c5": "telegram",
    "c6": "web",
    "c7": "web",
    "c8": "web",
}
USER_TURNS = [
    ("c1", local(23, 10)),
    ("c1", local(25, 9)),
    ("c2", local(23, 11)),
    ("c3", local(23, 12)),
    ("c4", local(24, 0, 30)),
    ("c5", local(24, 10)),
    ("c6", local(25, 14)),
    ("c7", local(25, 16)),
    ("c8", local(22, 23, 59)),
]
TASKS = [
    ("c1", local(23, 10, 1), "service_lookup"),
    ("c2", local(23, 11, 10), "pension_auth"),
    ("c4", local(24, 0, 32), "auth_status"),
    ("c8", local(22, 23, 59), "service_lookup"),
]
L = local
# conv, reason, queued, claimed, first agent message, ended, status
HANDOFFS = [
    ("c2", "not_understood", L(23, 11, 1), L(23, 11, 3), L(23, 11, 4), L(23, 11, 9), "handed_back"),
    ("c3", "no_progress", L(23, 12, 5), L(23, 12, 25), None, L(23, 12, 30), "closed"),
    ("c5", "complaint", L(24, 10), L(24, 10, 10), L(24, 10, 15), L(24, 10, 20), "closed"),
    ("c6", "user_request", L(25, 14), L(25, 14, 1), L(25, 14, 2), L(25, 14, 5), "closed"),
    ("c7", "emergency", L(25, 16), None, None, None, "waiting"),
]
# name, conv, asked, level, abusive
RATINGS = [
    ("r1", "c1", local(23, 10, 2), 5, False),
    ("r2", "c2", local(23, 11, 11), 2, False),
    ("r9", "c3", local(23, 12, 31), 2, False),
    ("r3", "c4", local(24, 0, 33), 4, False),
    ("r4", "c4", local(24, 1), None, False),
    ("r5", "c5", local(24, 10, 21), 1, True),
    ("r6", "c6", local(25, 14, 6), 3, False),
    ("r7", "c1", local(25, 9, 1), None, False),
    ("r10", "c6", local(25, 14, 30), 1, False),
    ("r8", "c8", local(22, 23, 59), 5, False),
]
# rating, opened, fix due, resolved, state
CASES = [
    ("r2", local(23, 11, 20), local(24, 11, 20), local(24, 10), "closed"),  # on time
    ("r9", local(23, 12, 40), local(24, 12, 40), local(25, 9), "explained"),  # late
    ("r10", local(25, 15), local(26, 15), None, "called_back"),  # overdue at NOW
    ("r5", local(24, 10, 30), local(25, 10, 30), None, "open"),  # abusive: left out
]
# conv, text (as recorded: masked), kind, when
CANDIDATES = [
    ("c3", "那个啥来着", "fallback", local(23, 12)),
    ("c1", "那个啥来着", "fallback", local(25, 9)),
    ("c2", "我要办那个卡 138****5678", "handoff", local(23, 11)),
    ("c4", "嗯嗯啊", "low_confidence", local(24, 0, 30)),
    ("c8", "外面的话", "fallback", local(22, 23, 59)),
]

# Worked out by hand from the rows above.
EXPECTED: dict[str, Any] = {
    # 11-23: c1 c2 c3 active (c4's 00:30 is the 24th in Beijing); c1 alone, c2 after h1.
    # 11-24: c4 c5; c4 alone. 11-25: c1 c6 c7; none. Period: c1-c7 = 7; c1, c4 alone, c2.
    "resolution": {
        "11-23": (3, 1, 1),
        "11-24": (2, 1, 0),
        "11-25": (3, 0, 0),
        "合计": (7, 2, 1),
    },
    # (asked, answered, good); r5 abusive and r8 outside are left out.
    "ratings": {
        "11-23": (3, 3, 1),  # r1 5, r2 2, r9 2
        "11-24": (2, 1, 1),  # r3 4, r4 —
        "11-25": (3, 2, 0),  # r6 3, r7 —, r10 1
        "合计": (8, 6, 2),
    },
    # (cases, on time, late, overdue)
    "rectification": {
        "11-23": (2, 1, 1, 0),
        "11-24": (0, 0, 0, 0),
        "11-25": (1, 0, 0, 1),
        "合计": (3, 1, 1, 1),
    },
    # waits 120, 1200, 600, 60 s -> sorted 60 120 600 1200: p50 = 2nd = 120, p90 = 4th = 1200
    # first replies 180, 900, 120 s -> 120 180 900: p50 = 2nd = 180, p90 = 3rd = 900
    "waits_total": (120.0, 1200.0, 180.0, 900.0),
    "waits_11_23": (120.0, 1200.0, 180.0, 180.0),
    "reasons_total": {
        "user_request": 1,
        "emergency": 1,
        "complaint": 1,
        "not_understood": 1,
        "no_progress": 1,
    },
    "cases_by_state": {"open": 0, "called_back": 1, "fixed": 0, "explained": 1, "closed": 1},
    "least_understood": [
        ("那个啥来着", 2),
        ("嗯嗯啊", 1),
        ("我要办那个卡 138****5678", 1),
    ],
}


async def seed(session: AsyncSession) -> dict[str, int]:
    """Write the history; returns conversation ids by name."""
    ids: dict[str, int] = {}
    for name, channel in CONVERSATIONS.items():
        conversation = Conversation(
            sender_id=f"seed-{name}",
            channel=channel,
            profile={},
            created_at=local(20, 8),
            updated_at=local(20, 8),
        )
        session.add(conversation)
        await session.flush()
        ids[name] = conversation.id
    for name, when in USER_TURNS:
        session.add(
            Message(
                conversation_id=ids[name],
                role="user",
                text="你好",
                channel=CONVERSATIONS[name],
                created_at=when,
            )
        )
    for name, when, task in TASKS:
        session.add(
            TaskOutcome(
                conversation_id=ids[name],
                task=task,
                channel=CONVERSATIONS[name],
                created_at=when,
            )
        )
    for name, reason, queued, claimed, replied, ended, status in HANDOFFS:
        session.add(
            Handoff(
                conversation_id=ids[name],
                status=status,
                reason=reason,
                priority="normal",
                priority_rank=2,
                channel=CONVERSATIONS[name],
                queued_at=queued,
                claimed_at=claimed,
                ended_at=ended,
            )
        )
        if replied is not None:
            session.add(
                Message(
                    conversation_id=ids[name],
                    role="agent",
                    text="您好，我来帮您。",
                    channel=CONVERSATIONS[name],
                    created_at=replied,
                )
            )
    ratings: dict[str, Rating] = {}
    for rname, name, asked, level, abusive in RATINGS:
        rating = Rating(
            conversation_id=ids[name],
            channel=CONVERSATIONS[name],
            source=f"seed-{rname}",
            subject="bot",
            status="rated" if level is not None else "asked",
            level=level,
            created_at=asked,
            asked_at=asked,
            rated_at=asked + timedelta(seconds=30) if level is not None else None,
            abusive=abusive,
        )
        session.add(rating)
        ratings[rname] = rating
    await session.flush()
    for rname, opened, fix_due, resolved, state in CASES:
        rating = ratings[rname]
        session.add(
            Case(
                rating_id=rating.id,
                conversation_id=rating.conversation_id,
                channel=rating.channel,
                state=state,
                opened_at=opened,
                callback_due_at=opened + timedelta(hours=8),
                fix_due_at=fix_due,
                resolved_at=resolved,
            )
        )
    for name, text, kind, when in CANDIDATES:
        session.add(
            TrainingCandidate(
                conversation_id=ids[name],
                text=text,
                kind=kind,
                channel=CONVERSATIONS[name],
                created_at=when,
                status="pending",
            )
        )
    return ids


def make_supervisor(url: str, username: str = SUPERVISOR) -> None:
    """An account made a supervisor the way ``python -m bot.agents`` does it (its functions)."""
    add_agent(url, username)

    async def promote() -> None:
        database = Database(url)
        try:
            await set_role(database, username, AgentRole.SUPERVISOR)
        finally:
            await database.dispose()

    asyncio.run(promote())


async def seed_database(url: str) -> dict[str, int]:
    """Migrate the database at `url` and write the history into it."""
    database = Database(url)
    try:
        await database.upgrade()
        async with database.transaction() as session:
            return await seed(session)
    finally:
        await database.dispose()

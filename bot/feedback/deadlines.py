"""Deadline warnings for 差评必改 cases: flagged before they pass, overdue ones listed.

Each deadline (call-back, fix) is warned once, `warn_before` ahead: the case gets
``callback_warned_at`` / ``fix_warned_at`` and a WARNING log line (operators alert on
it). Overdue and due-soon cases are what `CaseDesk.overdue` returns for the supervisors'
queue and the dashboard; this watch only makes sure each warning is raised once, even
across restarts (the marks are in the database, not in memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from bot.store.db import Database
from bot.store.models import Case, CaseState, utcnow

logger = logging.getLogger(__name__)

_UNRESOLVED = (CaseState.OPEN.value, CaseState.CALLED_BACK.value)


async def warn_due(database: Database, warn_before: timedelta, now: datetime) -> list[int]:
    """Mark and log every deadline within `warn_before` not warned yet; the case ids."""
    horizon = now + warn_before
    warned: list[int] = []
    async with database.transaction() as session:
        cases = await session.scalars(
            select(Case).where(
                Case.state.in_(_UNRESOLVED),
                or_(
                    (Case.callback_warned_at.is_(None))
                    & Case.called_back_at.is_(None)
                    & (Case.callback_due_at <= horizon),
                    Case.fix_warned_at.is_(None) & (Case.fix_due_at <= horizon),
                ),
            )
        )
        for case in cases:
            callback_open = case.called_back_at is None and case.callback_warned_at is None
            if callback_open and case.callback_due_at <= horizon:
                case.callback_warned_at = now
                _log(case.id, "call-back", case.callback_due_at, now)
            if case.fix_warned_at is None and case.fix_due_at <= horizon:
                case.fix_warned_at = now
                _log(case.id, "fix", case.fix_due_at, now)
            warned.append(case.id)
    return warned


def _log(case_id: int, what: str, due: datetime, now: datetime) -> None:
    state = "overdue" if due <= now else "due soon"
    logger.warning("case %d %s deadline %s: %s", case_id, what, state, due.isoformat())


class DeadlineWatch:
    """Runs `warn_due` every `tick_s` seconds for the gateway's lifetime."""

    def __init__(self, database: Database, warn_before: timedelta, tick_s: float) -> None:
        self._db = database
        self._warn_before = warn_before
        self._tick_s = tick_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin checking (once at once, then every tick)."""
        self._task = asyncio.create_task(self._run(), name="case-deadlines")

    async def stop(self) -> None:
        """Stop checking; waits for the task to end."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await warn_due(self._db, self._warn_before, utcnow())
            except Exception:
                # A database hiccup must not end the watch; the next tick tries again.
                logger.warning("case deadline check failed", exc_info=True)
            await asyncio.sleep(self._tick_s)

"""A scheduled job in the gateway's lifespan, run by one replica at a time (`lease`).

Each tick the job takes (or renews) its lease and, if it got it, does its work with the
time of the tick. The clock is injected so tests can run a tick at any moment
(``await job.run_once(now)``) instead of waiting for one. The first run comes a minute
after start (or one tick, if shorter): a starting gateway has other things to do, and a
gateway restarted more often than its tick (an hourly purge) still runs the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.residents import lease
from bot.store.db import Database
from bot.store.models import utcnow

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Work = Callable[[datetime], Awaitable[object]]
FIRST_RUN_AFTER_S = 60.0


class PeriodicJob:
    """Runs `work(now)` every `every_s` seconds while this process holds the job's lease."""

    def __init__(
        self,
        name: str,
        database: Database,
        work: Work,
        every_s: float,
        *,
        clock: Clock = utcnow,
        holder: str | None = None,
    ) -> None:
        self.name = name
        self._db = database
        self._work = work
        self._every_s = every_s
        self._clock = clock
        self.holder = holder or uuid.uuid4().hex
        # Long enough to survive one slow run; short enough that a dead holder is replaced.
        self._ttl_s = max(3 * every_s, 60.0)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"job-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):  # a database gone at shutdown: the lease expires
            await lease.release(self._db, self.name, self.holder, self._clock())

    async def run_once(self, now: datetime | None = None) -> bool:
        """One tick: True when this process held the lease and did the work."""
        now = now if now is not None else self._clock()
        if not await lease.acquire(self._db, self.name, self.holder, self._ttl_s, now):
            return False
        await self._work(now)
        return True

    async def _loop(self) -> None:
        delay = min(self._every_s, FIRST_RUN_AFTER_S)
        while True:
            await asyncio.sleep(delay)
            delay = self._every_s
            try:
                await self.run_once()
            except Exception:  # keep the schedule; the next tick tries again
                logger.exception("job %s failed", self.name)

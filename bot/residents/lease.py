"""One runner across gateway replicas: a lease row with an expiry in the gateway database.

Every replica starts the same scheduled jobs; before each run a job takes its lease
(``job_leases``: name, holder, expires_at). The holder renews it with each run; another
replica takes it only once it has expired, i.e. when the holder stopped or died. Taking
it is one guarded UPDATE (holder is me, or the lease expired) and, for a lease that does
not exist yet, an INSERT whose primary key lets only one replica win — plain SQL that
works on SQLite (writes are serialised) and PostgreSQL (the row lock makes the second
UPDATE re-check its WHERE) without Redis.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.models import JobLease

logger = logging.getLogger(__name__)


async def acquire(database: Database, name: str, holder: str, ttl_s: float, now: datetime) -> bool:
    """Take or renew lease `name` for `holder` until `now + ttl_s`; False: someone else has it."""
    until = now + timedelta(seconds=ttl_s)
    async with database.transaction() as session:
        result = await session.execute(
            update(JobLease)
            .where(JobLease.name == name)
            .where(or_(JobLease.holder == holder, JobLease.expires_at < now))
            .values(holder=holder, expires_at=until)
        )
        assert isinstance(result, CursorResult)
        if result.rowcount == 1:
            return True
        if await session.get(JobLease, name) is not None:
            return False
    try:
        async with database.transaction() as session:
            session.add(JobLease(name=name, holder=holder, expires_at=until))
    except IntegrityError:
        return False  # another replica created it a moment ago
    logger.info("job lease %s taken by %s", name, holder)
    return True


async def release(database: Database, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at shutdown so another replica need not wait for it to expire."""
    async with database.transaction() as session:
        await session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(expires_at=now)
        )

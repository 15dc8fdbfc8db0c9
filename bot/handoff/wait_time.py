"""Estimated wait for a queued user, from how long agents recently took per conversation.

The model is deliberately simple so it can be explained to staff: with ``k`` agents
recently at work, each spending ``h`` seconds per conversation on average, position
``p`` waits about ``p * h / k``. With no history yet, ``h`` is the configured default
(``GATEWAY_DEFAULT_HANDLING_S``) and ``k`` is 1, which errs on the side of a longer
estimate: being served earlier than announced is the pleasant surprise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Handoff

RECENT_REQUESTS = 50
ACTIVE_AGENT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class HandlingStats:
    """Recent handling time per conversation and how many agents shared the work."""

    mean_handling_s: float | None
    agents: int


def estimate_wait_s(position: int, stats: HandlingStats, default_handling_s: float) -> float:
    """Seconds until position `position` (1 = next) is likely to be served."""
    handling = stats.mean_handling_s if stats.mean_handling_s else default_handling_s
    return max(1, position) * handling / max(1, stats.agents)


async def handling_stats(session: AsyncSession, now: datetime) -> HandlingStats:
    """Mean claim-to-end time of the last finished requests, and agents active lately."""
    finished = await session.execute(
        select(Handoff.claimed_at, Handoff.ended_at)
        .where(Handoff.claimed_at.is_not(None), Handoff.ended_at.is_not(None))
        .order_by(Handoff.ended_at.desc())
        .limit(RECENT_REQUESTS)
    )
    durations = [
        (ended - claimed).total_seconds()
        for claimed, ended in finished
        if claimed is not None and ended is not None
    ]
    agents = await session.scalar(
        select(func.count(func.distinct(Handoff.claimed_by))).where(
            Handoff.claimed_at >= now - ACTIVE_AGENT_WINDOW
        )
    )
    mean = sum(durations) / len(durations) if durations else None
    return HandlingStats(mean_handling_s=mean, agents=int(agents or 0))

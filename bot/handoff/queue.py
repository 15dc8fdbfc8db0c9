"""The handoff queue: requests for a human, their order, and the atomic claim.

Order: ``urgent`` (emergency) before ``high`` (elderly or disabled user, repeated
failure, complaint) before ``normal``; first come, first served within a priority.

Claiming must have exactly one winner when two agents click at the same moment. On
PostgreSQL the row is taken with ``SELECT … FOR UPDATE SKIP LOCKED``: the winner locks
it, and a concurrent claimer skips it instead of queueing behind the lock. A skipped
row is not necessarily taken (another transaction may hold it for a moment, e.g. to
note a position), so the loser then settles it with the same guarded ``UPDATE … WHERE
status = 'waiting'`` that SQLite uses: that statement waits for the lock and re-checks
the status, and its row count says who won. SQLite has one writer at a time, so the
guarded update alone is atomic there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, cast, get_args

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import BotReply
from bot.store.models import ACTIVE_STATUSES, Conversation, Handoff, HandoffStatus, utcnow
from bot.views import Priority, Profile

logger = logging.getLogger(__name__)

PRIORITY_RANK: dict[Priority, int] = {"urgent": 0, "high": 1, "normal": 2}
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
# Reasons that deserve a person sooner whatever priority the bot asked for.
URGENT_REASONS = frozenset({"emergency"})
HIGH_REASONS = frozenset({"complaint", "verification_failed", "repeated_failure"})
MAX_REASON_CHARS = 64


@dataclass(frozen=True)
class HandoffRequest:
    """What the bot asked for in a reply's ``custom.handoff`` payload."""

    reason: str
    priority: Priority

    @classmethod
    def from_replies(cls, replies: Iterable[BotReply]) -> HandoffRequest | None:
        """The most pressing handoff the bot's answer asks for, if any."""
        requests = [
            request
            for reply in replies
            if reply.custom is not None
            and (request := cls.from_payload(reply.custom.get("handoff"))) is not None
        ]
        return min(requests, key=lambda r: PRIORITY_RANK[r.priority], default=None)

    @classmethod
    def from_payload(cls, payload: Any) -> HandoffRequest | None:
        """Read ``{"reason", "priority"}`` leniently: a handoff is never dropped for its form."""
        if payload is None or payload is False:
            return None
        data: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
        reason = data.get("reason")
        priority = data.get("priority")
        if not isinstance(reason, str) or not reason.strip():
            reason = "unspecified"
        if priority not in PRIORITIES:
            if priority is not None:
                logger.warning("unknown handoff priority %r, using normal", priority)
            priority = "normal"
        return cls(reason=reason.strip()[:MAX_REASON_CHARS], priority=cast(Priority, priority))


def effective_priority(request: HandoffRequest, profile: Profile) -> Priority:
    """The bot's priority, raised for emergencies, complaints and vulnerable users."""
    candidates: list[Priority] = [request.priority]
    if request.reason in URGENT_REASONS:
        candidates.append("urgent")
    if request.reason in HIGH_REASONS or profile.elder_mode or profile.screen_reader:
        candidates.append("high")
    return min(candidates, key=PRIORITY_RANK.__getitem__)


def _queue_order() -> tuple[Any, ...]:
    return (Handoff.priority_rank, Handoff.queued_at, Handoff.id)


async def active_for(session: AsyncSession, conversation_id: int) -> Handoff | None:
    """The conversation's open request (waiting or claimed): while there is one, people answer."""
    result: Handoff | None = await session.scalar(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status.in_(ACTIVE_STATUSES)
        )
    )
    return result


async def latest_for(session: AsyncSession, conversation_id: int) -> Handoff | None:
    """The conversation's most recent request, open or not."""
    result: Handoff | None = await session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(Handoff.id.desc())
        .limit(1)
    )
    return result


async def enqueue(
    session: AsyncSession, conversation: Conversation, request: HandoffRequest, channel: str
) -> Handoff:
    """Queue the conversation, or return its open request if it already has one."""
    existing = await active_for(session, conversation.id)
    if existing is not None:
        return existing
    priority = effective_priority(request, Profile.model_validate(conversation.profile))
    handoff = Handoff(
        conversation_id=conversation.id,
        status=HandoffStatus.WAITING.value,
        reason=request.reason,
        priority=priority,
        priority_rank=PRIORITY_RANK[priority],
        channel=channel,
        queued_at=utcnow(),
        callback_state="none",
    )
    try:
        async with session.begin_nested():
            session.add(handoff)
    except IntegrityError:
        # Another gateway process queued this conversation a moment ago.
        existing = await active_for(session, conversation.id)
        assert existing is not None
        return existing
    logger.info(
        "queued handoff=%d conversation=%d reason=%s priority=%s",
        handoff.id,
        conversation.id,
        handoff.reason,
        priority,
    )
    return handoff


async def waiting(session: AsyncSession) -> list[tuple[Handoff, Conversation]]:
    """Every waiting request with its conversation, in queue order (position = index + 1)."""
    rows = await session.execute(
        select(Handoff, Conversation)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(Handoff.status == HandoffStatus.WAITING)
        .order_by(*_queue_order())
    )
    return list(rows)


async def position_of(session: AsyncSession, handoff: Handoff) -> int:
    """1 + how many waiting requests come before this one."""
    ahead = await session.scalar(
        select(func.count())
        .select_from(Handoff)
        .where(
            Handoff.status == HandoffStatus.WAITING,
            Handoff.id != handoff.id,
            or_(
                Handoff.priority_rank < handoff.priority_rank,
                and_(
                    Handoff.priority_rank == handoff.priority_rank,
                    or_(
                        Handoff.queued_at < handoff.queued_at,
                        and_(Handoff.queued_at == handoff.queued_at, Handoff.id < handoff.id),
                    ),
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


class ClaimOutcome(Enum):
    """How a claim ended: won, lost to someone else, or nothing was waiting."""

    CLAIMED = "claimed"
    TAKEN = "taken"
    NOTHING = "nothing"


async def claim(
    session: AsyncSession, conversation_id: int, agent_id: int, *, skip_locked: bool
) -> tuple[ClaimOutcome, Handoff | None]:
    """Give the conversation's waiting request to `agent_id`, if nobody else got it first.

    `skip_locked` is True on PostgreSQL (see the module docstring).
    """
    now = utcnow()
    if skip_locked:
        row: Handoff | None = await session.scalar(
            select(Handoff)
            .where(
                Handoff.conversation_id == conversation_id,
                Handoff.status == HandoffStatus.WAITING,
            )
            .with_for_update(skip_locked=True)
        )
        if row is not None:
            row.status = HandoffStatus.CLAIMED.value
            row.claimed_by = agent_id
            row.claimed_at = now
            await session.flush()
            return ClaimOutcome.CLAIMED, row
    guarded = (
        update(Handoff)
        .where(
            Handoff.conversation_id == conversation_id,
            Handoff.status == HandoffStatus.WAITING,
        )
        .values(status=HandoffStatus.CLAIMED.value, claimed_by=agent_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(guarded)
    won = cast(int, getattr(result, "rowcount", 0)) == 1
    current = await active_for(session, conversation_id)
    if won and current is not None:
        await session.refresh(current)
        return ClaimOutcome.CLAIMED, current
    return (ClaimOutcome.TAKEN if current is not None else ClaimOutcome.NOTHING), current


async def finish(session: AsyncSession, handoff: Handoff, status: HandoffStatus) -> None:
    """End an open request (handed back, closed or cancelled); the caller checked who may."""
    handoff.status = status.value
    handoff.ended_at = utcnow()
    await session.flush()


def waiting_seconds(handoff: Handoff, now: datetime) -> float:
    """How long the request has been waiting (or waited, once claimed)."""
    end = handoff.claimed_at or now
    return max(0.0, (end - handoff.queued_at).total_seconds())

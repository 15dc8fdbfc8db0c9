"""Learning from misses: the review of what the bot did not understand.

`bot.reports.recording` keeps each missed user turn as a pending candidate, masked. A
supervisor sees it with what the agent then said (the resolution: often the best hint of
what the resident wanted), picks the intent from the domain's list, may edit the words
(personal numbers are masked again whatever is typed), and accepts or drops it. Only
accepted candidates are ever exported to training data (`bot.reports.reviewed`), so
nothing is learned that a person did not approve. Every decision is audited.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import AgentIdentity
from bot.errors import ErrorCode, InvalidRequest, NotFound
from bot.privacy.masking import mask_pii
from bot.reports.domain_info import intents
from bot.reports.recording import CandidateStatus
from bot.store.audit import AuditAction, record
from bot.store.models import Handoff, Message, Role, TrainingCandidate, utcnow

MAX_EXAMPLE_CHARS = 200
RESOLUTION_TURNS = 3
PAGE = 50


class CandidateView(BaseModel):
    """One missed utterance as the review screen shows it (everything masked)."""

    id: int
    text: str
    kind: str
    reason: str | None
    channel: str
    created_at: datetime
    conversation_id: int
    resolution: list[str]


class ReviewQueue(BaseModel):
    """The review screen: the intents to choose from and the pending candidates."""

    intents: list[str]
    candidates: list[CandidateView]
    pending: int


def clean_example(text: str) -> str:
    """The words as they may enter training data: one line, spaces squeezed, numbers masked,
    and no brackets (Rasa would read ``[words](entity)`` as an entity annotation)."""
    return mask_pii(re.sub(r"\s+", " ", re.sub(r"[\[\]{}]", " ", text)).strip())


async def _resolution(session: AsyncSession, candidate: TrainingCandidate) -> list[str]:
    """What agents wrote in the handoff that followed the missed turn (masked)."""
    after = candidate.message_id or 0
    handoff_start = await session.scalar(
        select(Handoff.queued_at)
        .where(
            Handoff.conversation_id == candidate.conversation_id,
            Handoff.queued_at >= candidate.created_at,
        )
        .order_by(Handoff.queued_at)
        .limit(1)
    )
    statement = (
        select(Message.text)
        .where(
            Message.conversation_id == candidate.conversation_id,
            Message.role == Role.AGENT.value,
            Message.id > after,
        )
        .order_by(Message.id)
        .limit(RESOLUTION_TURNS)
    )
    if handoff_start is None:
        return []  # nobody took over: there is no resolution to show
    return [mask_pii(text) for text in await session.scalars(statement) if text]


async def review_queue(session: AsyncSession, limit: int = PAGE) -> ReviewQueue:
    """The oldest pending candidates first (they have waited longest)."""
    pending = list(
        await session.scalars(
            select(TrainingCandidate)
            .where(TrainingCandidate.status == CandidateStatus.PENDING.value)
            .order_by(TrainingCandidate.created_at, TrainingCandidate.id)
        )
    )
    views = [
        CandidateView(
            id=c.id,
            text=c.text,
            kind=c.kind,
            reason=c.reason,
            channel=c.channel,
            created_at=c.created_at,
            conversation_id=c.conversation_id,
            resolution=await _resolution(session, c),
        )
        for c in pending[:limit]
    ]
    return ReviewQueue(intents=list(intents()), candidates=views, pending=len(pending))


async def _pending(session: AsyncSession, candidate_id: int) -> TrainingCandidate:
    candidate = await session.scalar(
        select(TrainingCandidate).where(TrainingCandidate.id == candidate_id).with_for_update()
    )
    if candidate is None or candidate.status != CandidateStatus.PENDING.value:
        raise NotFound(ErrorCode.NOT_FOUND)
    return candidate


async def accept(
    session: AsyncSession,
    candidate_id: int,
    intent: str,
    text: str | None,
    reviewer: AgentIdentity,
) -> None:
    """Accept a candidate as an example of `intent`, with the (re-masked) words `text`."""
    if intent not in intents():
        raise InvalidRequest()
    candidate = await _pending(session, candidate_id)
    words = clean_example(text if text is not None else candidate.text)
    if not words or len(words) > MAX_EXAMPLE_CHARS:
        raise InvalidRequest()
    candidate.text = words
    candidate.intent = intent
    candidate.status = CandidateStatus.ACCEPTED.value
    candidate.reviewed_by = reviewer.id
    candidate.reviewed_at = utcnow()
    record(
        session,
        AuditAction.REVIEW_CANDIDATE,
        agent_id=reviewer.id,
        conversation_id=candidate.conversation_id,
        detail={"candidate": candidate.id, "decision": "accepted", "intent": intent},
    )


async def drop(session: AsyncSession, candidate_id: int, reviewer: AgentIdentity) -> None:
    """Drop a candidate: it never becomes training data."""
    candidate = await _pending(session, candidate_id)
    candidate.status = CandidateStatus.DROPPED.value
    candidate.reviewed_by = reviewer.id
    candidate.reviewed_at = utcnow()
    record(
        session,
        AuditAction.REVIEW_CANDIDATE,
        agent_id=reviewer.id,
        conversation_id=candidate.conversation_id,
        detail={"candidate": candidate.id, "decision": "dropped"},
    )

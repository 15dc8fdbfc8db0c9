"""What each answered turn leaves for the dashboard and the review of misses.

The hub calls `record_turn` once per turn the bot answered, in the same transaction that
stored the replies, so a figure never counts a turn that was rolled back. It reads the
replies back from the transcript (the rows after the user's turn) rather than taking them
as arguments, which keeps the hub's hook to one line.

- A reply with ``custom.task_done`` is a `TaskOutcome` (问题解决率).
- A user turn the bot missed becomes a pending `TrainingCandidate`, masked: answered by a
  fallback reply (``custom.not_understood`` or one of the domain's fallback texts), handed
  to people for any reason but an explicit request (the bot understood 转人工 perfectly),
  or heard with a low recogniser confidence. Button payloads (``/affirm``) are not words a
  resident said and are never candidates. Nothing becomes training data from here: a
  supervisor accepts or drops each candidate (`bot.reports.misses`).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.privacy.masking import mask_pii
from bot.reply_custom import handoff_reason_in, not_understood_in, task_done_in
from bot.reports.domain_info import fallback_texts
from bot.store.models import (
    Conversation,
    Message,
    TaskOutcome,
    TrainingCandidate,
    utcnow,
)
from bot.store.transcript import LOW_CONFIDENCE_BELOW

# Reasons that say nothing about understanding: the resident asked for a person.
_EXPLICIT_HANDOFFS = frozenset({"user_request"})


class MissKind(StrEnum):
    """Why a user turn is a training candidate."""

    FALLBACK = "fallback"
    HANDOFF = "handoff"
    LOW_CONFIDENCE = "low_confidence"


class CandidateStatus(StrEnum):
    """A candidate waits for a person: pending -> accepted (with an intent) / dropped."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DROPPED = "dropped"


def classify_miss(
    turn: Message, replies: Sequence[Message], fallbacks: frozenset[str]
) -> tuple[MissKind, str | None] | None:
    """Whether (and why) the bot missed `turn`, judged from the `replies` that answered it."""
    text = (turn.text or "").strip()
    if not text or text.startswith("/"):
        return None
    for reply in replies:
        if not_understood_in(reply.custom) or (reply.text or "") in fallbacks:
            return MissKind.FALLBACK, None
    for reply in replies:
        reason = handoff_reason_in(reply.custom)
        if reason is not None and reason not in _EXPLICIT_HANDOFFS:
            return MissKind.HANDOFF, reason
    if turn.asr_confidence is not None and turn.asr_confidence < LOW_CONFIDENCE_BELOW:
        return MissKind.LOW_CONFIDENCE, None
    return None


async def record_turn(
    session: AsyncSession, conversation: Conversation, turn: Message, replies: Sequence[Message]
) -> None:
    """Record task ends and a missed utterance for the turn `turn`, answered by the stored
    bot messages `replies` (see the module doc)."""
    now = utcnow()
    for reply in replies:
        done = task_done_in(reply.custom)
        if done is not None:
            session.add(
                TaskOutcome(
                    conversation_id=conversation.id,
                    message_id=reply.id,
                    task=done.task,
                    service=done.service,
                    channel=turn.channel,
                    created_at=now,
                )
            )
    miss = classify_miss(turn, replies, fallback_texts())
    if miss is not None:
        kind, reason = miss
        session.add(
            TrainingCandidate(
                conversation_id=conversation.id,
                message_id=turn.id,
                text=mask_pii(turn.text or ""),
                kind=kind.value,
                reason=reason,
                channel=turn.channel,
                asr_confidence=turn.asr_confidence,
                created_at=now,
                status=CandidateStatus.PENDING.value,
            )
        )

"""The gateway's side of 好差评 in a turn: ask once after a task ended, read the answer first.

The hub calls two hooks (see `bot.hub`):

- `RatingFlow.answer`, before a turn goes to Rasa: while a rating (or a 差评's reason, or
  a 追评) is asked, the resident's turn is read here first. A rating word is stored and
  answered here; anything else goes on to Rasa as usual and the rating counts as
  skipped, so the resident is never asked twice for one task and never pressed.
- `RatingFlow.after_reply`, after Rasa answered: a reply carrying ``custom.task_done``
  leaves a *pending* rating; the first turn whose replies leave no question open
  (no ``custom.expect``, no handoff) asks it. The same hook shows a kiosk resident who
  identifies themselves (``custom.resident.ref``) the result of an earlier case.

When an agent closes a conversation, `ask_after_close` asks about the agent's help.
No code path changes a level once given: a rating is written once, in `_rate`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bus.outbox import Outbox
from bot.feedback import texts
from bot.feedback.cases import CaseRules, open_case, untold_cases_of_resident
from bot.feedback.rating_words import BUTTON_ORDER, SPOKEN_OPTIONS, Level, read_rating
from bot.messages import BotReply, Button, UserMessage
from bot.privacy.masking import mask_pii
from bot.reply_custom import open_question_in, resident_ref_in, task_done_in
from bot.store.models import (
    Case,
    Conversation,
    Handoff,
    RatedSubject,
    Rating,
    RatingStatus,
    utcnow,
)

logger = logging.getLogger(__name__)

# Typed or said to rate later, on any channel (Telegram's /rate command sends this too).
RATE_LATER_WORDS = frozenset({"评价", "我要评价", "打分", "我要打分", "/rate"})
_MAX_REASON_CHARS = 500
_VOICE_CHANNELS = frozenset({"kiosk", "voice"})


@dataclass(frozen=True)
class FeedbackRules:
    """The settings the rating flow needs (built from `bot.settings.Settings`)."""

    rating_window: timedelta
    cases: CaseRules


def rating_buttons() -> list[Button]:
    """The five levels as buttons whose titles are the words (payload: the same words)."""
    return [Button(title=words, payload=words) for words in BUTTON_ORDER]


def rating_custom(rating_id: int, kind: str = "rating") -> dict[str, object]:
    """Machine-readable part of a rating question: what it is (for channels and tests) and
    what it expects, so the kiosk listens for the five levels (`voice.expectations`)."""
    return {
        "feedback": {"kind": kind, "id": rating_id},
        "expect": {"kind": "choice", "options": list(SPOKEN_OPTIONS)},
    }


class RatingFlow:
    """Both hooks of the hub; built once by the composition root."""

    def __init__(self, rules: FeedbackRules) -> None:
        self._rules = rules

    async def answer(
        self,
        session: AsyncSession,
        conversation: Conversation,
        message: UserMessage,
        outbox: Outbox,
    ) -> list[BotReply] | None:
        """Replies if this turn answered a rating question (or asked to rate); else None."""
        now = utcnow()
        text = message.text.strip()
        waiting = await _awaiting(session, conversation.id)
        if waiting.reason_for is not None:
            reason_for = await session.get_one(Rating, waiting.reason_for)
            return await self._take_reason(session, conversation, reason_for, text, outbox)
        if waiting.followup is not None:
            followup = await session.get_one(Case, waiting.followup)
            return await self._take_followup(session, conversation, followup, text, outbox)
        if waiting.asked is not None:
            asked = await session.get_one(Rating, waiting.asked)
            return await self._take_rating(session, conversation, asked, message, outbox, now)
        if text.split("@", 1)[0] in RATE_LATER_WORDS:  # /rate@our_bot in a Telegram chat
            return await self._ask_again(session, conversation, outbox, now)
        return None

    async def after_reply(
        self,
        session: AsyncSession,
        conversation: Conversation,
        turn_id: int,
        replies: Sequence[BotReply],
        outbox: Outbox,
    ) -> list[BotReply]:
        """Extra replies for this turn: a kiosk resident's case result, a rating question."""
        now = utcnow()
        ref = next((r for reply in replies if (r := resident_ref_in(reply.custom))), None)
        for index, reply in enumerate(replies):
            done = task_done_in(reply.custom)
            if done is None:
                continue
            session.add(
                Rating(
                    conversation_id=conversation.id,
                    channel=conversation.channel,
                    source=f"t{turn_id}" if index == 0 else f"t{turn_id}.{index}",
                    subject=RatedSubject.BOT.value,
                    task=done.task,
                    service=done.service,
                    resident_ref=ref,
                    status=RatingStatus.PENDING.value,
                    created_at=now,
                )
            )
        await session.flush()
        extra: list[BotReply] = []
        if ref is not None:
            await _link_resident(session, conversation.id, ref)
            extra += await self._tell_kiosk_resident(session, conversation, ref, outbox, now)
        question_open = any(
            open_question_in(reply.custom) or (reply.custom or {}).get("handoff")
            for reply in replies
        )
        if not question_open and not extra:
            extra += await self._ask_pending(session, conversation, outbox, now)
        return extra

    async def _ask_pending(
        self, session: AsyncSession, conversation: Conversation, outbox: Outbox, now: datetime
    ) -> list[BotReply]:
        """Ask the newest pending rating; older pending ones of the conversation are skipped."""
        pending = list(
            await session.scalars(
                select(Rating)
                .where(
                    Rating.conversation_id == conversation.id,
                    Rating.status == RatingStatus.PENDING.value,
                )
                .order_by(Rating.id.desc())
            )
        )
        if not pending:
            return []
        newest, older = pending[0], pending[1:]
        for rating in older:
            rating.status = RatingStatus.SKIPPED.value
        if now - newest.created_at > self._rules.rating_window:
            newest.status = RatingStatus.SKIPPED.value
            return []
        return [await _ask(session, conversation, newest, outbox, now)]

    async def _take_rating(
        self,
        session: AsyncSession,
        conversation: Conversation,
        rating: Rating,
        message: UserMessage,
        outbox: Outbox,
        now: datetime,
    ) -> list[BotReply] | None:
        read = read_rating(message.text)
        if read is None:
            # Not an answer: the turn goes on to Rasa; the question is not repeated.
            rating.status = RatingStatus.SKIPPED.value
            return None
        if read.answer.level is None:
            rating.status = RatingStatus.SKIPPED.value
            return [await _say(outbox, session, conversation, texts.SKIPPED)]
        via = "voice" if message.channel in _VOICE_CHANNELS else "text"
        return await self._rate(
            session, conversation, rating, read.answer.level, read.rest, via, outbox, now
        )

    async def _rate(
        self,
        session: AsyncSession,
        conversation: Conversation,
        rating: Rating,
        level: Level,
        reason: str,
        via: str,
        outbox: Outbox,
        now: datetime,
    ) -> list[BotReply]:
        """Write the level (once: only asked/pending/skipped ratings get here)."""
        rating.status = RatingStatus.RATED.value
        rating.level = int(level)
        rating.rated_at = now
        rating.rated_via = via
        if not level.is_bad:
            return [await _say(outbox, session, conversation, texts.THANKS)]
        if reason:
            rating.reason = mask_pii(reason)[:_MAX_REASON_CHARS]
        await session.flush()
        await open_case(session, rating, self._rules.cases, now)
        if reason:
            return [await _say(outbox, session, conversation, texts.THANKS_BAD)]
        rating.reason_asked_at = now
        return [
            await _say(
                outbox,
                session,
                conversation,
                texts.ASK_REASON,
                buttons=[Button(title=texts.SKIP_WORD, payload=texts.SKIP_WORD)],
                custom={"feedback": {"kind": "reason", "id": rating.id}},
            )
        ]

    async def _take_reason(
        self,
        session: AsyncSession,
        conversation: Conversation,
        rating: Rating,
        text: str,
        outbox: Outbox,
    ) -> list[BotReply]:
        """The turn after 哪里不满意？ is the reason (masked), unless it is a skip."""
        rating.reason_asked_at = None
        read = read_rating(text)
        if text and not (read is not None and read.answer.skipped):
            rating.reason = mask_pii(text)[:_MAX_REASON_CHARS]
        return [await _say(outbox, session, conversation, texts.THANKS_BAD)]

    async def _take_followup(
        self,
        session: AsyncSession,
        conversation: Conversation,
        case: Case,
        text: str,
        outbox: Outbox,
    ) -> list[BotReply] | None:
        """A 追评: once, read like a rating; anything else closes the offer and goes on."""
        now = utcnow()
        case.followup_at = now
        read = read_rating(text)
        if read is None:
            return None
        if read.answer.level is None:
            return [await _say(outbox, session, conversation, texts.SKIPPED)]
        case.followup_level = int(read.answer.level)
        logger.info("case %d followup level=%d", case.id, case.followup_level)
        return [await _say(outbox, session, conversation, texts.THANKS)]

    async def _ask_again(
        self, session: AsyncSession, conversation: Conversation, outbox: Outbox, now: datetime
    ) -> list[BotReply]:
        """评价 / /rate: the resident asks to rate their latest unrated task in the window."""
        rating = await ratable(session, conversation.id, now - self._rules.rating_window)
        if rating is None:
            return [await _say(outbox, session, conversation, texts.NOTHING_TO_RATE)]
        return [await _ask(session, conversation, rating, outbox, now)]

    async def _tell_kiosk_resident(
        self,
        session: AsyncSession,
        conversation: Conversation,
        ref: str,
        outbox: Outbox,
        now: datetime,
    ) -> list[BotReply]:
        """A card with an earlier case's result, the next time the resident identifies."""
        told: list[BotReply] = []
        for case in await untold_cases_of_resident(session, ref):
            case.resident_told_at = now
            # The 追评 is read in the conversation that is talking now, not the case's own.
            case.followup_asked_at = now
            case.followup_conversation_id = conversation.id
            told.append(
                await _say(
                    outbox,
                    session,
                    conversation,
                    texts.result_told(case.resolution or "") + texts.ASK_FOLLOWUP,
                    buttons=rating_buttons(),
                    custom=rating_custom(case.id, "case_result"),
                )
            )
        return told


async def ratable(session: AsyncSession, conversation_id: int, since: datetime) -> Rating | None:
    """The newest not-yet-rated rating of a conversation, created after `since`."""
    result: Rating | None = await session.scalar(
        select(Rating)
        .where(
            Rating.conversation_id == conversation_id,
            Rating.status.in_(
                [RatingStatus.PENDING.value, RatingStatus.SKIPPED.value, RatingStatus.ASKED.value]
            ),
            Rating.created_at >= since,
        )
        .order_by(Rating.id.desc())
        .limit(1)
    )
    return result


async def rate_later(
    session: AsyncSession, rating: Rating, level: Level, reason: str, rules: FeedbackRules
) -> bool:
    """A rating given after the question (web chat endpoint); False if it cannot be given.

    A rated rating stays as it is: no one, the resident included, changes a level given.
    """
    now = utcnow()
    if rating.status == RatingStatus.RATED.value or now - rating.created_at > rules.rating_window:
        return False
    rating.status = RatingStatus.RATED.value
    rating.level = int(level)
    rating.rated_at = now
    rating.rated_via = "later"
    if level.is_bad:
        if reason:
            rating.reason = mask_pii(reason)[:_MAX_REASON_CHARS]
        await session.flush()
        await open_case(session, rating, rules.cases, now)
    return True


async def ask_after_close(
    session: AsyncSession, conversation: Conversation, handoff: Handoff, outbox: Outbox
) -> None:
    """An agent closed the conversation: ask about the agent's help, on the user's channel.

    Pending bot ratings of the conversation are dropped: one question per ending.
    """
    await session.execute(
        update(Rating)
        .where(
            Rating.conversation_id == conversation.id,
            Rating.status.in_([RatingStatus.PENDING.value, RatingStatus.ASKED.value]),
        )
        .values(status=RatingStatus.SKIPPED.value)
    )
    rating = Rating(
        conversation_id=conversation.id,
        channel=conversation.channel,
        source=f"h{handoff.id}",
        subject=RatedSubject.AGENT.value,
        handoff_id=handoff.id,
        agent_id=handoff.claimed_by,
        status=RatingStatus.PENDING.value,
        created_at=utcnow(),
    )
    session.add(rating)
    await session.flush()
    await _ask(session, conversation, rating, outbox, utcnow(), in_turn=False)


async def _ask(
    session: AsyncSession,
    conversation: Conversation,
    rating: Rating,
    outbox: Outbox,
    now: datetime,
    *,
    in_turn: bool = True,
) -> BotReply:
    """Put the rating question out and mark the rating asked."""
    rating.status = RatingStatus.ASKED.value
    rating.asked_at = rating.asked_at or now
    return await _say(
        outbox,
        session,
        conversation,
        texts.ASK_RATING,
        buttons=rating_buttons(),
        custom=rating_custom(rating.id),
    )


async def _say(
    outbox: Outbox,
    session: AsyncSession,
    conversation: Conversation,
    text: str,
    *,
    buttons: list[Button] | None = None,
    custom: dict[str, object] | None = None,
) -> BotReply:
    """Store a bot sentence in the transcript (published with the turn) and return it."""
    await outbox.say(session, conversation, text, buttons=buttons, custom=custom)
    return BotReply(recipient_id=conversation.sender_id, text=text, buttons=buttons, custom=custom)


@dataclass(frozen=True)
class _Awaiting:
    """Which question of ours this conversation's next words may answer, newest first
    (ids; None: not asked). In this order of precedence: why a low rating, a case's
    follow-up, the rating itself."""

    reason_for: int | None
    followup: int | None
    asked: int | None


async def _awaiting(session: AsyncSession, conversation_id: int) -> _Awaiting:
    """One query for the three questions: it runs before every turn of every resident,
    and almost always finds none."""
    reason_for = select(func.max(Rating.id)).where(
        Rating.conversation_id == conversation_id, Rating.reason_asked_at.is_not(None)
    )
    followup = select(func.max(Case.id)).where(
        Case.followup_asked_at.is_not(None),
        Case.followup_at.is_(None),
        Case.followup_conversation_id == conversation_id,
    )
    asked = select(func.max(Rating.id)).where(
        Rating.conversation_id == conversation_id, Rating.status == RatingStatus.ASKED.value
    )
    row = (
        await session.execute(
            select(
                reason_for.scalar_subquery(), followup.scalar_subquery(), asked.scalar_subquery()
            )
        )
    ).one()
    return _Awaiting(reason_for=row[0], followup=row[1], asked=row[2])


async def _link_resident(session: AsyncSession, conversation_id: int, ref: str) -> None:
    """Remember who the registry said this is, on the conversation's ratings and cases."""
    await session.execute(
        update(Rating)
        .where(Rating.conversation_id == conversation_id, Rating.resident_ref.is_(None))
        .values(resident_ref=ref)
    )
    await session.execute(
        update(Case)
        .where(Case.conversation_id == conversation_id, Case.resident_ref.is_(None))
        .values(resident_ref=ref)
    )

"""The hub's after-turn hook for residents: who was identified, consent, 删除我的记录.

Called inside the hub's transaction after Rasa answered (`bot.hub.ConversationHub`):

- ``custom.resident``: the ref (never an ID number) and its due date are stored, and the
  sender is linked to it — a Telegram chat becomes a way to reach the resident later;
- ``custom.reminders.consent``: applies to this turn's resident, else to the one last
  identified in this conversation, else (an opt-out only) to the sender itself;
- a resident identified in this turn whose authentication is due within the reminder
  window gets the reminder as one more reply of this very turn (web chat and kiosk
  sessions cannot be reached later), once per due date like every reminder;
- ``custom.forget_me``: the sender's conversations (and those of every sender linked to
  the same resident) are deleted now, this turn included (`retention.forget_sender`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import BotReply
from bot.privacy.masking import mask_pii
from bot.reply_custom import ResidentInfo, forget_me_in, reminders_consent_in, resident_in
from bot.residents.jobs import Clock
from bot.residents.reminders import ReminderChannel, ReminderPolicy, reminder_reply
from bot.residents.retention import forget_sender
from bot.store.models import (
    Conversation,
    ReminderOptOut,
    ReminderSent,
    Resident,
    ResidentSender,
    utcnow,
)

logger = logging.getLogger(__name__)


class ResidentTurns:
    """Stateless rules over the hub's session; one instance per hub."""

    def __init__(self, policy: ReminderPolicy | None = None, clock: Clock = utcnow) -> None:
        self._policy = policy or ReminderPolicy()
        self._clock = clock

    async def forgets(
        self, session: AsyncSession, conversation: Conversation, replies: Sequence[BotReply]
    ) -> bool:
        """Delete everything of this sender when the turn confirmed 删除我的记录."""
        if not any(forget_me_in(reply.custom) for reply in replies):
            return False
        deleted = await forget_sender(session, conversation.sender_id)
        logger.info(
            "forget_me sender=%r: %d conversations deleted",
            mask_pii(conversation.sender_id),
            deleted,
        )
        return True

    async def after_turn(
        self,
        session: AsyncSession,
        conversation: Conversation,
        replies: Sequence[BotReply],
        *,
        handoff: bool = False,
    ) -> list[BotReply]:
        """Record what the replies say about residents; the replies to add to this turn."""
        resident: ResidentInfo | None = None
        consent: bool | None = None
        for reply in replies:
            resident = resident_in(reply.custom) or resident
            given = reminders_consent_in(reply.custom)
            consent = given if given is not None else consent
        if resident is None and consent is None:
            return []
        now = self._clock()
        sender = conversation.sender_id
        row = None
        if resident is not None:
            row = await _remember(session, resident, sender, conversation.channel, now)
        if consent is not None:
            await _set_consent(session, row, sender, consent, now)
        if row is None or handoff or not self._policy.is_due(row.next_due, now):
            return []
        return await self._reminder_in_turn(session, row, sender, now)

    async def _reminder_in_turn(
        self, session: AsyncSession, resident: Resident, sender: str, now: datetime
    ) -> list[BotReply]:
        """The due reminder as a reply of this turn, unless opted out or already given."""
        assert resident.next_due is not None
        if resident.reminders_consent is False:
            return []
        if await session.get(ReminderOptOut, sender) is not None:
            return []
        try:
            async with session.begin_nested():
                session.add(
                    ReminderSent(
                        ref=resident.ref,
                        due_date=resident.next_due,
                        channel=ReminderChannel.CHAT,
                        sender_id=sender,
                        sent_at=now,
                    )
                )
        except IntegrityError:
            return []  # reminded already for this due date
        today = self._policy.local(now).date()
        return [reminder_reply(sender, resident.next_due, today)]


async def _remember(
    session: AsyncSession, info: ResidentInfo, sender: str, channel: str, now: datetime
) -> Resident:
    """Store the ref and due date and link the sender; safe against a concurrent first sight."""
    resident = await session.get(Resident, info.ref)
    if resident is None:
        try:
            async with session.begin_nested():
                resident = Resident(
                    ref=info.ref,
                    next_due=info.next_due,
                    suspended=info.suspended,
                    updated_at=now,
                )
                session.add(resident)
        except IntegrityError:
            resident = await session.get(Resident, info.ref, populate_existing=True)
            assert resident is not None
    resident.next_due = info.next_due
    resident.suspended = info.suspended
    resident.updated_at = now
    link = await session.scalar(
        select(ResidentSender).where(
            ResidentSender.ref == info.ref, ResidentSender.sender_id == sender
        )
    )
    if link is None:
        try:
            async with session.begin_nested():
                session.add(
                    ResidentSender(ref=info.ref, sender_id=sender, channel=channel, linked_at=now)
                )
        except IntegrityError:
            pass  # linked by a concurrent turn of the same sender: nothing to add
    else:
        link.linked_at = now
    return resident


async def _set_consent(
    session: AsyncSession, resident: Resident | None, sender: str, consent: bool, now: datetime
) -> None:
    """Consent to the named resident, else to the one last identified here, else the sender."""
    if resident is None:
        ref = await session.scalar(
            select(ResidentSender.ref)
            .where(ResidentSender.sender_id == sender)
            .order_by(ResidentSender.linked_at.desc(), ResidentSender.id.desc())
            .limit(1)
        )
        resident = await session.get(Resident, ref) if ref is not None else None
    if resident is not None:
        resident.reminders_consent = consent
        resident.consent_at = now
        resident.updated_at = now
    if consent:
        await session.execute(delete(ReminderOptOut).where(ReminderOptOut.sender_id == sender))
    elif resident is None and await session.get(ReminderOptOut, sender) is None:
        session.add(ReminderOptOut(sender_id=sender, created_at=now))
    logger.info("reminder consent=%s sender=%r", consent, mask_pii(sender))

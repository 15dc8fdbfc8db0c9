"""The agent's side of a handoff: list, claim, read, reveal, reply, note, hand back, close.

These are the rules the agent API and console rely on; the HTTP and WebSocket layers
only translate. Who may do what:

- any signed-in agent may list the queue, read a conversation that was handed off
  (masked) and add internal notes to it;
- only the agent who claimed a conversation may reveal its unmasked transcript, write
  to the user, hand it back to the bot or close it.

Claim, reveal, hand-back and close are audited in the same transaction as the action.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import AgentIdentity
from bot.bus.events import ConversationClaimed, EventBus
from bot.bus.outbox import Outbox
from bot.errors import Conflict, ErrorCode, NotFound
from bot.feedback.flow import ask_after_close
from bot.handoff import canned, queue, texts
from bot.handoff.queue_watch import QueueWatcher, snapshot
from bot.privacy.masking import mask_pii
from bot.store.audit import AuditAction, record
from bot.store.db import Database
from bot.store.models import Agent, Conversation, Handoff, HandoffStatus, Note, Role, utcnow
from bot.store.transcript import (
    append,
    lock_conversation,
    mask_text,
    staff_transcript,
    to_transcript_message,
)
from bot.views import (
    AgentQueue,
    ClaimedItem,
    ConversationView,
    HandoffView,
    NoteView,
    Profile,
    TranscriptMessage,
)

logger = logging.getLogger(__name__)


class HandoffDesk:
    """Agent actions on handed-off conversations; built once by the composition root."""

    def __init__(self, database: Database, bus: EventBus, watcher: QueueWatcher) -> None:
        self._db = database
        self._bus = bus
        self._watcher = watcher

    async def queue(self, agent: AgentIdentity) -> AgentQueue:
        """Everyone waiting, in order, plus the conversations this agent is handling."""
        async with self._db.read() as session:
            items = await snapshot(session)
            rows = await session.execute(
                select(Handoff, Conversation)
                .join(Conversation, Conversation.id == Handoff.conversation_id)
                .where(Handoff.status == HandoffStatus.CLAIMED, Handoff.claimed_by == agent.id)
                .order_by(Handoff.claimed_at)
            )
            claimed = [_claimed_item(h, c) for h, c in rows]
        return AgentQueue(items=items, claimed=claimed)

    async def claim(self, agent: AgentIdentity, conversation_id: int) -> ConversationView:
        """Take a waiting conversation; exactly one of several simultaneous claimers wins."""
        # Losers of a race (most claims when the queue is busy) are answered from a read,
        # without queueing for the write lock; the atomic claim below decides the rest.
        async with self._db.read() as session:
            if await session.get(Conversation, conversation_id) is None:
                raise NotFound()
            _raise_unless_waiting(await queue.active_for(session, conversation_id))
        async with self._db.transaction() as session:
            outcome, handoff = await queue.claim(
                session, conversation_id, agent.id, skip_locked=self._db.dialect == "postgresql"
            )
            if outcome is queue.ClaimOutcome.TAKEN:
                raise Conflict(ErrorCode.ALREADY_CLAIMED)
            if outcome is queue.ClaimOutcome.NOTHING or handoff is None:
                raise NotFound(ErrorCode.NOTHING_TO_CLAIM)
            record(
                session,
                AuditAction.CLAIM,
                agent_id=agent.id,
                conversation_id=conversation_id,
                detail={"handoff_id": handoff.id},
            )
        logger.info("agent=%d claimed conversation=%d", agent.id, conversation_id)
        # Told in a transaction of its own: writers lock the conversation before the
        # request, and the claim above holds the request, so doing both in one would
        # take the locks in the opposite order (a deadlock risk on PostgreSQL).
        outbox = Outbox()
        async with self._db.transaction() as session:
            conversation = await lock_conversation(session, conversation_id)
            assert conversation is not None
            await outbox.say(session, conversation, texts.AGENT_JOINED, claimed_by=agent.id)
        outbox.publish(self._bus)
        self._bus.publish(
            ConversationClaimed(conversation_id=conversation_id, agent=agent.username)
        )
        self._watcher.changed()
        return await self.conversation(agent, conversation_id)

    async def conversation(self, agent: AgentIdentity, conversation_id: int) -> ConversationView:
        """The full transcript with personal numbers masked."""
        async with self._db.read() as session:
            return await _view(session, conversation_id, masked=True)

    async def reveal(self, agent: AgentIdentity, conversation_id: int) -> ConversationView:
        """The unmasked transcript, for the agent handling it; audited."""
        async with self._db.transaction() as session:
            await _require_claimed_by(session, agent, conversation_id)
            record(session, AuditAction.REVEAL, agent_id=agent.id, conversation_id=conversation_id)
            return await _view(session, conversation_id, masked=False)

    async def reply(
        self, agent: AgentIdentity, conversation_id: int, text: str
    ) -> TranscriptMessage:
        """Send the agent's words to the user (stored, pushed, and in the messages API)."""
        outbox = Outbox()
        async with self._db.transaction() as session:
            conversation, _ = await _require_claimed_by(session, agent, conversation_id)
            message = await append(session, conversation, Role.AGENT, text=text, agent_id=agent.id)
            outbox.add(conversation, message, claimed_by=agent.id, agent=agent.username)
        outbox.publish(self._bus)
        return to_transcript_message(message, agent.username, masked=True)

    async def add_note(self, agent: AgentIdentity, conversation_id: int, text: str) -> NoteView:
        """An internal note on a handed-off conversation; never shown to the user."""
        async with self._db.transaction() as session:
            if await queue.latest_for(session, conversation_id) is None:
                raise NotFound()
            note = Note(
                conversation_id=conversation_id, agent_id=agent.id, text=text, created_at=utcnow()
            )
            session.add(note)
            await session.flush()
            return NoteView(
                id=note.id, text=mask_pii(text), agent=agent.username, created_at=note.created_at
            )

    async def canned_replies(self) -> list[str]:
        """The team's ready-made replies, in display order."""
        return await canned.load(self._db)

    async def replace_canned_replies(self, agent: AgentIdentity, replies: list[str]) -> list[str]:
        """Replace the shared list (validated by the caller's request model); audited."""
        return await canned.replace(self._db, replies, agent.id)

    async def hand_back(self, agent: AgentIdentity, conversation_id: int) -> HandoffView:
        """Return the conversation to the bot; Rasa's tracker (slots) was never touched."""
        return await self._end(agent, conversation_id, HandoffStatus.HANDED_BACK)

    async def close(self, agent: AgentIdentity, conversation_id: int) -> HandoffView:
        """End the request; the user's next message starts with the bot again."""
        return await self._end(agent, conversation_id, HandoffStatus.CLOSED)

    async def _end(
        self, agent: AgentIdentity, conversation_id: int, status: HandoffStatus
    ) -> HandoffView:
        action, text = {
            HandoffStatus.HANDED_BACK: (AuditAction.HANDBACK, texts.HANDED_BACK),
            HandoffStatus.CLOSED: (AuditAction.CLOSE, texts.CLOSED),
        }[status]
        outbox = Outbox()
        async with self._db.transaction() as session:
            conversation, handoff = await _require_claimed_by(session, agent, conversation_id)
            await queue.finish(session, handoff, status)
            await outbox.say(session, conversation, text, claimed_by=agent.id)
            if status is HandoffStatus.CLOSED:
                await ask_after_close(session, conversation, handoff, outbox)  # 好差评
            record(
                session,
                action,
                agent_id=agent.id,
                conversation_id=conversation_id,
                detail={"handoff_id": handoff.id},
            )
            view = _handoff_view(handoff, agent.username)
        outbox.publish(self._bus)
        self._watcher.changed()
        logger.info("agent=%d %s conversation=%d", agent.id, status.value, conversation_id)
        return view


def _raise_unless_waiting(handoff: Handoff | None) -> None:
    """404 when nothing is open, 409 when someone already has it."""
    if handoff is None:
        raise NotFound(ErrorCode.NOTHING_TO_CLAIM)
    if handoff.status != HandoffStatus.WAITING:
        raise Conflict(ErrorCode.ALREADY_CLAIMED)


async def _require_claimed_by(
    session: AsyncSession, agent: AgentIdentity, conversation_id: int
) -> tuple[Conversation, Handoff]:
    """Lock the conversation and check this agent is the one handling it."""
    conversation = await lock_conversation(session, conversation_id)
    if conversation is None:
        raise NotFound()
    handoff = await queue.active_for(session, conversation_id)
    if handoff is None or handoff.status != HandoffStatus.CLAIMED or handoff.claimed_by != agent.id:
        raise Conflict(ErrorCode.NOT_CLAIMED_BY_YOU)
    return conversation, handoff


async def _view(session: AsyncSession, conversation_id: int, *, masked: bool) -> ConversationView:
    """A handed-off conversation for staff; 404 for bot-only conversations."""
    conversation = await session.get(Conversation, conversation_id)
    handoff = await queue.latest_for(session, conversation_id)
    if conversation is None or handoff is None:
        raise NotFound()
    claimer = await session.get(Agent, handoff.claimed_by) if handoff.claimed_by else None
    notes = await session.execute(
        select(Note, Agent.username)
        .join(Agent, Agent.id == Note.agent_id)
        .where(Note.conversation_id == conversation_id)
        .order_by(Note.id)
    )
    handoff_view = _handoff_view(handoff, claimer.username if claimer else None)
    if masked:
        handoff_view = handoff_view.model_copy(
            update={"callback_phone": mask_text(handoff.callback_phone)}
        )
    return ConversationView(
        id=conversation.id,
        sender_id=mask_pii(conversation.sender_id) if masked else conversation.sender_id,
        channel=conversation.channel,
        profile=Profile.model_validate(conversation.profile),
        masked=masked,
        handoff=handoff_view,
        messages=await staff_transcript(session, conversation_id, masked=masked),
        notes=[
            NoteView(
                id=note.id,
                text=mask_pii(note.text) if masked else note.text,
                agent=username,
                created_at=note.created_at,
            )
            for note, username in notes
        ],
    )


def _handoff_view(handoff: Handoff, claimed_by: str | None) -> HandoffView:
    """The request as stored (unmasked; `_view` masks the phone for the masked answer)."""
    return HandoffView.model_validate(
        {
            "id": handoff.id,
            "status": handoff.status,
            "reason": handoff.reason,
            "priority": handoff.priority,
            "queued_at": handoff.queued_at,
            "claimed_at": handoff.claimed_at,
            "claimed_by": claimed_by,
            "ended_at": handoff.ended_at,
            "callback_state": handoff.callback_state,
            "callback_phone": handoff.callback_phone,
        }
    )


def _claimed_item(handoff: Handoff, conversation: Conversation) -> ClaimedItem:
    """A conversation in the agent's own list."""
    assert handoff.claimed_at is not None
    return ClaimedItem.model_validate(
        {
            "id": handoff.id,
            "conversation_id": conversation.id,
            "reason": handoff.reason,
            "priority": handoff.priority,
            "channel": handoff.channel,
            "queued_at": handoff.queued_at,
            "claimed_at": handoff.claimed_at,
            "callback_phone": mask_text(handoff.callback_phone),
            "profile": conversation.profile,
        }
    )

"""Turns written inside a transaction, announced on the event bus once it has committed.

Publishing before the commit could show a console a message that a rollback then
erases, or push a reply to a user that is not in the transcript; collecting the turns
and publishing them afterwards keeps the bus a faithful echo of the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bus.events import EventBus, MessageAdded
from bot.messages import Button
from bot.store.models import Conversation, Message, Role
from bot.store.transcript import append, to_transcript_message


@dataclass(frozen=True)
class _Pending:
    conversation_id: int
    sender_id: str
    channel: str
    message: Message
    claimed_by: int | None
    agent: str | None


class Outbox:
    """Collects the turns of one transaction; `publish` announces them after the commit.

    Events are built at publish time, so turns need not be flushed one by one to get
    their ids: the commit writes them in one batch (a position notice to 200 waiting
    users is one INSERT, not 200).
    """

    def __init__(self, *, in_turn: bool = False) -> None:
        """``in_turn``: these turns answer a user's message and are returned to its channel."""
        self._pending: list[_Pending] = []
        self._in_turn = in_turn

    def add(
        self,
        conversation: Conversation,
        message: Message,
        *,
        claimed_by: int | None,
        agent: str | None = None,
    ) -> None:
        """Remember a stored turn (unmasked: each listener decides what it may show)."""
        self._pending.append(
            _Pending(
                conversation.id,
                conversation.sender_id,
                conversation.channel,
                message,
                claimed_by,
                agent,
            )
        )

    async def say(
        self,
        session: AsyncSession,
        conversation: Conversation,
        text: str,
        *,
        buttons: Sequence[Button] | None = None,
        custom: Mapping[str, Any] | None = None,
        claimed_by: int | None = None,
    ) -> Message:
        """Store a bot sentence for the user (queue news, hand-back) and remember it."""
        message = await append(
            session, conversation, Role.BOT, text=text, buttons=buttons, custom=custom, flush=False
        )
        self.add(conversation, message, claimed_by=claimed_by)
        return message

    def publish(self, bus: EventBus) -> None:
        """Announce every collected turn, in the order they were written (call after commit)."""
        for pending in self._pending:
            bus.publish(
                MessageAdded(
                    conversation_id=pending.conversation_id,
                    sender_id=pending.sender_id,
                    channel=pending.channel,
                    message=to_transcript_message(pending.message, pending.agent, masked=False),
                    claimed_by=pending.claimed_by,
                    in_turn=self._in_turn,
                )
            )
        self._pending.clear()

"""What an agent console is told, live: the pushes of ``/ws/agent``.

- ``{"type": "queue", "items": [...]}`` on every queue change (to every console);
- ``{"type": "claimed", "conversation_id", "agent"}`` when someone takes a conversation;
- ``{"type": "message", "conversation_id", "message": {...}}`` for each new turn of a
  conversation the console's agent is handling, masked like the transcript endpoint.

The rules (who sees what, masking) live here so the WebSocket endpoint only transports.
Queue pushes go to every console at once; the same event is rendered to JSON once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from bot.bus.events import ConversationClaimed, Event, MessageAdded, QueueChanged
from bot.store.transcript import mask_text, mask_value
from bot.views import QueueItem, TranscriptMessage


class QueuePush(BaseModel):
    """The waiting list, in order."""

    type: Literal["queue"] = "queue"
    items: list[QueueItem]


class ClaimedPush(BaseModel):
    """A conversation left the queue because `agent` took it."""

    type: Literal["claimed"] = "claimed"
    conversation_id: int
    agent: str


class MessagePush(BaseModel):
    """A new turn in one of the agent's conversations."""

    type: Literal["message"] = "message"
    conversation_id: int
    message: TranscriptMessage


ConsolePush = QueuePush | ClaimedPush | MessagePush

_rendered_queue: tuple[QueueChanged, str] | None = None


def queue_push(items: list[QueueItem]) -> QueuePush:
    """The first push of a new connection, and the shape of every later queue push."""
    return QueuePush(items=items)


def render(event: Event, agent_id: int) -> str | None:
    """The JSON text to send to `agent_id`'s consoles for `event`, or None if not theirs."""
    global _rendered_queue
    if isinstance(event, QueueChanged):
        if _rendered_queue is None or _rendered_queue[0] is not event:
            _rendered_queue = (event, queue_push(list(event.items)).model_dump_json())
        return _rendered_queue[1]
    if isinstance(event, ConversationClaimed):
        return ClaimedPush(
            conversation_id=event.conversation_id, agent=event.agent
        ).model_dump_json()
    if isinstance(event, MessageAdded) and event.claimed_by == agent_id:
        return MessagePush(
            conversation_id=event.conversation_id, message=masked(event.message)
        ).model_dump_json()
    return None


def masked(message: TranscriptMessage) -> TranscriptMessage:
    """A turn with personal numbers masked, as consoles show it by default."""
    return message.model_copy(
        update={
            "text": mask_text(message.text),
            "buttons": mask_value(message.buttons),
            "custom": mask_value(message.custom),
        }
    )

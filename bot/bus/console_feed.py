"""What an agent console is told, live: the pushes of ``/ws/agent``.

- ``{"type": "queue", "items": [...]}`` on every queue change (to every console);
- ``{"type": "claimed", "conversation_id", "agent"}`` when someone takes a conversation;
- ``{"type": "message", "conversation_id", "message": {...}}`` for each new turn of a
  conversation the console's agent is handling, masked like the transcript endpoint.

Each carries ``"id"``: the event's stream id, the console's place to resume from, or
null when the event is in no stream (in process, Redis away) and cannot be resumed
from. A connection opens with either the queue snapshot (plus ``"resync"``: true when
the console asked to resume and could not, so it must re-read the rest over HTTP) or
``{"type": "resumed", "after"}`` followed by the missed pushes.

The rules (who sees what, masking) live here so the WebSocket endpoint only transports,
and a replayed event is rendered by the same `render` as a live one: it shows no more.
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
    id: str | None = None


class SnapshotPush(QueuePush):
    """The first push of a connection that did not resume: the queue as it is now."""

    resync: bool


class ResumedPush(BaseModel):
    """The first push of a connection that resumed: what was missed after `after` follows."""

    type: Literal["resumed"] = "resumed"
    after: str


class ClaimedPush(BaseModel):
    """A conversation left the queue because `agent` took it."""

    type: Literal["claimed"] = "claimed"
    conversation_id: int
    agent: str
    id: str | None = None


class MessagePush(BaseModel):
    """A new turn in one of the agent's conversations."""

    type: Literal["message"] = "message"
    conversation_id: int
    message: TranscriptMessage
    id: str | None = None


ConsolePush = QueuePush | SnapshotPush | ResumedPush | ClaimedPush | MessagePush

_rendered_queue: tuple[QueueChanged, str | None, str] | None = None


def snapshot_push(items: list[QueueItem], position: str | None, *, resync: bool) -> str:
    """The queue snapshot that opens a connection which did not resume."""
    return SnapshotPush(items=items, id=position, resync=resync).model_dump_json()


def resumed_push(after: str) -> str:
    """The push that opens a resumed connection, before the replayed ones."""
    return ResumedPush(after=after).model_dump_json()


def render(event: Event, agent_id: int, event_id: str | None = None) -> str | None:
    """The JSON text to send to `agent_id`'s consoles for `event` (stream id `event_id`),
    or None if not theirs."""
    global _rendered_queue
    if isinstance(event, QueueChanged):
        cached = _rendered_queue
        if cached is None or cached[0] is not event or cached[1] != event_id:
            text = QueuePush(items=list(event.items), id=event_id).model_dump_json()
            cached = _rendered_queue = (event, event_id, text)
        return cached[2]
    if isinstance(event, ConversationClaimed):
        return ClaimedPush(
            conversation_id=event.conversation_id, agent=event.agent, id=event_id
        ).model_dump_json()
    if isinstance(event, MessageAdded) and event.claimed_by == agent_id:
        return MessagePush(
            conversation_id=event.conversation_id, message=masked(event.message), id=event_id
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

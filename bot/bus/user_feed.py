"""What reaches a user outside their own turns: an agent's words, queue news, a hand-back.

Every user channel that keeps a connection (kiosk, Telegram) follows the event bus the
same way: keep the bot and agent turns of its own senders that were *not* returned by
the hub as the answer to a turn (``in_turn`` false), and deliver them. The web chat does
not need this: it reads the same messages through the cursor API, which also covers a
reload. A follower that falls behind the bus resubscribes; what it missed is still in
the transcript (`ConversationHub.messages_for`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from bot.bus.events import EventBus, MessageAdded, SubscriptionLagged
from bot.reply_custom import QueuePlace, queue_place
from bot.views import TranscriptMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserPush:
    """One bot or agent turn for a user, outside their own request/response turn."""

    sender_id: str
    conversation_id: int
    channel: str
    message: TranscriptMessage

    @property
    def from_agent(self) -> bool:
        return self.message.role == "agent"

    @property
    def queue_place(self) -> QueuePlace | None:
        return queue_place(self.message.custom)


def as_push(event: MessageAdded) -> UserPush | None:
    """The event as something to deliver to the user, or None when the user has it already
    (their own words, or the replies returned by their turn) or there is nothing to say."""
    message = event.message
    if event.in_turn or message.role == "user":
        return None
    if not (message.text and message.text.strip()) and not message.custom:
        return None
    return UserPush(event.sender_id, event.conversation_id, event.channel, message)


async def follow_users(
    bus: EventBus, wanted: Callable[[MessageAdded], bool]
) -> AsyncIterator[UserPush]:
    """Yield pushes for the conversations `wanted` accepts, in bus order, until cancelled."""
    while True:
        with bus.subscribe() as subscription:
            try:
                while True:
                    event = await subscription.next()
                    if isinstance(event, MessageAdded) and wanted(event):
                        push = as_push(event)
                        if push is not None:
                            yield push
            except SubscriptionLagged:
                logger.warning("a user channel fell behind the event bus; resubscribing")

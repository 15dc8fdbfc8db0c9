"""What reaches a user outside their own turns: an agent's words, queue news, a hand-back.

Every user channel that keeps a connection (kiosk, Telegram) follows the event bus the
same way: keep the bot and agent turns of its own senders that were *not* returned by
the hub as the answer to a turn (``in_turn`` false), and deliver them. The web chat does
not need this: it reads the same messages through the cursor API, which also covers a
reload. A follower that falls behind the bus resubscribes and replays what it missed from
the stream when it can (`EventBus.resume`); otherwise it is still in the transcript
(`ConversationHub.messages_for`).

A reconnecting channel (the kiosk) follows with `follow_user` from the last stream id it
saw: first a `FeedStart` says whether the missed pushes could be replayed, then those,
then live ones. A replayed event passes the same `wanted` test and `as_push` as a live
one, so a follower only ever gets its own senders' out-of-turn messages.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from bot.bus.events import Event, EventBus, MessageAdded, Subscription, SubscriptionLagged
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
    event_id: str | None = None  # the stream id to resume after; None: cannot

    @property
    def from_agent(self) -> bool:
        return self.message.role == "agent"

    @property
    def queue_place(self) -> QueuePlace | None:
        return queue_place(self.message.custom)


@dataclass(frozen=True)
class FeedStart:
    """How a `follow_user` feed begins: ``resumed`` if the pushes missed after the id asked
    for follow (else they cannot be told: re-read or accept the loss); ``position`` is
    the stream id to resume from if nothing more arrives before the next drop."""

    position: str | None
    resumed: bool


Wanted = Callable[[MessageAdded], bool]


def as_push(event: MessageAdded, event_id: str | None = None) -> UserPush | None:
    """The event as something to deliver to the user, or None when the user has it already
    (their own words, or the replies returned by their turn) or there is nothing to say."""
    message = event.message
    if event.in_turn or message.role == "user":
        return None
    if not (message.text and message.text.strip()) and not message.custom:
        return None
    return UserPush(event.sender_id, event.conversation_id, event.channel, message, event_id)


def _push_for(event: Event, wanted: Wanted, event_id: str | None) -> UserPush | None:
    """The one test every pushed event passes, live or replayed."""
    if isinstance(event, MessageAdded) and wanted(event):
        return as_push(event, event_id)
    return None


async def follow_users(bus: EventBus, wanted: Wanted) -> AsyncIterator[UserPush]:
    """Yield pushes for the conversations `wanted` accepts, in bus order, until cancelled."""
    async for item in follow_user(bus, wanted):
        if isinstance(item, UserPush):
            yield item


async def follow_user(
    bus: EventBus, wanted: Wanted, after: str | None = None
) -> AsyncIterator[FeedStart | UserPush]:
    """A `FeedStart`, the pushes missed after stream id `after` if the bus can replay them,
    then live pushes, until cancelled. After a lag it resumes from the last id it saw."""
    first = True
    while True:
        with bus.subscribe() as subscription:
            position = bus.position
            missed = await bus.resume(subscription, after) if after else None
            if first:
                # Resumed: the replay starts after `after`, so that is where the page stands.
                yield FeedStart(after if missed is not None else position, missed is not None)
                first = False
            for event_id, event in missed or ():
                push = _push_for(event, wanted, event_id)
                if push is not None:
                    yield push
            try:
                async for push in _live(subscription, wanted):
                    yield push
            except SubscriptionLagged:
                logger.warning("a user channel fell behind the event bus; resubscribing")
                after = subscription.last_id


async def _live(subscription: Subscription, wanted: Wanted) -> AsyncIterator[UserPush]:
    while True:
        event = await subscription.next()
        push = _push_for(event, wanted, subscription.last_id)
        if push is not None:
            yield push

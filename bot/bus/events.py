"""Typed events and the in-process bus that carries them to live connections.

The database is the truth; events only tell live listeners that something changed, so
a console or a user channel can show it without polling. Anyone who missed events (a
reconnect, a restart) reads the same state back through the HTTP API. Listeners are
agent consoles (``/ws/agent``), the kiosk and Telegram channels. Across several gateway
processes the bus is `bot.bus.redis_stream.RedisEventBus`, behind the same interface:
every event goes through one Redis stream, so every process delivers the same events in
the same order, each with its stream id (`Subscription.last_id`) to catch up from.

A slow listener must never slow down the gateway: `publish` does not wait, and a
subscription whose buffer overflows is closed (its reader sees `SubscriptionLagged`
and reconnects).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.views import QueueItem, TranscriptMessage

logger = logging.getLogger(__name__)

DEFAULT_BUFFER = 1000


@dataclass(frozen=True)
class QueueChanged:
    """The waiting list after a change (new request, claim, cancel, ...), in queue order."""

    items: tuple[QueueItem, ...]


@dataclass(frozen=True)
class MessageAdded:
    """A new turn in a conversation (user, bot or agent), text unmasked.

    ``claimed_by`` is the id of the agent handling the conversation at that moment, so a
    console can tell whether the turn belongs to it without a database round trip.
    ``in_turn`` is true for the user's own turn and the replies the hub returned to it: the
    user's channel already has those, so only turns with ``in_turn`` false (an agent's
    message, queue news, a hand-back) need pushing to the user (see `bot.bus.user_feed`).
    """

    conversation_id: int
    sender_id: str
    channel: str
    message: TranscriptMessage
    claimed_by: int | None
    in_turn: bool = False


@dataclass(frozen=True)
class ConversationClaimed:
    """An agent took a conversation out of the queue."""

    conversation_id: int
    agent: str


Event = QueueChanged | MessageAdded | ConversationClaimed


def stream_id_less(a: str, b: str) -> bool:
    """Stream ids (``<ms>-<seq>``) compare as numbers; a malformed one sorts first, so it
    never looks newer than a real id."""

    def parts(value: str) -> tuple[int, int]:
        ms, _, seq = value.partition("-")
        return int(ms), int(seq or 0)

    try:
        return parts(a) < parts(b)
    except ValueError:
        return True


class SubscriptionLagged(Exception):
    """The listener fell too far behind and was dropped; re-read state and subscribe again."""


_LAGGED = object()


class Subscription:
    """One listener's buffered view of the bus; iterate it with ``async for``."""

    def __init__(self, buffer: int) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=buffer + 1)
        self._buffer = buffer
        self.lagged = False
        # Stream id of the last event `next` returned; None if it was not in a stream (in
        # process, or Redis was away), so it cannot be resumed from.
        self.last_id: str | None = None
        self._skip_through: str | None = None

    def _offer(self, event: Event, event_id: str | None = None) -> None:
        if self.lagged:
            return
        if self._queue.qsize() >= self._buffer:
            self.lag()
            return
        self._queue.put_nowait((event, event_id))

    def lag(self) -> None:
        """Mark this listener as having missed events: its reader gets `SubscriptionLagged`."""
        if not self.lagged:
            self.lagged = True
            self._queue.put_nowait(_LAGGED)  # the one slot kept free for this marker

    def skip_through(self, event_id: str) -> None:
        """Drop stream events up to `event_id`: a replay already gave them to the listener."""
        self._skip_through = event_id

    def _already_replayed(self, event_id: str | None) -> bool:
        skip = self._skip_through
        return event_id is not None and skip is not None and not stream_id_less(skip, event_id)

    async def next(self) -> Event:
        """Wait for the next event; raises `SubscriptionLagged` once the buffer overflowed."""
        while True:
            item = await self._queue.get()
            if item is _LAGGED:
                raise SubscriptionLagged()
            assert isinstance(item, tuple)
            event, event_id = item
            assert isinstance(event, QueueChanged | MessageAdded | ConversationClaimed)
            if not self._already_replayed(event_id):
                self.last_id = event_id
                return event

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.next()


class EventBus:
    """Fan-out of events to every current subscriber, in publish order, without waiting."""

    def __init__(self, buffer: int = DEFAULT_BUFFER) -> None:
        self._buffer = buffer
        self._subscriptions: set[Subscription] = set()

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """Receive every event published while the ``with`` block is open."""
        subscription = Subscription(self._buffer)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    def publish(self, event: Event) -> None:
        """Hand `event` to every subscriber; call it only after the change is committed."""
        self.deliver(event)

    def deliver(self, event: Event, event_id: str | None = None) -> None:
        """Fan `event` out to this process's subscribers (with its stream id, if any)."""
        for subscription in list(self._subscriptions):
            subscription._offer(event, event_id)
            if subscription.lagged:
                logger.warning("dropping a subscriber that fell %d events behind", self._buffer)
                self._subscriptions.discard(subscription)

    def lag_all(self) -> None:
        """Drop every subscriber as lagged: they missed events and must re-read state."""
        for subscription in list(self._subscriptions):
            subscription.lag()
        self._subscriptions.clear()

    async def start(self) -> None:
        """Nothing to start in process; `RedisEventBus` connects its stream here."""

    async def stop(self) -> None:
        """Nothing to stop in process."""

    async def replay(self, after: str, limit: int = 1000) -> list[tuple[str, Event]] | None:
        """Events after stream id `after`, oldest first; None when there is no stream to
        replay from (in process) or `after` is too old: then re-read state over HTTP."""
        return None

    async def resume(
        self, subscription: Subscription, after: str
    ) -> list[tuple[str, Event]] | None:
        """What a listener that last saw `after` missed, for a subscription opened just
        before: the replay, and the subscription set to skip what the replay holds (the
        stream may be ahead of this process's reader). None: re-read state instead."""
        missed = await self.replay(after)
        if missed is not None:
            subscription.skip_through(missed[-1][0] if missed else after)
        return missed

    @property
    def position(self) -> str | None:
        """The stream id a subscription opened now starts after (the id a fresh listener
        may resume from), or None when events carry no ids (in process)."""
        return None

    @property
    def subscriber_count(self) -> int:
        """How many listeners are connected (for tests and health reporting)."""
        return len(self._subscriptions)

"""The queue's background workers: push queue changes to consoles, tell users their new
position, and offer a call-back to users who have waited too long.

Anything that changes the queue calls `QueueWatcher.changed()`, which returns at once;
the push worker then publishes one fresh snapshot (changes that arrive while it works,
or within ``GATEWAY_QUEUE_PUSH_INTERVAL_S`` of the last push, are merged into the next
one, so 200 new requests in a burst do not mean 200 full snapshots to every console).
Position news and call-back offers write to the database, so they run in a second
worker: a busy write lock delays a user's "您现在排在第N位", never a console's queue.

Nothing here lives only in memory: the position a user was last told and whether a
call-back was offered are columns of the request, so after a restart the worker picks
up where the previous process stopped (it runs once at start-up for that reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bus.events import EventBus, QueueChanged
from bot.bus.outbox import Outbox
from bot.handoff import texts
from bot.handoff.queue import waiting, waiting_seconds
from bot.handoff.wait_time import estimate_wait_s, handling_stats
from bot.privacy.masking import mask_pii
from bot.store.db import Database
from bot.store.models import CallbackState, Conversation, Handoff, HandoffStatus, utcnow
from bot.views import Priority, Profile, QueueItem

logger = logging.getLogger(__name__)

_RETRY_AFTER_ERROR_S = 1.0


def queue_item(
    handoff: Handoff, conversation: Conversation, position: int, now: datetime
) -> QueueItem:
    """One waiting request as consoles list it; the call-back number masked."""
    return QueueItem(
        id=handoff.id,
        conversation_id=conversation.id,
        reason=handoff.reason,
        priority=cast(Priority, handoff.priority),
        channel=handoff.channel,
        queued_at=handoff.queued_at,
        waiting_s=round(waiting_seconds(handoff, now), 1),
        position=position,
        callback_phone=mask_pii(handoff.callback_phone) if handoff.callback_phone else None,
        profile=Profile.model_validate(conversation.profile),
    )


async def snapshot(session: AsyncSession) -> list[QueueItem]:
    """The waiting list in queue order, as of now."""
    now = utcnow()
    rows = await waiting(session)
    return [queue_item(h, c, index + 1, now) for index, (h, c) in enumerate(rows)]


async def lock_waiting(
    session: AsyncSession, handoff_ids: list[int], conversation_ids: list[int]
) -> list[tuple[Handoff, Conversation]]:
    """Lock conversations, then their requests (the order every writer uses), still waiting."""
    if not handoff_ids:
        return []
    conversations = {
        c.id: c
        for c in await session.scalars(
            select(Conversation)
            .where(Conversation.id.in_(conversation_ids))
            .order_by(Conversation.id)
            .with_for_update()
        )
    }
    handoffs = await session.scalars(
        select(Handoff)
        .where(Handoff.id.in_(handoff_ids), Handoff.status == HandoffStatus.WAITING)
        .order_by(Handoff.id)
        .with_for_update()
    )
    return [(h, conversations[h.conversation_id]) for h in handoffs]


class QueueWatcher:
    """Owns the background task; built and started by the composition root."""

    def __init__(
        self,
        database: Database,
        bus: EventBus,
        *,
        push_interval_s: float,
        tick_s: float,
        callback_offer_after_s: float,
        default_handling_s: float,
    ) -> None:
        self._db = database
        self._bus = bus
        self._push_interval_s = push_interval_s
        self._tick_s = tick_s
        self._offer_after = timedelta(seconds=callback_offer_after_s)
        self._default_handling_s = default_handling_s
        self._push_due = asyncio.Event()
        self._notices_due = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def changed(self) -> None:
        """Note that the queue changed; the workers act soon. Never blocks."""
        self._push_due.set()

    def start(self) -> None:
        """Start both workers; they first catch up with anything a restart left pending."""
        self._push_due.set()
        self._notices_due.set()
        self._tasks = [
            asyncio.create_task(self._push_loop(), name="queue-push"),
            asyncio.create_task(self._notice_loop(), name="queue-notices"),
        ]

    async def stop(self) -> None:
        """Stop the workers (end of the app's lifespan)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _push_loop(self) -> None:
        """Consoles first: pushes only read, so they never wait for the write lock."""
        last_push = -float("inf")
        while True:
            try:
                await self._push_due.wait()
                pause = self._push_interval_s - (time.monotonic() - last_push)
                if pause > 0:
                    await asyncio.sleep(pause)
                self._push_due.clear()
                last_push = time.monotonic()
                await self.push()
                self._notices_due.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("queue push failed; retrying")
                await asyncio.sleep(_RETRY_AFTER_ERROR_S)

    async def _notice_loop(self) -> None:
        """Users second: position news after pushes, call-back offers on every tick."""
        last_tick = -float("inf")
        while True:
            try:
                timeout = max(0.0, self._tick_s - (time.monotonic() - last_tick))
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancel that races with the event, and stop() would then wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._notices_due.wait()
                if time.monotonic() - last_tick >= self._tick_s:
                    last_tick = time.monotonic()
                    if await self.offer_due_callbacks():
                        self._push_due.set()
                if self._notices_due.is_set():
                    self._notices_due.clear()
                    async with self._db.read() as session:
                        items = await snapshot(session)
                    await self.notify_positions(items)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("queue notices failed; retrying")
                await asyncio.sleep(_RETRY_AFTER_ERROR_S)

    async def push(self) -> None:
        """Publish the current waiting list to every console."""
        async with self._db.read() as session:
            items = await snapshot(session)
        self._bus.publish(QueueChanged(items=tuple(items)))

    async def notify_positions(self, items: list[QueueItem]) -> int:
        """Send "您现在排在第N位" to every waiting user whose position moved."""
        positions = {item.id: item.position for item in items}
        outbox = Outbox()
        sent = 0
        async with self._db.read() as session:
            told = await session.execute(
                select(Handoff.id, Handoff.conversation_id, Handoff.notified_position).where(
                    Handoff.id.in_(list(positions)), Handoff.status == HandoffStatus.WAITING
                )
            )
            moved = [(h, c) for h, c, last in told if last != positions[h]]
        if not moved:
            return 0
        async with self._db.transaction() as session:
            locked = await lock_waiting(session, [h for h, _ in moved], [c for _, c in moved])
            stats = await handling_stats(session, utcnow())
            for handoff, conversation in locked:
                position = positions[handoff.id]
                wait_s = estimate_wait_s(position, stats, self._default_handling_s)
                text = texts.queue_position(position, wait_s, first_notice=False)
                await outbox.say(
                    session,
                    conversation,
                    text,
                    buttons=[texts.CANCEL_BUTTON],
                    custom=texts.queue_custom(position, wait_s),
                )
                handoff.notified_position = position
                sent += 1
        outbox.publish(self._bus)
        return sent

    async def offer_due_callbacks(self) -> int:
        """Offer a call-back to each user waiting longer than the configured time."""
        due = utcnow() - self._offer_after
        outbox = Outbox()
        async with self._db.transaction() as session:
            candidates = await session.execute(
                select(Handoff.id, Handoff.conversation_id).where(
                    Handoff.status == HandoffStatus.WAITING,
                    Handoff.callback_state == CallbackState.NONE,
                    Handoff.queued_at <= due,
                )
            )
            pairs = list(candidates)
            if not pairs:
                return 0
            locked = await lock_waiting(session, [h for h, _ in pairs], [c for _, c in pairs])
            for handoff, conversation in locked:
                if handoff.callback_state != CallbackState.NONE:
                    continue
                handoff.callback_state = CallbackState.OFFERED.value
                handoff.callback_offered_at = utcnow()
                await outbox.say(
                    session,
                    conversation,
                    texts.CALLBACK_OFFER,
                    buttons=[texts.DECLINE_CALLBACK_BUTTON],
                )
        outbox.publish(self._bus)
        logger.info("offered a call-back to %d waiting users", len(locked))
        return len(locked)

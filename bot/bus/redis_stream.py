"""The event bus across gateway processes: one Redis stream, read by every process.

`publish` stays what it is in process: it does not wait (a writer task appends to the
stream with ``XADD``). Every process, the publisher included, reads the stream with
``XREAD`` and hands each event to its own subscribers (`EventBus.deliver`) with its
stream id, so a console connected to gateway 2 hears a claim made on gateway 1, in the
same order as everyone else. A console or kiosk that reconnects sends the last id it saw
and gets what it missed from `replay` (``XRANGE``), as long as the stream still holds it.

The database stays the truth: events only say that something changed. If Redis is gone
(a restart), events of this process are delivered to its own subscribers directly, with
no id (their clients cannot resume across them), and the readers of other processes miss
them. So the first append after an outage writes a *gap* entry first: every other
process drops its subscribers as lagged when it reads it (their clients reconnect and
re-read state), and a replay that would cross it says None. The reader reconnects by
itself.

A replay starts only from an id the stream still holds: a trimmed id, one from before
Redis lost its data, or one never issued cannot tell what came after it.

Events hold residents' words (unmasked, each listener masks for its audience), so the
stream keeps them only `retention_s` (trimmed by id on every append; ``XADD … MINID``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from bot.bus.events import (
    DEFAULT_BUFFER,
    ConversationClaimed,
    Event,
    EventBus,
    MessageAdded,
    QueueChanged,
)
from bot.views import QueueItem, TranscriptMessage

logger = logging.getLogger(__name__)

STREAM = "gateway:events"
READ_BLOCK_MS = 1000
RECONNECT_S = 0.5
# An id we issued; not "-", "+" or "$", which XRANGE would take as the ends of the stream.
STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")


def encode(event: Event) -> str:
    """One event as JSON (type tag plus fields), for a stream entry."""
    body: dict[str, Any]
    if isinstance(event, QueueChanged):
        body = {"type": "queue", "items": [item.model_dump(mode="json") for item in event.items]}
    elif isinstance(event, MessageAdded):
        body = {
            "type": "message",
            "conversation_id": event.conversation_id,
            "sender_id": event.sender_id,
            "channel": event.channel,
            "message": event.message.model_dump(mode="json"),
            "claimed_by": event.claimed_by,
            "in_turn": event.in_turn,
        }
    else:
        body = {"type": "claimed", "conversation_id": event.conversation_id, "agent": event.agent}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def decode(text: str | bytes) -> Event:
    """The inverse of `encode`."""
    body = json.loads(text)
    kind = body["type"]
    if kind == "queue":
        return QueueChanged(items=tuple(QueueItem.model_validate(i) for i in body["items"]))
    if kind == "message":
        return MessageAdded(
            conversation_id=body["conversation_id"],
            sender_id=body["sender_id"],
            channel=body["channel"],
            message=TranscriptMessage.model_validate(body["message"]),
            claimed_by=body["claimed_by"],
            in_turn=body["in_turn"],
        )
    if kind == "claimed":
        return ConversationClaimed(conversation_id=body["conversation_id"], agent=body["agent"])
    raise ValueError(f"unknown event type {kind!r}")


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _field(fields: dict[Any, Any]) -> str:
    return _text(fields[b"e"] if b"e" in fields else fields["e"])


def _gap_origin(fields: dict[Any, Any]) -> str | None:
    """The writer of a gap entry (events it could not append are missing before it)."""
    raw = fields.get(b"gap", fields.get("gap"))
    return None if raw is None else _text(raw)


class RedisEventBus(EventBus):
    """`EventBus` whose events travel through a Redis stream shared by all gateways."""

    def __init__(
        self,
        redis: Redis,
        *,
        stream: str = STREAM,
        retention_s: float = 3600.0,
        buffer: int = DEFAULT_BUFFER,
    ) -> None:
        super().__init__(buffer)
        self._redis = redis
        self._stream = stream
        self._retention_ms = round(retention_s * 1000)
        self._outgoing: asyncio.Queue[Event] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_id = "0-0"
        self._origin = uuid.uuid4().hex  # names this process in its gap entries
        self._gap = False  # an event was delivered here only: mark the stream next time
        self.connected = False

    async def start(self) -> None:
        """Read from the stream's current end on; start the writer and the reader."""
        try:
            newest = await self._redis.xrevrange(self._stream, count=1)
            self._last_id = _text(newest[0][0]) if newest else "0-0"
            self.connected = True
        except RedisError as err:
            logger.warning("event stream: Redis unreachable at start (%s)", type(err).__name__)
            self._last_id = f"{int(time.time() * 1000)}-0"
        self._tasks = [
            asyncio.create_task(self._write(), name="event-stream-writer"),
            asyncio.create_task(self._read(), name="event-stream-reader"),
        ]

    async def stop(self) -> None:
        """Send what is still queued (briefly), then stop reading."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._outgoing.join()
        for task in self._tasks:
            task.cancel()
        # Bounded: redis-py may turn the cancel of a blocked XREAD into an error of its own.
        await asyncio.wait(self._tasks, timeout=2)
        self._tasks = []

    def publish(self, event: Event) -> None:
        """Queue `event` for the stream; returns at once (call after the commit)."""
        if not self._tasks:  # not started (tests building the app by hand): in process
            self.deliver(event)
            return
        self._outgoing.put_nowait(event)

    async def _write(self) -> None:
        while True:
            event = await self._outgoing.get()
            try:
                await self._append(event)
            finally:
                self._outgoing.task_done()

    async def _append(self, event: Event) -> None:
        """XADD one event (after a gap entry if one is owed); if Redis is away, deliver it
        in this process at least."""
        try:
            await self._close_gap()
            await self._xadd({"e": encode(event)})
        except RedisError as err:
            # Our own listeners still hear it; the other processes' re-read state.
            logger.warning(
                "event stream: append failed (%s); delivered in this process only",
                type(err).__name__,
            )
            self.connected = False
            self._gap = True
            self.deliver(event)

    async def _close_gap(self) -> None:
        """Write the gap entry owed since an append failed (raises `RedisError` if it still
        cannot): a replay across the events this process kept to itself must say None."""
        if self._gap:
            await self._xadd({"gap": self._origin})
            self._gap = False

    async def _xadd(self, fields: dict[FieldT, EncodableT]) -> None:
        await self._redis.xadd(
            self._stream,
            fields,
            minid=f"{int(time.time() * 1000) - self._retention_ms}-0",
            approximate=False,  # exact: a short stream must be trimmed too
        )

    async def _read(self) -> None:
        while True:
            try:
                entries = await self._redis.xread(
                    {self._stream: self._last_id}, block=READ_BLOCK_MS, count=500
                )
                self.connected = True
                await self._close_gap()  # as soon as Redis is back, not at the next event
            except RedisError as err:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError() from err  # stopping, not a Redis fault
                if self.connected:
                    logger.warning("event stream: read failed (%r); retrying", err)
                self.connected = False
                await asyncio.sleep(RECONNECT_S)
                continue
            for _stream, items in entries:
                for raw_id, fields in items:
                    self._last_id = _text(raw_id)
                    self._take(fields)

    def _take(self, fields: dict[Any, Any]) -> None:
        """Deliver one stream entry read at `_last_id`; a gap of another process drops
        this process's subscribers (they missed its local-only events)."""
        origin = _gap_origin(fields)
        if origin is not None:
            if origin != self._origin:
                logger.warning("event stream: another gateway lost events; consoles re-read")
                self.lag_all()
            return
        try:
            event = decode(_field(fields))
        except (KeyError, ValueError) as err:
            logger.warning("event stream: skipping a bad entry (%s)", err)
            return
        self.deliver(event, self._last_id)

    @property
    def position(self) -> str | None:
        """The id of the last entry read: a subscription opened now gets what follows."""
        return self._last_id

    async def replay(self, after: str, limit: int = 1000) -> list[tuple[str, Event]] | None:
        """Events after `after` (exclusive), oldest first; None if Redis cannot say, the id
        is not an entry the stream holds (trimmed, lost, never issued), a gap lies in
        between, or more than `limit` were missed (then re-read state)."""
        if not STREAM_ID.fullmatch(after):
            return None
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                # One MULTI: no trim can fall between finding `after` and reading on.
                pipe.xrange(self._stream, min=after, max=after, count=1)
                pipe.xrange(self._stream, min=f"({after}", count=limit + 1)
                found, items = await pipe.execute()
        except RedisError as err:
            logger.warning("event stream: replay failed (%s)", type(err).__name__)
            return None
        if not found or len(items) > limit:
            return None
        out = []
        for raw_id, fields in items:
            if _gap_origin(fields) is not None:
                return None
            with contextlib.suppress(KeyError, ValueError):
                out.append((_text(raw_id), decode(_field(fields))))
        return out

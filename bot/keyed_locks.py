"""One asyncio lock per key (a sender, a chat), forgotten when nobody holds or waits for it.

Turns of one conversation must run one after another (the transcript, Rasa and a chat
app all see them in the order they were sent) while different conversations run side by
side. A weak-value dictionary keeps exactly the locks in use, so a million one-off
senders do not leave a million locks behind.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)


class SenderLocks(Protocol):
    """What the hub needs to order a sender's turns: these in-process locks, or
    `bot.redis_lock.RedisKeyedLocks` when several gateways share the residents."""

    def hold(self, key: str) -> AbstractAsyncContextManager[bool]:
        """Held for the whole turn of `key`'s sender; yields True when the hold excludes
        every gateway process, False when only this one (then another gateway may be
        answering the same sender right now)."""
        ...


class KeyedLocks(Generic[K]):
    """``async with locks.hold(key):`` serialises work per key."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[K, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, key: K) -> AsyncIterator[bool]:
        """Yields False: this process only (see `SenderLocks`)."""
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield False

    def __len__(self) -> int:
        """Locks currently held or waited for (for tests)."""
        return len(self._locks)

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
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    """``async with locks.hold(key):`` serialises work per key."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[K, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, key: K) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield

    def __len__(self) -> int:
        """Locks currently held or waited for (for tests)."""
        return len(self._locks)

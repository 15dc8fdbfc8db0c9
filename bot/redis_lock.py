"""Locks and leases across gateway processes, in Redis: a resident's turns in order, one
Telegram poller.

A lock is a key set with ``SET key token NX PX ttl``: only one holder, and it expires by
itself if its holder dies (a killed gateway blocks its sender for `ttl_s` at most). While
a turn runs the holder renews it; it is released with a compare-and-delete in Lua, so a
holder whose lock already expired and was taken by someone else cannot delete theirs.
That token check is what Rasa's own Redis lock store lacks across replicas (a ticket
list, read and written in separate steps), which is why the gateway orders turns itself.

When Redis cannot be reached (a restart), a turn goes on under the in-process lock alone
and the gateway logs it: ordering across processes is then best effort for those
seconds, but no resident is refused because the lock server blinked. The database and
its row locks stay the truth for what a turn writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.errors import ErrorCode, GatewayError
from bot.keyed_locks import KeyedLocks

logger = logging.getLogger(__name__)

LOCK_PREFIX = "gateway:sender-lock:"

# Delete / extend the key only while it still holds our token.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class LockBusy(GatewayError):
    """Another gateway kept this sender's lock longer than a turn may take."""

    default_status = 503
    default_code = ErrorCode.ENGINE_UNAVAILABLE


class RedisLease:
    """One named lease with a token: `acquire`, keep it with `renew`, `release` it."""

    def __init__(self, redis: Redis, key: str, ttl_s: float) -> None:
        self._redis = redis
        self.key = key
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.token = secrets.token_hex(16)

    async def acquire(self) -> bool:
        """True if this lease is now ours (it was free or had expired)."""
        return bool(await self._redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    async def renew(self) -> bool:
        """Extend the lease; False if it is no longer ours (expired and taken, or gone)."""
        result = await self._redis.eval(_RENEW, 1, self.key, self.token, str(self.ttl_ms))  # type: ignore[misc]
        return bool(result)

    async def release(self) -> None:
        """Give the lease up if it is still ours (atomic compare-and-delete)."""
        await self._redis.eval(_RELEASE, 1, self.key, self.token)  # type: ignore[misc]


class RedisKeyedLocks:
    """``async with locks.hold(key):`` serialises work per key across every process.

    Waiters of one process queue on an in-process lock first, so a busy sender costs
    Redis one lock per turn, not one poll per waiter.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        ttl_s: float = 10.0,
        wait_s: float = 40.0,
        prefix: str = LOCK_PREFIX,
    ) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._wait_s = wait_s
        self._prefix = prefix
        self._local: KeyedLocks[str] = KeyedLocks()
        self.degraded_turns = 0  # turns that ran without Redis (for tests and logs)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        """Yields True once every gateway is excluded; False while Redis is unreachable."""
        async with self._local.hold(key):
            lease = RedisLease(self._redis, self._prefix + key, self._ttl_s)
            try:
                await self._acquire(lease)
            except RedisError as err:
                self.degraded_turns += 1
                logger.warning(
                    "sender lock: Redis unreachable (%s); ordering within this process only",
                    type(err).__name__,
                )
                yield False
                return
            renewer = asyncio.create_task(self._keep(lease), name="sender-lock-renew")
            try:
                yield True
            finally:
                renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewer
                with contextlib.suppress(RedisError):
                    await asyncio.shield(lease.release())

    async def _acquire(self, lease: RedisLease) -> None:
        deadline = time.monotonic() + self._wait_s
        pause = 0.005
        while not await lease.acquire():
            if time.monotonic() > deadline:
                raise LockBusy()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    async def _keep(self, lease: RedisLease) -> None:
        """Renew at a third of the expiry while the turn runs."""
        while True:
            await asyncio.sleep(self._ttl_s / 3)
            try:
                if not await lease.renew():
                    logger.warning("sender lock expired during a turn; it took too long")
                    return
            except RedisError as err:
                logger.warning("sender lock: renewal failed (%s)", type(err).__name__)

    def __len__(self) -> int:
        """Keys held or waited for in this process (for tests)."""
        return len(self._local)

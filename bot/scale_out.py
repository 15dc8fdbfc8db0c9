"""What changes when several gateways serve the same residents (``GATEWAY_REDIS_URL`` set).

One gateway (``make run``): the in-process event bus and per-sender locks, Telegram polled
by this process. Several (``make run-cluster``, Kubernetes): the same interfaces backed
by Redis — events through a stream (`bot.bus.redis_stream`), a resident's turns ordered
by a Redis lock and Telegram polled by the one gateway holding a lease
(`bot.redis_lock`). `channels.app` builds it once and asks it for those three parts, so
the code path of a turn is the same in both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.bus.events import EventBus
from bot.bus.redis_stream import RedisEventBus
from bot.keyed_locks import SenderLocks
from bot.redis_lock import RedisKeyedLocks, RedisLease
from bot.settings import Settings

logger = logging.getLogger(__name__)

TELEGRAM_LEASE_KEY = "gateway:telegram-poller"
TELEGRAM_LEASE_TTL_S = 15.0
# Short socket timeouts: a Redis that is gone must fail a call fast, not hold a turn.
REDIS_TIMEOUT_S = 2.0


@dataclass
class ScaleOut:
    """The bus, the sender locks (None: the hub's own) and Redis, if configured."""

    bus: EventBus
    locks: SenderLocks | None = None
    redis: Redis | None = None

    def telegram_lease(self) -> RedisLease | None:
        """The lease whose holder polls Telegram and sends its pushes; None: always us."""
        if self.redis is None:
            return None
        return RedisLease(self.redis, TELEGRAM_LEASE_KEY, TELEGRAM_LEASE_TTL_S)

    async def start(self) -> None:
        await self.bus.start()

    async def close(self) -> None:
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.aclose()


def scale_out(settings: Settings) -> ScaleOut:
    """In process without ``GATEWAY_REDIS_URL``; on Redis with it."""
    if not settings.redis_url:
        return ScaleOut(bus=EventBus())
    redis = Redis.from_url(
        settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        health_check_interval=10,
    )
    logger.info("scale-out: events, sender locks and the Telegram lease on Redis")
    return ScaleOut(
        bus=RedisEventBus(redis, retention_s=settings.event_retention_s),
        locks=RedisKeyedLocks(redis, ttl_s=settings.redis_lock_ttl_s, wait_s=settings.turn_limit_s),
        redis=redis,
    )

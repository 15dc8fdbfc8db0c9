"""The scale-out parts on a real redis-server: sender locks across processes (a token, an
expiry, an atomic release), the event stream shared by gateways with catch-up by id, and
the Telegram poller's lease. Two objects on one Redis stand for two gateway processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.bus.events import ConversationClaimed, MessageAdded, QueueChanged, SubscriptionLagged
from bot.bus.redis_stream import RedisEventBus, decode, encode
from bot.redis_lock import LockBusy, RedisKeyedLocks, RedisLease
from bot.views import Profile, QueueItem, TranscriptMessage

from .cluster_kit import RedisServer, redis_server
from .real_stack import free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture
async def redis(server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(server.url, socket_timeout=2)
    await client.flushdb()
    yield client
    await client.aclose()


def message_event(text: str, conversation_id: int = 7) -> MessageAdded:
    return MessageAdded(
        conversation_id=conversation_id,
        sender_id="resident-1",
        channel="kiosk",
        message=TranscriptMessage(
            id=1, role="agent", text=text, channel="kiosk", created_at=datetime.now(UTC)
        ),
        claimed_by=3,
    )


def queue_event() -> QueueChanged:
    item = QueueItem(
        id=1,
        conversation_id=7,
        reason="resident asked",
        priority="normal",
        channel="webchat",
        queued_at=datetime.now(UTC),
        waiting_s=3.5,
        position=1,
        profile=Profile(elder_mode=True),
    )
    return QueueChanged(items=(item,))


def test_every_event_survives_the_stream_encoding() -> None:
    for event in (
        message_event("您好，我是社区的小王。"),
        queue_event(),
        ConversationClaimed(7, "wang"),
    ):
        assert decode(encode(event)) == event


async def test_turns_of_one_sender_run_one_after_another_across_processes(redis: Redis) -> None:
    first, second = RedisKeyedLocks(redis, ttl_s=2), RedisKeyedLocks(redis, ttl_s=2)
    inside: list[str] = []
    overlap = False

    async def turn(locks: RedisKeyedLocks, name: str) -> None:
        nonlocal overlap
        async with locks.hold("resident-1"):
            overlap = overlap or bool(inside)
            inside.append(name)
            await asyncio.sleep(0.05)
            inside.remove(name)

    await asyncio.gather(*(turn(first if i % 2 else second, str(i)) for i in range(8)))
    assert not overlap
    # Different senders do not wait for each other.
    async with first.hold("a"):
        async with asyncio.timeout(1):
            async with second.hold("b"):
                pass


async def test_a_dead_holders_lock_expires_and_a_stale_release_deletes_nothing(
    redis: Redis,
) -> None:
    dead = RedisLease(redis, "gateway:sender-lock:r", ttl_s=0.3)
    assert await dead.acquire()  # its gateway was killed: never released, never renewed
    locks = RedisKeyedLocks(redis, ttl_s=5)
    started = asyncio.get_running_loop().time()
    async with locks.hold("r"):
        waited = asyncio.get_running_loop().time() - started
        await dead.release()  # too late: the lock is someone else's now
        assert await redis.exists("gateway:sender-lock:r")
    assert 0.2 < waited < 2
    assert not await redis.exists("gateway:sender-lock:r")


async def test_a_lock_held_while_the_turn_runs_past_its_expiry_is_renewed(redis: Redis) -> None:
    locks, other = RedisKeyedLocks(redis, ttl_s=0.3), RedisKeyedLocks(redis, ttl_s=0.3, wait_s=0.2)
    async with locks.hold("slow"):
        await asyncio.sleep(0.8)  # longer than the expiry: renewed meanwhile
        with pytest.raises(LockBusy):
            async with other.hold("slow"):
                pass


async def test_without_redis_a_turn_still_runs_under_the_process_lock() -> None:
    gone = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    locks = RedisKeyedLocks(gone)
    async with locks.hold("resident") as everywhere:
        pass
    assert locks.degraded_turns == 1
    assert everywhere is False  # the hub must not take this for a lock on every gateway
    await gone.aclose()


async def test_a_hold_on_redis_says_it_excludes_every_gateway(redis: Redis) -> None:
    async with RedisKeyedLocks(redis).hold("resident") as everywhere:
        assert everywhere is True


async def test_events_published_by_one_gateway_reach_the_other_in_order(redis: Redis) -> None:
    one, two = RedisEventBus(redis), RedisEventBus(redis)
    await one.start()
    await two.start()
    try:
        with two.subscribe() as far, one.subscribe() as near:
            one.publish(message_event("第一句"))
            two.publish(ConversationClaimed(7, "wang"))
            one.publish(message_event("第二句"))
            async with asyncio.timeout(5):
                got_far = [await far.next() for _ in range(3)]
                got_near = [await near.next() for _ in range(3)]
        assert got_far == got_near  # one order for everyone
        assert {type(e) for e in got_far} == {MessageAdded, ConversationClaimed}
        assert far.last_id is not None and far.last_id == near.last_id
    finally:
        await one.stop()
        await two.stop()


async def test_a_reconnecting_console_catches_up_from_its_last_stream_id(redis: Redis) -> None:
    bus = RedisEventBus(redis)
    await bus.start()
    try:
        with bus.subscribe() as console:
            bus.publish(message_event("之前"))
            async with asyncio.timeout(5):
                await console.next()
            seen = console.last_id
        assert seen is not None
        # The console is gone; two things happen; it comes back with its last id.
        bus.publish(message_event("断开时一"))
        bus.publish(ConversationClaimed(7, "li"))
        await asyncio.sleep(0.2)
        missed = await bus.replay(seen)
        assert missed is not None
        assert [type(e) for _, e in missed] == [MessageAdded, ConversationClaimed]
        assert await bus.replay("not-an-id") is None
        assert await bus.replay(missed[-1][0]) == []
    finally:
        await bus.stop()


async def test_a_resumed_subscription_gets_each_event_once_at_the_seam(redis: Redis) -> None:
    bus = RedisEventBus(redis)
    await bus.start()
    try:
        with bus.subscribe() as before:
            bus.publish(message_event("看到了"))
            async with asyncio.timeout(5):
                await before.next()
        seen = before.last_id
        assert seen is not None
        bus.publish(message_event("错过一"))
        bus.publish(message_event("错过二"))
        await asyncio.sleep(0.2)
        with bus.subscribe() as back:
            # Appended after the subscription opened and before the replay: in both.
            bus.publish(message_event("接缝"))
            await asyncio.sleep(0.2)
            missed = await bus.resume(back, seen)
            bus.publish(message_event("之后"))
            async with asyncio.timeout(5):
                live = await back.next()
        assert missed is not None
        assert [e.message.text for _, e in missed if isinstance(e, MessageAdded)] == [
            "错过一",
            "错过二",
            "接缝",
        ]
        assert isinstance(live, MessageAdded) and live.message.text == "之后"
    finally:
        await bus.stop()


async def test_events_kept_in_one_process_while_redis_was_away_stop_any_replay_across_them(
    server: RedisServer, redis: Redis
) -> None:
    one = RedisEventBus(Redis.from_url(server.url, socket_timeout=2))
    two = RedisEventBus(Redis.from_url(server.url, socket_timeout=2))
    await one.start()
    await two.start()
    try:
        with two.subscribe() as far, one.subscribe() as near:
            one.publish(message_event("之前"))
            async with asyncio.timeout(5):
                await far.next()
                await near.next()
            seen = far.last_id
            assert seen is not None
            server.stop()
            one.publish(message_event("只在一号"))
            async with asyncio.timeout(5):
                await near.next()  # its own listeners still hear it, with no id
            assert near.last_id is None, "nothing to resume from"
            assert await two.replay(seen) is None, "Redis cannot say"
            server.start()
            async with asyncio.timeout(10):  # the gap entry: two's listeners missed one
                with pytest.raises(SubscriptionLagged):
                    await far.next()
        assert await two.replay(seen) is None, "a replay would skip what two never heard"
    finally:
        if server.proc is None:  # the test stopped before restarting it
            server.start()
        await one.stop()
        await two.stop()


async def test_the_stream_keeps_events_only_for_the_retention_time(redis: Redis) -> None:
    bus = RedisEventBus(redis, retention_s=0.2)
    await bus.start()
    try:
        bus.publish(message_event("旧的"))
        await asyncio.sleep(0.5)
        bus.publish(message_event("新的"))
        await asyncio.sleep(0.2)
        entries = await redis.xrange("gateway:events")
        assert len(entries) == 1
    finally:
        await bus.stop()


async def test_one_poller_lease_at_a_time_and_renewed_only_by_its_holder(redis: Redis) -> None:
    first = RedisLease(redis, "gateway:telegram-poller", ttl_s=0.4)
    second = RedisLease(redis, "gateway:telegram-poller", ttl_s=0.4)
    assert await first.acquire()
    assert not await second.acquire()
    assert await first.renew()
    assert not await second.renew()
    await asyncio.sleep(0.6)  # the holder died: the lease expires
    assert await second.acquire()
    assert not await first.renew()

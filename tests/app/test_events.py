"""The in-process event bus: fan-out in order, unsubscribe, slow listeners dropped."""

from __future__ import annotations

import pytest

from bot.bus.events import ConversationClaimed, EventBus, SubscriptionLagged


async def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = EventBus()
    events = [ConversationClaimed(conversation_id=i, agent="wang") for i in range(3)]
    with bus.subscribe() as first, bus.subscribe() as second:
        for event in events:
            bus.publish(event)
        assert [await first.next() for _ in events] == events
        assert [await second.next() for _ in events] == events
    assert bus.subscriber_count == 0


async def test_events_before_subscribing_are_not_delivered() -> None:
    bus = EventBus()
    bus.publish(ConversationClaimed(conversation_id=1, agent="a"))
    with bus.subscribe() as late:
        bus.publish(ConversationClaimed(conversation_id=2, agent="b"))
        assert (await late.next()).conversation_id == 2  # type: ignore[union-attr]


async def test_a_slow_subscriber_is_dropped_without_blocking_the_others() -> None:
    bus = EventBus(buffer=2)
    with bus.subscribe() as slow, bus.subscribe() as fast:
        for i in range(2):
            bus.publish(ConversationClaimed(conversation_id=i, agent="a"))
            await fast.next()
        bus.publish(ConversationClaimed(conversation_id=9, agent="a"))  # slow overflows
        assert bus.subscriber_count == 1
        assert (await fast.next()).conversation_id == 9  # type: ignore[union-attr]
        await slow.next()
        await slow.next()
        with pytest.raises(SubscriptionLagged):
            await slow.next()

"""Per-key locks: one key's work runs in order, other keys are not held up, none linger."""

from __future__ import annotations

import asyncio
import gc

from bot.keyed_locks import KeyedLocks


async def test_same_key_in_order_other_keys_alongside() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    events: list[str] = []
    first_inside = asyncio.Event()

    async def slow(key: str, name: str) -> None:
        async with locks.hold(key):
            events.append(f"{name} in")
            first_inside.set()
            await asyncio.sleep(0.05)
            events.append(f"{name} out")

    async def quick(key: str, name: str) -> None:
        await first_inside.wait()
        async with locks.hold(key):
            events.append(f"{name} in")
            events.append(f"{name} out")

    await asyncio.gather(slow("a", "a1"), quick("a", "a2"), quick("b", "b1"))
    assert events.index("a1 out") < events.index("a2 in")
    assert events.index("b1 out") < events.index("a1 out"), "b did not wait for a"


async def test_locks_are_forgotten_when_unused() -> None:
    locks: KeyedLocks[int] = KeyedLocks()
    for key in range(100):
        async with locks.hold(key):
            assert len(locks) >= 1
    gc.collect()
    assert len(locks) == 0

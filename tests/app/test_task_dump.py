"""The SIGUSR1 task dump names where a hung request waits, down the chain of awaits."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from channels import task_dump


async def _waits_for_ever(event: asyncio.Event) -> None:
    await _inner(event)


async def _inner(event: asyncio.Event) -> None:
    await event.wait()


async def test_a_signal_logs_each_task_and_the_await_it_hangs_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = asyncio.Event()
    hung = asyncio.create_task(_waits_for_ever(event), name="hung-request")
    await asyncio.sleep(0)
    task_dump.install()
    try:
        with caplog.at_level(logging.WARNING, logger="channels.task_dump"):
            os.kill(os.getpid(), signal.SIGUSR1)
            await asyncio.sleep(0.1)
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        event.set()
        await hung
    line = next(r.getMessage() for r in caplog.records if "hung-request" in r.getMessage())
    assert "_waits_for_ever" in line and "_inner" in line and "wait" in line, line

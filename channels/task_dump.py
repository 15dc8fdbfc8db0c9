"""``kill -USR1 <gateway pid>`` logs where every asyncio task of the gateway is waiting.

A request that hangs leaves no trace of its own: no error, no CPU, and py-spy sees only
an idle event loop, because a suspended coroutine is on no thread's stack. The stacks
logged here name files, lines and functions only, never a frame's variables, so no
resident's words reach the log.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

logger = logging.getLogger(__name__)


def install() -> None:
    """Answer SIGUSR1 on the running loop (a no-op where signals cannot be handled)."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGUSR1, log_tasks)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
        logger.debug("SIGUSR1 task dump not available here")


def log_tasks() -> None:
    """One WARNING per pending task: its name and where each of its frames waits."""
    tasks = asyncio.all_tasks()
    logger.warning("task dump: %d tasks", len(tasks))
    for task in tasks:
        where = " -> ".join(_awaiting(task.get_coro()))
        logger.warning("task %s: %s", task.get_name(), where or "(not started)")


def _awaiting(coro: Any) -> list[str]:
    """Outermost first: each coroutine (or async generator) and the line it waits on,
    down the chain of awaits (`Task.get_stack` shows only the outermost one)."""
    chain: list[str] = []
    while coro is not None and len(chain) < 100:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is None:
            chain.append(type(coro).__name__)  # a Future or a C-level awaitable
            break
        code = frame.f_code
        chain.append(f"{code.co_name} ({code.co_filename}:{frame.f_lineno})")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return chain

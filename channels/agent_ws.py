"""``WS /ws/agent?token=…[&after=<id>]``: live pushes to agent consoles.

Pushes (shapes in `bot.bus.console_feed`): the queue on connect and on every change, claims
by anyone, and new turns of the conversations this agent handles, each with its stream
``id``. A console that reconnects passes the last ``id`` it saw as ``after``: it then gets
``{"type": "resumed", "after"}`` and, in order, the pushes it missed (the same ones, masked
the same way, a live connection would have had), then live ones with none twice at the
seam. When that cannot be done (in process, Redis away, the id trimmed or unknown) it
gets the queue snapshot with ``"resync": true`` and re-reads the rest over HTTP, as a
console always could. A bad or expired
token closes the socket with code 4401 (after accepting it: a close during the handshake
would reach a browser only as a generic failure). A console that falls too far behind
is closed with 1013 ("try again later") and reconnects; the REST API has the state.

The token is in the query string because browsers cannot set headers on a WebSocket;
the gateway's logs redact it (see `channels.app`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from bot.agents import AgentSession
from bot.bus import console_feed
from bot.bus.events import EventBus, Subscription, SubscriptionLagged
from bot.store.models import utcnow
from channels.deps import AccountsDep, BusDep, DeskDep

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN_LATER = 1013

router = APIRouter(tags=["agent"])


@router.websocket("/ws/agent")
async def agent_ws(
    websocket: WebSocket,
    accounts: AccountsDep,
    desk: DeskDep,
    bus: BusDep,
    token: str | None = None,
    after: str | None = None,
) -> None:
    """Authenticate, then forward this agent's events until either side goes away."""
    session = await accounts.authenticate(token)
    await websocket.accept()
    if session is None:
        await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    with bus.subscribe() as subscription:
        # Subscribed first, so nothing that happens while the state is read is lost.
        position = bus.position  # what the snapshot covers at least, taken with the subscription
        if not after or not await _replay(websocket, bus, subscription, session, after):
            queue = await desk.queue(session.agent)
            await websocket.send_text(
                console_feed.snapshot_push(queue.items, position, resync=bool(after))
            )
        sender = asyncio.create_task(_forward(websocket, subscription, session))
        receiver = asyncio.create_task(_drain(websocket))
        done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                if not isinstance(exc, WebSocketDisconnect):
                    logger.warning("agent console connection ended: %s", type(exc).__name__)


async def _replay(
    websocket: WebSocket,
    bus: EventBus,
    subscription: Subscription,
    session: AgentSession,
    after: str,
) -> bool:
    """Send what the console missed after stream id `after`; False if the bus cannot say."""
    missed = await bus.resume(subscription, after)
    if missed is None:
        return False
    await websocket.send_text(console_feed.resumed_push(after))
    for event_id, event in missed:
        text = console_feed.render(event, session.agent.id, event_id)
        if text is not None:
            await websocket.send_text(text)
    return True


async def _forward(websocket: WebSocket, subscription: Subscription, session: AgentSession) -> None:
    """Send what concerns this agent; close with 4401 when the token expires."""
    agent_id = session.agent.id
    while True:
        remaining = (session.expires_at - utcnow()).total_seconds()
        try:
            # asyncio.timeout, not wait_for: wait_for can swallow a racing cancel (3.11).
            async with asyncio.timeout(max(0.0, remaining)):
                event = await subscription.next()
        except TimeoutError:
            await websocket.close(code=CLOSE_UNAUTHORIZED)
            return
        except SubscriptionLagged:
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        text = console_feed.render(event, agent_id, subscription.last_id)
        if text is not None:
            await websocket.send_text(text)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the console sends, to notice when it disconnects."""
    while True:
        await websocket.receive_text()

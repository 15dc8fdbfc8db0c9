"""Atomic claim: many agents claiming the same conversation at once, exactly one wins.

Runs in one event loop against the ASGI app (no TestClient thread), so the 20 claims
really overlap at the database: on PostgreSQL through SELECT … FOR UPDATE SKIP LOCKED
plus the guarded update, on SQLite through the guarded update.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy import select

from bot.agents import create_agent
from bot.handoff.queue import ClaimOutcome, HandoffRequest, claim, enqueue
from bot.messages import UserMessage
from bot.settings import Settings
from bot.store.db import Database
from bot.store.models import AuditEntry, Conversation, Handoff
from bot.store.transcript import ensure_conversation
from channels.app import create_app

from .fake_rasa import FakeRasaState
from .handoff_kit import PASSWORD, WEBHOOK, seed_agents

CLAIMERS = 20


@pytest.fixture
async def api(
    make_settings: Callable[..., Settings], database_url: str, fake_rasa: FakeRasaState
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url=database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def test_twenty_agents_claim_at_once_one_wins(
    api: httpx.AsyncClient, database_url: str
) -> None:
    headers = await asyncio.to_thread(seed_agents, database_url, CLAIMERS)
    assert (await api.post(WEBHOOK, json={"sender": "u1", "message": "转人工"})).status_code == 200
    queue = (await api.get("/api/agent/queue", headers=headers[0])).json()
    conversation_id = queue["items"][0]["conversation_id"]

    start = asyncio.Event()

    async def claim_when_told(h: dict[str, str]) -> httpx.Response:
        await start.wait()
        return await api.post(f"/api/agent/conversations/{conversation_id}/claim", headers=h)

    tasks = [asyncio.create_task(claim_when_told(h)) for h in headers]
    await asyncio.sleep(0)
    start.set()
    responses = await asyncio.gather(*tasks)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: CLAIMERS - 1}, statuses
    losers = [r.json() for r in responses if r.status_code == 409]
    assert {body["error"]["code"] for body in losers} == {"already_claimed"}
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["handoff"]["claimed_by"].startswith("seeded")

    database = Database(database_url)
    try:
        async with database.read() as session:
            claims = list(
                await session.scalars(select(AuditEntry).where(AuditEntry.action == "claim"))
            )
            handoff = await session.scalar(select(Handoff))
    finally:
        await database.dispose()
    assert len(claims) == 1
    assert handoff is not None and handoff.status == "claimed"
    assert claims[0].agent_id == handoff.claimed_by


async def test_queue_claim_is_atomic_with_separate_sessions(database_url: str) -> None:
    """The same race one level down, without HTTP: 20 sessions, one row."""
    database = Database(database_url)
    try:
        await database.upgrade()
        agents = [await create_agent(database, f"a{i}", PASSWORD) for i in range(2)]
        async with database.transaction() as session:
            conversation = await ensure_conversation(
                session, UserMessage(sender_id="u1", text="转人工", channel="rest")
            )
            await enqueue(session, conversation, HandoffRequest("user_request", "normal"), "rest")
            conversation_id = conversation.id

        async def one_claim(agent_id: int) -> ClaimOutcome:
            async with database.transaction() as session:
                outcome, _ = await claim(
                    session,
                    conversation_id,
                    agent_id,
                    skip_locked=database.dialect == "postgresql",
                )
                await asyncio.sleep(0.01)  # hold the transaction so the others overlap it
                return outcome

        outcomes = await asyncio.gather(*(one_claim(agents[i % 2].id) for i in range(CLAIMERS)))
        async with database.read() as session:
            assert await session.get(Conversation, conversation_id) is not None
    finally:
        await database.dispose()

    assert Counter(outcomes) == {ClaimOutcome.CLAIMED: 1, ClaimOutcome.TAKEN: CLAIMERS - 1}

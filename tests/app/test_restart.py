"""A gateway restart loses nothing: the queue, transcripts and call-back state are in the DB."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from sqlalchemy import inspect

from bot.handoff import texts as handoff_texts
from bot.settings import PROJECT_ROOT
from bot.store.db import Database

from .conftest import Gateways
from .handoff_kit import AgentApi, add_agent, say, user_messages, wait_for


def test_new_app_on_the_same_database_keeps_queue_and_messages(gateways: Gateways) -> None:
    add_agent(gateways.database_url, "wang")
    first = gateways.start(callback_offer_after_s=0.2, handoff_tick_s=0.05)
    say(first, "u-a", "转人工")
    say(first, "u-b", "我要投诉")
    say(first, "u-a", "我还在等")
    wait_for(
        lambda: any(
            m.get("text") == handoff_texts.CALLBACK_OFFER
            for m in user_messages(first, "u-a")["messages"]
        ),
        what="offer before the restart",
    )
    say(first, "u-a", "13812345678")
    before_a = user_messages(first, "u-a")
    agent = AgentApi(first, "wang")
    before_queue = agent.queue()["items"]
    assert [i["reason"] for i in before_queue] == ["complaint", "user_request"]
    gateways.stop(first)

    second = gateways.start(callback_offer_after_s=0.2, handoff_tick_s=0.05)

    assert user_messages(second, "u-a") == before_a
    old_headers = agent.headers
    agent = AgentApi(second, "wang")
    after_queue = agent.queue()["items"]
    strip = [{k: v for k, v in i.items() if k != "waiting_s"} for i in after_queue]
    assert strip == [{k: v for k, v in i.items() if k != "waiting_s"} for i in before_queue]
    assert after_queue[1]["callback_phone"] == "138****5678"
    # Still routed to people, and the call-back is not offered a second time.
    assert say(second, "u-a", "喂")[-1]["text"].startswith("您说的话工作人员都能看到")
    complaint = after_queue[0]["conversation_id"]
    agent.ok("post", f"/conversations/{complaint}/claim")
    texts_a = [m.get("text") for m in user_messages(second, "u-a")["messages"]]
    assert texts_a.count(handoff_texts.CALLBACK_OFFER) == 1
    # The old token still works after the restart (tokens live in the database too).
    assert second.get("/api/agent/queue", headers=old_headers).status_code == 200


def test_python_m_bot_db_upgrade_creates_the_schema(gateways: Gateways) -> None:
    env = {**os.environ, "DATABASE_URL": gateways.database_url, "PYTHONPATH": str(PROJECT_ROOT)}
    for _ in range(2):  # idempotent
        done = subprocess.run(
            [sys.executable, "-m", "bot.store.db", "upgrade"],
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr.decode()
    assert "postgres:postgres" not in done.stderr.decode(), "no password in the log"

    async def tables() -> set[str]:
        database = Database(gateways.database_url)
        try:
            async with database.engine.connect() as connection:
                names = await connection.run_sync(lambda c: inspect(c).get_table_names())
        finally:
            await database.dispose()
        return set(names)

    assert {
        "conversations",
        "messages",
        "handoffs",
        "agents",
        "agent_tokens",
        "audit_log",
        "notes",
        "canned_replies",
        "alembic_version",
    } <= asyncio.run(tables())

"""A kiosk that reconnects goes on with its conversation (``hello`` with ``resume`` and the
last stream id as ``after``), on two gateways sharing one database and a real
redis-server: it gets what it missed, in order, only its own conversation's, and no more
than a kiosk that stayed connected; when the stream cannot say it is told ``resync``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from starlette.testclient import WebSocketTestSession

from bot.bus.events import stream_id_less
from bot.handoff import texts as handoff_texts

from .cluster_kit import RedisServer, redis_server
from .conftest import Gateways
from .handoff_kit import AgentApi, add_agent, say

WS = "/ws/kiosk"
Message = dict[str, Any]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture
def two(gateways: Gateways, server: RedisServer) -> tuple[TestClient, TestClient]:
    """Two gateways on one database and one Redis stream that already holds an entry."""
    with Redis.from_url(server.url) as redis:
        redis.flushdb()
    one, other = gateways.start(redis_url=server.url), gateways.start(redis_url=server.url)
    say(one, "u-warm-up", "你好")
    time.sleep(0.3)  # both readers have it: their positions are entries of the stream
    return one, other


def hello(ws: WebSocketTestSession, resume: str | None = None, after: str | None = None) -> Message:
    ws.send_json({"type": "hello", "resume": resume, "after": after})
    session: Message = ws.receive_json()
    assert session["type"] == "session", session
    return session


def until_text(ws: WebSocketTestSession, text: str, limit: int = 50) -> list[Message]:
    """Messages up to and including the ``bot`` message saying `text`."""
    seen: list[Message] = []
    for _ in range(limit):
        seen.append(ws.receive_json())
        if seen[-1]["type"] == "bot" and text in (seen[-1].get("text") or ""):
            return seen
    raise AssertionError(f"no {text!r} in {seen}")


def pushed(messages: list[Message], after: str) -> list[Message]:
    """The bus pushes after stream id `after`, audio aside (speech is not the point)."""
    return [
        {k: v for k, v in m.items() if k != "audio"}
        for m in messages
        if m.get("id") and stream_id_less(after, m["id"])
    ]


def test_a_kiosk_back_from_a_drop_gets_its_own_missed_messages_and_no_one_elses(
    two: tuple[TestClient, TestClient], gateways: Gateways
) -> None:
    one, other = two
    add_agent(gateways.database_url, "wangfang")
    agent = AgentApi(one, "wangfang")
    with one.websocket_connect(WS) as staying:  # the reference: never dropped
        resume = hello(staying)["resume"]
        staying.send_json({"type": "text", "text": "转人工"})
        until_text(staying, "排在第1位")
        (conversation,) = agent.waiting_ids()
        say(one, "u-someone-else", "转人工")
        someone_else = next(c for c in agent.waiting_ids() if c != conversation)

        live: list[Message] = []
        with other.websocket_connect(WS) as dropping:
            session = hello(dropping, resume)
            assert session["resume"] == resume, "the same conversation goes on"
            agent.ok("post", f"/conversations/{conversation}/claim")
            last_seen = until_text(dropping, handoff_texts.AGENT_JOINED)[-1]["id"]
        live += until_text(staying, handoff_texts.AGENT_JOINED)
        # Away: the agent writes to this resident, and to someone else.
        agent.ok("post", f"/conversations/{someone_else}/claim")
        agent.ok("post", f"/conversations/{someone_else}/messages", {"text": "别人的事"})
        agent.ok("post", f"/conversations/{conversation}/messages", {"text": "在的，我帮您查。"})
        agent.ok("post", f"/conversations/{conversation}/messages", {"text": "查到了"})
        live += until_text(staying, "查到了")

    with other.websocket_connect(WS) as back:
        session = hello(back, resume, last_seen)
        assert (session["resumed"], session["resync"], session["id"]) == (True, False, last_seen)
        replayed = until_text(back, "查到了")
    assert pushed(replayed, last_seen) == pushed(live, last_seen), "as live, in order, once"
    texts = [m["text"] for m in replayed if m["type"] == "bot"]
    assert texts == ["在的，我帮您查。", "查到了"], "only this conversation's"
    assert all(m.get("from") == "agent" for m in replayed if m["type"] == "bot")


def test_a_kiosk_that_cannot_be_replayed_to_is_told_resync(
    two: tuple[TestClient, TestClient], gateways: Gateways
) -> None:
    one, other = two
    with one.websocket_connect(WS) as ws:
        resume = hello(ws)["resume"]
    for after in ("99999999999999-0", "not-a-stream-id", None):
        with other.websocket_connect(WS) as ws:
            session = hello(ws, resume, after)
        assert (session["resume"], session["resumed"], session["resync"]) == (resume, False, True)
    # Not a kiosk conversation (say, a web chat's sender): never taken over, a new one.
    with other.websocket_connect(WS) as ws:
        session = hello(ws, "u-warm-up", session["id"])
    assert session["resume"] != "u-warm-up" and session["resume"].startswith("kiosk-")
    assert session["resync"] is True


def test_in_process_a_kiosk_goes_on_with_its_conversation_but_is_told_resync(
    gateways: Gateways,
) -> None:
    client = gateways.start()
    with client.websocket_connect(WS) as ws:
        first = hello(ws)
    assert (first["resumed"], first["resync"], first["id"]) == (False, False, None)
    with client.websocket_connect(WS) as ws:
        again = hello(ws, first["resume"], None)
        ws.send_json({"type": "command", "name": "end"})
        reset = ws.receive_json()
        while reset["type"] != "reset":
            reset = ws.receive_json()
    assert (again["resume"], again["resync"]) == (first["resume"], True)
    assert reset["resume"] not in (None, first["resume"]), "end names the next conversation"

"""A console that reconnects with the last stream id it saw (``/ws/agent?after=<id>``), on
two gateways sharing one database and a real redis-server: it gets exactly what it missed,
in order and masked as live pushes are, even when it all happened on the other gateway;
when the stream cannot say (trimmed, unknown id, Redis down, no Redis at all) it gets the
queue snapshot marked ``resync`` instead."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from starlette.testclient import WebSocketTestSession

from bot.bus.events import stream_id_less

from .cluster_kit import RedisServer, redis_server
from .conftest import Gateways
from .handoff_kit import AgentApi, add_agent, say

Push = dict[str, Any]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture
def two(gateways: Gateways, server: RedisServer) -> tuple[TestClient, TestClient]:
    """Two gateways on one database and one Redis stream (emptied first)."""
    with Redis.from_url(server.url) as redis:
        redis.flushdb()
    return gateways.start(redis_url=server.url), gateways.start(redis_url=server.url)


def console(client: TestClient, agent: AgentApi, after: str | None = None) -> Any:
    query = f"&after={quote(after, safe='')}" if after is not None else ""
    return client.websocket_connect(f"/ws/agent?token={agent.token}{query}")


def until(ws: WebSocketTestSession, done: Any, limit: int = 50) -> list[Push]:
    """Pushes up to and including the first one `done` accepts."""
    pushes: list[Push] = []
    for _ in range(limit):
        pushes.append(ws.receive_json())
        if done(pushes[-1]):
            return pushes
    raise AssertionError(f"not there after {limit} pushes: {pushes}")


def queue_holds(conversation_id: int | None) -> Any:
    """A test for a queue push whose waiting list is exactly that conversation (or empty)."""
    wanted = [] if conversation_id is None else [conversation_id]
    return lambda p: p["type"] == "queue" and [i["conversation_id"] for i in p["items"]] == wanted


def reaches(last: str) -> Any:
    return lambda p: p.get("id") == last


def test_a_console_back_from_a_drop_gets_what_it_missed_on_the_other_gateway(
    two: tuple[TestClient, TestClient], gateways: Gateways
) -> None:
    one, other = two
    for name in ("wang", "li"):
        add_agent(gateways.database_url, name)
    wang, li = AgentApi(one, "wang"), AgentApi(other, "li")
    say(one, "u-resume-1", "转人工")
    (first,) = li.waiting_ids()
    li.ok("post", f"/conversations/{first}/claim")

    with console(one, li) as staying:  # li's second console, never dropped: the reference
        assert staying.receive_json()["type"] == "queue"
        with console(other, li) as dropping:
            opening = dropping.receive_json()
            assert opening["type"] == "queue" and opening["resync"] is False
            assert opening["id"] is not None, "a stream position to resume from"
            last_seen = opening["id"]
        # Away: the resident of li's conversation speaks, a second asks for a person and
        # wang claims them, all through gateway one.
        say(one, "u-resume-1", "我的号码是13812345678")
        say(one, "u-resume-2", "转人工")
        live = until(staying, lambda p: p["type"] == "queue" and p["items"])
        second = live[-1]["items"][0]["conversation_id"]
        wang.ok("post", f"/conversations/{second}/claim")
        live += until(staying, lambda p: p["type"] == "claimed")
        live += until(staying, queue_holds(None))

    with console(other, li, after=last_seen) as back:
        assert back.receive_json() == {"type": "resumed", "after": last_seen}
        replayed = until(back, reaches(live[-1]["id"]))
    missed = [p for p in live if stream_id_less(last_seen, p["id"])]
    assert replayed == missed, "the same pushes, in the same order, none twice"
    kinds = [p["type"] for p in replayed]
    assert "claimed" in kinds and "queue" in kinds
    (message,) = [p["message"] for p in replayed if p["type"] == "message"]
    assert message["text"] == "我的号码是138****5678", "masked as a live push is"
    ids = [p["id"] for p in replayed]
    assert all(stream_id_less(a, b) for a, b in pairwise(ids))


def resync_check(client: TestClient, agent: AgentApi, after: str) -> Push:
    """Reconnect with `after`; insist on a resync snapshot of the queue as it is; return it."""
    with console(client, agent, after=after) as ws:
        opening: Push = ws.receive_json()
    assert opening["type"] == "queue" and opening["resync"] is True, opening
    assert [i["conversation_id"] for i in opening["items"]] == agent.waiting_ids()
    return opening


def test_a_console_whose_id_is_gone_or_unknown_gets_the_state_marked_resync(
    two: tuple[TestClient, TestClient], gateways: Gateways, server: RedisServer
) -> None:
    one, other = two
    add_agent(gateways.database_url, "li")
    li = AgentApi(other, "li")
    with console(other, li) as ws:
        say(one, "u-trim-1", "转人工")
        last_seen = until(ws, lambda p: p["type"] == "queue" and p["items"])[-1]["id"]
        say(one, "u-trim-2", "转人工")
        newest = until(ws, lambda p: p["type"] == "queue" and len(p["items"]) == 2)[-1]["id"]
    with Redis.from_url(server.url) as redis:
        redis.xtrim("gateway:events", minid=newest, approximate=False)  # as retention does
    resync_check(other, li, last_seen)
    assert resync_check(other, li, "99999999999999-0")["id"] is not None, "never issued"
    for not_an_id in ("not-a-stream-id", "-", "+", "$"):  # XRANGE's ends are no ids
        resync_check(other, li, not_an_id)
    # The newest entry is still held: from there nothing was missed.
    with console(other, li, after=newest) as ws:
        assert ws.receive_json() == {"type": "resumed", "after": newest}


def test_a_console_reconnecting_while_redis_is_down_gets_the_state_marked_resync(
    two: tuple[TestClient, TestClient], gateways: Gateways, server: RedisServer
) -> None:
    one, other = two
    add_agent(gateways.database_url, "li")
    li = AgentApi(other, "li")
    with console(other, li) as ws:
        say(one, "u-down-1", "转人工")
        last_seen = until(ws, lambda p: p["type"] == "queue" and p["items"])[-1]["id"]
    server.stop()
    try:
        say(one, "u-down-2", "转人工")  # the database has it; the stream cannot
        assert len(resync_check(other, li, last_seen)["items"]) == 2
    finally:
        server.start()

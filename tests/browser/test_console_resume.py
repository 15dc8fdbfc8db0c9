"""The console page against the REAL gateway on a real redis-server: after its live
connection drops it reconnects with the last stream id (``?after=``) and shows what it
missed from the replay alone; when the stream no longer holds that id it is told to
resync and re-reads the open conversation over HTTP, as before."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from redis import Redis

from tests.app.cluster_kit import RedisServer, redis_server
from tests.app.handoff_kit import PASSWORD, gateway_with_fake_rasa

from .conftest import LiveServer
from .helpers import claim_first, login

AGENT = "liming"
USER = "browser-resume-1"


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture
def gateway(tmp_path: Path, redis: RedisServer) -> Iterator[LiveServer]:
    with Redis.from_url(redis.url) as client:
        client.flushdb()
    with gateway_with_fake_rasa(tmp_path, agents=[AGENT], redis_url=redis.url) as server:
        yield server


def user_says(server: LiveServer, text: str) -> None:
    response = httpx.post(
        f"{server.url}/webhooks/rest/webhook", json={"sender": USER, "message": text}
    )
    response.raise_for_status()


@pytest.mark.parametrize("stream", ["kept", "trimmed"])
def test_a_dropped_console_shows_what_it_missed(
    gateway: LiveServer, redis: RedisServer, page: Page, stream: str
) -> None:
    # Every console connection passes through here: the first goes straight on, a later
    # one waits (the page thinks it is open) until the test connects it to the gateway.
    routes: list[WebSocketRoute] = []
    servers: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        routes.append(ws)
        if len(routes) == 1:
            servers.append(ws.connect_to_server())

    page.route_web_socket(re.compile(r"/ws/agent"), route)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    user_says(gateway, "转人工")
    page.goto(f"{gateway.url}/agent")
    login(page, AGENT, PASSWORD)
    claim_first(page)
    expect(page.locator("#transcript")).to_contain_text("转人工")

    servers[0].close()  # the connection drops, both ends
    routes[0].close(code=1012)
    expect(page.locator("#connection-status")).to_contain_text("断开")
    for _ in range(50):  # the page dials again after 1 s
        if len(routes) == 2:
            break
        page.wait_for_timeout(100)
    assert len(routes) == 2, "the page reconnected"
    assert re.search(r"[?&]after=\d+-\d+", routes[1].url), routes[1].url
    user_says(gateway, "我想问一下高龄津贴")  # missed: the page is not listening yet
    if stream == "trimmed":
        with Redis.from_url(redis.url) as client:
            client.delete("gateway:events")  # as if retention had passed
    asked_before = len(requests)
    routes[1].connect_to_server()

    expect(page.locator("#transcript")).to_contain_text("我想问一下高龄津贴")
    conversation_reads = [
        url for url in requests[asked_before:] if re.search(r"/api/agent/conversations/\d+$", url)
    ]
    if stream == "kept":
        assert conversation_reads == [], "the replay had it: nothing re-read"
    else:
        assert conversation_reads, "resync: the open conversation is re-read"

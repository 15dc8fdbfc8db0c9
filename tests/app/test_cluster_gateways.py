"""Two gateways (two apps, their lifespans running in one event loop) on one database and
one real redis-server, with the fake Rasa: what changes when several serve the residents.

- a console connected to one gateway hears what happened on the other (the event stream);
- one resident's turns arriving at both gateways at once run one after the other (the
  Redis sender lock), while the engine is slow;
- a turn whose gateway died before answering it (stored, nothing after it) is answered
  for real when the web chat retries it, not replayed as silence;
- Telegram is polled by one gateway; when it stops, the other takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bot import scale_out
from bot.bus.events import EventBus, MessageAdded
from bot.bus.redis_stream import RedisEventBus
from bot.messages import UserMessage
from bot.settings import Settings
from bot.store.db import Database
from bot.store.models import Role
from bot.store.transcript import append, ensure_conversation
from channels.app import create_app

from .cluster_kit import RedisServer, redis_server
from .fake_rasa import FakeRasaState
from .fake_telegram import TOKEN as TELEGRAM_TOKEN
from .fake_telegram import FakeTelegram
from .handoff_kit import sqlite_url, wait_for

SEND = "/api/webchat/messages"
SENDER = "web-cluster-7f3a9c2e"
CHAT = 4242


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as running:
        yield running


class Gateway:
    def __init__(self, client: httpx.AsyncClient, bus: EventBus) -> None:
        self.client = client
        self.bus = bus


@pytest.fixture
async def gateways(
    make_settings: Callable[..., Settings],
    server: RedisServer,
    tmp_path: Path,
    fake_rasa: FakeRasaState,
) -> AsyncIterator[tuple[Gateway, Gateway]]:
    url = sqlite_url(tmp_path / "gateway.db")
    settings = make_settings(database_url=url, redis_url=server.url, rasa_timeout_s=10.0)
    async with AsyncExitStack() as stack:
        started = []
        for _ in range(2):
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
            )
            started.append(Gateway(client, app.state.bus))
        yield started[0], started[1]


async def test_an_event_on_one_gateway_reaches_a_listener_on_the_other(
    gateways: tuple[Gateway, Gateway],
) -> None:
    one, two = gateways
    assert isinstance(two.bus, RedisEventBus)
    with two.bus.subscribe() as listener:
        response = await one.client.post(SEND, json={"sender": SENDER, "message": "你好"})
        assert response.status_code == 200, response.text
        async with asyncio.timeout(5):
            event = await listener.next()
            while not isinstance(event, MessageAdded):  # queue pushes of the watchers
                event = await listener.next()
    assert (event.sender_id, event.message.text) == (SENDER, "你好")
    assert listener.last_id is not None


async def test_one_residents_turns_at_both_gateways_run_one_after_the_other(
    gateways: tuple[Gateway, Gateway], fake_rasa: FakeRasaState
) -> None:
    one, two = gateways
    fake_rasa.delay_s = 0.3  # the fake sleeps this long on "slow"
    started = asyncio.get_running_loop().time()
    answers = await asyncio.gather(
        one.client.post(SEND, json={"sender": SENDER, "message": "slow"}),
        two.client.post(SEND, json={"sender": SENDER, "message": "slow"}),
    )
    elapsed = asyncio.get_running_loop().time() - started
    assert [a.status_code for a in answers] == [200, 200]
    assert elapsed >= 0.6, "the second turn waited for the first"
    assert len(fake_rasa.webhook_calls) == 2


async def test_a_turn_left_unanswered_by_a_dead_gateway_is_answered_on_retry(
    gateways: tuple[Gateway, Gateway],
    fake_rasa: FakeRasaState,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    one, _ = gateways
    # What a gateway killed mid-turn leaves behind: the user's turn with its client id,
    # stored, and nothing after it.
    database = Database(sqlite_url(tmp_path / "gateway.db"))
    try:
        async with database.transaction() as session:
            conversation = await ensure_conversation(
                session, UserMessage(sender_id=SENDER, text="你好", channel="web")
            )
            await append(session, conversation, Role.USER, text="你好", client_message_id="lost-1")
    finally:
        await database.dispose()
    retry = await one.client.post(
        SEND, json={"sender": SENDER, "message": "你好", "client_message_id": "lost-1"}
    )
    assert retry.status_code == 200, retry.text
    assert retry.json(), "answered, not an empty replay"
    assert len(fake_rasa.webhook_calls) == 1
    again = await one.client.post(
        SEND, json={"sender": SENDER, "message": "你好", "client_message_id": "lost-1"}
    )
    assert again.json() == retry.json(), "now an ordinary replay"
    assert len(fake_rasa.webhook_calls) == 1


@pytest.fixture(scope="module")
def fake_telegram_server() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


def telegram_detail(client: TestClient) -> str:
    return str(client.get("/health").json()["telegram"]["detail"])


def test_one_gateway_polls_telegram_and_the_other_takes_over_when_it_stops(
    make_settings: Callable[..., Settings],
    server: RedisServer,
    tmp_path: Path,
    fake_telegram_server: FakeTelegram,
    fake_rasa: FakeRasaState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scale_out, "TELEGRAM_LEASE_TTL_S", 1.5)
    telegram = fake_telegram_server
    telegram.reset()
    settings = make_settings(
        database_url=sqlite_url(tmp_path / "gateway.db"),
        redis_url=server.url,
        telegram_token=TELEGRAM_TOKEN,
        telegram_api_url=telegram.url,
        telegram_polling_timeout_s=1,
    )
    first = TestClient(create_app(settings)).__enter__()
    second = TestClient(create_app(settings)).__enter__()
    try:
        wait_for(lambda: telegram.calls_of("getUpdates"), what="polling")
        details = sorted(telegram_detail(c).split(" ")[0] for c in (first, second))
        assert details == ["polling", "standby:"], details
        leader, standby = (
            (first, second) if "polling" in telegram_detail(first) else (second, first)
        )
        telegram.user_says(CHAT, "你好")
        wait_for(lambda: len(telegram.texts(CHAT)) >= 2, what="the answer")
        leader.__exit__(None, None, None)  # releases the lease as it stops
        wait_for(lambda: telegram_detail(standby).startswith("polling"), 10, what="take-over")
        telegram.user_says(CHAT, "再见")
        wait_for(lambda: len(telegram.texts(CHAT)) >= 4, what="the answer after take-over")
        assert len(fake_rasa.webhook_calls) == 2, "each update handled once"
    finally:
        for client in (first, second):
            with contextlib.suppress(Exception):
                client.__exit__(None, None, None)


async def test_a_turn_rasa_answers_with_nothing_is_a_clear_error_and_its_retry_is_answered(
    gateways: tuple[Gateway, Gateway], fake_rasa: FakeRasaState
) -> None:
    """Rasa's REST channel answers 200 and [] when a turn failed inside it (its Redis lock
    store restarting, an action server gone): the resident must hear that, not nothing."""
    one, _ = gateways
    fake_rasa.scripted["你好呀"] = []
    body = {"sender": SENDER, "message": "你好呀", "client_message_id": "empty-1"}
    failed = await one.client.post(SEND, json=body)
    assert failed.status_code == 503, failed.text
    assert "稍" in failed.json()["error"]["message"]
    fake_rasa.scripted["你好呀"] = [{"text": "您好！"}]
    retry = await one.client.post(SEND, json=body)
    assert retry.status_code == 200, retry.text
    assert [r["text"] for r in retry.json()] == ["您好！"]

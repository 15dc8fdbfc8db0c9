"""Idempotent user turns: a web chat message sent again under the same ``client_message_id``
is one turn (one user row, one Rasa call) and gets the same answer as the first time.

The scenario behind it: the gateway stored and answered a message, but the answer never
reached the page (dropped connection, proxy timeout), so the page sends it again. Runs in
one event loop against the ASGI app, so concurrent duplicates really overlap, on SQLite and
on PostgreSQL (``TEST_DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.messages import UserMessage
from bot.settings import Settings
from bot.store.db import Database
from bot.store.models import Message, Role, utcnow
from bot.store.transcript import append, ensure_conversation
from channels.app import create_app

from .fake_rasa import BUTTONS, HANDOFF, HANDOFF_TEXT, FakeRasaState

SEND = "/api/webchat/messages"
SENDER = "web-5e1f0c2b9a8d4e7f"
ID_A = "0f3a9c2e7b1d4a6c8e5f0a1b2c3d4e5f"
ID_B = "b_2-Z"


def body(message: str, client_id: Any = ID_A, sender: str = SENDER) -> dict[str, Any]:
    return {"sender": sender, "message": message, "client_message_id": client_id}


async def open_api(stack: AsyncExitStack, settings: Settings) -> httpx.AsyncClient:
    """One gateway (its lifespan running) in this event loop, and a client for it."""
    app = create_app(settings)
    await stack.enter_async_context(app.router.lifespan_context(app))
    transport = httpx.ASGITransport(app=app)
    return await stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url="http://gateway")
    )


@pytest.fixture
async def api(
    make_settings: Callable[..., Settings], database_url: str, fake_rasa: FakeRasaState
) -> AsyncIterator[httpx.AsyncClient]:
    async with AsyncExitStack() as stack:
        yield await open_api(stack, make_settings(database_url=database_url))


async def stored(database_url: str) -> list[Message]:
    """Every transcript row, oldest first."""
    database = Database(database_url)
    try:
        async with database.read() as session:
            return list(await session.scalars(select(Message).order_by(Message.id)))
    finally:
        await database.dispose()


def user_rows(rows: list[Message]) -> list[Message]:
    return [row for row in rows if row.role == Role.USER.value]


async def test_the_same_id_twice_is_one_turn_with_the_same_answer(
    api: httpx.AsyncClient, database_url: str, fake_rasa: FakeRasaState
) -> None:
    first = await api.post(SEND, json=body("你好"))
    assert first.status_code == 200, first.text
    before = await stored(database_url)

    again = await api.post(SEND, json=body("你好"))
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.json() == [
        {"recipient_id": SENDER, "text": "您说的是：你好"},
        {"recipient_id": SENDER, "text": "请选择服务：", "buttons": BUTTONS},
    ]
    assert len(fake_rasa.webhook_calls) == 1
    after = await stored(database_url)
    assert [row.id for row in after] == [row.id for row in before], "no new rows"
    (turn,) = user_rows(after)
    assert (turn.text, turn.client_message_id) == ("你好", ID_A)


async def test_different_ids_are_different_turns(
    api: httpx.AsyncClient, database_url: str, fake_rasa: FakeRasaState
) -> None:
    """The same words said twice on purpose are two turns; so are messages without an id."""
    for client_id in (ID_A, ID_B, None, None):
        response = await api.post(SEND, json=body("好的", client_id))
        assert response.status_code == 200, response.text
    assert len(fake_rasa.webhook_calls) == 4
    turns = user_rows(await stored(database_url))
    assert [t.client_message_id for t in turns] == [ID_A, ID_B, None, None]


async def test_a_late_retry_gets_only_its_own_replies(
    api: httpx.AsyncClient, fake_rasa: FakeRasaState
) -> None:
    """Replies are those up to the next user turn, not everything said since."""
    first = (await api.post(SEND, json=body("第一句", ID_A))).json()
    await api.post(SEND, json=body("第二句", ID_B))
    again = await api.post(SEND, json=body("第一句", ID_A))
    assert again.json() == first
    assert len(fake_rasa.webhook_calls) == 2


async def test_a_handoff_answer_is_replayed_whole(
    api: httpx.AsyncClient, database_url: str, fake_rasa: FakeRasaState
) -> None:
    """Text, the custom handoff element and the queue notice: the REST shape as first sent;
    and the retry queues nobody a second time."""
    first = await api.post(SEND, json=body("转人工"))
    assert first.status_code == 200, first.text
    assert [r.get("text") for r in first.json()][:2] == [HANDOFF_TEXT, None]
    assert first.json()[1]["custom"] == HANDOFF
    assert first.json()[2]["custom"]["queue"]["position"] == 1
    again = await api.post(SEND, json=body("转人工"))
    assert again.json() == first.json()
    assert len(fake_rasa.webhook_calls) == 1
    assert len(user_rows(await stored(database_url))) == 1


async def test_concurrent_duplicates_make_one_turn(
    api: httpx.AsyncClient, database_url: str, fake_rasa: FakeRasaState
) -> None:
    """Two identical requests at once (a double press, a proxy retrying): the per-sender
    lock lets the second find the first's turn, and both get the full answer."""
    fake_rasa.delay_s = 0.3  # the first is still with Rasa when the second arrives
    first, second = await asyncio.gather(
        api.post(SEND, json=body("slow")), api.post(SEND, json=body("slow"))
    )
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json() == second.json()
    assert first.json()[0]["text"] == "您说的是：slow"
    assert len(fake_rasa.webhook_calls) == 1
    assert len(user_rows(await stored(database_url))) == 1


async def test_concurrent_duplicates_on_two_gateways_make_one_turn(
    make_settings: Callable[..., Settings], database_url: str, fake_rasa: FakeRasaState
) -> None:
    """Two gateway processes share no lock, only the database (no Redis, or Redis away):
    the conversation row lock and the unique index still let only one of them store and
    answer the message. The other cannot know whether the first attempt is still being
    answered, so it says "稍等" rather than an empty 200; sent again, it gets the answer."""
    fake_rasa.delay_s = 0.3
    async with AsyncExitStack() as stack:
        one = await open_api(stack, make_settings(database_url=database_url))
        two = await open_api(stack, make_settings(database_url=database_url))
        responses = await asyncio.gather(
            one.post(SEND, json=body("slow")), two.post(SEND, json=body("slow"))
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409], [r.text for r in responses]
        answered = next(r for r in responses if r.status_code == 200)
        waiting = next(r for r in responses if r.status_code == 409)
        assert waiting.json()["error"]["code"] == "turn_in_progress"
        assert "稍等" in waiting.json()["error"]["message"]
        again = await two.post(SEND, json=body("slow"))
        assert again.status_code == 200, again.text
        assert again.json() == answered.json()
    assert len(fake_rasa.webhook_calls) == 1
    assert len(user_rows(await stored(database_url))) == 1


async def test_a_turn_left_unanswered_long_ago_is_answered_without_a_shared_lock(
    make_settings: Callable[..., Settings], database_url: str, fake_rasa: FakeRasaState
) -> None:
    """Its gateway died mid-turn, longer ago than any turn may take: nobody is still
    answering it, so the retry is answered, not told to wait for ever."""
    settings = make_settings(database_url=database_url, rasa_timeout_s=0.5)
    async with AsyncExitStack() as stack:
        api = await open_api(stack, settings)
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                conversation = await ensure_conversation(
                    session, UserMessage(sender_id=SENDER, text="你好", channel="webchat")
                )
                turn = await append(
                    session, conversation, Role.USER, text="你好", client_message_id=ID_A
                )
                turn.created_at = utcnow() - timedelta(seconds=30)
        finally:
            await database.dispose()
        retried = await api.post(SEND, json=body("你好"))
        assert retried.status_code == 200, retried.text
        assert retried.json()[0]["text"] == "您说的是：你好"
    assert len(fake_rasa.webhook_calls) == 1


async def test_a_turn_the_engine_failed_on_is_answered_when_retried(
    make_settings: Callable[..., Settings], database_url: str, fake_rasa: FakeRasaState
) -> None:
    """An error answer means nothing was answered: the retry must reach Rasa, not replay
    an empty list. The failed attempt stays in the transcript for the staff."""
    settings = make_settings(database_url=database_url, rasa_timeout_s=0.2)
    async with AsyncExitStack() as stack:
        api = await open_api(stack, settings)
        fake_rasa.delay_s = 1.0
        failed = await api.post(SEND, json=body("slow"))
        assert failed.status_code == 503, failed.text
        assert failed.json()["error"]["code"] == "engine_unavailable"
        fake_rasa.delay_s = 0.0
        retried = await api.post(SEND, json=body("slow"))
        assert retried.status_code == 200, retried.text
        assert retried.json()[0]["text"] == "您说的是：slow"
        replayed = await api.post(SEND, json=body("slow"))
        assert replayed.json() == retried.json()
    assert len(fake_rasa.webhook_calls) == 2
    turns = user_rows(await stored(database_url))
    assert [t.client_message_id for t in turns] == [None, ID_A]


@pytest.mark.parametrize(
    "client_id",
    ["", "a" * 65, "has space", "点", "id\n", "a/b", 5, True, ["x"], {"id": "x"}],
)
async def test_an_invalid_id_is_422_in_the_common_shape(
    api: httpx.AsyncClient, database_url: str, fake_rasa: FakeRasaState, client_id: Any
) -> None:
    response = await api.post(SEND, json=body("你好", client_id))
    assert response.status_code == 422, response.text
    assert response.json() == {
        "error": {
            "code": "invalid_client_message_id",
            "message": "消息编号不对，请联系工作人员。",
        }
    }
    assert fake_rasa.webhook_calls == []
    assert await stored(database_url) == []


async def test_the_longest_id_is_accepted(api: httpx.AsyncClient) -> None:
    response = await api.post(SEND, json=body("你好", "a" * 64))
    assert response.status_code == 200, response.text


async def test_the_database_refuses_a_second_row_under_one_id(database_url: str) -> None:
    """The last guard, whatever a future code path forgets to check."""
    database = Database(database_url)
    message = UserMessage(sender_id=SENDER, text="你好", channel="web")
    try:
        await database.upgrade()
        async with database.transaction() as session:
            conversation = await ensure_conversation(session, message)
            await append(session, conversation, Role.USER, text="你好", client_message_id=ID_A)
            await append(session, conversation, Role.USER, text="无编号")
            await append(session, conversation, Role.USER, text="无编号")
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                conversation = await ensure_conversation(session, message)
                await append(session, conversation, Role.USER, text="你好", client_message_id=ID_A)
    finally:
        await database.dispose()

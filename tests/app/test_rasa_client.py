"""RasaClient on its own, against the real local fake server (async tests)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bot.errors import EngineUnavailable
from bot.messages import BotReply, Button, UserMessage
from bot.rasa_client import RasaClient
from bot.settings import Settings

from .fake_rasa import HANDOFF, FakeRasaState, closed_port


async def test_send_returns_typed_replies(
    make_settings: Callable[..., Settings], fake_rasa: FakeRasaState
) -> None:
    client = RasaClient(make_settings())
    try:
        replies = await client.send(
            UserMessage(sender_id="u1", text="转人工", channel="kiosk", metadata={"k": 1})
        )
    finally:
        await client.aclose()

    assert replies == [
        BotReply(recipient_id="u1", text="好的，正在为您转接工作人员。"),
        BotReply(recipient_id="u1", custom=HANDOFF),
    ]
    assert fake_rasa.webhook_calls == [{"sender": "u1", "message": "转人工", "metadata": {"k": 1}}]


async def test_buttons_are_typed(make_settings: Callable[..., Settings]) -> None:
    client = RasaClient(make_settings())
    try:
        replies = await client.send(UserMessage(sender_id="u1", text="你好", channel="rest"))
    finally:
        await client.aclose()
    assert replies[1].buttons == [
        Button(title="助餐服务", payload="/ask_meal_service"),
        Button(title="转人工", payload="/request_human"),
    ]


async def test_connection_error_is_engine_unavailable_with_cause(
    make_settings: Callable[..., Settings],
) -> None:
    client = RasaClient(make_settings(rasa_url=f"http://127.0.0.1:{closed_port()}"))
    try:
        with pytest.raises(EngineUnavailable) as caught:
            await client.send(UserMessage(sender_id="u1", text="你好", channel="rest"))
    finally:
        await client.aclose()
    assert caught.value.status == 503
    assert caught.value.code == "engine_unavailable"
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_aclose_leaves_a_lent_http_client_open(
    make_settings: Callable[..., Settings],
) -> None:
    async with httpx.AsyncClient() as http:
        client = RasaClient(make_settings(), http=http)
        await client.aclose()
        assert not http.is_closed


async def test_aclose_closes_its_own_http_client(make_settings: Callable[..., Settings]) -> None:
    client = RasaClient(make_settings())
    await client.aclose()
    assert client._http.is_closed

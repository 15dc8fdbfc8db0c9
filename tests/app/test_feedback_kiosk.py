"""好差评 at the kiosk (``WS /ws/kiosk``, the real gateway, fake Rasa over HTTP): the rating
as big buttons (``choices``), a 差评 said with its reason, and the case result shown as a
card the next time the resident identifies themselves (``custom.resident.ref``) in a new
kiosk session, with the 追评 answered there."""

from __future__ import annotations

from typing import Any

from starlette.testclient import WebSocketTestSession

from bot.feedback import texts as feedback_texts

from .conftest import Gateways
from .handoff_kit import AgentApi, add_agent

WS = "/ws/kiosk"
LEVELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


def bot_messages(ws: WebSocketTestSession, until: str, limit: int = 60) -> list[dict[str, Any]]:
    """Bot messages up to and including the first whose text starts with `until`."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        message: dict[str, Any] = ws.receive_json()
        if message["type"] != "bot":
            continue
        seen.append(message)
        if message["text"].startswith(until):
            return seen
    raise AssertionError(f"{until!r} never came: {seen}")


def test_kiosk_rating_and_the_result_card_at_the_next_visit(gateways: Gateways) -> None:
    client = gateways.start()
    add_agent(gateways.database_url, "wangfang")
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "text", "text": "查认证"})
        asked = bot_messages(ws, feedback_texts.ASK_RATING)[-1]
        assert asked["choices"] == LEVELS
        ws.send_json({"type": "text", "text": "不满意，字太小"})
        bot_messages(ws, feedback_texts.THANKS_BAD)

    agent = AgentApi(client, "wangfang")
    (case,) = agent.ok("get", "/cases")["unassigned"]
    assert case["channel"] == "kiosk"
    agent.ok("post", f"/cases/{case['id']}/take")
    agent.ok("post", f"/cases/{case['id']}/steps", json={"to": "called_back"})
    page = agent.ok(
        "post", f"/cases/{case['id']}/steps", json={"to": "explained", "note": "字号可以调大。"}
    )
    assert page["case"]["resident_told_at"] is None, "nobody is at the kiosk to be told"

    with client.websocket_connect(WS) as ws:  # a new session: a new sender
        ws.send_json({"type": "text", "text": "查认证"})
        card = bot_messages(ws, "您上次的意见")[-1]
        assert "字号可以调大。" in card["text"] and card["choices"] == LEVELS
        ws.send_json({"type": "text", "text": "非常满意"})
        bot_messages(ws, feedback_texts.THANKS)
    page = agent.ok("get", f"/cases/{case['id']}")
    assert page["case"]["followup_level"] == 5 and page["case"]["resident_told_at"]

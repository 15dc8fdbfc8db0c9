"""WS /ws/agent: queue pushes to every console, claims, and turns of one's own conversations."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from .conftest import Gateways
from .handoff_kit import AgentApi, add_agent, say


def next_of(ws: WebSocketTestSession, kind: str, limit: int = 20) -> dict[str, Any]:
    """The next push of type `kind`, skipping others (queue pushes can come in between)."""
    for _ in range(limit):
        push: dict[str, Any] = ws.receive_json()
        if push["type"] == kind:
            return push
    raise AssertionError(f"no {kind} push")


def test_consoles_get_queue_claim_and_message_pushes(
    gateway: TestClient, gateways: Gateways
) -> None:
    add_agent(gateways.database_url, "wang")
    add_agent(gateways.database_url, "li")
    wang, li = AgentApi(gateway, "wang"), AgentApi(gateway, "li")

    with (
        gateway.websocket_connect(f"/ws/agent?token={wang.token}") as wang_ws,
        gateway.websocket_connect(f"/ws/agent?token={li.token}") as li_ws,
    ):
        # In process: no stream ids, nothing to resume from.
        snapshot: dict[str, object] = {"type": "queue", "items": [], "id": None, "resync": False}
        assert wang_ws.receive_json() == snapshot
        assert li_ws.receive_json() == snapshot

        say(gateway, "u-ws", "我的电话13812345678，转人工前说一句")
        say(gateway, "u-ws", "转人工")
        for ws in (wang_ws, li_ws):
            push = next_of(ws, "queue")
            (item,) = push["items"]
            assert item["reason"] == "user_request" and item["position"] == 1
            assert set(item) >= {
                "id",
                "conversation_id",
                "reason",
                "priority",
                "channel",
                "waiting_s",
                "position",
                "profile",
            }
        conversation_id = item["conversation_id"]

        wang.ok("post", f"/conversations/{conversation_id}/claim")
        for ws in (wang_ws, li_ws):
            assert next_of(ws, "claimed") == {
                "type": "claimed",
                "conversation_id": conversation_id,
                "agent": "wang",
                "id": None,
            }
            assert next_of(ws, "queue")["items"] == []

        say(gateway, "u-ws", "我的号码是13812345678")
        push = next_of(wang_ws, "message")
        assert push["conversation_id"] == conversation_id
        message = push["message"]
        assert message["role"] == "user"
        assert message["text"] == "我的号码是138****5678", "masked like the transcript"
        assert {"id", "role", "text", "created_at", "low_confidence"} <= set(message)

        wang.ok("post", f"/conversations/{conversation_id}/messages", {"text": "收到"})
        reply = next_of(wang_ws, "message")["message"]
        assert (reply["role"], reply["text"], reply["agent"]) == ("agent", "收到", "wang")

        # li does not handle this conversation: everything li's console received up to the
        # next queue change (u-other's request) contains no message push.
        say(gateway, "u-other", "转人工")
        seen = [li_ws.receive_json()]
        while not (seen[-1]["type"] == "queue" and seen[-1]["items"]):
            seen.append(li_ws.receive_json())
        assert [p["type"] for p in seen if p["type"] != "queue"] == []
        assert seen[-1]["items"][0]["conversation_id"] != conversation_id


def test_without_redis_a_console_asking_to_resume_gets_the_state_marked_resync(
    gateway: TestClient, gateways: Gateways
) -> None:
    add_agent(gateways.database_url, "wang")
    wang = AgentApi(gateway, "wang")
    say(gateway, "u-ws", "转人工")
    with gateway.websocket_connect(f"/ws/agent?token={wang.token}&after=1-0") as ws:
        push = ws.receive_json()
    assert (push["type"], push["resync"], push["id"]) == ("queue", True, None)
    assert [i["conversation_id"] for i in push["items"]] == wang.waiting_ids()

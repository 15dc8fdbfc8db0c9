"""GET /api/conversations/{sender_id}/messages: the user's own view of the transcript."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import Gateways
from .handoff_kit import AgentApi, add_agent, say, user_messages


def test_unknown_sender_is_404_in_the_common_shape(gateway: TestClient) -> None:
    response = gateway.get("/api/conversations/nobody/messages")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "conversation_not_found", "message": "没有找到这个对话。"}
    }
    assert gateway.get("/api/conversations/bad%20id/messages").status_code == 422
    assert gateway.get("/api/conversations/u1/messages?after=-1").status_code == 422


def test_pages_follow_the_cursor(gateway: TestClient) -> None:
    say(gateway, "u-page", "你好")
    first = user_messages(gateway, "u-page")
    assert [(m["role"], m.get("text")) for m in first["messages"]] == [
        ("user", "你好"),
        ("bot", "您说的是：你好"),
        ("bot", "请选择服务："),
    ]
    assert first["messages"][2]["buttons"][0] == {
        "title": "助餐服务",
        "payload": "/ask_meal_service",
    }
    assert "buttons" not in first["messages"][0], "absent keys are left out"
    assert set(first["messages"][0]) == {"id", "role", "text", "created_at"}

    say(gateway, "u-page", "谢谢")
    newer = user_messages(gateway, "u-page", after=first["cursor"])
    assert [m["text"] for m in newer["messages"]] == ["谢谢", "您说的是：谢谢", "请选择服务："]
    assert newer["cursor"] > first["cursor"]
    limited = gateway.get("/api/conversations/u-page/messages", params={"limit": 2}).json()
    assert len(limited["messages"]) == 2
    assert limited["cursor"] == limited["messages"][1]["id"]


def test_users_see_only_their_own_conversation(gateway: TestClient, gateways: Gateways) -> None:
    add_agent(gateways.database_url, "wang")
    say(gateway, "alice", "转人工")
    say(gateway, "bob", "我叫鲍勃")
    agent = AgentApi(gateway, "wang")
    (conversation_id,) = agent.waiting_ids()
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    agent.ok("post", f"/conversations/{conversation_id}/messages", {"text": "给爱丽丝的回复"})
    agent.ok("post", f"/conversations/{conversation_id}/notes", {"text": "内部备注"})

    alice = str(user_messages(gateway, "alice"))
    bob = str(user_messages(gateway, "bob"))
    assert "给爱丽丝的回复" in alice and "给爱丽丝的回复" not in bob
    assert "鲍勃" in bob and "鲍勃" not in alice
    assert "内部备注" not in alice


def test_openapi_documents_the_handoff_api(gateway: TestClient) -> None:
    paths = gateway.get("/openapi.json").json()["paths"]
    expected = {
        "/api/agent/login": {"post"},
        "/api/agent/queue": {"get"},
        "/api/agent/conversations/{conversation_id}": {"get"},
        "/api/agent/conversations/{conversation_id}/claim": {"post"},
        "/api/agent/conversations/{conversation_id}/reveal": {"post"},
        "/api/agent/conversations/{conversation_id}/messages": {"post"},
        "/api/agent/conversations/{conversation_id}/notes": {"post"},
        "/api/agent/conversations/{conversation_id}/handback": {"post"},
        "/api/agent/conversations/{conversation_id}/close": {"post"},
        "/api/agent/canned-replies": {"get", "put"},
        "/api/conversations/{sender_id}/messages": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    claim = paths["/api/agent/conversations/{conversation_id}/claim"]["post"]
    assert {"200", "401", "404", "409"} <= set(claim["responses"])
    login = paths["/api/agent/login"]["post"]
    assert set(login["requestBody"]["content"]["application/json"]["schema"]["required"]) == {
        "username",
        "password",
    }
    assert "security" in paths["/api/agent/queue"]["get"]

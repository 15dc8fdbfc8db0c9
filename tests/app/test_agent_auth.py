"""Agent accounts and tokens: 401 everywhere without a valid token, login, audit, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bot.settings import PROJECT_ROOT

from .conftest import Gateways
from .handoff_kit import PASSWORD, AgentApi, add_agent, audit_rows

BAD_TOKENS: list[dict[str, str] | None] = [
    None,
    {"Authorization": "Bearer not-a-real-token"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic d2FuZzpwYXNzd29yZA=="},
    {"Authorization": "not-even-a-scheme"},
]


def agent_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every documented route of the agent API (so a new route is covered automatically)."""
    paths = client.get("/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/agent")
        for method in operations
    )


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, (response.request.url, response.text)
    assert response.json() == {"error": {"code": "unauthorized", "message": "请先登录。"}}


def test_every_agent_endpoint_rejects_missing_and_bad_tokens(
    gateway: TestClient, gateways: Gateways
) -> None:
    add_agent(gateways.database_url, "wang")
    routes = [r for r in agent_routes(gateway) if r[1] != "/api/agent/login"]
    assert len(routes) >= 11, routes  # the contract's endpoints plus logout
    body = {"text": "x", "replies": ["x"]}
    for method, path in routes:
        url = path.replace("{conversation_id}", "1")
        for headers in BAD_TOKENS:
            response = gateway.request(method, url, headers=headers, json=body)
            assert_unauthorized(response)
    # The same routes work with a real token (so the check above is not vacuous).
    agent = AgentApi(gateway, "wang")
    assert agent.get("/queue").status_code == 200
    assert agent.get("/canned-replies").status_code == 200


def test_login_gives_a_token_and_is_audited(gateway: TestClient, gateways: Gateways) -> None:
    add_agent(gateways.database_url, "wang")

    response = gateway.post("/api/agent/login", json={"username": "wang", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at", "agent"}
    assert body["agent"] == "wang"
    assert len(body["token"]) >= 40
    assert body["token"] not in str([vars(r) for r in audit_rows(gateways.database_url)])
    assert [(r.action, r.agent_id is not None) for r in audit_rows(gateways.database_url)] == [
        ("login", True)
    ]


@pytest.mark.parametrize(
    ("username", "password"),
    [("wang", "wrong-password"), ("nobody", PASSWORD), ("wang", "")],
)
def test_wrong_credentials_are_401_and_audited(
    gateway: TestClient, gateways: Gateways, username: str, password: str
) -> None:
    add_agent(gateways.database_url, "wang")
    response = gateway.post("/api/agent/login", json={"username": username, "password": password})
    if password == "":
        assert response.status_code == 422  # empty fields are malformed, not wrong
        return
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "invalid_credentials",
        "message": "用户名或密码不对。",
    }
    assert [r.action for r in audit_rows(gateways.database_url)] == ["login_failed"]


def test_login_body_errors_use_the_common_shape(gateway: TestClient) -> None:
    bad_json = gateway.post(
        "/api/agent/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["code"] == "invalid_json"
    huge = gateway.post("/api/agent/login", json={"username": "x", "password": "p" * 20_000})
    assert huge.status_code == 413
    missing = gateway.post("/api/agent/login", json={"username": "x"})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "invalid_request"


def test_logout_ends_the_token(gateway: TestClient, gateways: Gateways) -> None:
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(gateway, "wang")
    assert agent.post("/logout").status_code == 204
    assert_unauthorized(agent.get("/queue"))
    assert [r.action for r in audit_rows(gateways.database_url)] == ["login", "logout"]


def test_tokens_expire(gateways: Gateways) -> None:
    client = gateways.start(agent_token_ttl_s=0.5)
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(client, "wang")
    assert agent.get("/queue").status_code == 200
    time.sleep(0.6)
    assert_unauthorized(agent.get("/queue"))


def test_websocket_with_a_bad_token_is_closed_with_4401(
    gateway: TestClient, gateways: Gateways
) -> None:
    for query in ("", "?token=nope"):
        with (
            gateway.websocket_connect(f"/ws/agent{query}") as ws,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            ws.receive_text()
        assert closed.value.code == 4401
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(gateway, "wang")
    with gateway.websocket_connect(f"/ws/agent?token={agent.token}") as ws:
        assert ws.receive_json()["type"] == "queue"


def test_the_cli_creates_an_account_from_stdin(gateways: Gateways) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": gateways.database_url,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    create = [sys.executable, "-m", "bot.agents", "create", "liu.min"]

    made = subprocess.run(
        create, input=b"a-long-password\n", env=env, capture_output=True, timeout=60
    )
    again = subprocess.run(
        create, input=b"a-long-password\n", env=env, capture_output=True, timeout=60
    )
    short = subprocess.run(
        [*create[:-1], "other"], input=b"short\n", env=env, capture_output=True, timeout=60
    )
    empty = subprocess.run(
        [*create[:-1], "other"], input=b"", env=env, capture_output=True, timeout=60
    )

    assert made.returncode == 0, made.stderr.decode()
    assert b"a-long-password" not in made.stdout + made.stderr
    assert again.returncode == 1 and b"already exists" in again.stderr
    assert short.returncode == 1 and b"at least 8" in short.stderr
    assert empty.returncode == 1 and b"no password" in empty.stderr
    client = gateways.start()
    ok = client.post(
        "/api/agent/login", json={"username": "liu.min", "password": "a-long-password"}
    )
    assert ok.status_code == 200
    # No default account exists: only what the CLI created can log in.
    for user, password in (("admin", "admin"), ("admin", "password"), ("agent", "agent")):
        denied = client.post("/api/agent/login", json={"username": user, "password": password})
        assert denied.status_code == 401

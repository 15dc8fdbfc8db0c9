"""Only supervisors reach the dashboard and the review: no login 401, an agent 403; the
role is set with ``python -m bot.agents`` and audited; the dashboard through HTTP and CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.agents import main
from bot.store.db import Database
from tests.app import admin_seed
from tests.app.admin_seed import SUPERVISOR, make_supervisor
from tests.app.conftest import Gateways
from tests.app.handoff_kit import AgentApi, add_agent, audit_rows

AGENT = "liming"
PERIOD = {"start": "2026-11-23", "end": "2026-11-25"}

# Every supervisor route with a request that would succeed for a supervisor.
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/admin/dashboard", None),
    ("GET", "/api/admin/dashboard.csv", None),
    ("GET", "/api/admin/candidates", None),
    ("POST", "/api/admin/candidates/1/accept", {"intent": "greet"}),
    ("POST", "/api/admin/candidates/1/drop", None),
    ("POST", "/api/admin/reviewed/export", None),
]


@pytest.fixture
def admin_gateway(gateways: Gateways, tmp_path: Path) -> TestClient:
    client = gateways.start(reviewed_nlu_file=tmp_path / "reviewed.yml")
    make_supervisor(gateways.database_url)
    add_agent(gateways.database_url, AGENT)
    return client


def _call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.request(method, path, json=body, headers=headers)


def test_no_login_is_401_and_an_agent_is_403(admin_gateway: TestClient) -> None:
    agent = AgentApi(admin_gateway, AGENT)
    for method, path, body in ROUTES:
        anonymous = _call(admin_gateway, method, path, body, {})
        assert anonymous.status_code == 401, (path, anonymous.text)
        assert anonymous.json()["error"]["code"] == "unauthorized"
        forbidden = _call(admin_gateway, method, path, body, agent.headers)
        assert forbidden.status_code == 403, (path, forbidden.text)
        assert forbidden.json()["error"]["code"] == "forbidden"
        wrong = _call(admin_gateway, method, path, body, {"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


def test_a_supervisor_gets_the_dashboard_and_the_view_is_audited(
    admin_gateway: TestClient, gateways: Gateways
) -> None:
    supervisor = AgentApi(admin_gateway, SUPERVISOR)
    response = admin_gateway.get("/api/admin/dashboard", headers=supervisor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [chart["id"] for chart in body["charts"]][:2] == ["resolution", "ratings"]
    assert body["granularity"] == "day"
    actions = [row.action for row in audit_rows(gateways.database_url)]
    assert "set_role" in actions and "view_dashboard" in actions
    bad = admin_gateway.get(
        "/api/admin/dashboard",
        params={"start": "2026-11-25", "end": "2026-11-23"},
        headers=supervisor.headers,
    )
    assert bad.status_code == 422


def test_seeded_dashboard_over_http_and_as_csv(
    gateways: Gateways, make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    asyncio.run(admin_seed.seed_database(gateways.database_url))
    client = gateways.start(reviewed_nlu_file=tmp_path / "reviewed.yml")
    make_supervisor(gateways.database_url)
    supervisor = AgentApi(client, SUPERVISOR)
    body = client.get("/api/admin/dashboard", params=PERIOD, headers=supervisor.headers).json()
    resolution = body["charts"][0]["table"]
    assert resolution["rows"][-1]["cells"][3]["text"] == "42.9%"
    assert body["channels"] == ["kiosk", "telegram", "web"]
    web = client.get(
        "/api/admin/dashboard", params={**PERIOD, "channel": "web"}, headers=supervisor.headers
    ).json()
    assert web["charts"][0]["table"]["rows"][-1]["cells"][0]["value"] == 4

    response = client.get("/api/admin/dashboard.csv", params=PERIOD, headers=supervisor.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    good = next(
        r
        for r in rows
        if r["figure"] == "好评率和未评价率" and r["row"] == "合计" and r["column"] == "好评率"
    )
    assert good["text"] == "33.3%"


def test_the_cli_sets_and_takes_back_the_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.agents")
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    add_agent(url, "wangfang")
    assert main(["set-role", "wangfang", "supervisor"]) == 0
    assert main(["set-role", "nobody", "supervisor"]) == 1
    with pytest.raises(SystemExit):
        main(["set-role", "wangfang", "boss"])

    async def role() -> str:
        database = Database(url)
        try:
            async with database.read() as session:
                from sqlalchemy import select

                from bot.store.models import Agent

                value = await session.scalar(select(Agent.role).where(Agent.username == "wangfang"))
                assert value is not None
                return value
        finally:
            await database.dispose()

    assert asyncio.run(role()) == "supervisor"
    assert main(["list"]) == 0
    assert "supervisor wangfang" in caplog.text
    assert main(["set-role", "wangfang", "agent"]) == 0
    assert asyncio.run(role()) == "agent"

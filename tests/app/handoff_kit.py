"""Helpers shared by the handoff tests: users talking, agents logging in, polling."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.agents import create_agent, hash_token
from bot.settings import Settings
from bot.store.audit import entries
from bot.store.db import Database
from bot.store.models import Agent, AgentToken, AuditEntry, utcnow
from channels.app import create_app
from tests.app.fake_rasa import FakeRasaServer
from tests.live_server import LiveServer

WEBHOOK = "/webhooks/rest/webhook"
PASSWORD = "correct-horse-battery"
T = TypeVar("T")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def reset_postgres(url: str) -> None:
    """An empty ``public`` schema, so each test starts from a fresh migration."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def _with_database(url: str, work: Callable[[Database], Any]) -> Any:
    database = Database(url)
    try:
        await database.upgrade()
        return await work(database)
    finally:
        await database.dispose()


def add_agent(url: str, username: str, password: str = PASSWORD) -> None:
    """Create an account the way ``python -m bot.agents create`` does (its function)."""
    asyncio.run(_with_database(url, lambda db: create_agent(db, username, password)))


def seed_agents(url: str, count: int) -> list[dict[str, str]]:
    """`count` accounts with ready tokens, written directly: argon2 is slow on purpose, and
    twenty real logins would only test the hasher (logins have their own tests)."""
    password_hash = PasswordHasher().hash(PASSWORD)

    async def seed(database: Database) -> list[dict[str, str]]:
        headers = []
        async with database.transaction() as session:
            for index in range(count):
                agent = Agent(username=f"seeded{index:02d}", password_hash=password_hash)
                session.add(agent)
                await session.flush()
                token = secrets.token_urlsafe(32)
                session.add(
                    AgentToken(
                        agent_id=agent.id,
                        token_hash=hash_token(token),
                        expires_at=utcnow() + timedelta(hours=1),
                    )
                )
                headers.append({"Authorization": f"Bearer {token}"})
        return headers

    seeded: list[dict[str, str]] = asyncio.run(_with_database(url, seed))
    return seeded


def audit_rows(url: str, conversation_id: int | None = None) -> list[AuditEntry]:
    """The audit log as stored."""

    async def read(database: Database) -> list[AuditEntry]:
        async with database.read() as session:
            return await entries(session, conversation_id)

    rows: list[AuditEntry] = asyncio.run(_with_database(url, read))
    return rows


def say(
    client: TestClient, sender: str, message: str, metadata: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One user turn through the REST webhook; returns the immediate replies."""
    body: dict[str, Any] = {"sender": sender, "message": message}
    if metadata is not None:
        body["metadata"] = metadata
    response = client.post(WEBHOOK, json=body)
    assert response.status_code == 200, response.text
    replies: list[dict[str, Any]] = response.json()
    return replies


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies if r.get("text")]


def user_messages(client: TestClient, sender: str, after: int = 0) -> dict[str, Any]:
    """The user messages API's answer."""
    response = client.get(f"/api/conversations/{sender}/messages", params={"after": after})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class AgentApi:
    """An agent's console talking to the API with its bearer token."""

    def __init__(self, client: TestClient, username: str, password: str = PASSWORD) -> None:
        self.client = client
        self.username = username
        response = client.post(
            "/api/agent/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        self.token: str = response.json()["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/agent{path}", headers=self.headers)

    def post(self, path: str, json: Any = None) -> Any:
        return self.client.post(f"/api/agent{path}", headers=self.headers, json=json)

    def put(self, path: str, json: Any) -> Any:
        return self.client.put(f"/api/agent{path}", headers=self.headers, json=json)

    def queue(self) -> dict[str, Any]:
        response = self.get("/queue")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def waiting_ids(self) -> list[int]:
        return [item["conversation_id"] for item in self.queue()["items"]]

    def ok(self, method: str, path: str, json: Any = None) -> Any:
        """Call and insist on 200; returns the JSON body."""
        response = (
            getattr(self, method)(path, json) if json is not None else getattr(self, method)(path)
        )
        assert response.status_code == 200, response.text
        return response.json()


def wait_for(check: Callable[[], T | None], timeout_s: float = 5.0, what: str = "") -> T:
    """Poll `check` until it returns something truthy (background work, pushes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.02)


@contextmanager
def gateway_with_fake_rasa(
    tmp_path: Path, *, agents: Sequence[str] = (), **settings_overrides: Any
) -> Iterator[LiveServer]:
    """The real gateway (uvicorn in a thread, SQLite in `tmp_path`) in front of a fake Rasa,
    with `agents` already signed up (password `PASSWORD`). For tests that drive it over
    real HTTP: browsers, schemathesis. `settings_overrides`: e.g. ``redis_url``."""
    rasa = FakeRasaServer()
    rasa.start()
    database_url = sqlite_url(tmp_path / "gateway.db")
    settings = Settings(
        rasa_url=rasa.url,
        action_server_url=rasa.url,
        rasa_token="test-token",
        rasa_token_file=tmp_path / "no_token_file",
        database_url=database_url,
        **settings_overrides,
    )
    server = LiveServer(create_app(settings))
    server.start()
    try:
        # The caller's thread may run an event loop (Playwright's sync API): sign up beside it.
        with ThreadPoolExecutor(max_workers=1) as pool:
            for agent in agents:
                pool.submit(add_agent, database_url, agent).result()
        yield server
    finally:
        server.stop()
        rasa.stop()

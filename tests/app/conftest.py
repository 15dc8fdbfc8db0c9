"""Fixtures: a real fake-Rasa HTTP server, settings pointing at it, gateway clients, and
the database every handoff test runs on: SQLite always, PostgreSQL too when
``TEST_DATABASE_URL`` is set (e.g. postgresql+asyncpg://postgres:postgres@127.0.0.1/gateway_test;
its ``public`` schema is wiped before each test)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings, normalise_database_url
from channels.app import create_app

from .fake_rasa import TOKEN, FakeRasaServer, FakeRasaState
from .handoff_kit import reset_postgres, sqlite_url

# Variables without the GATEWAY_ prefix that the gateway reads (see bot/settings.py).
ENV_VARS = ("RASA_TOKEN", "DATABASE_URL")
POSTGRES_ENV = "TEST_DATABASE_URL"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own GATEWAY_*/RASA_TOKEN must not change what the tests see.

    Not autouse: the end-to-end tests in this folder rely on the real environment.
    """
    for name in list(os.environ):
        if name.startswith("GATEWAY_") or name in ENV_VARS:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def fake_rasa_server() -> Iterator[FakeRasaServer]:
    server = FakeRasaServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_rasa(fake_rasa_server: FakeRasaServer) -> FakeRasaState:
    """The fake's state, reset so one test's misbehaviour does not leak into the next."""
    fake_rasa_server.state.reset()
    return fake_rasa_server.state


@pytest.fixture
def make_settings(
    fake_rasa_server: FakeRasaServer, tmp_path: Path, clean_env: None
) -> Callable[..., Settings]:
    """Settings aimed at the fake server; keyword arguments override single fields."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "rasa_url": fake_rasa_server.url,
            "action_server_url": fake_rasa_server.url,
            "rasa_token": TOKEN,
            "rasa_token_file": tmp_path / "no_such_token_file",
            "rasa_timeout_s": 2.0,
            "health_timeout_s": 1.0,
            "database_url": sqlite_url(tmp_path / "gateway.db"),
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings, fake_rasa: FakeRasaState) -> Iterator[TestClient]:
    """A gateway with its lifespan running (so the Rasa client and hub exist)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def make_client(
    make_settings: Callable[..., Settings], fake_rasa: FakeRasaState
) -> Iterator[Callable[..., TestClient]]:
    """Build gateways with non-default settings; all are shut down after the test."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        test_client = TestClient(create_app(make_settings(**overrides)))
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The handoff tests' database: a fresh SQLite file, or the wiped PostgreSQL test DB."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "handoff.db")
    configured = os.environ.get(POSTGRES_ENV)
    if not configured:
        if os.environ.get("REQUIRE_FULL_SUITE"):  # CI: a missing database is a failure
            pytest.fail(f"{POSTGRES_ENV} is not set (scripts/system-deps.sh sets it up)")
        pytest.skip(f"{POSTGRES_ENV} is not set")
    url = normalise_database_url(configured)
    asyncio.run(reset_postgres(url))
    return url


class Gateways:
    """Starts gateways on one database; each start is a new app, like a restart."""

    def __init__(self, make_settings: Callable[..., Settings], database_url: str) -> None:
        self._make_settings = make_settings
        self.database_url = database_url
        self._open: list[TestClient] = []

    def start(self, **overrides: Any) -> TestClient:
        overrides.setdefault("database_url", self.database_url)
        test_client = TestClient(create_app(self._make_settings(**overrides)))
        test_client.__enter__()
        self._open.append(test_client)
        return test_client

    def stop(self, test_client: TestClient) -> None:
        self._open.remove(test_client)
        test_client.__exit__(None, None, None)

    def stop_all(self) -> None:
        for test_client in reversed(self._open[:]):
            self.stop(test_client)


@pytest.fixture
def gateways(
    make_settings: Callable[..., Settings], database_url: str, fake_rasa: FakeRasaState
) -> Iterator[Gateways]:
    """Gateways on the test's database (SQLite, and PostgreSQL when configured)."""
    started = Gateways(make_settings, database_url)
    yield started
    started.stop_all()


@pytest.fixture
def gateway(gateways: Gateways) -> TestClient:
    """One running gateway on the test's database, with default handoff settings."""
    return gateways.start()

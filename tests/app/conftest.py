"""Fixtures: a real fake-Rasa HTTP server, settings pointing at it, and a gateway client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from channels.app import create_app

from .fake_rasa import TOKEN, FakeRasaServer, FakeRasaState

ENV_VARS = (
    "RASA_TOKEN",
    "GATEWAY_RASA_URL",
    "GATEWAY_RASA_TOKEN",
    "GATEWAY_RASA_TOKEN_FILE",
    "GATEWAY_ACTION_SERVER_URL",
    "GATEWAY_RASA_TIMEOUT_S",
    "GATEWAY_HEALTH_TIMEOUT_S",
    "GATEWAY_MAX_MESSAGE_CHARS",
    "GATEWAY_MAX_BODY_BYTES",
    "GATEWAY_HOST",
    "GATEWAY_PORT",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own GATEWAY_*/RASA_TOKEN must not change what the tests see.

    Not autouse: the end-to-end tests in this folder rely on the real environment.
    """
    for name in ENV_VARS:
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

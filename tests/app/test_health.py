"""GET /health: 200 always, with per-component verdicts a kiosk can display."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .fake_rasa import (
    MODEL_FILE,
    RASA_VERSION_TEXT,
    TOKEN,
    FakeRasaServer,
    FakeRasaState,
    closed_port,
)


def test_all_up_is_ok(client: TestClient, fake_rasa: FakeRasaState) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"rasa", "actions"}
    assert body["components"]["rasa"]["ok"] is True
    assert RASA_VERSION_TEXT in body["components"]["rasa"]["detail"]
    assert MODEL_FILE in body["components"]["rasa"]["detail"]
    assert body["components"]["actions"] == {"ok": True, "detail": "ok"}
    assert fake_rasa.status_tokens == [TOKEN]


def test_action_server_down_is_degraded_but_200(make_client: Callable[..., TestClient]) -> None:
    client = make_client(action_server_url=f"http://127.0.0.1:{closed_port()}")

    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["rasa"]["ok"] is True
    assert body["components"]["actions"]["ok"] is False
    assert "unreachable" in body["components"]["actions"]["detail"]


def test_action_server_not_saying_ok_is_degraded(
    client: TestClient, fake_rasa: FakeRasaState
) -> None:
    fake_rasa.actions_ok = False  # 200, but {"status": "starting"}
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    assert body["components"]["actions"] == {"ok": False, "detail": "/health did not say ok"}


def test_action_server_error_status_is_degraded(
    client: TestClient, fake_rasa: FakeRasaState
) -> None:
    fake_rasa.actions_status = 503
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    assert body["components"]["actions"] == {"ok": False, "detail": "/health answered HTTP 503"}


def test_rasa_down_is_degraded(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rasa_url=f"http://127.0.0.1:{closed_port()}")

    body = client.get("/health").json()

    assert body["status"] == "degraded"
    assert body["components"]["rasa"]["ok"] is False
    assert "unreachable" in body["components"]["rasa"]["detail"]
    assert body["components"]["actions"]["ok"] is True


def test_something_else_on_the_rasa_port_is_not_rasa(
    make_client: Callable[..., TestClient], fake_rasa_server: FakeRasaServer
) -> None:
    client = make_client(rasa_url=f"{fake_rasa_server.url}/not-rasa")
    body = client.get("/health").json()
    assert body["components"]["rasa"]["ok"] is False
    assert "not like a Rasa server" in body["components"]["rasa"]["detail"]


def test_rasa_without_model_is_degraded(client: TestClient, fake_rasa: FakeRasaState) -> None:
    fake_rasa.model_loaded = False
    body = client.get("/health").json()
    assert body["status"] == "degraded"
    assert body["components"]["rasa"] == {
        "ok": False,
        "detail": f"{RASA_VERSION_TEXT}; no model loaded",
    }


def test_wrong_token_is_reported(make_client: Callable[..., TestClient]) -> None:
    body = make_client(rasa_token="wrong").get("/health").json()
    assert body["components"]["rasa"]["ok"] is False
    assert "rejected the token" in body["components"]["rasa"]["detail"]


def test_missing_token_is_reported(
    make_client: Callable[..., TestClient], fake_rasa: FakeRasaState
) -> None:
    body = make_client(rasa_token=None).get("/health").json()
    assert body["components"]["rasa"]["ok"] is False
    assert "needs a token" in body["components"]["rasa"]["detail"]
    assert fake_rasa.status_tokens == [None]


def test_token_never_appears_in_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    # httpx logs every request URL at INFO, and Rasa takes the token in the query.
    caplog.set_level(logging.INFO)
    assert client.get("/health").json()["status"] == "ok"

    assert "/status?token=***" in caplog.text
    assert TOKEN not in caplog.text

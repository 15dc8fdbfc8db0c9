"""When Rasa is down, slow or broken, users get a readable 503 and the gateway keeps serving."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from channels.app import create_app

from .fake_rasa import FakeRasaState, closed_port

URL = "/webhooks/rest/webhook"
UNAVAILABLE = {"error": {"code": "engine_unavailable", "message": "助手暂时连不上，请稍后再试。"}}


def test_rasa_down_gives_503_and_the_app_keeps_serving(
    make_client: Callable[..., TestClient],
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    client = make_client(rasa_url=dead, action_server_url=dead)

    first = client.post(URL, json={"sender": "u1", "message": "你好"})
    second = client.post(URL, json={"sender": "u1", "message": "还在吗"})
    health = client.get("/health")

    assert first.status_code == 503
    assert first.json() == UNAVAILABLE
    assert second.status_code == 503
    assert second.json() == UNAVAILABLE
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"


def test_rasa_recovering_is_picked_up_without_restart(
    make_client: Callable[..., TestClient], fake_rasa: FakeRasaState
) -> None:
    # One app whose engine fails on one turn and answers on the next: the failure
    # must not poison the shared HTTP client.
    client = make_client()
    assert client.post(URL, json={"sender": "u1", "message": "boom"}).status_code == 503
    after = client.post(URL, json={"sender": "u1", "message": "你好"})
    assert after.status_code == 200
    assert after.json()[0]["text"] == "您说的是：你好"


def test_rasa_server_error_gives_503(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    response = client.post(URL, json={"sender": "u1", "message": "boom"})
    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert "Rasa answered HTTP 500" in caplog.text


def test_rasa_unexpected_body_gives_503(client: TestClient) -> None:
    response = client.post(URL, json={"sender": "u1", "message": "garbage"})
    assert response.status_code == 503
    assert response.json() == UNAVAILABLE


def test_rasa_too_slow_gives_503(
    make_client: Callable[..., TestClient],
    fake_rasa: FakeRasaState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    fake_rasa.delay_s = 1.0
    client = make_client(rasa_timeout_s=0.2)

    response = client.post(URL, json={"sender": "u1", "message": "slow"})

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert "Rasa did not answer within 0.2s" in caplog.text


def test_shutdown_closes_the_shared_http_client(
    settings: Settings, fake_rasa: FakeRasaState
) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.post(URL, json={"sender": "u1", "message": "你好"}).status_code == 200
        http = app.state.rasa_client._http
        assert not http.is_closed
    assert http.is_closed


def test_slow_but_within_timeout_is_fine(
    make_client: Callable[..., TestClient], fake_rasa: FakeRasaState
) -> None:
    fake_rasa.delay_s = 0.2
    client = make_client(rasa_timeout_s=2.0)
    assert client.post(URL, json={"sender": "u1", "message": "slow"}).status_code == 200

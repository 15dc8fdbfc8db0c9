"""The pages' shared stylesheet (no browser needed): every page links it before its own CSS,
it is served like the pages' own files, and nothing else is served from its folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from channels.app import create_app
from tests.app.handoff_kit import sqlite_url

from .fake_api import create_fake_app

BASE_CSS = "/static/common/base.css"
PAGES = {  # page → its own stylesheet, linked after the shared one
    "/": "/static/chat/chat.css",
    "/agent": "/static/console/console.css",
    "/kiosk": "/static/kiosk/kiosk.css",
}


@pytest.fixture
def gateway(tmp_path: Path) -> TestClient:
    """The real app's routes, without starting it (serving files needs no database)."""
    settings = Settings(
        rasa_url="http://127.0.0.1:9",
        action_server_url="http://127.0.0.1:9",
        rasa_token="test-token",
        rasa_token_file=tmp_path / "no_token_file",
        database_url=sqlite_url(tmp_path / "gateway.db"),
    )
    return TestClient(create_app(settings))


def test_every_page_links_the_shared_css_before_its_own(gateway: TestClient) -> None:
    for path, own_css in PAGES.items():
        html = gateway.get(path).text
        shared = html.index(f'<link rel="stylesheet" href="{BASE_CSS}">')
        assert shared < html.index(f'href="{own_css}"'), path


@pytest.mark.parametrize("app", ["gateway", "fake console app"])
def test_shared_css_is_served_like_the_pages_files(app: str, gateway: TestClient) -> None:
    client = gateway if app == "gateway" else TestClient(create_fake_app())
    response = client.get(BASE_CSS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert ":focus-visible" in response.text


def test_only_the_listed_shared_files_are_served(gateway: TestClient) -> None:
    for path in ("/static/common/secrets.txt", "/static/common/../pages.py"):
        response = gateway.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found", path

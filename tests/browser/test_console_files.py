"""The router serves the page and its files (no browser needed)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from .fake_api import create_fake_app


def test_page_is_served_with_a_strict_policy() -> None:
    with TestClient(create_fake_app()) as client:
        response = client.get("/agent")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in response.text
    policy = response.headers["content-security-policy"]
    # No inline script or style is allowed, so none may be needed.
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_static_files_are_served_and_nothing_else() -> None:
    with TestClient(create_fake_app()) as client:
        script = client.get("/static/console/console.js")
        style = client.get("/static/console/console.css")
        missing = client.get("/static/console/../console.py")
        unknown = client.get("/static/console/secrets.txt")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.status_code == 200
    assert missing.status_code == 404
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


def test_page_uses_no_inline_handlers_or_inner_html() -> None:
    """CSP-friendliness and no markup from server text, checked at the source."""
    with TestClient(create_fake_app()) as client:
        page = client.get("/agent").text
        script = client.get("/static/console/console.js").text
    assert not re.search(r"\son[a-z]+=", page), "inline event handler"
    assert "<script>" not in page and "style=" not in page
    assert not re.search(r"\.(inner|outer)HTML\b|insertAdjacentHTML|document\.write", script)

"""``python -m channels`` serves the app on the configured host and port."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

import channels.__main__ as entry

pytestmark = pytest.mark.usefixtures("clean_env")


def test_main_runs_uvicorn_with_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(entry.uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.setattr(entry.logging, "basicConfig", lambda **kw: None)
    monkeypatch.setenv("GATEWAY_HOST", "127.0.0.2")
    monkeypatch.setenv("GATEWAY_PORT", "8123")

    entry.main()

    assert len(calls) == 1
    app, kwargs = calls[0]
    assert isinstance(app, FastAPI)
    assert kwargs == {"host": "127.0.0.2", "port": 8123}
    assert app.state.settings.port == 8123
